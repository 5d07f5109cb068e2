// Google Benchmark: one training step of the nn engine (forward, backward,
// AdamW/GaLore update) per parameterization, and how much of it is GEMM.
// Issue 7's CPU performance targets; results in docs/benchmarks.md
// ("Training engine (CPU)").
//
// Models (LLaMA-style Gpt, batch 12 x context 64 = 768 tokens, vocab 65):
//   baby  4 layers, 4 heads, width 128 (nanoGPT's CPU model, ~0.82M dense)
//   3m    4 layers, 4 heads, width 256 (~3.2M dense)
// rank = width / 4, SLTrain delta = 0.03, alpha 32.
//
// How the GEMM share is measured, without touching the library: the engine's
// products go through Eigen's EIGEN_USE_BLAS path, i.e. the Fortran symbols
// sgemm_ / sgemv_. This executable defines those two symbols itself; the
// static lowrank libraries linked into it resolve to them, and they forward to
// OpenBLAS's (dlsym RTLD_NEXT) while adding up the wall time spent inside
// and the 2 m n k flops. Times are CPU seconds of the (single-threaded)
// process, because wall time on the shared VM mostly measures the queue (see
// cpu_s below). Counters per step:
//   step_ms      CPU time of the step (step_wall_ms: its wall time)
//   gemm_share   CPU time inside sgemm_/sgemv_ / step CPU time
//   gemm_GFLOPs  GEMM flops / time inside GEMM (the achieved BLAS rate)
//   step_GFLOPs  GEMM flops / step time (the whole step's rate)
//   model_GFLOPs 6 * params * tokens / step time (the usual "model FLOP/s";
//                 for low-rank parameterizations it counts their own params)
// GaLore: the SVD refresh of its projection (every 200 steps by default) is
// timed separately (BM_GaloreRefresh: one step with a refresh) so its
// amortised cost can be added: step + (refresh - step) / 200.
//
// Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/bench/bench_train_step
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowrank/nn/model.hpp"
#include "lowrank/nn/optim.hpp"

namespace {

struct GemmClock {
  double seconds = 0;
  double flops = 0;
  std::int64_t calls = 0;
  void reset() { *this = GemmClock{}; }
};
GemmClock g_clock;
bool g_in_blas = false;  // do not count nested calls twice

using sgemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                          const int*, const float*, const int*, const float*, float*, const int*);
using sgemv_fn = void (*)(const char*, const int*, const int*, const float*, const float*, const int*, const float*,
                          const int*, const float*, float*, const int*);

template <class F>
F next_symbol(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr) throw std::runtime_error(std::string("bench_train_step: no ") + name + " after this executable");
  return reinterpret_cast<F>(p);
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
// CPU seconds of this process: on a shared, overloaded machine the wall time
// of a step mostly measures how long the scheduler kept us waiting; with one
// thread (OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1) the process CPU time is the
// time the step actually ran.
double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

// Eigen's blas.h declares these returning int; OpenBLAS's return nothing, so
// the wrappers return 0 and call the real ones through void-returning pointers.
extern "C" {
int sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha, const float* a,
           const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc) {
  static const auto real = next_symbol<sgemm_fn>("sgemm_");
  if (g_in_blas) {
    real(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 0;
  }
  g_in_blas = true;
  const double t0 = cpu_s();
  real(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  g_clock.seconds += cpu_s() - t0;
  g_in_blas = false;
  g_clock.flops += 2.0 * *m * *n * *k;
  ++g_clock.calls;
  return 0;
}
int sgemv_(const char* t, const int* m, const int* n, const float* alpha, const float* a, const int* lda,
           const float* x, const int* incx, const float* beta, float* y, const int* incy) {
  static const auto real = next_symbol<sgemv_fn>("sgemv_");
  if (g_in_blas) {
    real(t, m, n, alpha, a, lda, x, incx, beta, y, incy);
    return 0;
  }
  g_in_blas = true;
  const double t0 = cpu_s();
  real(t, m, n, alpha, a, lda, x, incx, beta, y, incy);
  g_clock.seconds += cpu_s() - t0;
  g_in_blas = false;
  g_clock.flops += 2.0 * *m * *n;
  ++g_clock.calls;
  return 0;
}
}

namespace {

using namespace lowrank;
using namespace lowrank::nn;

constexpr Index kBatch = 12, kContext = 64, kVocab = 65;

GptConfig model_config(Index width, Parameterization kind) {
  GptConfig c;
  c.vocab = kVocab;
  c.context = kContext;
  c.n_layer = 4;
  c.n_head = 4;
  c.width = width;
  c.linear.kind = kind;
  c.linear.rank = width / 4;
  c.linear.delta = 0.03;
  c.seed = 1;
  return c;
}

struct Run {
  Gpt<float> model;
  Optimizer<float> opt;
  std::vector<std::int32_t> x, y;
  std::int64_t params = 0;
};

Run make_run(Index width, Parameterization kind, std::int64_t galore_interval) {
  Run r;
  r.model = Gpt<float>(model_config(width, kind));
  OptimizerOptions o;
  o.total_steps = 2000;
  o.galore_update_interval = galore_interval;
  r.opt = Optimizer<float>(o, r.model.parameters());
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::int32_t> tok(0, kVocab - 1);
  r.x.resize(static_cast<std::size_t>(kBatch * kContext));
  r.y.resize(r.x.size());
  for (auto& t : r.x) t = tok(rng);
  for (auto& t : r.y) t = tok(rng);
  for (const auto& p : r.model.parameters()) r.params += p.value->size();
  return r;
}

double train_step(Run& r) {
  r.model.zero_grad();
  const double loss = r.model.forward(r.x, r.y, kBatch, kContext);
  r.model.backward();
  r.opt.step(r.model.parameters());
  return loss;
}

// step_s: CPU seconds of all timed steps; wall_s: their wall time.
void report(benchmark::State& state, const Run& r, double step_s, double wall_s, std::int64_t steps) {
  const double per = step_s / static_cast<double>(steps);
  state.counters["step_ms"] = per * 1e3;
  state.counters["step_wall_ms"] = wall_s / static_cast<double>(steps) * 1e3;
  state.counters["gemm_share"] = g_clock.seconds / step_s;
  state.counters["gemm_GFLOPs"] = g_clock.flops / g_clock.seconds * 1e-9;
  state.counters["step_GFLOPs"] = g_clock.flops / step_s * 1e-9;
  state.counters["model_GFLOPs"] = 6.0 * static_cast<double>(r.params) * kBatch * kContext / per * 1e-9;
  state.counters["blas_calls"] = static_cast<double>(g_clock.calls) / static_cast<double>(steps);
  state.counters["params"] = static_cast<double>(r.params);
}

// Steady-state step (GaLore's refresh interval set beyond the run).
void BM_TrainStep(benchmark::State& state) {
  const auto kind = static_cast<Parameterization>(state.range(1));
  state.SetLabel(to_string(kind));
  Run r = make_run(state.range(0), kind, 1000000);
  // Two untimed steps: first-touch allocations, GaLore's initial projection.
  const double l0 = train_step(r);
  train_step(r);
  if (!(l0 > 3.5 && l0 < 5.0)) {  // ~log(65) = 4.17 at initialisation
    state.SkipWithError("initial loss is not near log(vocab)");
    return;
  }
  g_clock.reset();
  double total = 0, wall = 0;
  std::int64_t steps = 0;
  for (auto _ : state) {
    const double w0 = now_s(), t0 = cpu_s();
    benchmark::DoNotOptimize(train_step(r));
    total += cpu_s() - t0;
    wall += now_s() - w0;
    ++steps;
  }
  report(state, r, total, wall, steps);
}

// One step that recomputes GaLore's projection (an SVD per projected layer).
void BM_GaloreRefresh(benchmark::State& state) {
  state.SetLabel("galore, projection refreshed every step");
  Run r = make_run(state.range(0), Parameterization::GaLore, 1);
  train_step(r);
  g_clock.reset();
  double total = 0, wall = 0;
  std::int64_t steps = 0;
  for (auto _ : state) {
    const double w0 = now_s(), t0 = cpu_s();
    benchmark::DoNotOptimize(train_step(r));
    total += cpu_s() - t0;
    wall += now_s() - w0;
    ++steps;
  }
  report(state, r, total, wall, steps);
}

void kinds(benchmark::internal::Benchmark* b) {
  b->ArgNames({"width", "kind"});
  for (Index w : {128, 256})
    for (auto k :
         {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain, Parameterization::GaLore})
      b->Args({w, static_cast<std::int64_t>(k)});
  b->Unit(benchmark::kMillisecond)->MinTime(2.0);
}
BENCHMARK(BM_TrainStep)->Apply(kinds);
BENCHMARK(BM_GaloreRefresh)->ArgName("width")->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
