#pragma once
// Low-rank bandits: arms are the entries (i, j) of an m x n reward matrix M
// of rank r; pulling arm (i, j) returns M_ij + sigma * N(0, 1).
//
// Algorithms (regret minimisation, all on the same seeded environment):
//
//   SpectralUcb          ("spectral", the default low-rank algorithm) two
//       phases in the spirit of Bayati, Cao, Chen (arXiv 2210.00340):
//       (A) rounds of uniform exploration of the whole matrix, each followed
//       by a spectral estimate M^ and entry-wise widths w_a; the candidate
//       set S = {a : M^_a + w_a >= max_b (M^_b - w_b)} shrinks as the widths
//       do. Exploration stops once the next round would cost more regret
//       (its length times the estimated mean gap) than the estimated cost
//       of UCB on S (sum over a in S of 4 sigma^2 log T / gap^_a).
//       Widths are z sd_a (plugin_entry_sd) with a per-arm level
//       z = 0.5 sqrt(2 log(l^2 T)) by default (the 0.5 chosen by measurement,
//       docs/rl.md).
//       (B) UCB on S only, with index min(empirical UCB, M^_a + w_a): both
//       are upper confidence bounds, so their minimum is one too, and arms
//       whose low-rank bound is already below the best arm's mean are never
//       pulled. Phase A's samples seed the per-arm means.
//   SpectralElimination  ("elimination") the paper's phased explore-and-eliminate scheme
//       (Stojanovic, Jedra, Proutiere 2023, Section 5.1): in phase l, draw
//       T_l entries uniformly, estimate M spectrally (estimator.hpp) from
//       all samples so far, and eliminate every arm whose estimate is below
//       the best upper confidence bound minus its own width, i.e.
//       M^_a + w_a < max_b (M^_b - w_b); once one arm is left, commit to it.
//       The entry-wise widths w_a are data driven (SpectralEstimate::entry_sd
//       times a sqrt(2 log(...)) union-bound factor). Phase lengths grow
//       geometrically (x2 by default). Two sampling variants: over all
//       m n entries (the paper's model, whose guarantee needs uniform
//       samples of the whole matrix), or over the submatrix of the rows and
//       columns that still hold an active arm (this library's refinement,
//       the sketch: a submatrix of a rank-r matrix has rank <= r).
//   Ucb                  UCB over all m n arms with no structure:
//       index mu^_a + sigma sqrt(2 log(1/delta) / n_a), delta = 1 / T^2
//       (Lattimore & Szepesvari 2020, Algorithm 3, "UCB(delta)"), each arm
//       pulled once first.
//   SuccessiveElimination Even-Dar, Mannor, Mansour (2006) over all m n
//       arms: round-robin over active arms, after round k drop every arm
//       with mu^_a + c_k < max_b mu^_b - c_k, c_k = sigma sqrt(2 log(4 K k^2 / delta) / k),
//       delta = 1 / T.
//   ExploreThenCommit    explore T_e uniform entries, estimate M once
//       (spectrally, or with soft-impute on the per-entry means, see
//       baselines.hpp), commit to the argmax. T_e defaults to
//       ceil((r (m + n))^{1/3} T^{2/3}) (the usual ETC balance with
//       d = r (m + n) degrees of freedom).
//
// Regret is the pseudo-regret sum_t (max M - M_{a_t}), recorded at evenly
// spaced checkpoints.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/rl/estimator.hpp"

namespace lowrank::rl {

struct BanditInstanceOptions {
  Index rows = 20;
  Index cols = 20;
  Index rank = 2;
  /// Best minus second-best mean reward; must be > 0.
  double gap = 0.1;
  /// Standard deviation of the Gaussian reward noise (known to the
  /// algorithms as their sub-Gaussian constant); must be >= 0.
  double noise_sd = 0.5;
  std::uint64_t seed = 0;
};

/// A planted instance. The means are M = D_r (U V^T / r) D_c with U, V
/// uniform on [0, 1] (so M >= 0 and M_ij <= 1 before the scaling), and D_r,
/// D_c diagonal scalings that multiply the row i* and the column j* of the
/// largest entry by alpha, with alpha found by bisection so that
/// M_{i* j*} - (second largest entry) = gap exactly. Diagonal scaling keeps
/// the rank r.
struct BanditInstance {
  Matrix<double> means;          ///< m x n
  LowRankModel<double> factors;  ///< thin SVD of means (rank r)
  Index best_row = 0;
  Index best_col = 0;
  double best_mean = 0.0;
  double gap = 0.0;  ///< best - second best
  double noise_sd = 0.0;
  Index rank = 0;
};

/// Throws InvalidArgument for non-positive sizes, rank outside
/// [1, min(m, n)], gap <= 0 (or not finite) and noise_sd < 0.
BanditInstance make_low_rank_bandit(const BanditInstanceOptions& options);

enum class BanditAlgorithm { SpectralUcb, SpectralElimination, Ucb, SuccessiveElimination, ExploreThenCommit };
const char* to_string(BanditAlgorithm a) noexcept;
/// "spectral" | "elimination" | "ucb" | "se" | "etc"; throws InvalidArgument.
BanditAlgorithm parse_bandit_algorithm(std::string_view name);

/// Which matrix estimate ExploreThenCommit uses.
enum class EtcEstimator { Spectral, SoftImpute };
const char* to_string(EtcEstimator e) noexcept;
/// "spectral" | "soft-impute"; throws InvalidArgument.
EtcEstimator parse_etc_estimator(std::string_view name);

/// Where SpectralElimination draws its uniform samples.
enum class SpectralSampling {
  AllEntries,       ///< uniform over [m] x [n] (the paper's model)
  ActiveSubmatrix,  ///< uniform over active rows x active columns
};
const char* to_string(SpectralSampling s) noexcept;
/// "all" | "active"; throws InvalidArgument.
SpectralSampling parse_spectral_sampling(std::string_view name);

struct BanditRunOptions {
  BanditAlgorithm algorithm = BanditAlgorithm::SpectralUcb;
  std::int64_t horizon = 100000;  ///< T > 0
  std::uint64_t seed = 0;         ///< noise and sampling stream
  Index checkpoints = 100;        ///< regret recorded at this many evenly spaced times (>= 1)

  // SpectralElimination (sampling) and SpectralUcb (the rest)
  SpectralSampling spectral_sampling = SpectralSampling::AllEntries;
  /// Rank used by the estimator; 0 = the instance's true rank.
  Index rank = 0;
  /// Length of phase 1 = ceil(first_phase_factor * r * (m + n) * log(m + n)).
  double first_phase_factor = 1.0;
  /// Phase l + 1 is phase_growth times longer than phase l (> 1).
  double phase_growth = 2.0;
  /// Multiplies the entry-wise confidence widths; 0 picks the algorithm's
  /// default: 0.5 for SpectralUcb (chosen by measurement, docs/rl.md) and 1
  /// for SpectralElimination.
  double confidence_scale = 0.0;
  /// Confidence level of the elimination rule; 0 picks 1 / T.
  double delta = 0.0;

  // ExploreThenCommit
  EtcEstimator etc_estimator = EtcEstimator::Spectral;
  /// Exploration length; 0 picks ceil((r (m + n))^{1/3} T^{2/3}).
  std::int64_t etc_exploration = 0;

  ProgressCallback progress = {};
};

/// One phase of SpectralElimination (or the single estimate of ETC).
struct BanditPhase {
  std::int64_t end_time = 0;  ///< t at the end of the phase
  std::int64_t samples = 0;   ///< samples used by the estimate
  Index active_arms = 0;      ///< after elimination
  Index active_rows = 0;
  Index active_cols = 0;
  double max_width = 0.0;       ///< largest confidence width among active arms
  double estimate_error = 0.0;  ///< ||M^ - M||_max over the sampled submatrix (diagnostic only)
  bool best_active = true;      ///< the true best arm is still active / a candidate (diagnostic only)
};

struct BanditRunResult {
  std::vector<std::int64_t> times;        ///< checkpoint times (last = horizon)
  std::vector<double> cumulative_regret;  ///< pseudo-regret at each checkpoint
  double final_regret = 0.0;
  /// The arm committed to, or the most-pulled arm when the run never
  /// committed (commit_time = -1).
  Index committed_row = -1;
  Index committed_col = -1;
  /// committed_row / col is the best arm (committed to it, or pulled it
  /// most often).
  bool found_best = false;
  std::int64_t commit_time = -1;    ///< when the run committed to one arm (-1: never)
  double arm_pull_fraction = 0.0;   ///< share of the T pulls that went to committed_row / col
  double best_pull_fraction = 0.0;  ///< share of the T pulls that went to the best arm
  /// SpectralUcb: size of the candidate set handed to UCB, and when (-1: never).
  Index candidate_arms = 0;
  std::int64_t explore_end = -1;
  std::vector<BanditPhase> phases;
  Status status = Status::Success;  ///< Interrupted if stopped early
  double elapsed_s = 0.0;
};

/// Runs one algorithm on one instance. Throws InvalidArgument for
/// horizon <= 0, checkpoints < 1, phase_growth <= 1, first_phase_factor <= 0,
/// confidence_scale < 0, delta outside [0, 1) or a rank outside
/// [0, min(m, n)].
BanditRunResult run_bandit(const BanditInstance& instance, const BanditRunOptions& options);

/// The same algorithm on `seeds` instances and noise streams: seed s uses
/// instance seed first_seed + s and run seed first_seed + s.
struct BanditExperimentOptions {
  BanditInstanceOptions instance;
  BanditRunOptions run;
  int seeds = 1;  ///< >= 1
  std::uint64_t first_seed = 0;
};

struct BanditExperimentResult {
  std::vector<BanditRunResult> runs;
  std::vector<std::int64_t> times;
  std::vector<double> mean_regret;  ///< across seeds, at each checkpoint
  std::vector<double> sd_regret;    ///< sample standard deviation (0 for one seed)
  double mean_final_regret = 0.0;
  double sd_final_regret = 0.0;
  double found_best_fraction = 0.0;      ///< runs whose committed or most-pulled arm is the best
  double committed_fraction = 0.0;       ///< runs that committed to one arm
  double mean_best_pull_fraction = 0.0;  ///< mean share of pulls on the best arm
  double elapsed_s = 0.0;
  Status status = Status::Success;
};

/// Entry-wise first-order standard deviations of M^ - M used by SpectralUcb
/// (m x n): sd_ij^2 = ||U^_i||^2 cvar_j + ||V^_j||^2 rvar_i, where rvar_i and
/// cvar_j are the row and column means of the plug-in variance
/// (m n / T)(noise_sd^2 + M^_ij^2) of M~ under uniform sampling. Unlike
/// SpectralEstimate::entry_sd (homogeneous, from the second moment of M~),
/// it does not count M_ij^2 as noise once entries repeat, and rows and
/// columns with large entries get wider intervals.
Matrix<double> plugin_entry_sd(const SpectralEstimate<double>& est, double noise_sd);

/// One line per run: "committed to (i, j) [best] at t = T0" or "not committed;
/// most-pulled arm (i, j) [best] with P% of pulls". The CLI prints it.
std::string describe_run(const BanditRunResult& r);

/// Throws what run_bandit and make_low_rank_bandit throw, and
/// InvalidArgument for seeds < 1.
BanditExperimentResult run_bandit_experiment(const BanditExperimentOptions& options);

}  // namespace lowrank::rl
