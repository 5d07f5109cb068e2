// Peak-RSS driver: what `lowrank complete --train T --test E --lambda L` does
// for memory (read_triplets, read_triplets_mapped, fit_completion_in_place,
// test RMSE), without the CLI's other layers.
// Built by -DLOWRANK_BENCH=ON as build/bench/completion_peak_rss, or by hand from the repository root:
//   g++ -O2 -std=c++20 -fopenmp -DEIGEN_USE_BLAS -Iinclude -Isrc -Ibuild/generated/include -isystem /usr/include/eigen3
//   \
//     bench/completion_peak_rss.cpp build/liblowrank_{completion,linalg,io,core}.a -llapacke -lopenblas -lzip -lz -o
//     peak
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "lowrank/completion/fit.hpp"
#include "lowrank/io/triplets.hpp"

using namespace lowrank;

// VmRSS and VmHWM (the peak so far) at a checkpoint, on stderr: where the
// bytes go (issue 32), without a heap profiler.
void checkpoint(const char* what, std::size_t nnz) {
  std::ifstream in("/proc/self/status");
  std::string line;
  long rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::atol(line.c_str() + 6);
  }
  const double per = nnz > 0 ? 1024.0 / static_cast<double>(nnz) : 0.0;
  std::fprintf(stderr, "%-22s VmRSS %8ld KiB (%5.1f B/entry)  VmHWM %8ld KiB (%5.1f B/entry)\n", what, rss,
               static_cast<double>(rss) * per, hwm, static_cast<double>(hwm) * per);
}

int main(int argc, char** argv) {
  // peak TRAIN TEST METHOD LAMBDA RANK ITERS FLOAT32
  const std::string method = argv[3];
  checkpoint("start", 0);
  ObservedEntries<double> train = io::read_triplets(argv[1]);
  const std::size_t nnz = train.nnz();
  checkpoint("train read", nnz);
  io::MappedTriplets t = io::read_triplets_mapped(argv[2], train.row_ids, train.col_ids);
  checkpoint("test read", nnz);
  CompletionFitOptions o;
  o.method = parse_completion_method(method);
  o.lambda = std::atof(argv[4]);
  o.soft_impute.max_rank = o.als.rank = std::atoi(argv[5]);
  o.soft_impute.max_iterations = o.als.max_iterations = std::atoi(argv[6]);
  o.max_iteration_rounds = 1;
  o.soft_impute.tolerance = o.als.tolerance = 1e-12;
  o.soft_impute.threads = o.als.threads = 2;
  o.float32 = std::atoi(argv[7]) != 0;
  const CompletionFit<double> f = fit_completion_in_place(train, o);
  checkpoint("fitted", nnz);
  const auto pred = f.model.predict(t.entries.row, t.entries.col);
  double se = 0;
  for (std::size_t k = 0; k < pred.size(); ++k) se += (pred[k] - t.entries.value[k]) * (pred[k] - t.entries.value[k]);
  checkpoint("test scored", nnz);
  std::printf("{\"test_rmse\": %.17g, \"objective\": %.17g, \"iterations\": %d, \"rank\": %ld}\n",
              std::sqrt(se / static_cast<double>(pred.size())), f.objective_trace.back(), f.iterations,
              static_cast<long>(f.model.rank()));
}
