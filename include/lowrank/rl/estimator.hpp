#pragma once
// Spectral entry-wise estimation of a low-rank matrix from noisy, repeated
// observations of its entries.
//
// Reference: S. Stojanovic, Y. Jedra, A. Proutiere, "Spectral Entry-wise
// Matrix Estimation for Low-Rank Reinforcement Learning", NeurIPS 2023
// (arXiv 2310.06793). The estimator is the paper's: build the unbiased
// empirical matrix M~ from the samples and return its best rank-r
// approximation M^ (truncated SVD). Under uniform sampling with replacement
// (the paper's reward-matrix model) M~ = (m n / T) sum_t X_t e_{i_t} e_{j_t}^T,
// E[M~] = M, and the paper shows that ||M^ - M||_max decays like
// sqrt((m + n) / T) up to rank, incoherence, condition-number and log
// factors; for transition data (the paper's Markov models) M~ is the matrix
// of transition frequencies N / T, an estimate of diag(nu) P.
//
// M~ is only ever built as a SparseOperator (its nnz is at most the number of
// distinct observed entries) and handed to truncated_svd, so the cost is
// O(T + nnz * krylov iterations), never a dense SVD of the m x n matrix.
// See docs/rl.md for measured errors and timings.
#include <cstdint>
#include <string_view>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::rl {

/// How the samples were gathered, which fixes the rescaling that makes the
/// empirical matrix M~ unbiased (M~_ij = w_ij * sum of the values at (i, j)).
enum class SamplingModel {
  /// T i.i.d. entries drawn uniformly from [m] x [n] with replacement, each
  /// with a noisy observed value (bandit / generative data; the paper's
  /// reward-matrix model). Repeated (i, j) are expected. w = m n / T.
  UniformWithReplacement,
  /// Each observed entry's values averaged, divided by the fraction p^ of
  /// distinct entries observed (the matrix-completion convention of
  /// Keshavan, Montanari, Oh 2010): w_ij = 1 / (count_ij * p^).
  ObservedMean,
  /// Values are transition counts N_ij >= 0 (rows: state or state-action,
  /// columns: next state); a repeated (i, j) adds its counts. M~ = N / sum(N)
  /// is the empirical joint frequency matrix, an estimate of diag(nu) P (the
  /// paper's Markov models). w = 1 / sum(N); each count is a sum of unit
  /// samples, so v_ij = w^2 N_ij.
  TransitionCounts,
};

const char* to_string(SamplingModel m) noexcept;
/// "uniform" | "observed-mean" | "counts"; throws InvalidArgument.
SamplingModel parse_sampling_model(std::string_view name);

/// How the rank of the estimate is chosen.
enum class RankSelection {
  Fixed,           ///< use options.rank
  NoiseThreshold,  ///< number of singular values of M~ above threshold_scale * noise level
  LargestGap,      ///< argmax_k sigma_k / sigma_{k+1}, k <= max_rank
};

const char* to_string(RankSelection s) noexcept;
/// "fixed" | "threshold" | "gap"; throws InvalidArgument.
RankSelection parse_rank_selection(std::string_view name);

struct SpectralEstimatorOptions {
  SamplingModel sampling = SamplingModel::UniformWithReplacement;
  RankSelection rank_selection = RankSelection::Fixed;
  /// Rank r of the estimate with RankSelection::Fixed; 1 <= r <= min(m, n).
  Index rank = 1;
  /// Largest rank considered by the data-driven selections (capped at
  /// min(m, n), and at min(m, n) - 1 for LargestGap so that sigma_{k+1}
  /// exists). NoiseThreshold never returns less than rank 1.
  Index max_rank = 20;
  /// NoiseThreshold keeps sigma_k > threshold_scale * noise_level, where the
  /// noise level is the leading term sigma_row + sigma_col of the
  /// Bandeira-van Handel (2016) bound on ||M~ - E M~||, estimated from the
  /// data (see SpectralEstimate::noise_level).
  double threshold_scale = 1.0;
  /// Optional trimming (Keshavan, Montanari, Oh 2010): rows and columns of
  /// M~ holding more than trim_factor times their average number of samples
  /// are zeroed before the SVD. 0 disables it (the paper's estimator).
  double trim_factor = 0.0;
  /// Options of the truncated SVD (method, tolerance, seed).
  TruncatedSvdOptions svd = {};
};

/// The empirical matrix M~ and the statistics the estimator derives from it.
template <class T>
struct EmpiricalMatrix {
  lowrank::SparseOperator<T> matrix;      ///< M~, m x n, one stored value per distinct observed entry
  std::vector<std::int32_t> row;          ///< COO rows of the stored entries (row-major order)
  std::vector<std::int32_t> col;          ///< COO columns
  std::vector<T> value;                   ///< M~_ij
  std::vector<T> second_moment;           ///< v_ij = w_ij^2 * sum of squared values: an unbiased
                                          ///< estimate of E[M~_ij^2] under the sampling model
  std::vector<std::int64_t> row_samples;  ///< samples (or counts) per row
  std::vector<std::int64_t> col_samples;  ///< samples (or counts) per column
  std::int64_t samples = 0;               ///< T (sum of counts for TransitionCounts)
  Index trimmed_rows = 0;
  Index trimmed_cols = 0;
  /// sigma_row + sigma_col = sqrt(max_i sum_j v_ij) + sqrt(max_j sum_i v_ij).
  double noise_level = 0.0;
  /// Mean of v_ij over all m n entries: the per-entry noise variance of M~
  /// used by the first-order confidence widths (SpectralEstimate::entry_sd).
  double mean_entry_variance = 0.0;
};

/// Builds M~ from `data` (rows x cols taken from data.rows / data.cols).
/// Throws InvalidArgument if the shape is empty, an index is out of range, a
/// value is not finite, there are no samples, or (TransitionCounts) a count
/// is negative or all counts are zero.
template <class T>
EmpiricalMatrix<T> empirical_matrix(const ObservedEntries<T>& data, SamplingModel sampling, double trim_factor = 0.0);

template <class T>
struct SpectralEstimate {
  /// M^ = U diag(d) V^T, the best rank-r approximation of M~, as core's one
  /// model type (no offsets, so predict(i, j) = M^_ij).
  LowRankModel<T> fit;
  Index rank = 0;  ///< r used (chosen or fixed)
  /// Leading singular values of M~ that were computed: r of them for Fixed,
  /// min(max_rank + 1, min(m, n)) for the data-driven selections.
  Vector<T> singular_values;
  double noise_level = 0.0;  ///< see EmpiricalMatrix::noise_level
  double threshold = 0.0;    ///< threshold_scale * noise_level
  double mean_entry_variance = 0.0;
  std::int64_t samples = 0;
  Index observed_entries = 0;  ///< distinct (i, j) observed
  Index trimmed_rows = 0;
  Index trimmed_cols = 0;
  SvdMethod svd_method = SvdMethod::Auto;
  Status status = Status::Success;  ///< of the truncated SVD

  /// First-order standard deviation of M^_ij - M_ij: with E = M~ - M,
  /// M^ - M ~ P_U E + E P_V, whose (i, j) entry has variance about
  /// v (||U_i||^2 + ||V_j||^2) for a homogeneous per-entry variance v
  /// (mean_entry_variance). Used as the data-driven entry-wise confidence
  /// width of the bandit's elimination rule.
  double entry_sd(Index i, Index j) const;
};

/// The spectral estimator. Throws InvalidArgument for a fixed rank outside
/// [1, min(m, n)], max_rank < 1 with a data-driven selection, negative
/// threshold_scale or trim_factor, and everything empirical_matrix rejects.
template <class T>
SpectralEstimate<T> estimate_spectral(const ObservedEntries<T>& data, const SpectralEstimatorOptions& options);

/// Baseline without low-rank structure: the empirical mean of each observed
/// entry, `fill` for entries never observed (TransitionCounts data is not
/// meaningful here). Returns the dense m x n matrix; `unobserved` (optional)
/// receives the number of entries never observed.
template <class T>
Matrix<T> entry_mean_estimate(const ObservedEntries<T>& data, T fill = T(0), Index* unobserved = nullptr);

/// The entry-wise rate the theory predicts for uniform sampling,
/// scale * sqrt(r (m + n) log(m + n) / T), with scale typically
/// ||M||_max + sigma; the incoherence and condition-number factors and the
/// paper's extra log powers are left to the caller's constant.
double entrywise_rate(Index m, Index n, Index r, std::int64_t samples, double scale);

extern template struct SpectralEstimate<float>;
extern template struct SpectralEstimate<double>;

}  // namespace lowrank::rl
