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
#include <string>

#include "lowrank/completion/fit.hpp"
#include "lowrank/io/triplets.hpp"

using namespace lowrank;
int main(int argc, char** argv) {
  // peak TRAIN TEST METHOD LAMBDA RANK ITERS FLOAT32
  const std::string method = argv[3];
  ObservedEntries<double> train = io::read_triplets(argv[1]);
  io::MappedTriplets t = io::read_triplets_mapped(argv[2], train.row_ids, train.col_ids);
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
  const auto pred = f.model.predict(t.entries.row, t.entries.col);
  double se = 0;
  for (std::size_t k = 0; k < pred.size(); ++k) se += (pred[k] - t.entries.value[k]) * (pred[k] - t.entries.value[k]);
  std::printf("{\"test_rmse\": %.17g, \"objective\": %.17g, \"iterations\": %d, \"rank\": %ld}\n",
              std::sqrt(se / static_cast<double>(pred.size())), f.objective_trace.back(), f.iterations,
              static_cast<long>(f.model.rank()));
}
