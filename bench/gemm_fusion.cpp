// Issue 30: would one GEMM over concatenated weights (q/k/v as [3C, C],
// SwiGLU's gate/up as [2F, C], low rank's A factors as [3r, C]) beat the
// separate products the engine runs? Times, in CPU seconds of this one
// thread, the products of one training step's block at batch x context = N
// = 768 rows both ways, rounds alternating, and prints the median GFLOP/s of
// each. Separate dx products accumulate with beta = 1 (what src/nn/model.cpp
// does), so the comparison is of the GEMM shapes alone.
//
//   g++ -O2 bench/gemm_fusion.cpp -o /tmp/gemm_fusion -lopenblas
//   OPENBLAS_NUM_THREADS=1 /tmp/gemm_fusion 256 688 64   # 3.2M: C, F, r
//   OPENBLAS_NUM_THREADS=1 /tmp/gemm_fusion 128 352 32   # 0.8M
//   OPENBLAS_NUM_THREADS=1 /tmp/gemm_fusion peak 0 0     # only the square sgemm peak
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*);

namespace {
// Row-major C[m,n] = op(A) op(B) + beta C (the column-major call with A and B swapped).
void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c,
          int ldc) {
  const char ca = tb ? 'T' : 'N', cb = ta ? 'T' : 'N';
  const float one = 1;
  sgemm_(&ca, &cb, &n, &m, &k, &one, b, &ldb, a, &lda, &beta, c, &ldc);
}
double cpu_s() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
// Median GFLOP/s of `sep` and `fused` over `rounds` alternating rounds of `reps` calls.
void compare(const std::string& name, double flops, int reps, int rounds, const std::function<void()>& sep,
             const std::function<void()>& fused) {
  std::vector<double> s, f;
  for (int r = 0; r < rounds; ++r) {
    double t0 = cpu_s();
    for (int i = 0; i < reps; ++i) sep();
    double t1 = cpu_s();
    for (int i = 0; i < reps; ++i) fused();
    double t2 = cpu_s();
    s.push_back(flops * reps / (t1 - t0) * 1e-9);
    f.push_back(flops * reps / (t2 - t1) * 1e-9);
  }
  std::sort(s.begin(), s.end());
  std::sort(f.begin(), f.end());
  std::printf("%-28s separate %6.1f  fused %6.1f GFLOP/s  (fused/separate %.3f)\n", name.c_str(), s[s.size() / 2],
              f[f.size() / 2], f[f.size() / 2] / s[s.size() / 2]);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: gemm_fusion C F r [rounds]\n");
    return 2;
  }
  const bool peak_only = std::string(argv[1]) == "peak";  // gemm_fusion peak 0 0 [rounds]: the last line alone
  const int N = 768, C = peak_only ? 1 : std::atoi(argv[1]), F = std::atoi(argv[2]), r = std::atoi(argv[3]);
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 7;
  const int big = std::max(3 * C, 2 * F);
  std::vector<float> x(static_cast<std::size_t>(N) * big, 0.5f), w(static_cast<std::size_t>(big) * big, 0.01f),
      y(static_cast<std::size_t>(N) * big), dy(static_cast<std::size_t>(N) * big, 0.1f),
      dw(static_cast<std::size_t>(big) * big), dx(static_cast<std::size_t>(N) * big);
  const int reps = std::max(1, 20 * 256 / C);
  float *X = x.data(), *W = w.data(), *Y = y.data(), *DY = dy.data(), *DW = dw.data(), *DX = dx.data();
  if (!peak_only) {
    // q, k, v: y_j = x W_j^T; dW_j += dy_j^T x; dx = sum_j dy_j W_j.
    const double fq = 2.0 * N * C * C * 3;
    compare(
        "qkv forward", fq, reps, rounds,
        [&] {
          for (int j = 0; j < 3; ++j) gemm(false, true, N, C, C, X, C, W + j * C * C, C, 0, Y + j * N * C, C);
        },
        [&] { gemm(false, true, N, 3 * C, C, X, C, W, C, 0, Y, 3 * C); });
    compare(
        "qkv dW", fq, reps, rounds,
        [&] {
          for (int j = 0; j < 3; ++j) gemm(true, false, C, C, N, DY + j * C, 3 * C, X, C, 1, DW + j * C * C, C);
        },
        [&] { gemm(true, false, 3 * C, C, N, DY, 3 * C, X, C, 1, DW, C); });
    compare(
        "qkv dx", fq, reps, rounds,
        [&] {
          for (int j = 0; j < 3; ++j)
            gemm(false, false, N, C, C, DY + j * C, 3 * C, W + j * C * C, C, j ? 1 : 0, DX, C);
        },
        [&] { gemm(false, false, N, C, 3 * C, DY, 3 * C, W, C, 0, DX, C); });
    // gate, up: [N, F] each from x [N, C].
    const double fg = 2.0 * N * F * C * 2;
    compare(
        "gate/up forward", fg, reps, rounds,
        [&] {
          for (int j = 0; j < 2; ++j) gemm(false, true, N, F, C, X, C, W + j * F * C, C, 0, Y + j * N * F, F);
        },
        [&] { gemm(false, true, N, 2 * F, C, X, C, W, C, 0, Y, 2 * F); });
    compare(
        "gate/up dW", fg, reps, rounds,
        [&] {
          for (int j = 0; j < 2; ++j) gemm(true, false, F, C, N, DY + j * F, 2 * F, X, C, 1, DW + j * F * C, C);
        },
        [&] { gemm(true, false, 2 * F, C, N, DY, 2 * F, X, C, 1, DW, C); });
    compare(
        "gate/up dx", fg, reps, rounds,
        [&] {
          for (int j = 0; j < 2; ++j)
            gemm(false, false, N, C, F, DY + j * F, 2 * F, W + j * F * C, C, j ? 1 : 0, DX, C);
        },
        [&] { gemm(false, false, N, C, 2 * F, DY, 2 * F, W, C, 0, DX, C); });
    // Low rank q/k/v: x A_j^T [N, r], dA_j += dxa_j^T x, dx = sum_j dxa_j A_j.
    const double fa = 2.0 * N * r * C * 3;
    compare(
        "lowrank qkv x A^T", fa, reps * 4, rounds,
        [&] {
          for (int j = 0; j < 3; ++j) gemm(false, true, N, r, C, X, C, W + j * r * C, C, 0, Y + j * r, 3 * r);
        },
        [&] { gemm(false, true, N, 3 * r, C, X, C, W, C, 0, Y, 3 * r); });
    compare(
        "lowrank qkv dA", fa, reps * 4, rounds,
        [&] {
          for (int j = 0; j < 3; ++j) gemm(true, false, r, C, N, DY + j * r, 3 * r, X, C, 1, DW + j * r * C, C);
        },
        [&] { gemm(true, false, 3 * r, C, N, DY, 3 * r, X, C, 1, DW, C); });
    compare(
        "lowrank qkv dx", fa, reps * 4, rounds,
        [&] {
          for (int j = 0; j < 3; ++j)
            gemm(false, false, N, C, r, DY + j * r, 3 * r, W + j * r * C, C, j ? 1 : 0, DX, C);
        },
        [&] { gemm(false, false, N, C, 3 * r, DY, 3 * r, W, C, 0, DX, C); });
  }
  // The sgemm peak the "% of peak" figures divide by: square n = 1024 (bench_gemm's BM_SgemmSquare shape).
  {
    const int n = 1024;
    std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
    std::vector<double> rate;
    for (int r = 0; r < rounds; ++r) {
      const double t0 = cpu_s();
      for (int i = 0; i < 4; ++i) gemm(false, false, n, n, n, a.data(), n, b.data(), n, 0, c.data(), n);
      rate.push_back(4 * 2.0 * n * n * n / (cpu_s() - t0) * 1e-9);
    }
    std::sort(rate.begin(), rate.end());
    std::printf("%-28s %6.1f GFLOP/s (median of %d rounds)\n", "square sgemm n = 1024", rate[rate.size() / 2], rounds);
  }
  return 0;
}
