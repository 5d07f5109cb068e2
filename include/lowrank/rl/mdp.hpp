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
  Vector<double> value;        ///< V (S)
  Matrix<double> q;            ///< Q (S x A)
  std::vector<Index> policy;   ///< greedy policy, ties to the lowest action
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
  double value_gap = 0.0;          ///< max_s V*(s) - V^pi_hat(s)
  double kernel_max_error = 0.0;   ///< max entry error of the kernel estimate
  double kernel_row_l1_error = 0.0;  ///< max over rows of the l1 error
  Index rank = 0;
  Index unvisited_rows = 0;
  Index unvisited_states = 0;
  bool optimal_policy = false;     ///< value gap <= 1e-9
  double estimate_s = 0.0;         ///< kernel estimation time
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

}  // namespace lowrank::rl
