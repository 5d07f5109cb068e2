// Step kernels of the nn engine; see kernels.hpp. Written as plain loops that
// GCC vectorises, so the same source gives the SSE2 and the AVX2+FMA clone.
#include "kernels.hpp"

// Compiled on its own with -fno-math-errno -fno-trapping-math (CMakeLists.txt):
// std::sqrt's errno branch (AdamW; its argument is >= 0) and the trapping
// compares of exp's clamp are control flow that keeps GCC from vectorising.
// (GCC 12's optimize attribute / pragma does not reach math-errno.)
// Clones: "arch=x86-64-v3" (AVX2, FMA) is chosen by feature bits, on AMD as
// on Intel; "arch=haswell" would be chosen only on a CPU that cpuid names
// Haswell or later Intel, so an AMD EPYC ran the SSE2 clone.

#include <bit>
#include <cmath>
#include <cstring>

#include <Eigen/Core>

// (-DLOWRANK_CLONES= builds one version only, e.g. to test the baseline
// clone's code on a machine that would pick the AVX2 one.)
#if !defined(LOWRANK_CLONES)
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define LOWRANK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LOWRANK_CLONES
#endif
#endif
#define LOWRANK_INLINE [[gnu::always_inline]] inline

namespace lowrank::nn::kernels {

namespace {

// exp(x) for float without a libm call, so that the loops vectorise:
// x = n ln2 + r, |r| <= ln2/2, exp(r) by Cephes' expf polynomial (relative
// error ~1e-7, i.e. about 1 ulp), 2^n put into the exponent bits. x is
// clamped to [-87.3, 88.3] so that 2^n stays a normal float; exp saturates
// near FLT_MIN / FLT_MAX instead of 0 / inf, which the callers (sigmoid)
// cannot tell apart.
LOWRANK_INLINE float exp_f(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // round(x / ln2) by the 1.5 * 2^23 trick (no SSE4.1 round needed)
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;  // ln2 split in two (Cody-Waite)
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const auto e = static_cast<std::int32_t>(n);
  return p * std::bit_cast<float>((e + 127) << 23);
}
LOWRANK_INLINE double exp_f(double x) { return std::exp(x); }

LOWRANK_INLINE float sqrt_f(float x) { return std::sqrt(x); }
LOWRANK_INLINE double sqrt_f(double x) { return std::sqrt(x); }

template <class T>
LOWRANK_INLINE void swiglu_forward_body(const T* a, const T* b, T* h, Index n) {
  for (Index j = 0; j < n; ++j) h[j] = a[j] / (T(1) + exp_f(-a[j])) * b[j];
}

template <class T>
LOWRANK_INLINE void swiglu_backward_body(const T* dh, const T* a, const T* b, T* da, T* db, Index n) {
  for (Index j = 0; j < n; ++j) {
    const T s = T(1) / (T(1) + exp_f(-a[j]));
    db[j] = a[j] * s * dh[j];
    da[j] = s * (T(1) + a[j] * (T(1) - s)) * b[j] * dh[j];
  }
}

template <class T>
LOWRANK_INLINE void rmsnorm_backward_row_body(const T* dy, const T* x, const T* g, T r, T* dx, T* dg, Index c,
                                              bool accumulate) {
  T dot = 0;
  for (Index j = 0; j < c; ++j) {
    const T xh = x[j] * r;
    dg[j] += dy[j] * xh;
    dot += dy[j] * g[j] * xh;
  }
  const T m = dot / static_cast<T>(c);
  if (accumulate)
    for (Index j = 0; j < c; ++j) dx[j] += r * (dy[j] * g[j] - x[j] * r * m);
  else
    for (Index j = 0; j < c; ++j) dx[j] = r * (dy[j] * g[j] - x[j] * r * m);
}

template <class T>
LOWRANK_INLINE double sum_squares_body(const T* x, Index n) {
  // Eight independent partial sums: a reduction GCC vectorises without
  // -ffast-math, because the lanes are explicit.
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += x[j + l] * x[j + l];
  double s = 0;
  for (int l = 0; l < 8; ++l) s += static_cast<double>(acc[l]);
  for (; j < n; ++j) s += static_cast<double>(x[j]) * static_cast<double>(x[j]);
  return s;
}

template <class T>
LOWRANK_INLINE void adamw_body(T* w, const T* g, T* m, T* v, Index n, const AdamWStep& s) {
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
  const T c1 = T(1) - b1, c2 = T(1) - b2, lr = static_cast<T>(s.lr), eps = static_cast<T>(s.eps);
  const T bc1 = static_cast<T>(s.bc1), bc2 = static_cast<T>(s.bc2), clip = static_cast<T>(s.clip);
  const T decay = static_cast<T>(s.decay_factor);
  for (Index j = 0; j < n; ++j) {
    const T gj = g[j] * clip;
    const T mj = b1 * m[j] + c1 * gj;
    const T vj = b2 * v[j] + c2 * (gj * gj);
    m[j] = mj;
    v[j] = vj;
    w[j] = w[j] * decay - lr * ((mj / bc1) / (sqrt_f(vj / bc2) + eps));
  }
}

}  // namespace

namespace {

#if defined(EIGEN_USE_BLAS)
void blas_gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
               const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
               const int* ldc) {
  sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
               const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
               const int* ldc) {
  dgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#endif

template <class T>
void gemm_row_major(bool ta, bool tb, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                    T beta, T* c, Index ldc) {
  if (m == 0 || n == 0) return;
#if defined(EIGEN_USE_BLAS)
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
  const int mi = static_cast<int>(n), ni = static_cast<int>(m), ki = static_cast<int>(k);
  const int la = static_cast<int>(ldb), lb = static_cast<int>(lda), lc = static_cast<int>(ldc);
  const char ca = tb ? 'T' : 'N', cb = ta ? 'T' : 'N';
  blas_gemm(&ca, &cb, &mi, &ni, &ki, &alpha, b, &la, a, &lb, &beta, c, &lc);
#else
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using S = Eigen::OuterStride<>;
  Eigen::Map<const M, 0, S> A(a, ta ? k : m, ta ? m : k, S(lda)), B(b, tb ? n : k, tb ? k : n, S(ldb));
  Eigen::Map<M, 0, S> C(c, m, n, S(ldc));
  M prod = ta ? (tb ? M(A.transpose() * B.transpose()) : M(A.transpose() * B)) : (tb ? M(A * B.transpose()) : M(A * B));
  if (beta == 0) C = alpha * prod;
  else C = beta * C + alpha * prod;
#endif
}

}  // namespace

void gemm(bool ta, bool tb, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
          Index ldb, float beta, float* c, Index ldc) {
  gemm_row_major(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, Index m, Index n, Index k, double alpha, const double* a, Index lda, const double* b,
          Index ldb, double beta, double* c, Index ldc) {
  gemm_row_major(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

LOWRANK_CLONES void swiglu_forward(const float* a, const float* b, float* h, Index n) {
  swiglu_forward_body(a, b, h, n);
}
void swiglu_forward(const double* a, const double* b, double* h, Index n) { swiglu_forward_body(a, b, h, n); }

LOWRANK_CLONES void swiglu_backward(const float* dh, const float* a, const float* b, float* da, float* db, Index n) {
  swiglu_backward_body(dh, a, b, da, db, n);
}
void swiglu_backward(const double* dh, const double* a, const double* b, double* da, double* db, Index n) {
  swiglu_backward_body(dh, a, b, da, db, n);
}

LOWRANK_CLONES void rmsnorm_backward_row(const float* dy, const float* x, const float* g, float r, float* dx, float* dg,
                                         Index c, bool accumulate) {
  rmsnorm_backward_row_body(dy, x, g, r, dx, dg, c, accumulate);
}
void rmsnorm_backward_row(const double* dy, const double* x, const double* g, double r, double* dx, double* dg, Index c,
                          bool accumulate) {
  rmsnorm_backward_row_body(dy, x, g, r, dx, dg, c, accumulate);
}

LOWRANK_CLONES double sum_squares(const float* x, Index n) { return sum_squares_body(x, n); }
double sum_squares(const double* x, Index n) { return sum_squares_body(x, n); }

LOWRANK_CLONES void adamw(float* w, const float* g, float* m, float* v, Index n, const AdamWStep& s) {
  adamw_body(w, g, m, v, n, s);
}
void adamw(double* w, const double* g, double* m, double* v, Index n, const AdamWStep& s) {
  adamw_body(w, g, m, v, n, s);
}

const char* simd_level() noexcept {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2+fma";
#endif
  return "baseline";
}

}  // namespace lowrank::nn::kernels
