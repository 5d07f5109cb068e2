// Issue 30: CPU time of the engine's causal attention (nn::attention_forward
// / attention_backward, one layer of the 3.2M model: batch 12, 4 heads,
// context 64, head size 64) next to one q projection of the same layer
// (x [768, 256] W^T by sgemm) as a yardstick, in CPU seconds of this one
// thread, 3 rounds of 20 calls each. Build it against two builds of
// liblowrank_nn.a to compare them (the causal row blocks of layers.cpp
// against the full [T, T] products):
//
//   g++ -std=c++20 -O2 -DNDEBUG -DEIGEN_USE_BLAS -fopenmp -Iinclude -Ibuild/generated/include -I/usr/include/eigen3 \
//     bench/attention_blocks.cpp build/liblowrank_nn.a build/liblowrank_io.a build/liblowrank_linalg.a \
//     build/liblowrank_core.a -lopenblas -llapacke -lgomp -lzip -lz -o /tmp/attention_blocks
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/attention_blocks
#include <cblas.h>
#include <time.h>

#include <cstdio>

#include "lowrank/nn/layers.hpp"

using namespace lowrank;
using namespace lowrank::nn;

static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main() {
  const Index B = 12, T = 64, H = 4, C = 256, N = B * T;
  Act<float> q = Act<float>::Random(N, C), k = Act<float>::Random(N, C), v = Act<float>::Random(N, C);
  Act<float> dout = Act<float>::Random(N, C), out, probs, dq, dk, dv;
  Act<float> x = Act<float>::Random(N, C), w = Act<float>::Random(C, C), y(N, C);
  const int reps = 20;
  for (int round = 0; round < 3; ++round) {
    const double t0 = cpu_now();
    for (int i = 0; i < reps; ++i) attention_forward(q, k, v, B, T, H, out, probs);
    const double t1 = cpu_now();
    for (int i = 0; i < reps; ++i) attention_backward(dout, q, k, v, probs, B, T, H, dq, dk, dv);
    const double t2 = cpu_now();
    for (int i = 0; i < reps; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, C, C, 1.f, x.data(), C, w.data(), C, 0.f, y.data(), C);
    const double t3 = cpu_now();
    std::printf("attention forward %.3f ms, backward %.3f ms; q projection %.3f ms (%.1f GFLOP/s)\n",
                (t1 - t0) / reps * 1e3, (t2 - t1) / reps * 1e3, (t3 - t2) / reps * 1e3,
                2.0 * N * C * C / ((t3 - t2) / reps) / 1e9);
  }
}
