#pragma once
// Inner loops of a training step that are not layer formulas themselves:
// a row-major GEMM that writes its output directly (beta = 0, no zero-fill
// first), and the element-wise passes (SwiGLU, RMSNorm backward, AdamW, sum
// of squares). The float versions are compiled twice, for x86-64-v3 (AVX2 +
// FMA) and for the baseline x86-64 (SSE2), and the loader picks one by the
// CPU's feature bits (GCC target_clones), so a build without -march=native still runs 8-wide on a
// machine that has AVX2 and still runs on one that has not. The double
// versions (gradient checks) are the same loops, compiled once.
#include <cstdint>

#include "lowrank/core/types.hpp"

namespace lowrank::nn::kernels {

// Row-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, with lda/ldb/ldc
// the row strides; beta = 0 never reads C (BLAS semantics).
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
          Index ldb, float beta, float* c, Index ldc);
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
          const double* b, Index ldb, double beta, double* c, Index ldc);

// h = silu(a) * b over n entries.
void swiglu_forward(const float* a, const float* b, float* h, Index n);
void swiglu_forward(const double* a, const double* b, double* h, Index n);
// s = sigmoid(a): db = a s dh, da = s (1 + a (1 - s)) b dh.
void swiglu_backward(const float* dh, const float* a, const float* b, float* da, float* db, Index n);
void swiglu_backward(const double* dh, const double* a, const double* b, double* da, double* db, Index n);

// One RMSNorm row backward (see layers.cpp): dg += dy . x r; dx = r (dy g - x r m)
// (dx += ... with accumulate), m = mean(dy . g . x r).
void rmsnorm_backward_row(const float* dy, const float* x, const float* g, float r, float* dx, float* dg, Index c,
                          bool accumulate);
void rmsnorm_backward_row(const double* dy, const double* x, const double* g, double r, double* dx, double* dg, Index c,
                          bool accumulate);

// sum of x_j^2 (accumulated in T per SIMD lane, returned as double).
double sum_squares(const float* x, Index n);
double sum_squares(const double* x, Index n);

struct AdamWStep {
  double decay_factor;  // 1 - lr * weight_decay, or 1
  double lr, beta1, beta2, bc1, bc2, eps, clip;
};
// One fused AdamW pass: w *= decay; g' = clip g; m = b1 m + (1-b1) g';
// v = b2 v + (1-b2) g'^2; w -= lr (m / bc1) / (sqrt(v / bc2) + eps).
void adamw(float* w, const float* g, float* m, float* v, Index n, const AdamWStep& s);
void adamw(double* w, const double* g, double* m, double* v, Index n, const AdamWStep& s);

/// "avx2+fma" when the AVX2 clones run on this CPU, "baseline" otherwise.
const char* simd_level() noexcept;

}  // namespace lowrank::nn::kernels
