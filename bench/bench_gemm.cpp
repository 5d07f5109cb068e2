// Google Benchmark: OpenBLAS GEMM throughput on this machine -- the "peak"
// that the training engine's achieved GFLOP/s is compared with (issue 7,
// performance targets; results in docs/benchmarks.md, "Training engine (CPU)").
//
//   * Square sgemm / dgemm, n = 256 ... 2048: the peak (the largest n).
//   * sgemm at the shapes the nn engine issues for nanoGPT's "baby" model
//     (4 layers, width C = 128, SwiGLU width F = 352, vocabulary V = 65,
//     batch 12 x context 64 = N = 768 tokens) and for the ~3M model
//     (C = 256, F = 688): per linear layer forward y = x W^T [N,in]x[in,out],
//     backward dx = dy W [N,out]x[out,in] and dW = dy^T x [out,N]x[N,in].
//     The engine's tensors are row-major; Eigen hands a row-major product to
//     the column-major BLAS as the transposed product, which is what is
//     called here (same m, n, k and transpose flags).
//
// Each benchmark first checks 16 entries of its product against a double
// precision dot product and fails (SkipWithError) if one is off. The counter
// GFLOPs is 2 m n k per call. Threads: whatever OPENBLAS_NUM_THREADS says
// (docs/benchmarks.md used 1 -- the engine's experiments run one thread per
// process on this shared 2-core machine).
//
// Run: build/bench/bench_gemm [--benchmark_filter=Square]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" {
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
}

namespace {

template <class T>
void gemm(char ta, char tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c, int ldc) {
  const T one = 1, zero = 0;
  if constexpr (sizeof(T) == 4) sgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc);
  else dgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc);
}

// C [m,n] = op(A) op(B), column-major; op(A) is [m,k], op(B) is [k,n].
template <class T>
void run_gemm(benchmark::State& state, char ta, char tb, int m, int n, int k) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  const int lda = ta == 'N' ? m : k, ldb = tb == 'N' ? k : n;
  std::vector<T> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n),
      c(static_cast<std::size_t>(m) * n);
  for (auto& x : a) x = static_cast<T>(u(rng));
  for (auto& x : b) x = static_cast<T>(u(rng));
  gemm<T>(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), m);
  // op(A)(i, p) and op(B)(p, j) in column-major storage.
  auto A = [&](int i, int p) {
    return ta == 'N' ? a[i + static_cast<std::size_t>(p) * lda] : a[p + static_cast<std::size_t>(i) * lda];
  };
  auto B = [&](int p, int j) {
    return tb == 'N' ? b[p + static_cast<std::size_t>(j) * ldb] : b[j + static_cast<std::size_t>(p) * ldb];
  };
  std::uniform_int_distribution<int> pi(0, m - 1), pj(0, n - 1);
  for (int t = 0; t < 16; ++t) {
    const int i = pi(rng), j = pj(rng);
    double ref = 0, mag = 0;
    for (int p = 0; p < k; ++p) {
      ref += static_cast<double>(A(i, p)) * static_cast<double>(B(p, j));
      mag += std::abs(static_cast<double>(A(i, p)) * static_cast<double>(B(p, j)));
    }
    const double tol = (sizeof(T) == 4 ? 1e-5 : 1e-13) * mag + 1e-30;
    if (std::abs(static_cast<double>(c[i + static_cast<std::size_t>(j) * m]) - ref) > tol) {
      state.SkipWithError("gemm result differs from the double-precision dot product");
      return;
    }
  }
  for (auto _ : state) {
    gemm<T>(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), m);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * m * n * k * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SgemmSquare(benchmark::State& s) {
  const int n = static_cast<int>(s.range(0));
  run_gemm<float>(s, 'N', 'N', n, n, n);
}
void BM_DgemmSquare(benchmark::State& s) {
  const int n = static_cast<int>(s.range(0));
  run_gemm<double>(s, 'N', 'N', n, n, n);
}
BENCHMARK(BM_SgemmSquare)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DgemmSquare)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond);

// A row-major product R[r1,r3] = X[r1,r2] * Y[r2,r3] is the column-major
// product R^T = Y^T X^T; with row-major X stored as column-major X^T, and the
// transposes the engine's expressions carry, the BLAS call is
// gemm(opY, opX, r3, r1, r2).
// Linear layer [in -> out] at N tokens, row-major as in src/nn/layers.cpp:
//   forward  y[N,out]  = x[N,in] W[out,in]^T   -> gemm('T','N', out, N, in)
//   backward dx[N,in]  = dy[N,out] W[out,in]   -> gemm('N','N', in, N, out)
//            dW[out,in] = dy[N,out]^T x[N,in]  -> gemm('N','T', in, out, N)
void BM_EngineForward(benchmark::State& s) {
  run_gemm<float>(s, 'T', 'N', static_cast<int>(s.range(2)), static_cast<int>(s.range(0)),
                  static_cast<int>(s.range(1)));
}
void BM_EngineBackwardDx(benchmark::State& s) {
  run_gemm<float>(s, 'N', 'N', static_cast<int>(s.range(1)), static_cast<int>(s.range(0)),
                  static_cast<int>(s.range(2)));
}
void BM_EngineBackwardDw(benchmark::State& s) {
  run_gemm<float>(s, 'N', 'T', static_cast<int>(s.range(1)), static_cast<int>(s.range(2)),
                  static_cast<int>(s.range(0)));
}
// {N, in, out}: baby model (C 128, F 352, V 65) and ~3M model (C 256, F 688).
void engine_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "in", "out"});
  for (const auto& s : std::vector<std::vector<std::int64_t>>{{768, 128, 128},
                                                              {768, 128, 352},
                                                              {768, 352, 128},
                                                              {768, 128, 65},
                                                              {768, 256, 256},
                                                              {768, 256, 688},
                                                              {768, 688, 256}})
    b->Args(s);
  b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_EngineForward)->Apply(engine_shapes);
BENCHMARK(BM_EngineBackwardDx)->Apply(engine_shapes);
BENCHMARK(BM_EngineBackwardDw)->Apply(engine_shapes);

}  // namespace

BENCHMARK_MAIN();
