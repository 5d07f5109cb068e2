#pragma once
// Baselines the spectral estimator is compared with: the per-entry empirical
// mean (no structure; estimator.hpp's entry_mean_estimate) and soft-impute
// (nuclear-norm completion, lowrank/completion/soft_impute.hpp) run on the
// per-entry means of the observed entries.
#include <cstdint>
#include <vector>

#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"

namespace lowrank::rl {

/// One entry per distinct observed (i, j) holding the mean of its samples;
/// `counts` (optional) receives the number of samples of each, aligned.
/// Entries come out in row-major order. Throws InvalidArgument on an index
/// out of range, a non-finite value, or no samples.
template <class T>
ObservedEntries<T> aggregate_entry_means(const ObservedEntries<T>& samples,
                                         std::vector<std::int64_t>* counts = nullptr);

struct SoftImputeBaselineOptions {
  Index rank = 1;         ///< rank cap (soft-impute's max_rank), in [1, min(m, n)]
  double noise_sd = 1.0;  ///< sd of one sample's noise (known, as in the bandit); >= 0
  /// lambda = lambda_scale * sigma_e * (sqrt(p m) + sqrt(p n)), the spectral
  /// norm of the noise on the observed pattern (p = observed fraction,
  /// sigma_e = noise_sd / sqrt(mean samples per observed entry)): the usual
  /// order of the nuclear-norm weight (Negahban & Wainwright 2012;
  /// Koltchinskii, Lounici, Tsybakov 2011), not tuned on the truth.
  double lambda_scale = 1.0;
  bool debias = true;  ///< re-fit the kept singular values (R's deBias)
  std::uint64_t seed = 0;
};

/// Soft-impute (ALS variant, Hastie et al. 2015) on aggregate_entry_means
/// of the samples. Returns the fitted matrix's SVD factors (its offsets are
/// zero: no centring). Throws what aggregate_entry_means and soft_impute
/// throw, and InvalidArgument for noise_sd < 0 or lambda_scale < 0.
template <class T>
LowRankModel<T> soft_impute_baseline(const ObservedEntries<T>& samples, const SoftImputeBaselineOptions& options);

}  // namespace lowrank::rl
