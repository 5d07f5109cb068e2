#pragma once
// GAME: group-aware matrix estimation with overlapping subgroup nuclear norms
// (Golubovic, Shen, Allen, Zikry, "Group-Aware Matrix Estimation and Latent
// Subspace Recovery", arXiv:2605.20559, 2026). See docs/game.md for the
// derivations, the solvers and where this implementation departs from the
// paper.
//
// Data: X (m x n) observed on Omega; row groups G_1..G_K (overlapping sets of
// rows, e.g. every level of every chosen category) and, optionally, the global
// group G_0 = all rows. E_k is the m x |G_k| matrix that embeds group k's rows
// (E_k^T Z = Z[G_k, :], E_k^T E_k = I).
//
// Sum variant (the paper's estimator; default):
//     minimise_Z  1/2 ||P_Omega(X - Z)||_F^2 + lambda * sum_k w_k ||Z[G_k, :]||_*        (G1)
// Latent variant (additive group components):
//     minimise_{Z_k}  1/2 ||P_Omega(X - sum_k E_k Z_k)||_F^2 + lambda * sum_k w_k ||Z_k||_*  (G2)
// with estimate Z = sum_k E_k Z_k. (G1) keeps every group's submatrix low-rank
// in one shared column space; (G2) lets a row's value be the sum of one
// low-rank part per group it belongs to (shared + group-specific effects).
//
// Optimality (KKT) for (G1): Z is optimal iff there are Gamma_k (|G_k| x n) with
//     P_Omega(Z - X) + lambda * sum_k w_k E_k Gamma_k = 0,                              (K1)
//     ||Gamma_k||_2 <= 1,   <Gamma_k, Z[G_k, :]> = ||Z[G_k, :]||_*,                      (K2)
// i.e. Gamma_k = U_k V_k^T + W_k is a subgradient of the nuclear norm at the
// group block. For (G2): Gamma_k = E_k^T P_Omega(X - Z) / (lambda w_k) must
// satisfy (K2) at Z_k. Both solvers return these certificates and the
// residuals of (K1)-(K2) (GameKkt), so optimality can be checked independently.
//
// Storage: the estimate is a dense m x n matrix (column-major); per-group
// factors U_k diag(d_k) V_k^T are returned beside it. The Latent variant can
// instead be fitted and returned factored (GameStorage::Factored: no m x n
// array anywhere). Rows and group members are 0-based.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

enum class GameVariant {
  Sum,     ///< (G1): overlapping nuclear norms on the group submatrices of one Z
  Latent,  ///< (G2): Z = sum_k E_k Z_k, one nuclear norm per component
};

enum class GameSolver {
  /// ADMM. Sum: consensus copies Y_k = Z[G_k, :] (Z-update entrywise closed
  /// form, Y-update singular value thresholding of each copy). Latent: copies
  /// Y_k = Z_k (entrywise closed-form quadratic step, SVT of each copy).
  /// Cheap iterations but many of them (hundreds to thousands for 1e-4).
  Admm,
  /// Accelerated proximal gradient (FISTA with adaptive restart). Sum: the
  /// prox of the overlapping sum is solved by exact block-coordinate ascent
  /// on its dual (Dykstra-type), warm-started across iterations. Latent: the
  /// prox is separable SVT. Tens of outer iterations; the default, being
  /// several times faster than ADMM (docs/benchmarks.md, GAME).
  ProximalGradient,
};

/// How the Latent proximal-gradient solver holds its iterates.
enum class GameStorage {
  /// Dense m x n estimate, data and gradient (every solver and variant).
  Dense,
  /// Latent variant, proximal gradient only: each component kept as its SVT
  /// factors, the data term and its gradient evaluated on the observed
  /// entries only, every SVT a subspace iteration on the operator
  /// "component - step * sparse gradient" (dense only for blocks whose short
  /// side is at most full_svd_max_dim or whose rank nears a quarter of it).
  /// Memory O(cover * nnz + sum_k (|G_k| + n) r_k) instead of O(K m n); the
  /// same iterates as Dense up to rounding. GameResult::estimate stays
  /// empty: predict() sums the group factors.
  Factored,
  /// Factored where the formulation supports it (Latent variant, proximal
  /// gradient), Dense otherwise (Sum variant, ADMM): a default that keeps
  /// every variant and solver usable (resolved_game_storage()).
  Auto,
};

/// Default weights w_k; see game_weights().
enum class GameWeightScheme {
  SqrtSizePlusSqrtCols,  ///< w_k proportional to sqrt(|G_k|) + sqrt(n)
  SqrtSize,              ///< w_k proportional to sqrt(|G_k|)
  Uniform,               ///< w_k = 1
};

/// How each singular value thresholding step computes its SVD.
enum class GameSvdMethod {
  Auto,  ///< Full when min(|G_k|, n) <= full_svd_max_dim, else Randomized
  Full,  ///< exact thin SVD of the block (LAPACK gesdd)
  /// Subspace iteration warm-started from the group's previous right singular
  /// block (random columns only at the start and when the block grows); the
  /// block keeps a margin beyond the rank and doubles until a Ritz value falls
  /// below the threshold; passes stop when ||A v_i - s_i u_i|| <= tol s_1 on
  /// the kept triplets (tol follows the solver's accuracy).
  Randomized,
};

const char* to_string(GameVariant v) noexcept;
const char* to_string(GameSolver s) noexcept;
const char* to_string(GameWeightScheme s) noexcept;
const char* to_string(GameStorage s) noexcept;
/// "auto" | "dense" | "factored"; throws InvalidArgument.
GameStorage parse_game_storage(std::string_view name);
/// "sum" | "latent"; throws InvalidArgument.
GameVariant parse_game_variant(std::string_view name);
/// "admm" | "proximal-gradient" (or "fista"); throws InvalidArgument.
GameSolver parse_game_solver(std::string_view name);
/// "sqrt-size-plus-sqrt-cols" | "sqrt-size" | "uniform"; throws InvalidArgument.
GameWeightScheme parse_game_weight_scheme(std::string_view name);

struct GameOptions {
  /// Penalty level lambda > 0 of (G1)/(G2).
  double lambda = 1.0;
  GameVariant variant = GameVariant::Sum;
  GameSolver solver = GameSolver::ProximalGradient;
  /// Factored needs variant Latent and solver ProximalGradient (the Sum
  /// variant's dual multipliers are full rank: docs/game.md, "Memory");
  /// Auto picks Factored there and Dense otherwise (the path's default,
  /// game_path_fit_defaults(); a single fit keeps Dense).
  GameStorage storage = GameStorage::Dense;
  /// Add G_0 = all rows (named "all") after the user's groups. Without it,
  /// every row must belong to at least one group.
  bool include_global_group = true;

  GameWeightScheme weight_scheme = GameWeightScheme::SqrtSizePlusSqrtCols;
  /// Explicit w_k for the user's groups (size K, each finite and > 0); empty
  /// uses weight_scheme.
  std::vector<double> weights;
  /// Weight of the global group; unset uses weight_scheme.
  std::optional<double> global_weight;

  /// Relative tolerance: ADMM stops when the primal and dual residuals are
  /// below tolerance * scale (Boyd et al. 2011, sec. 3.3.1); FISTA when
  /// ||Z_{t+1} - Z_t||_F <= tolerance * max(||Z_{t+1}||_F, ||P_Omega X||_F).
  double tolerance = 1e-5;
  int max_iterations = 3000;
  /// ADMM penalty parameter (> 0) and whether to rebalance it by residual
  /// balancing (mu = 10, tau = 2) every 10 iterations during the first half of
  /// the iteration budget.
  double rho = 1.0;
  bool adaptive_rho = true;
  /// ADMM over-relaxation alpha in (0, 2) (Boyd et al. sec. 3.4.3); 1 = plain ADMM.
  double relaxation = 1.6;
  /// FISTA, Sum variant: the prox is solved by dual block-coordinate sweeps
  /// until one sweep moves the prox point by at most
  /// max(inner_tolerance, min(1e-3, 0.1 * last outer relative change)) * ||V||_F
  /// (tight near convergence, loose early on), or inner_max_iterations sweeps.
  int inner_max_iterations = 500;
  double inner_tolerance = 1e-10;
  /// FISTA, Sum variant: at most this many sweeps per outer iteration (0 =
  /// sweep until the inner test above). With 1 the multipliers carry the
  /// unfinished prox into the next iteration, a primal-dual scheme whose
  /// fixed points are still the optimum (a sweep that leaves L unchanged has
  /// solved the prox); the last prox of a converged fit is always finished to
  /// the tolerance. On MovieLens-100k it reaches the same accuracy per sweep
  /// as solving every prox, but it stops at a loose tolerance after half the
  /// sweeps, so the path uses it for the fits that only score CV folds or
  /// warm-start the next lambda (GamePathOptions::cv_sweeps_per_iteration).
  int sweeps_per_iteration = 0;

  /// Cap on the rank kept by each singular value thresholding step (0 = no
  /// cap, the exact convex problem). A binding cap makes the solver a
  /// heuristic; GameGroupFit::rank_capped reports it.
  Index max_rank = 0;
  /// Per-group caps for the user's groups (size K; 0 = use max_rank).
  std::vector<Index> group_max_rank;
  GameSvdMethod svd_method = GameSvdMethod::Auto;
  Index full_svd_max_dim = 48;
  /// Most passes (each one product with A and one with A^T) of one
  /// subspace-iteration SVT; the next call refines the same block further,
  /// so the iteration continues across sweeps. With a slowly decaying
  /// spectrum a single call rarely reaches its tolerance, so a few passes a
  /// call cost less in all than many; one pass leaves the multipliers
  /// outside the spectral ball (measurements: docs/benchmarks.md, "Two
  /// subspace passes per SVT").
  int subspace_max_passes = 2;
  /// Factored storage, started from zero: fit lambda_max * ratio^j first
  /// (j = 1, 2, ... while above lambda), each to a loose tolerance and
  /// warm-starting the next, then lambda. From zero, proximal gradient's
  /// first iterates threshold the sparse data block itself, whose noise bulk
  /// lies far above lambda: on a 20,000 x 2,000 problem at 0.3 lambda_max the
  /// global group reached rank 271 (final rank 2), and the factors and SVT
  /// blocks of such ranks were most of the peak memory (docs/benchmarks.md).
  /// 0 = straight from zero (the dense solver's iterate path).
  double cold_start_ratio = 0.5;
  std::uint64_t seed = 0;

  /// Groups with no observed entry are an error unless this is set (then they
  /// are kept, with a warning in GameResult::warnings).
  bool allow_unobserved_groups = false;
  /// After convergence compute the exact objective (G1)/(G2) and the KKT
  /// residuals (one SVD of every group block).
  bool final_check = true;
  /// Keep the subgradient certificates Gamma_k in the result (needed by
  /// game_kkt() for the Sum variant and for exact warm starts).
  bool keep_certificates = false;

  ProgressCallback progress;
};

/// Residuals of the optimality conditions (K1)-(K2), all relative.
struct GameKkt {
  bool computed = false;
  /// ||P_Omega(Z - X) + lambda sum_k w_k E_k Gamma_k||_F / ||P_Omega X||_F
  /// (Latent: sqrt(sum_k ||E_k^T P_Omega(Z - X) + lambda w_k Gamma_k||_F^2) / ||P_Omega X||_F).
  double stationarity = 0.0;
  /// max_k max(||Gamma_k||_2 - 1, 0).
  double dual_feasibility = 0.0;
  /// sum_k lambda w_k (||B_k||_* - <Gamma_k, B_k>) / objective, B_k the group
  /// block (Sum) or component (Latent); >= 0 when Gamma_k is feasible.
  double complementarity = 0.0;
  /// ADMM only: sqrt(sum_k ||copy_k - block_k||_F^2) / sqrt(sum_k ||block_k||_F^2).
  double consensus = 0.0;
  double max() const;
};

/// One group's part of the fit: the model's group part (core's
/// LowRankGroupPart: name, member rows, U diag(d) V^T with U |G_k| x r,
/// d decreasing > 0, V n x r, orthonormal columns) and GAME's bookkeeping.
/// Sum: the thresholded consensus copy of Z[G_k, :] (equal to it up to the
/// KKT consensus residual). Latent: the component Z_k itself, so the group
/// parts of a Latent fit are the fitted model (GamePathFit::model()). V spans
/// the group's right singular subspace. The solvers hold their iterates in
/// this type too (game_detail::LowRank), so there is one factor type.
template <class T>
struct GameGroupFit : LowRankGroupPart<T> {
  Index size = 0;             ///< |G_k|
  std::int64_t observed = 0;  ///< observed entries in the group's rows
  double weight = 0.0;        ///< w_k
  bool rank_capped = false;   ///< the max_rank cap was binding in the last SVT
};

template <class T>
struct GameResult {
  Matrix<T> estimate;  ///< Z, m x n (empty when factored())
  Index rows = 0;      ///< m
  Index cols = 0;      ///< n
  /// GameStorage::Factored: no estimate; Z = sum_k E_k U_k diag(d_k) V_k^T
  /// is evaluated from `groups` (each holds its member rows).
  bool factored() const { return estimate.size() == 0 && !groups.empty(); }
  /// A fit is held (dense or factored); false for the empty result of an
  /// interruption before any fit finished.
  bool has_estimate() const { return estimate.size() > 0 || !groups.empty(); }
  std::vector<GameGroupFit<T>> groups;  ///< user groups in RowGroups order, then "all"
  /// Gamma_k (|G_k| x n), kept when GameOptions::keep_certificates.
  std::vector<Matrix<T>> subgradients;
  std::vector<double> objective_trace;  ///< per iteration (ADMM: at the copies)
  double objective = 0.0;               ///< exact (G1)/(G2) at the estimate when final_check
  int iterations = 0;
  /// Proximal gradient, Sum variant: dual block-coordinate sweeps of the inner
  /// prox, summed over the iterations (each sweep is one SVT per group).
  int inner_sweeps = 0;
  Status status = Status::Success;
  GameKkt kkt;
  double lambda = 0.0;
  GameVariant variant = GameVariant::Sum;
  GameSolver solver = GameSolver::Admm;
  double rho = 0.0;  ///< final ADMM penalty
  double elapsed_s = 0.0;
  std::vector<std::string> warnings;

  /// The same result in scalar To (matrices cast, everything else copied),
  /// e.g. a float fit as the warm start of a double one. Without
  /// `certificates` the subgradients (dense |G_k| x n) are left out.
  template <class To>
  GameResult<To> cast(bool certificates = true) const {
    GameResult<To> out;
    out.estimate = estimate.template cast<To>();
    out.rows = rows;
    out.cols = cols;
    for (const GameGroupFit<T>& g : groups) {
      GameGroupFit<To> c;
      c.name = g.name;
      c.rows = g.rows;
      c.size = g.size;
      c.observed = g.observed;
      c.weight = g.weight;
      c.U = g.U.template cast<To>();
      c.d = g.d.template cast<To>();
      c.V = g.V.template cast<To>();
      c.rank_capped = g.rank_capped;
      out.groups.push_back(std::move(c));
    }
    if (certificates)
      for (const Matrix<T>& m : subgradients) out.subgradients.push_back(m.template cast<To>());
    out.objective_trace = objective_trace;
    out.objective = objective;
    out.iterations = iterations;
    out.inner_sweeps = inner_sweeps;
    out.status = status;
    out.kkt = kkt;
    out.lambda = lambda;
    out.variant = variant;
    out.solver = solver;
    out.rho = rho;
    out.elapsed_s = elapsed_s;
    out.warnings = warnings;
    return out;
  }
};

/// The storage a fit with these options uses: options.storage, with Auto
/// resolved to Factored for the Latent variant with proximal gradient and to
/// Dense otherwise (never Auto).
GameStorage resolved_game_storage(const GameOptions& options) noexcept;

/// Resolved weights, user groups first then the global group when included.
/// Default schemes are normalised so that a group holding all m rows gets
/// weight 1, which makes lambda mean the same as soft-impute's for G_0:
///   SqrtSizePlusSqrtCols: w_k = (sqrt(|G_k|) + sqrt(n)) / (sqrt(m) + sqrt(n)),
///   SqrtSize:             w_k = sqrt(|G_k| / m),     Uniform: w_k = 1.
/// Throws InvalidArgument for a wrong-sized or non-positive explicit weight.
std::vector<double> game_weights(Index rows, Index cols, const RowGroups& groups, const GameOptions& options);

/// Fits (G1) or (G2) at options.lambda. `warm_start` (a previous result on the
/// same rows, columns and groups, e.g. at a nearby lambda) initialises the
/// iterate; its certificates are used when it kept them.
///
/// Throws InvalidArgument for: lambda <= 0 or non-finite; bad tolerances,
/// iteration counts or rho; an empty group, a row index outside [0, m) or
/// repeated in a group; a row in no group when include_global_group is false;
/// a group with no observed entry (unless allow_unobserved_groups); wrong-sized
/// or non-positive weights; repeated (row, col) entries; non-finite values.
/// Groups with identical rows (including one equal to all rows while the
/// global group is on) are accepted with a warning: their penalties add up.
template <class T>
GameResult<T> fit_game(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                       const GameResult<T>* warm_start = nullptr);

/// Smallest lambda at which Z = 0 solves the problem (options.lambda ignored).
/// Latent: exactly max_k ||E_k^T P_Omega X||_2 / w_k. Sum: the dual norm
/// min { max_k ||L_k||_2 / w_k : sum_k E_k L_k = P_Omega X }, which has no
/// closed form with overlaps; this returns the upper bound given by splitting
/// every row of P_Omega X among its groups in proportion to their weights,
/// max_k || E_k^T D_w^{-1} P_Omega X ||_2 (D_w = diag(sum_{k ni i} w_k)); it is
/// exact when no two groups overlap. Fits at lambda >= the returned value are 0.
template <class T>
double game_lambda_max(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options);

/// The exact objective (G1) at result.estimate (Sum) or (G2) at result's
/// components (Latent), recomputed from scratch.
template <class T>
double game_objective(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                      const GameResult<T>& result);

/// Recomputes the KKT residuals of `result` from scratch. Sum needs the
/// certificates (keep_certificates); throws InvalidArgument otherwise.
template <class T>
GameKkt game_kkt(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                 const GameResult<T>& result);

/// Value of the estimate at (row, col); for a factored result the sum of
/// the components of the groups holding the row.
template <class T>
T predict(const GameResult<T>& result, Index row, Index col) {
  if (!result.factored()) return result.estimate(row, col);
  T z = T(0);
  for (const GameGroupFit<T>& g : result.groups) {
    const Index p = g.position(row);
    if (p < 0) continue;
    // one running sum over every group's terms (the CV scores' rounding)
    for (Index c = 0; c < g.d.size(); ++c) z += g.U(p, c) * g.d(c) * g.V(col, c);
  }
  return z;
}

/// The estimate as a dense m x n matrix (a copy, or the factored sum).
template <class T>
Matrix<T> game_dense_estimate(const GameResult<T>& result);

extern template GameResult<float> fit_game(const ObservedEntries<float>&, const RowGroups&, const GameOptions&,
                                           const GameResult<float>*);
extern template GameResult<double> fit_game(const ObservedEntries<double>&, const RowGroups&, const GameOptions&,
                                            const GameResult<double>*);

}  // namespace lowrank
