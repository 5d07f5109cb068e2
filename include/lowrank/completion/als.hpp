#pragma once
// Hard-rank alternating least squares: the matrix-factorisation model of
// LIBMF, Spark MLlib and Koren, Bell, Volinsky (2009), and its robust variant.
//
// Model (biases optional):   x_ij ~ mu + b_i + c_j + p_i^T q_j,  P: m x k, Q: n x k.
// Objective minimised over P, Q (and b, c):
//
//   F = sum_Omega loss(x_ij - mu - b_i - c_j - p_i^T q_j)
//       + lambda/2      * ( sum_i w_i ||p_i||^2 + sum_j w_j ||q_j||^2 )
//       + bias_lambda/2 * ( sum_i w_i b_i^2     + sum_j w_j c_j^2 ),
//
// with loss(r) = r^2 / 2 (plain) or the Huber function (robust, below), mu the
// mean of the observed values (fixed) and weights w_i = |Omega_i| (the number
// of observed entries of row i) under RegularizationWeighting::Frequency (the
// "ALS-WR" weighting of Zhou et al. 2008, which is also what LIBMF's
// per-entry L2 terms amount to: the same lambda gives the same model as
// `mf-train -l2 lambda`), or w_i = 1 under Uniform.
//
// Each sweep solves, for every row i in parallel (OpenMP), the k x k (k+1 with
// biases) normal equations
//   (sum_{j in Omega_i} q_j q_j^T + lambda w_i I) p_i = sum_{j in Omega_i} q_j (x_ij - mu - c_j)
// by Cholesky, then the same for every column. Cost per sweep O(|Omega| k^2 + (m + n) k^3).
//
// Robust variant (robust = true): residuals larger than c are clipped, i.e.
// loss is Huber's  rho_c(r) = r^2/2 (|r| <= c), c|r| - c^2/2 (otherwise), and
// each half-sweep replaces every observation by  fit + clip(x - fit, -c, c)
// before the least-squares solve. Since rho_c has curvature <= 1, that
// quadratic surrogate majorises the Huber objective, so every half-sweep
// decreases F (an MM / iteratively-clipped alternating minimisation).
// c = clip_threshold if given, else clip_factor * 1.4826 * median|r| over the
// observed residuals (a MAD scale estimate), re-estimated at the start of
// sweeps 2 .. 1 + scale_iterations (sweep 1 is plain least squares) and then
// frozen; convergence is tested only once c is frozen.
// Reference: the issue cites Gu, Song, Yin, Zhang (2023), "Low rank matrix
// completion via robust alternating minimization in nearly linear time"
// (ICLR 2024). Note that their "robust" means tolerant to inexact
// regression solves (their guarantee covers approximate per-row solves such
// as ours after clipping), not to outliers; the outlier clipping here is the
// classical Huber M-estimation applied inside alternating minimisation.
//
// Rows or columns with no observed entry are allowed (reported in the
// result's empty_rows / empty_cols and warnings): with lambda > 0 their
// factors and biases are zero, so they are predicted by mu (+ the other
// side's bias). With lambda = 0 a tiny ridge (1e-10 * mean diagonal) keeps
// every solve well-posed.
//
// The returned model is in SVD form (U d V^T = P Q^T, see model.hpp), with
// global_offset = mu and row_offset / col_offset = b / c when biases are on.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lowrank/completion/model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"

namespace lowrank {

enum class RegularizationWeighting {
  Frequency,  ///< lambda * |Omega_i| per row (ALS-WR, LIBMF, Spark)
  Uniform,    ///< lambda per row
};
/// "frequency" | "uniform".
const char* to_string(RegularizationWeighting weighting) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the choices.
RegularizationWeighting parse_regularization_weighting(std::string_view name);

/// Where the alternation starts (a warm start overrides either).
///
/// Spectral reaches the optimum in fewer sweeps (10^7-entry synthetic
/// benchmark: LIBMF's test RMSE after 3 sweeps instead of 7); Random is the
/// default because on real ratings its early iterates generalise better
/// (MovieLens-100k, 50 sweeps: test RMSE 0.002-0.006 lower at a slightly
/// higher objective; docs/completion.md, "Initialisation").
enum class AlsInitialization {
  /// Q with i.i.d. N(0, s^2 / k) entries, s the RMS of the centred values
  /// (LIBMF's and Spark's start).
  Random,
  /// Q from the top-k right singular vectors of P_Omega(X - mu) / p, scaled
  /// by sqrt(sigma / p) (one randomized power iteration; Jain, Netrapalli,
  /// Sanghavi 2013).
  Spectral,
};
/// "random" | "spectral".
const char* to_string(AlsInitialization init) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the choices.
AlsInitialization parse_als_initialization(std::string_view name);

struct AlsOptions {
  /// Number of factors k, 1 <= k <= min(m, n).
  Index rank = 10;
  /// L2 weight on the factors, >= 0.
  double lambda = 0.05;
  RegularizationWeighting weighting = RegularizationWeighting::Frequency;
  /// Learn the global mean and row / column biases.
  bool biases = false;
  /// L2 weight on the biases, >= 0; unset = lambda.
  std::optional<double> bias_lambda;
  /// Clip large residuals (Huber loss), see above.
  bool robust = false;
  /// c in units of the robust residual scale (1.345: Huber's 95% efficiency).
  double clip_factor = 1.345;
  /// Fixed c > 0; 0 = estimate from the residuals.
  double clip_threshold = 0.0;
  /// Sweeps during which c is re-estimated (robust, clip_threshold = 0).
  int scale_iterations = 5;
  /// Relative change of F below which the solver stops.
  double tolerance = 1e-5;
  int max_iterations = 50;
  AlsInitialization init = AlsInitialization::Random;
  /// Seed of the initial Q (the randomized SVD's sketch, or the random Q).
  std::uint64_t seed = 0;
  /// OpenMP threads; 0 = OpenMP's default.
  int threads = 0;
  ProgressCallback progress;
};

template <class T>
using AlsResult = CompletionResult<T>;

/// Fits hard-rank ALS (or robust ALS) to the observed entries of `data`.
///
/// `warm_start` (optional): a previous model of the same shape whose factors
/// seed Q (its balanced Q = V sqrt(d), padded with random columns or
/// truncated to `rank`) and, with biases on, whose offsets seed mu, b, c.
///
/// Throws InvalidArgument for rank outside [1, min(m, n)], lambda < 0,
/// bias_lambda < 0, clip_factor <= 0, clip_threshold < 0, scale_iterations
/// < 0, bad tolerance / iteration options, an empty matrix or no observed
/// entry, an index out of range, a non-finite value, a duplicate (row, col)
/// pair, or a warm start of another shape.
template <class T>
AlsResult<T> als(const ObservedEntries<T>& data, const AlsOptions& options,
                 const CompletionModel<T>* warm_start = nullptr);

/// As als(), storing the solver's sparse matrix in `data`'s own arrays
/// instead of a copy (peak memory: one copy of the entries plus an 8-byte
/// column index each; docs/benchmarks.md). On return, also after an
/// exception, `data` holds the same entries sorted by (row, col).
template <class T>
AlsResult<T> als_in_place(ObservedEntries<T>& data, const AlsOptions& options,
                          const CompletionModel<T>* warm_start = nullptr);

/// The option checks als() runs for an m x n problem, with `who` as the
/// messages' prefix (the distributed solver runs the same ones).
void check_als_options(const AlsOptions& options, Index rows, Index cols, std::string_view who = "als");

}  // namespace lowrank
