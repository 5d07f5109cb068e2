#pragma once
// Per-layer spectral diagnostics of a weight matrix, all from one pass of
// singular values (LAPACK gesdd, values only).
//
// The effective ranks and norms reuse linalg/spectral.hpp; this header adds
// what is specific to trained weights:
//   * Schatten-p sums  sum_i sigma_i^p  on a grid of p in (0, 2] and the ratio
//     sum_i sigma_i^p / sigma_1^p, which tends to the rank as p -> 0;
//   * a power-law fit of the decay  sigma_i ~ C i^(-alpha)  by least squares on
//     (log i, log sigma_i) over a stated index range;
//   * the tail exponent of the empirical spectral density (ESD) of W^T W
//     (eigenvalues lambda_i = sigma_i^2), as WeightWatcher reports it:
//     Clauset, Shalizi, Newman (2009) continuous power law p(x) ~ x^(-alpha)
//     for x >= xmin, alpha by maximum likelihood, xmin minimising the
//     Kolmogorov-Smirnov distance between the tail and the fitted law.
#include <string>
#include <vector>

#include "lowrank/linalg/types.hpp"

namespace lowrank::diagnostics {

/// sigma_i ~ C i^(-alpha) fitted on indices first..last (1-based, inclusive).
struct PowerLawDecay {
  double alpha = 0;  ///< decay exponent (> 0 for a decaying spectrum)
  double c = 0;      ///< prefactor C
  Index first = 0;   ///< fitting range, 1-based; 0/0 when there was nothing to fit
  Index last = 0;
  double r_squared = 0;  ///< of the log-log regression
};

/// Options of fit_power_law_decay.
struct PowerLawDecayOptions {
  /// First index of the fit (1-based).
  Index first = 1;
  /// Last index; 0 = the last singular value above the numerical-rank
  /// tolerance (log 0 is not fitted).
  Index last = 0;
};

/// Least squares fit of log sigma_i = log C - alpha log i on the range.
/// `sv` sorted decreasing. Values <= `tol` are excluded from the default
/// range. Fewer than 2 points give alpha = 0, first = last = 0.
/// Throws InvalidArgument when first < 1 or last < first (last != 0).
PowerLawDecay fit_power_law_decay(const VectorXd& sv, double tol, const PowerLawDecayOptions& options = {});

/// Tail fit of an empirical distribution: p(x) ~ x^(-alpha) for x >= xmin.
struct PowerLawTail {
  double alpha = 0;  ///< MLE 1 + n / sum log(x_i / xmin); 0 when not fitted
  double xmin = 0;   ///< chosen lower cut-off
  Index n_tail = 0;  ///< samples >= xmin
  double ks = 0;     ///< KS distance of the fit at xmin
};

struct PowerLawTailOptions {
  /// Smallest tail size a candidate xmin may leave.
  Index min_tail = 10;
  /// Samples <= this are ignored (zero eigenvalues of a rank-deficient W^T W).
  double floor = 0;
};

/// Clauset-Shalizi-Newman fit of `samples` (any order, >= 0). Every distinct
/// sample leaving >= min_tail points above it is a candidate xmin; for each,
/// alpha is the continuous MLE and D = max_x |S_n(x) - P(x)| with
/// P(x) = 1 - (x / xmin)^(1 - alpha) is evaluated at the tail samples (both
/// sides of each step of the empirical CDF S_n). Sorting once and a suffix sum
/// of log x make each candidate O(n_tail); O(n^2) in all with a small constant.
/// Returns alpha = 0 when fewer than min_tail usable samples exist.
PowerLawTail fit_power_law_tail(const VectorXd& samples, const PowerLawTailOptions& options = {});

/// Options of diagnose_spectrum / diagnose_matrix.
struct SpectrumOptions {
  /// Grid of p for the Schatten sums; each in (0, 2].
  std::vector<double> p_grid = {0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0};
  /// Machine epsilon of the weights' stored precision for the numerical rank
  /// (numpy.linalg.matrix_rank: tol = sigma_max * max(m, n) * eps);
  /// 0 = eps of double.
  double eps = 0;
  PowerLawDecayOptions decay;
  PowerLawTailOptions tail;
};

struct SchattenPoint {
  double p = 0;
  double sum = 0;    ///< sum_i sigma_i^p over sigma_i above the rank tolerance
  double ratio = 0;  ///< sum_i sigma_i^p / sigma_1^p  (-> rank as p -> 0)
};

/// Everything inspect reports about one matrix.
struct SpectrumDiagnostics {
  Index rows = 0;
  Index cols = 0;
  VectorXd singular_values;  ///< decreasing
  double rank_tolerance = 0;
  Index numerical_rank = 0;
  double stable_rank = 0;
  double entropy_rank = 0;         ///< Roy & Vetterli, p_i = sigma_i / sum sigma
  double participation_ratio = 0;  ///< (sum sigma^2)^2 / sum sigma^4
  Index energy_rank_90 = 0;
  Index energy_rank_99 = 0;
  double frobenius = 0;
  double spectral = 0;
  double nuclear = 0;
  std::vector<SchattenPoint> schatten;
  PowerLawDecay decay;
  PowerLawTail esd_tail;        ///< fitted to lambda_i = sigma_i^2
  double svd_seconds = 0;       ///< wall time of the singular values (diagnose_matrix only)
  double esd_tail_seconds = 0;  ///< wall time of the ESD tail fit (xmin search)
};

/// Diagnostics from singular values (any order, >= 0) of an m x n matrix.
/// Throws InvalidArgument for a negative or NaN value or p outside (0, 2].
SpectrumDiagnostics diagnose_spectrum(const VectorXd& sv, Index rows, Index cols, const SpectrumOptions& options = {});

/// Singular values of `w` (gesdd) then diagnose_spectrum; eps defaults to the
/// machine epsilon of T. Throws InputError naming `name` when w holds NaN/Inf.
template <class T>
SpectrumDiagnostics diagnose_matrix(const Matrix<T>& w, const SpectrumOptions& options = {},
                                    const std::string& name = "matrix");

/// JSON of the diagnostics; singular values included when `with_values`.

}  // namespace lowrank::diagnostics
