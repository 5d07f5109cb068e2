#pragma once
// Internal pieces shared by the GAME solvers: resolved groups, the densified
// data, singular value thresholding and the final checks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "lowrank/completion/solver.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/game/game.hpp"
#include "lowrank/linalg/operator.hpp"

namespace lowrank::game_detail {

/// Groups after validation: user groups first, then "all" when included.
struct ResolvedGroups {
  Index rows = 0;
  Index cols = 0;
  std::vector<std::string> names;
  std::vector<std::vector<Index>> members;  ///< sorted, unique row indices
  std::vector<double> weights;
  std::vector<Index> max_rank;         ///< 0 = no cap
  std::vector<std::int64_t> observed;  ///< observed entries per group
  std::vector<int> cover;              ///< per row: number of groups holding it
  int max_cover = 0;
  std::size_t size() const { return names.size(); }
};

/// P_Omega X and the 0/1 mask of Omega, dense m x n.
template <class T>
struct DenseData {
  Matrix<T> x;
  Matrix<T> mask;
  double x_norm = 0.0;  ///< ||P_Omega X||_F
};

/// GameStorage::Factored: the observed entries only, and for every group the
/// entries in its rows (positions into row/col/value, with the row's index
/// inside the group), the pattern of the group's sparse gradient block.
template <class T>
struct SparseData {
  std::vector<std::int32_t> col;  ///< int32 as SparseOperator's indices (rows live in `entry`)
  std::vector<T> value;
  double x_norm = 0.0;                               ///< ||P_Omega X||_F
  std::vector<std::vector<std::int64_t>> entry;      ///< per group: entry indices
  std::vector<std::vector<std::int32_t>> local_row;  ///< per group: row inside the group
};

/// Validates the entries as densify() does (indices, finiteness, duplicates,
/// observed entries per group) without any m x n array.
template <class T>
SparseData<T> sparsify(const ObservedEntries<T>& entries, ResolvedGroups& groups, const GameOptions& options,
                       std::vector<std::string>* warnings);

/// Validates options that do not depend on the data.
void validate_options(const GameOptions& options);

/// Validates the groups against the shape and fills everything but `observed`.
ResolvedGroups resolve_groups(Index rows, Index cols, const RowGroups& groups, const GameOptions& options,
                              std::vector<std::string>* warnings);

/// The three arrays of `e` agree in length and hold at least one entry.
template <class T>
void check_entry_arrays(const ObservedEntries<T>& e) {
  if (e.row.size() != e.value.size() || e.col.size() != e.value.size())
    throw InvalidArgument("GAME: observed entries have " + std::to_string(e.row.size()) + " rows, " +
                          std::to_string(e.col.size()) + " cols and " + std::to_string(e.value.size()) + " values");
  if (e.value.empty()) throw InvalidArgument("GAME: no observed entries");
}

/// Entry t inside the rows x cols matrix and finite, as both data layouts
/// (densify, sparsify) require; throws InvalidArgument naming it otherwise.
template <class T>
void check_entry(const ObservedEntries<T>& e, std::size_t t, Index rows, Index cols) {
  const Index i = e.row[t], j = e.col[t];
  if (i < 0 || i >= rows || j < 0 || j >= cols)
    throw InvalidArgument("GAME: entry " + std::to_string(t) + " at (" + std::to_string(i) + ", " + std::to_string(j) +
                          ") is outside the " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix");
  if (!std::isfinite(static_cast<double>(e.value[t])))
    throw InvalidArgument("GAME: entry " + std::to_string(t) + " at (" + std::to_string(i) + ", " + std::to_string(j) +
                          ") is not finite");
}

/// Group k with no observed entry: an InvalidArgument, or (with
/// allow_unobserved_groups) a warning, as both data layouts report it.
void check_group_observed(const ResolvedGroups& g, std::size_t k, const GameOptions& options,
                          std::vector<std::string>* warnings);

/// Densifies and validates the entries (indices, finiteness, duplicates), then
/// counts observed entries per group (error or warning for zero counts).
template <class T>
DenseData<T> densify(const ObservedEntries<T>& entries, ResolvedGroups& groups, const GameOptions& options,
                     std::vector<std::string>* warnings);

/// An SVT output or a group's iterate: U diag(d) V^T with d the thresholded
/// singular values (all > 0) and rank_capped set when max_rank bound. It is
/// the result's own group type (one factor type for the solvers, the result
/// and the model), so store_group_fits only fills in the bookkeeping; the
/// name, rows and counts stay empty in the solvers' working copies.
template <class T>
using LowRank = GameGroupFit<T>;

/// U diag(d) V^T as a dense rows x cols matrix (zero for rank 0).
template <class T>
Matrix<T> dense(const LowRankFactors<T>& f, Index rows, Index cols) {
  if (f.d.size() == 0) return Matrix<T>::Zero(rows, cols);
  return f.U * f.d.asDiagonal() * f.V.transpose();
}

/// Group k's starting factors: the warm start's, else rank 0 (gk x 0, n x 0).
template <class T>
LowRank<T> starting_factors(const GameResult<T>* warm, std::size_t k, Index gk, Index n) {
  LowRank<T> f;
  if (warm) {
    f.U = warm->groups[k].U;
    f.d = warm->groups[k].d;
    f.V = warm->groups[k].V;
  } else {
    f.U.resize(gk, 0);
    f.d.resize(0);
    f.V.resize(n, 0);
  }
  return f;
}

/// The result's per-group fits: the factors moved out of `factors`, with
/// names, member rows, sizes, counts and weights from g.
template <class T>
void store_group_fits(const ResolvedGroups& g, std::vector<LowRank<T>>& factors, std::vector<GameGroupFit<T>>& out) {
  out.resize(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    GameGroupFit<T>& fit = out[k];
    fit = std::move(factors[k]);
    fit.name = g.names[k];
    fit.rows = g.members[k];
    fit.size = static_cast<Index>(g.members[k].size());
    fit.observed = g.observed[k];
    fit.weight = g.weights[k];
  }
}

/// Seed of group k's randomized SVT, distinct per group.
inline std::uint64_t svt_seed(std::uint64_t seed, std::size_t k) {
  return seed * 0x9E3779B97F4A7C15ULL + 1000003ULL * (k + 1);
}

/// Warm-start memory of one group's SVT (subspace iteration).
template <class T>
struct SvtState {
  Matrix<T> V;  ///< previous right singular block (n x k, orthonormal)
  Index rank_hint = 0;
  std::uint64_t seed = 0;
  /// float only: the block's Gram matrix proved too coarse in float once, so
  /// the full route goes straight to a double Gram for the rest of the fit.
  bool gram_in_double = false;
};

/// Singular value thresholding: prox of tau ||.||_* at A, i.e.
/// U diag(max(sigma - tau, 0)) V^T, keeping at most max_rank (0 = all)
/// components. `tol` is the relative residual ||A v_i - s_i u_i|| / s_1 at
/// which the warm-started subspace iteration stops (unused by a full SVD).
template <class T>
LowRank<T> svt(const Eigen::Ref<const Matrix<T>>& a, double tau, Index max_rank, const GameOptions& options,
               SvtState<T>& state, double tol);

/// The same SVT for an operator given by its products (the factored
/// solver's component - step * sparse gradient); the subspace route never
/// forms it, the full route densifies it.
template <class T>
LowRank<T> svt(const SparsePlusLowRank<T>& a, double tau, Index max_rank, const GameOptions& options,
               SvtState<T>& state, double tol);

// Relative accuracy the Gram route must reach at tau / 2. In double the
// default 1e-3 sqrt(eps) admits every block with sigma_1 < 130 tau, i.e.
// all of GAME's. In float it would admit none (sigma_1 < 0.85 tau), but what
// a fit needs is the thresholded block, not sigma at tau / 2 to that
// accuracy: a Gram eigenvalue's error eps sigma_1^2 moves a kept sigma_i
// (>= tau) by at most eps sigma_1^2 / (2 tau) = (eps / 2) (sigma_1 / tau)^2
// tau, and the check below asks 4 eps (sigma_1 / tau)^2 <= accuracy, so with
// max(10x the fit's tolerance, 1e-3) every kept value is within
// max(1.25 tolerance, 1.25e-4) tau of its exact value (1.3e-3 tau at the
// fold fits' 1e-3, sigma_1 <= 145 tau), an error far under the fit's own
// stopping test on ||Z||_F. The triplets between tau / 2 and tau only seed
// the next subspace iteration. The same figure bounds how far a float sweep
// can settle the prox point (solve_sum_fista's inner floor).
template <class T>
inline double gram_route_accuracy(const GameOptions& options) {
  return std::is_same_v<T, float> ? std::max(10.0 * options.tolerance, 1e-3) : 0.0;
}

/// Accuracy of each SVT for a solver working to relative accuracy `tol`.
inline double svt_tolerance(double tol) { return std::clamp(0.01 * tol, 1e-13, 1e-4); }

/// Thin SVD (gesdd); the local stand-in for lowrank::full_svd.
template <class T>
void thin_svd(const Eigen::Ref<const Matrix<T>>& a, Matrix<T>& u, Vector<T>& s, Matrix<T>& v);
/// All singular values (gesdd, no vectors).
template <class T>
Vector<T> singular_values_of(const Matrix<T>& a);

/// 1/2 ||P_Omega(X - Z)||_F^2.
template <class T>
double loss(const DenseData<T>& d, const Matrix<T>& z);

/// Computes objective, KKT residuals and group bookkeeping at the end of a
/// solve. `blocks_are_components` selects the Latent reading of (K1)-(K2).
/// multipliers[k] = lambda w_k Gamma_k.
template <class T>
void finish(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
            std::vector<LowRank<T>>& factors, std::vector<Matrix<T>>& multipliers, double consensus,
            GameResult<T>& result);

// Solvers: fill estimate, factors, multipliers (lambda w_k Gamma_k), trace,
// iterations, status, rho and the consensus residual.
template <class T>
struct SolverOutput {
  std::vector<LowRank<T>> factors;
  std::vector<Matrix<T>> multipliers;
  double consensus = 0.0;
};

template <class T>
SolverOutput<T> solve_sum_admm(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
                               const GameResult<T>* warm, GameResult<T>& result);
template <class T>
SolverOutput<T> solve_sum_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
                                const GameResult<T>* warm, GameResult<T>& result);
template <class T>
SolverOutput<T> solve_latent_admm(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
                                  const GameResult<T>* warm, GameResult<T>& result);
/// GameStorage::Factored: the Latent proximal-gradient solver on factors and
/// observed entries; also computes objective, KKT and the result's groups
/// (the factored counterpart of solve_latent_fista + finish).
template <class T>
void solve_latent_fista_factored(const SparseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
                                 const GameResult<T>* warm, GameResult<T>& result);
/// Latent lambda_max, max_k ||E_k^T P_Omega X||_2 / w_k, from sparse blocks.
template <class T>
double latent_lambda_max(const SparseData<T>& d, const ResolvedGroups& g);
template <class T>
SolverOutput<T> solve_latent_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
                                   const GameResult<T>* warm, GameResult<T>& result);

// When a fold's path stops early. A lambda whose validation RMSE is above
// the fold's best by more than kRise (relative) is a rise; rises count only
// once the error has come down by kDescent from the first lambda's (near
// lambda_max it moves by small bumps: on vegan's raw mite counts single folds
// rise once there and fall again, and a stop there left the CV table only the
// zero fit). The fold stops after `patience` consecutive rises, or at the
// first rise that is significant: the paired z statistic of the held-out
// squared errors against the best lambda's, mean(d) / (sd(d) / sqrt(count)),
// at least kSignificant. On the small ecology tables single rises are noise
// and rarely significant; on a MovieLens-100k fold the first rise past the
// minimum has z = 3.2, so the fold saves its most expensive fit.
struct FoldStopRule {
  static constexpr double kRise = 1e-4;          // smaller moves are rounding of the fits
  static constexpr double kDescent = 1e-3;       // 0.1 %: well above kRise
  static constexpr double kSignificant = 1.645;  // one-sided 5 %
  explicit FoldStopRule(int patience) : patience(patience) {}
  // `squared` holds the held-out squared errors, in a fixed entry order.
  bool should_stop(const std::vector<double>& squared);
  int patience;
  double first = std::numeric_limits<double>::quiet_NaN();
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> best_squared;
  int rising = 0;
  bool descended = false;
};

/// Splits the groups, in order, into maximal runs of consecutive groups with
/// pairwise disjoint rows (typically the levels of one category); within a run
/// the block steps of the dual sweep commute. Each run is sorted largest
/// group first.
std::vector<std::vector<std::size_t>> disjoint_runs(const ResolvedGroups& g);

/// Gathers rows of a dense matrix: out = a[rows, :].
template <class T>
Matrix<T> gather_rows(const Matrix<T>& a, const std::vector<Index>& rows) {
  Matrix<T> out(static_cast<Index>(rows.size()), a.cols());
  for (Index j = 0; j < a.cols(); ++j)
    for (std::size_t i = 0; i < rows.size(); ++i) out(static_cast<Index>(i), j) = a(rows[i], j);
  return out;
}

/// a[rows, :] += alpha * b.
template <class T>
void scatter_add_rows(Matrix<T>& a, const std::vector<Index>& rows, const Matrix<T>& b, T alpha = T(1)) {
  for (Index j = 0; j < a.cols(); ++j)
    for (std::size_t i = 0; i < rows.size(); ++i) a(rows[i], j) += alpha * b(static_cast<Index>(i), j);
}

/// Latent: sum_k E_k (U_k diag(S_k) V_k^T).
template <class T>
Matrix<T> sum_components(const ResolvedGroups& g, const std::vector<LowRank<T>>& factors) {
  Matrix<T> z = Matrix<T>::Zero(g.rows, g.cols);
  for (std::size_t k = 0; k < g.size(); ++k)
    if (factors[k].d.size() > 0)
      scatter_add_rows(z, g.members[k], dense(factors[k], static_cast<Index>(g.members[k].size()), g.cols));
  return z;
}

/// Spectral norm (largest singular value).
template <class T>
double spectral_norm_of(const Matrix<T>& a);

// The one driver of GAME's solver loops (issue 27, item 5), on completion's
// IterationMonitor: objective trace, one progress event per iteration (rank
// = the largest group rank), Ctrl-C, a non-finite objective and the
// iteration cap, mapped to a Status. Each solver measures its own
// convergence as `change`, relative to the tolerance given here (FISTA: the
// iterate's relative change against options.tolerance; ADMM: the larger of
// its primal and dual residuals over their bounds, against 1). Use:
//
//   SolverLoop<T> loop("game-fista", o.tolerance, o);
//   while (!loop.interrupted()) {
//     ... one iteration ...
//     const auto stop = loop.step(objective, change, factors);
//     if (stop == Status::NumericalIssue) break;   // before the iterate moves
//     ... accept the iterate ...
//     if (stop) break;
//   }
//   loop.finish(result);
template <class T>
class SolverLoop {
 public:
  SolverLoop(std::string_view stage, double tolerance, const GameOptions& o)
      : m_monitor(std::string(stage), tolerance, o.max_iterations, o.progress) {}
  std::optional<Status> step(double objective, double change, const std::vector<LowRank<T>>& factors) {
    Index rank = 0;
    for (const auto& f : factors) rank = std::max(rank, f.d.size());
    const std::optional<Status> stop = m_monitor.step(objective, static_cast<int>(rank), change);
    if (stop) m_status = *stop;
    return stop;
  }
  /// The loop's first check, before each iteration: true (and the status
  /// Interrupted) once Ctrl-C was seen.
  bool interrupted() {
    if (!interrupt_requested()) return false;
    m_status = Status::Interrupted;
    return true;
  }
  int iterations() const { return m_monitor.iterations(); }
  Status status() const { return m_status; }
  /// Trace, iteration count and status into the result.
  void finish(GameResult<T>& res) {
    res.iterations = m_monitor.iterations();
    res.objective_trace = m_monitor.take_trace();
    res.status = m_status;
  }

 private:
  IterationMonitor m_monitor;
  Status m_status = Status::NotConverging;
};

}  // namespace lowrank::game_detail
