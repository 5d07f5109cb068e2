#pragma once
// Low-rank MDPs: generators, transition collection, spectral estimation of
// the transition kernel, value iteration and the value gap of the policy
// planned on the estimate (best-policy identification with known rewards).
//
// Conventions, written down once:
//   - S states, A actions; the kernel is the (S*A) x S row-stochastic matrix
//     P with row s*A + a holding P(. | s, a) ("state-major");
//   - rewards r(s, a) are known, S x A; the discount is gamma in [0, 1);
//   - a policy is deterministic: policy[s] in [0, A).
//
// Estimation follows Stojanovic, Jedra, Proutiere (NeurIPS 2023,
// arXiv 2310.06793): count observed transitions N (rows: (s, a), columns:
// s'), take the best rank-r approximation M^ of the frequency matrix N / T
// (an estimate of diag(nu) P, nu the (s, a) visit frequencies), divide each
// row by its visit frequency nu^_(s,a) = N_(s,a) / T, and project it onto the
// probability simplex (Euclidean projection, Duchi et al. 2008) so that the
// estimate is a kernel again. The empirical-counts baseline is
// N_(s,a),s' / N_(s,a). Rows never visited cannot be estimated by either: they
// are reported in KernelEstimate::unvisited_rows and filled with the uniform
// distribution (never a division by zero).
#include <cstdint>
#include <string_view>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/rl/estimator.hpp"

namespace lowrank::rl {

struct Mdp {
  Index states = 0;
  Index actions = 0;
  Matrix<double> kernel;  ///< (S*A) x S, rows on the simplex
  Matrix<double> reward;  ///< S x A
  double discount = 0.9;  ///< gamma in [0, 1)
  Index row(Index s, Index a) const { return s * actions + a; }
};

/// Throws InvalidArgument unless S, A >= 1, the shapes match, every kernel
/// row is a probability vector (entries >= 0 summing to 1 within 1e-8),
/// rewards are finite and 0 <= gamma < 1.
void validate(const Mdp& mdp);

struct RandomMdpOptions {
  Index states = 50;
  Index actions = 4;
  Index rank = 3;  ///< r latent factors, 1 <= r <= S
  double discount = 0.9;
  /// Dirichlet concentration of the r latent next-state distributions:
  /// small values make them peaked (the kernel far from uniform, but its
  /// column space coherent, which hurts entry-wise estimation); large values
  /// make them nearly uniform and alike (weak rank-r signal).
  double latent_concentration = 0.3;
  std::uint64_t seed = 0;
};

/// P = Phi Psi with Phi ((S*A) x r) rows ~ Dirichlet(1, ..., 1) and Psi
/// (r x S) rows ~ Dirichlet(latent_concentration): a mixture of r next-state
/// distributions per (s, a), so rank(P) <= r. Rewards ~ U[0, 1].
/// Throws InvalidArgument for S or A = 0, rank outside [1, S],
/// latent_concentration <= 0, or gamma outside [0, 1).
Mdp random_low_rank_mdp(const RandomMdpOptions& options);

struct GridworldOptions {
  Index width = 10;
  Index height = 10;
  /// The grid is cut into blocks_x * blocks_y rectangular rooms: the r
  /// latent states. Each must be in [1, width] / [1, height].
  Index blocks_x = 2;
  Index blocks_y = 2;
  /// Probability that the move lands in a uniformly random room instead of
  /// the intended one; in [0, 1].
  double slip = 0.1;
  double discount = 0.9;
  std::uint64_t seed = 0;
};

/// A gridworld whose dynamics factor through r = blocks_x * blocks_y latent
/// rooms: actions 0..3 = up, down, left, right move the agent to the
/// neighbouring cell (walls keep it in place); the room z of that cell is
/// the latent state (a uniformly random room with probability slip), and the
/// next cell is drawn from room z's emission distribution psi(. | z) (random
/// positive weights over the room's cells, fixed by the seed). So
/// P(s' | s, a) = sum_z phi(z | s, a) psi(s' | z) has rank <= r. Reward 1
/// for every action taken in the last room (bottom-right), 0 elsewhere.
/// Throws InvalidArgument for empty grids, block counts outside range,
/// slip outside [0, 1] or gamma outside [0, 1).
Mdp latent_gridworld(const GridworldOptions& options);

/// Observed transitions, aggregated.
struct TransitionData {
  Index states = 0;
  Index actions = 0;
  /// counts.value[k] transitions from row counts.row[k] = s*A + a to state
  /// counts.col[k]; shape (S*A) x S, one entry per distinct pair.
  ObservedEntries<double> counts;
  std::vector<std::int64_t> row_visits;  ///< N_(s,a), size S*A
  std::int64_t samples = 0;              ///< total transitions T
  Index unvisited_rows = 0;              ///< (s, a) with N_(s,a) = 0
  Index unvisited_states = 0;            ///< s with N_(s,a) = 0 for every a
};

/// Generative model: samples_per_pair independent draws s' ~ P(. | s, a)
/// for every (s, a). Throws InvalidArgument if samples_per_pair <= 0 or the
/// MDP is invalid.
TransitionData collect_generative(const Mdp& mdp, std::int64_t samples_per_pair, std::uint64_t seed);

/// One trajectory of `length` transitions from `initial_state` under the
/// stochastic behaviour policy `behaviour` (S x A, rows on the simplex;
/// an empty matrix means uniform over actions). Data are Markovian, and
/// states the policy never reaches stay unvisited (reported, not an error).
/// Throws InvalidArgument if length <= 0, initial_state is out of range, or
/// the behaviour policy has the wrong shape or a row that is not a
/// probability vector.
TransitionData collect_trajectory(const Mdp& mdp, const Matrix<double>& behaviour, std::int64_t length,
                                  Index initial_state, std::uint64_t seed);

enum class KernelMethod { Spectral, Empirical };
const char* to_string(KernelMethod m) noexcept;
/// "spectral" | "empirical"; throws InvalidArgument.
KernelMethod parse_kernel_method(std::string_view name);

struct KernelEstimatorOptions {
  KernelMethod method = KernelMethod::Spectral;
  /// Spectral only: rank selection, rank, SVD options. The sampling model
  /// is always SamplingModel::TransitionCounts.
  SpectralEstimatorOptions spectral = {};
};

struct KernelEstimate {
  Matrix<double> kernel;  ///< (S*A) x S, every row on the simplex
  Index rank = 0;         ///< rank of the spectral fit (0 for Empirical)
  /// Rows s*A + a never observed; filled with the uniform distribution.
  std::vector<Index> unvisited_rows;
  /// Leading singular values of N / T and the noise level (Spectral only).
  Vector<double> singular_values;
  double noise_level = 0.0;
  double elapsed_s = 0.0;
};

/// Throws InvalidArgument if the data hold no transitions or their shape
/// is inconsistent, and what estimate_spectral throws (e.g. a rank above
/// min(S*A, S)).
KernelEstimate estimate_kernel(const TransitionData& data, const KernelEstimatorOptions& options);

/// Euclidean projection of x onto the probability simplex
/// {p : p >= 0, sum p = 1} (Duchi, Shalev-Shwartz, Singer, Chandra 2008).
Vector<double> project_to_simplex(const Vector<double>& x);

struct ValueIterationOptions {
  /// Stop when ||V_{k+1} - V_k||_inf <= tolerance (1 - gamma) / (2 gamma),
  /// which makes the greedy policy tolerance-optimal (Puterman 1994, 6.3.2).
  double tolerance = 1e-8;
  int max_iterations = 100000;
};

struct MdpSolution {
  Vector<double> value;       ///< V (S)
  Matrix<double> q;           ///< Q (S x A)
  std::vector<Index> policy;  ///< greedy policy, ties to the lowest action
  int iterations = 0;
  Status status = Status::Success;
};

/// Value iteration V <- max_a r(., a) + gamma P(. | ., a) V from V = 0.
/// Throws InvalidArgument if the MDP is invalid or tolerance <= 0 or
/// max_iterations < 1.
MdpSolution value_iteration(const Mdp& mdp, const ValueIterationOptions& options = {});

/// V^pi, the exact solution of (I - gamma P_pi) V = r_pi (dense LU).
/// Throws InvalidArgument for a policy of the wrong size or an action out
/// of range.
Vector<double> policy_value(const Mdp& mdp, const std::vector<Index>& policy);

/// max_s (V*(s) - V^pi(s)) >= 0 on the true MDP, with v_star = V*.
double value_gap(const Mdp& mdp, const std::vector<Index>& policy, const Vector<double>& v_star);

// ---------------------------------------------------------------------------
// End-to-end experiment (what `lowrank mdp` runs).

enum class MdpModel { Random, Gridworld };
const char* to_string(MdpModel m) noexcept;
/// "random" | "gridworld"; throws InvalidArgument.
MdpModel parse_mdp_model(std::string_view name);

enum class Collection { Generative, Trajectory };
const char* to_string(Collection c) noexcept;
/// "generative" | "trajectory"; throws InvalidArgument.
Collection parse_collection(std::string_view name);

struct MdpExperimentOptions {
  MdpModel model = MdpModel::Random;
  RandomMdpOptions random = {};     ///< used when model == Random (seed overridden per run)
  GridworldOptions gridworld = {};  ///< used when model == Gridworld (seed overridden per run)
  Collection collection = Collection::Generative;
  /// Total transitions T. Generative: T / (S*A) per pair (>= 1 required);
  /// trajectory: one trajectory of length T from state 0 under the uniform
  /// behaviour policy.
  std::int64_t samples = 100000;
  KernelEstimatorOptions estimator = {};
  /// Rank of the spectral estimate with RankSelection::Fixed (replaces
  /// estimator.spectral.rank); 0 = the generator's rank (rank, or
  /// blocks_x * blocks_y for the gridworld).
  Index estimator_rank = 0;
  ValueIterationOptions planning = {};
  int seeds = 1;
  std::uint64_t first_seed = 0;
  ProgressCallback progress = {};
};

struct MdpRunResult {
  double value_gap = 0.0;            ///< max_s V*(s) - V^pi_hat(s)
  double kernel_max_error = 0.0;     ///< max entry error of the kernel estimate
  double kernel_row_l1_error = 0.0;  ///< max over rows of the l1 error
  Index rank = 0;
  Index unvisited_rows = 0;
  Index unvisited_states = 0;
  bool optimal_policy = false;  ///< value gap <= 1e-9
  double estimate_s = 0.0;      ///< kernel estimation time
};

struct MdpExperimentResult {
  Index states = 0;
  Index actions = 0;
  std::vector<MdpRunResult> runs;
  double mean_value_gap = 0.0;
  double sd_value_gap = 0.0;
  double mean_kernel_max_error = 0.0;
  double mean_kernel_row_l1_error = 0.0;
  double optimal_fraction = 0.0;
  Index max_unvisited_rows = 0;  ///< largest unvisited (s, a) count over the runs
  double elapsed_s = 0.0;
  Status status = Status::Success;
};

/// Throws InvalidArgument for seeds < 1, samples <= 0, too few samples for
/// one per (s, a) in the generative setting, and what the generators,
/// collectors and estimators throw.
MdpExperimentResult run_mdp_experiment(const MdpExperimentOptions& options);

// ---------------------------------------------------------------------------
// Reward-free best-policy identification with a stopping rule (issue 28).
//
// The learner samples a generative model uniformly over the (s, a) pairs in
// rounds (n_k transitions per pair, n_{k+1} = growth * n_k), re-estimates the
// kernel after each round and stops as soon as a confidence bound B on the
// max row-l1 error max_(s,a) ||P^(.|s,a) - P(.|s,a)||_1 certifies every
// reward at once. The certificate is the simulation lemma: for any policy
// pi and any reward in [0, 1]^(S x A),
//   ||V^pi_P - V^pi_P^||_inf <= gamma B / (2 (1 - gamma)^2)
// (each row of P_pi - P^_pi sums to 0, so it only sees V minus its
// mid-range, at most 1 / (2 (1 - gamma)) in absolute value), hence the
// policy optimal on P^ for a reward is gamma B / (1 - gamma)^2-optimal on P
// for that reward. The rule stops once gamma B / (1 - gamma)^2 <= epsilon
// (Certificate::MaxRow), or once the per-row version of the same lemma,
// reward_free_value_certificate, is (Certificate::Value, the default).
// Round k spends delta_k = delta / (k (k + 1)) (sum over k = delta), split
// evenly over the S A rows, so every certificate the rule ever checks holds
// simultaneously with probability >= 1 - delta when the row bound does.
//
// Deviation from arXiv 2310.06793: the paper bounds the spectral kernel's
// error with constants (incoherence, condition number) that are not
// computable from data; its reward-free guarantee is stated for a budget
// fixed in advance. Here the stopping rule uses computable bounds: Weissman
// et al. (2003) for the counts model (a proved bound) and a first-order
// Gaussian bound for either model (not a proved bound; coverage measured in
// tests/rl and docs/rl.md).

enum class RowBound {
  /// ||p^ - p||_1 <= sqrt(2 (S ln 2 + ln(1 / delta')) / n) (Weissman,
  /// Ordentlich, Seroussi, Verdu, Weinberger 2003): a proved bound for the
  /// empirical-counts estimate only.
  Weissman,
  /// First-order Gaussian bound: the row error e is approximated by a
  /// Gaussian vector with the plug-in covariance, E||e||_1 =
  /// sqrt(2 / pi) sum_j sd_j, and ||e||_1 is L-Lipschitz in the underlying
  /// standard Gaussian, so ||e||_1 <= E||e||_1 + z L with probability
  /// 1 - delta' (z = sqrt(2 ln(1 / delta')), Gaussian concentration).
  /// Spectral: e ~ P_U E_i + E_i P_V (E = P~ - P), bounded term by term;
  /// the r-dimensional term E_i P_V also by L sqrt(chi^2_r quantile) when
  /// that is smaller (see reward_free.cpp). Counts: e = E_i. Not a proved
  /// bound.
  FirstOrder,
};
const char* to_string(RowBound b) noexcept;
/// "weissman" | "first-order"; throws InvalidArgument.
RowBound parse_row_bound(std::string_view name);
/// The bound to use when none is asked for: the proved one where it applies
/// (Weissman for the counts model), the first-order one otherwise.
RowBound default_row_bound(KernelMethod method) noexcept;

/// How the spectral reward-free estimate weights the columns (next states)
/// before the rank-r truncation (issue 28).
enum class ColumnWeighting {
  /// Truncate N / T itself (the paper's estimator).
  None,
  /// Truncate N D^(-1/2) / T, D = diag of the next-state frequencies q_j
  /// (correspondence-analysis scaling), then multiply back by D^(1/2). The
  /// multinomial noise of column j has variance ~ q_j / n, so the scaled
  /// noise is about homoscedastic and the truncation no longer lets a few
  /// frequent states (a coherent V) carry most of each row's error.
  Frequency,
};
const char* to_string(ColumnWeighting w) noexcept;
/// "none" | "frequency"; throws InvalidArgument.
ColumnWeighting parse_column_weighting(std::string_view name);

/// How the row bounds B_(s,a) become a certified epsilon (issue 28).
enum class Certificate {
  /// gamma max_(s,a) B_(s,a) / (1 - gamma)^2: the simulation lemma with the
  /// largest row bound in every row.
  MaxRow,
  /// 2 max_s W(s), W the optimal value of the robust MDP with reward
  /// c_(s,a) = gamma B_(s,a) / (2 (1 - gamma)) and the transitions any
  /// kernel within l1 distance B_(s,a) of P^ (reward_free_value_certificate):
  /// the simulation lemma with each row's own bound, weighted by where the
  /// worst policy goes. Never above MaxRow (both valid when the row bounds
  /// are); equal to it when every row has the same bound.
  Value,
};
const char* to_string(Certificate c) noexcept;
/// "max-row" | "value"; throws InvalidArgument.
Certificate parse_certificate(std::string_view name);

struct RewardFreeOptions {
  KernelMethod method = KernelMethod::Spectral;
  /// Rank of the spectral estimate (known, as in the paper); 1 <= r <= S.
  /// run_reward_free_experiment reads 0 as the generator's rank.
  Index rank = 0;
  /// Weissman is only valid for KernelMethod::Empirical.
  RowBound bound = RowBound::FirstOrder;
  /// Spectral only.
  ColumnWeighting weighting = ColumnWeighting::Frequency;
  Certificate certificate = Certificate::Value;
  double epsilon = 0.1;                      ///< target value gap for every reward in [0, 1], > 0
  double delta = 0.1;                        ///< failure probability, in (0, 1)
  std::int64_t first_samples_per_pair = 16;  ///< n_1 >= 1
  double growth = 2.0;                       ///< n_{k+1} = ceil(growth n_k), growth > 1
  /// Budget: the rule gives up (certified = false, Status::NotConverging)
  /// before a round that would take the total above this many transitions.
  std::int64_t max_samples = 200'000'000;
  /// Multiplies z; 1 is the nominal level. Not applied to Weissman.
  double confidence_scale = 1.0;
  ProgressCallback progress = {};
};

struct RewardFreeRound {
  std::int64_t samples = 0;                ///< total transitions after the round
  std::int64_t samples_per_pair = 0;       ///< n_k
  double bound = 0.0;                      ///< B_k, the certified max row-l1 error
  double certified_epsilon = 0.0;          ///< the options' certificate (<= the max-row one)
  double max_row_certified_epsilon = 0.0;  ///< gamma B_k / (1 - gamma)^2
  /// Diagnostics from the true kernel (the learner never reads them):
  /// max row-l1 error and the fraction of rows whose bound covered it.
  double true_row_l1_error = 0.0;
  double row_coverage = 0.0;
  /// The certificate computed from the true row errors (the oracle's).
  double true_certified_epsilon = 0.0;
};

struct RewardFreeResult {
  Matrix<double> kernel;   ///< P^ at the stop ((S*A) x S, rows on the simplex)
  bool certified = false;  ///< the rule stopped with its certificate <= epsilon
  std::int64_t samples = 0;
  double bound = 0.0;
  double certified_epsilon = 0.0;
  std::vector<RewardFreeRound> rounds;
  double elapsed_s = 0.0;
  Status status = Status::Success;  ///< NotConverging (budget), Interrupted (Ctrl-C)
};

/// Runs the rounds on a generative model of `mdp` (its kernel is sampled;
/// its reward is ignored: the certificate holds for every reward in
/// [0, 1]). Throws InvalidArgument for an invalid MDP, epsilon <= 0, delta
/// outside (0, 1), first_samples_per_pair < 1, growth <= 1, max_samples
/// below one round, a rank outside [1, S], Weissman with the spectral
/// method, or confidence_scale <= 0.
RewardFreeResult identify_reward_free(const Mdp& mdp, const RewardFreeOptions& options, std::uint64_t seed);

/// The row bounds of RowBound::FirstOrder / Weissman for given data, exposed
/// for tests: counts is the (S*A) x S matrix of transition counts (every
/// row with the same total n >= 1), z the Gaussian quantile (FirstOrder) or
/// log_inv_delta = ln(1 / delta') (Weissman), `weighting` the spectral
/// estimate's column weighting. Returns one bound per row and the estimate
/// in `kernel`. The spectral bound's direction net refines only the rows
/// that can hold the maximum (all a MaxRow certificate reads) unless
/// `refine_every_row` (what Certificate::Value reads).
Vector<double> reward_free_row_bounds(const Matrix<double>& counts, Index actions, KernelMethod method, Index rank,
                                      RowBound bound, double z_or_log_inv_delta, Matrix<double>& kernel,
                                      ColumnWeighting weighting, bool refine_every_row = false);

/// The certified epsilon of Certificate::Value for an estimate `kernel`
/// ((S*A) x S, rows on the simplex, row s A + a) and row-l1 bounds
/// `row_bounds` (one per row, each valid: ||P^_(s,a) - P_(s,a)||_1 <=
/// B_(s,a)). For a policy pi and a reward in [0, 1],
///   V^pi_P - V^pi_P^ = (I - gamma P_pi)^(-1) gamma (P_pi - P^_pi) V^pi_P^,
/// and each entry of gamma (P_pi - P^_pi) V^pi_P^ is at most c_(s,pi(s)) =
/// gamma B_(s,pi(s)) / (2 (1 - gamma)) in absolute value (span of V^pi_P^
/// <= 1 / (1 - gamma)). So |V^pi_P - V^pi_P^| <= the value of pi for
/// reward c under the unknown P, which is <= W, the optimal value under
/// the worst kernel in the l1 balls (Jaksch, Ortner, Auer 2010, extended
/// value iteration's inner maximum). The policy planned on P^ is then
/// 2 max_s W(s)-optimal for every reward. W is found by value iteration from
/// 0 (increasing), plus gamma / (1 - gamma) times the last change, which
/// bounds the rest. Returns min(that, gamma max B / (1 - gamma)^2). Throws
/// InvalidArgument for mismatched shapes or gamma outside [0, 1).
double reward_free_value_certificate(const Matrix<double>& kernel, const Vector<double>& row_bounds, Index actions,
                                     double gamma);

/// The x with P(chi^2_k > x) = p (k >= 1 degrees of freedom, p in (0, 1)),
/// used by the spectral first-order bound; exposed for tests. Throws
/// InvalidArgument otherwise.
double chi_square_quantile_upper(Index k, double p);

struct RewardFreeExperimentResult {
  Index states = 0;
  Index actions = 0;
  struct Run {
    RewardFreeResult result;  ///< kernel dropped (empty) to keep memory flat
    /// First round whose certificate computed from the *true* row-l1 errors
    /// was <= epsilon (samples; -1 if not by the stop).
    std::int64_t oracle_samples = -1;
    /// Value gaps on the true MDP of the policy planned on P^: for the
    /// model's own reward, and the max over `rewards` U[0, 1] rewards.
    double value_gap = 0.0;
    double max_value_gap = 0.0;
    bool covered = false;  ///< the final bound covered every row's true error
  };
  std::vector<Run> runs;
  double elapsed_s = 0.0;
  Status status = Status::Success;
};

/// Random rewards scored per seed by run_reward_free_experiment (the CLI's
/// and Python's default too).
inline constexpr int kDefaultRewardDraws = 10;

/// Seeds first_seed .. first_seed + seeds - 1 of the generator in `mdp`
/// (model, random, gridworld; samples, collection and estimator are
/// ignored), one identify_reward_free per seed, `rewards` random reward
/// draws per seed for the value-gap check. Throws what identify_reward_free
/// and the generators throw, and for seeds < 1 or rewards < 0.
RewardFreeExperimentResult run_reward_free_experiment(const MdpExperimentOptions& mdp, const RewardFreeOptions& options,
                                                      int rewards = kDefaultRewardDraws);

}  // namespace lowrank::rl
