#include "lowrank/rl/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::rl {

template <class T>
ObservedEntries<T> aggregate_entry_means(const ObservedEntries<T>& s, std::vector<std::int64_t>* counts) {
  if (s.rows <= 0 || s.cols <= 0) throw InvalidArgument("entry means: the matrix shape must be positive");
  if (s.nnz() == 0) throw InvalidArgument("entry means: no samples");
  if (s.row.size() != s.nnz() || s.col.size() != s.nnz()) {
    throw InvalidArgument("entry means: row, col and value arrays differ in length");
  }
  std::vector<std::pair<std::int64_t, std::size_t>> key(s.nnz());
  for (std::size_t k = 0; k < s.nnz(); ++k) {
    if (s.row[k] < 0 || s.row[k] >= s.rows || s.col[k] < 0 || s.col[k] >= s.cols) {
      throw InvalidArgument("entry means: sample " + std::to_string(k) + " is outside the matrix");
    }
    if (!std::isfinite(static_cast<double>(s.value[k]))) {
      throw InvalidArgument("entry means: sample " + std::to_string(k) + " has a non-finite value");
    }
    key[k] = {static_cast<std::int64_t>(s.row[k]) * s.cols + s.col[k], k};
  }
  std::sort(key.begin(), key.end());
  ObservedEntries<T> out;
  out.rows = s.rows;
  out.cols = s.cols;
  if (counts) counts->clear();
  for (std::size_t a = 0; a < key.size();) {
    std::size_t b = a;
    double sum = 0.0;
    while (b < key.size() && key[b].first == key[a].first) sum += static_cast<double>(s.value[key[b++].second]);
    out.push_back(static_cast<std::int32_t>(key[a].first / s.cols), static_cast<std::int32_t>(key[a].first % s.cols),
                  static_cast<T>(sum / static_cast<double>(b - a)));
    if (counts) counts->push_back(static_cast<std::int64_t>(b - a));
    a = b;
  }
  return out;
}

template <class T>
LowRankModel<T> soft_impute_baseline(const ObservedEntries<T>& samples, const SoftImputeBaselineOptions& o) {
  if (!(o.noise_sd >= 0.0)) throw InvalidArgument("soft-impute baseline: noise_sd must be >= 0");
  if (!(o.lambda_scale >= 0.0)) throw InvalidArgument("soft-impute baseline: lambda_scale must be >= 0");
  const ObservedEntries<T> means = aggregate_entry_means(samples);
  const double p = means.density();
  const double per_entry = static_cast<double>(samples.nnz()) / static_cast<double>(means.nnz());
  const double sigma_e = o.noise_sd / std::sqrt(per_entry);
  SoftImputeOptions so;
  so.max_rank = o.rank;
  so.lambda = o.lambda_scale * sigma_e *
              (std::sqrt(p * static_cast<double>(samples.rows)) + std::sqrt(p * static_cast<double>(samples.cols)));
  so.debias = o.debias;
  so.seed = o.seed;
  so.tolerance = 1e-6;
  so.max_iterations = 200;
  // No scaling is asked for, so the model has no offsets: U diag(d) V^T.
  SoftImputeResult<T> r = soft_impute(means, so);
  return std::move(r.model);
}

#define LOWRANK_RL_INSTANTIATE(T)                                                                              \
  template ObservedEntries<T> aggregate_entry_means<T>(const ObservedEntries<T>&, std::vector<std::int64_t>*); \
  template LowRankModel<T> soft_impute_baseline<T>(const ObservedEntries<T>&, const SoftImputeBaselineOptions&);
LOWRANK_RL_INSTANTIATE(float)
LOWRANK_RL_INSTANTIATE(double)
#undef LOWRANK_RL_INSTANTIATE

}  // namespace lowrank::rl
