// GAME front door: validation, weights, dispatch to the solvers, final checks.
#include "lowrank/game/game.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "game/detail.hpp"

namespace lowrank {

const char* to_string(GameVariant v) noexcept {
  switch (v) {
    case GameVariant::Sum:
      return "sum";
    case GameVariant::Latent:
      return "latent";
  }
  return "unknown";
}

const char* to_string(GameSolver s) noexcept {
  switch (s) {
    case GameSolver::Admm:
      return "admm";
    case GameSolver::ProximalGradient:
      return "proximal-gradient";
  }
  return "unknown";
}

const char* to_string(GameWeightScheme s) noexcept {
  switch (s) {
    case GameWeightScheme::SqrtSizePlusSqrtCols:
      return "sqrt-size-plus-sqrt-cols";
    case GameWeightScheme::SqrtSize:
      return "sqrt-size";
    case GameWeightScheme::Uniform:
      return "uniform";
  }
  return "unknown";
}

const char* to_string(GameStorage s) noexcept {
  switch (s) {
    case GameStorage::Dense:
      return "dense";
    case GameStorage::Factored:
      return "factored";
    case GameStorage::Auto:
      return "auto";
  }
  return "unknown";
}

GameStorage resolved_game_storage(const GameOptions& options) noexcept {
  if (options.storage != GameStorage::Auto) return options.storage;
  return options.variant == GameVariant::Latent && options.solver == GameSolver::ProximalGradient
             ? GameStorage::Factored
             : GameStorage::Dense;
}

GameStorage parse_game_storage(std::string_view name) {
  if (name == "dense") return GameStorage::Dense;
  if (name == "factored") return GameStorage::Factored;
  if (name == "auto") return GameStorage::Auto;
  throw InvalidArgument("unknown GAME storage '" + std::string(name) + "' (expected auto, dense or factored)");
}

GameVariant parse_game_variant(std::string_view name) {
  if (name == "sum") return GameVariant::Sum;
  if (name == "latent") return GameVariant::Latent;
  throw InvalidArgument("unknown GAME variant '" + std::string(name) + "' (expected sum or latent)");
}

GameSolver parse_game_solver(std::string_view name) {
  if (name == "admm") return GameSolver::Admm;
  if (name == "proximal-gradient" || name == "fista") return GameSolver::ProximalGradient;
  throw InvalidArgument("unknown GAME solver '" + std::string(name) + "' (expected admm or proximal-gradient)");
}

GameWeightScheme parse_game_weight_scheme(std::string_view name) {
  if (name == "sqrt-size-plus-sqrt-cols") return GameWeightScheme::SqrtSizePlusSqrtCols;
  if (name == "sqrt-size") return GameWeightScheme::SqrtSize;
  if (name == "uniform") return GameWeightScheme::Uniform;
  throw InvalidArgument("unknown GAME weight scheme '" + std::string(name) +
                        "' (expected sqrt-size-plus-sqrt-cols, sqrt-size or uniform)");
}

double GameKkt::max() const { return std::max({stationarity, dual_feasibility, std::abs(complementarity), consensus}); }

namespace {

double scheme_weight(GameWeightScheme scheme, double size, double rows, double cols) {
  switch (scheme) {
    case GameWeightScheme::SqrtSizePlusSqrtCols:
      return (std::sqrt(size) + std::sqrt(cols)) / (std::sqrt(rows) + std::sqrt(cols));
    case GameWeightScheme::SqrtSize:
      return std::sqrt(size / rows);
    case GameWeightScheme::Uniform:
      return 1.0;
  }
  return 1.0;
}

std::string group_label(const RowGroups& groups, std::size_t k) {
  return "group '" + groups.names[k] + "' (index " + std::to_string(k) + ")";
}

}  // namespace

std::vector<double> game_weights(Index rows, Index cols, const RowGroups& groups, const GameOptions& options) {
  if (rows <= 0 || cols <= 0)
    throw InvalidArgument("GAME: the matrix is empty (" + std::to_string(rows) + " x " + std::to_string(cols) + ")");
  if (groups.rows.size() != groups.names.size())
    throw InvalidArgument("GAME: RowGroups has " + std::to_string(groups.names.size()) + " names but " +
                          std::to_string(groups.rows.size()) + " row lists");
  const std::size_t k_user = groups.size();
  std::vector<double> w;
  w.reserve(k_user + 1);
  if (!options.weights.empty()) {
    if (options.weights.size() != k_user)
      throw InvalidArgument("GAME: " + std::to_string(options.weights.size()) + " weights given for " +
                            std::to_string(k_user) + " groups");
    for (std::size_t k = 0; k < k_user; ++k) {
      const double wk = options.weights[k];
      if (!std::isfinite(wk) || wk <= 0)
        throw InvalidArgument("GAME: weight of " + group_label(groups, k) + " is " + std::to_string(wk) +
                              "; weights must be finite and > 0");
      w.push_back(wk);
    }
  } else {
    for (std::size_t k = 0; k < k_user; ++k)
      w.push_back(scheme_weight(options.weight_scheme, static_cast<double>(groups.rows[k].size()),
                                static_cast<double>(rows), static_cast<double>(cols)));
  }
  if (options.include_global_group) {
    double w0 = scheme_weight(options.weight_scheme, static_cast<double>(rows), static_cast<double>(rows),
                              static_cast<double>(cols));
    if (options.global_weight) {
      w0 = *options.global_weight;
      if (!std::isfinite(w0) || w0 <= 0)
        throw InvalidArgument("GAME: global group weight is " + std::to_string(w0) + "; it must be finite and > 0");
    }
    w.push_back(w0);
  }
  return w;
}

namespace game_detail {

void validate_options(const GameOptions& o) {
  if (!std::isfinite(o.lambda) || o.lambda <= 0)
    throw InvalidArgument("GAME: lambda must be finite and > 0 (got " + std::to_string(o.lambda) + ")");
  if (!std::isfinite(o.tolerance) || o.tolerance <= 0)
    throw InvalidArgument("GAME: tolerance must be > 0 (got " + std::to_string(o.tolerance) + ")");
  if (o.max_iterations <= 0)
    throw InvalidArgument("GAME: max_iterations must be > 0 (got " + std::to_string(o.max_iterations) + ")");
  if (!std::isfinite(o.rho) || o.rho <= 0)
    throw InvalidArgument("GAME: rho must be finite and > 0 (got " + std::to_string(o.rho) + ")");
  if (!(o.relaxation > 0 && o.relaxation < 2))
    throw InvalidArgument("GAME: relaxation must be in (0, 2) (got " + std::to_string(o.relaxation) + ")");
  if (o.inner_max_iterations <= 0) throw InvalidArgument("GAME: inner_max_iterations must be > 0");
  if (o.sweeps_per_iteration < 0)
    throw InvalidArgument("GAME: sweeps_per_iteration must be >= 0 (0 = until the inner tolerance)");
  if (!std::isfinite(o.inner_tolerance) || o.inner_tolerance <= 0)
    throw InvalidArgument("GAME: inner_tolerance must be > 0");
  if (o.max_rank < 0) throw InvalidArgument("GAME: max_rank must be >= 0 (0 = no cap)");
  if (o.full_svd_max_dim < 0) throw InvalidArgument("GAME: full_svd_max_dim must be >= 0");
  if (o.subspace_max_passes < 1) throw InvalidArgument("GAME: subspace_max_passes must be >= 1");
  if (o.storage == GameStorage::Factored &&
      (o.variant != GameVariant::Latent || o.solver != GameSolver::ProximalGradient))
    throw InvalidArgument(
        std::string("GAME: factored storage needs the latent variant and the proximal-gradient solver "
                    "(got ") +
        to_string(o.variant) + ", " + to_string(o.solver) +
        "): the sum variant's dual multipliers are full rank (docs/game.md, Memory)");
}

ResolvedGroups resolve_groups(Index rows, Index cols, const RowGroups& groups, const GameOptions& options,
                              std::vector<std::string>* warnings) {
  ResolvedGroups g;
  g.rows = rows;
  g.cols = cols;
  g.weights = game_weights(rows, cols, groups, options);  // also checks shape and RowGroups consistency
  const std::size_t k_user = groups.size();
  if (k_user == 0 && !options.include_global_group)
    throw InvalidArgument("GAME: no groups given and the global group is off");
  if (!options.group_max_rank.empty() && options.group_max_rank.size() != k_user)
    throw InvalidArgument("GAME: group_max_rank has " + std::to_string(options.group_max_rank.size()) +
                          " entries for " + std::to_string(k_user) + " groups");

  for (std::size_t k = 0; k < k_user; ++k) {
    const auto& src = groups.rows[k];
    if (src.empty()) throw InvalidArgument("GAME: " + group_label(groups, k) + " has no rows");
    std::vector<Index> members(src.begin(), src.end());
    std::sort(members.begin(), members.end());
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (members[i] < 0 || members[i] >= rows)
        throw InvalidArgument("GAME: " + group_label(groups, k) + " lists row " + std::to_string(members[i]) +
                              ", outside [0, " + std::to_string(rows) + ")");
      if (i > 0 && members[i] == members[i - 1])
        throw InvalidArgument("GAME: " + group_label(groups, k) + " lists row " + std::to_string(members[i]) +
                              " more than once");
    }
    Index cap = options.max_rank;
    if (!options.group_max_rank.empty()) {
      if (options.group_max_rank[k] < 0) throw InvalidArgument("GAME: group_max_rank must be >= 0");
      if (options.group_max_rank[k] > 0) cap = options.group_max_rank[k];
    }
    g.names.push_back(groups.names[k]);
    g.members.push_back(std::move(members));
    g.max_rank.push_back(cap);
  }
  if (options.include_global_group) {
    std::vector<Index> all(static_cast<std::size_t>(rows));
    for (Index i = 0; i < rows; ++i) all[static_cast<std::size_t>(i)] = i;
    g.names.emplace_back("all");
    g.members.push_back(std::move(all));
    g.max_rank.push_back(options.max_rank);
  }

  g.cover.assign(static_cast<std::size_t>(rows), 0);
  for (const auto& members : g.members)
    for (Index i : members) ++g.cover[static_cast<std::size_t>(i)];
  for (Index i = 0; i < rows; ++i)
    if (g.cover[static_cast<std::size_t>(i)] == 0)
      throw InvalidArgument("GAME: row " + std::to_string(i) +
                            " belongs to no group; its unobserved entries would be unpenalised and undetermined "
                            "(turn on the global group or give it a group)");
  g.max_cover = *std::max_element(g.cover.begin(), g.cover.end());

  if (warnings) {
    std::map<std::vector<Index>, std::size_t> seen;
    for (std::size_t k = 0; k < g.size(); ++k) {
      auto [it, inserted] = seen.emplace(g.members[k], k);
      if (!inserted)
        warnings->push_back("groups '" + g.names[it->second] + "' and '" + g.names[k] +
                            "' hold the same rows; their penalties add up (a category with a single level?)");
    }
  }
  return g;
}

void check_group_observed(const ResolvedGroups& g, std::size_t k, const GameOptions& options,
                          std::vector<std::string>* warnings) {
  if (g.observed[k] != 0) return;
  const std::string msg = "group '" + g.names[k] + "' (index " + std::to_string(k) + ", " +
                          std::to_string(g.members[k].size()) + " rows) has no observed entry";
  if (!options.allow_unobserved_groups)
    throw InvalidArgument("GAME: " + msg + " (set allow_unobserved_groups to keep it)");
  if (warnings) warnings->push_back(msg + "; its block is set by the other groups' penalties");
}

template <class T>
DenseData<T> densify(const ObservedEntries<T>& e, ResolvedGroups& g, const GameOptions& options,
                     std::vector<std::string>* warnings) {
  check_entry_arrays(e);
  DenseData<T> d;
  d.x = Matrix<T>::Zero(g.rows, g.cols);
  d.mask = Matrix<T>::Zero(g.rows, g.cols);
  std::vector<std::int64_t> per_row(static_cast<std::size_t>(g.rows), 0);
  double norm2 = 0;
  for (std::size_t t = 0; t < e.value.size(); ++t) {
    const Index i = e.row[t], j = e.col[t];
    check_entry(e, t, g.rows, g.cols);
    if (d.mask(i, j) != T(0))
      throw InvalidArgument("GAME: entry (" + std::to_string(i) + ", " + std::to_string(j) +
                            ") is observed more than once (resolve duplicates first)");
    d.mask(i, j) = T(1);
    d.x(i, j) = e.value[t];
    norm2 += static_cast<double>(e.value[t]) * static_cast<double>(e.value[t]);
    ++per_row[static_cast<std::size_t>(i)];
  }
  d.x_norm = std::sqrt(norm2);
  g.observed.assign(g.size(), 0);
  for (std::size_t k = 0; k < g.size(); ++k) {
    for (Index i : g.members[k]) g.observed[k] += per_row[static_cast<std::size_t>(i)];
    check_group_observed(g, k, options, warnings);
  }
  return d;
}

template <class T>
double loss(const DenseData<T>& d, const Matrix<T>& z) {
  return 0.5 * static_cast<double>((d.mask.array() * (d.x - z).array()).matrix().squaredNorm());
}

namespace {

struct KktAndObjective {
  GameKkt kkt;
  double objective = 0.0;
};

// (K1)-(K2) at estimate z. Sum: blocks are z[G_k, :] and multipliers are the
// solver's lambda w_k Gamma_k. Latent: blocks are the components (factors)
// and multipliers are recomputed as E_k^T P_Omega(X - z).
template <class T>
KktAndObjective evaluate(const DenseData<T>& d, const ResolvedGroups& g, double lambda, GameVariant variant,
                         const Matrix<T>& z, const std::vector<LowRank<T>>& factors,
                         std::vector<Matrix<T>>& multipliers) {
  KktAndObjective out;
  const double scale = std::max(d.x_norm, std::numeric_limits<double>::min());
  const Matrix<T> resid = (d.mask.array() * (z - d.x).array()).matrix();  // P_Omega(Z - X)
  double penalty = 0, gap = 0, feas = 0;
  if (variant == GameVariant::Sum) {
    Matrix<T> stat = resid;
    // The proximal-gradient estimate is the last group's thresholded copy;
    // when that group holds every row, Z = Z V V^T with V its (n x r) right
    // factor and the blocks' singular values are those of the small
    // Z[G_k, :] V. Checked, not assumed: ||Z - Z V V^T||_F must be at
    // round-off (then the values differ by at most that, by Weyl), else every
    // block gets a full SVD.
    Matrix<T> basis;
    bool in_basis = false;
    if (!factors.empty() && static_cast<Index>(g.members.back().size()) == g.rows &&
        factors.back().V.rows() == g.cols && 2 * factors.back().V.cols() < std::min(g.rows, g.cols)) {
      const Matrix<T>& v = factors.back().V;
      const Matrix<T> zv = z * v;
      const double off = static_cast<double>((z - zv * v.transpose()).norm());
      const double tol = 100.0 * static_cast<double>(std::numeric_limits<T>::epsilon()) *
                         std::max(static_cast<double>(z.norm()), std::numeric_limits<double>::min());
      if (off <= tol) {
        basis = v;
        in_basis = true;
      }
    }
    // one SVD and one spectral norm per group, independent: a parallel loop
    const auto count = static_cast<std::ptrdiff_t>(g.size());
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : penalty, gap) reduction(max : feas)
    for (std::ptrdiff_t kk = 0; kk < count; ++kk) {
      const auto k = static_cast<std::size_t>(kk);
      const double lw = lambda * g.weights[k];
      const Matrix<T> block = gather_rows(z, g.members[k]);
      const double nuc = static_cast<double>(
          !in_basis ? singular_values_of(block).sum()
                    : (basis.cols() == 0 ? T(0) : singular_values_of(Matrix<T>(block * basis)).sum()));
      penalty += lw * nuc;
      gap += lw * nuc - static_cast<double>((multipliers[k].array() * block.array()).sum());
      feas = std::max(feas, spectral_norm_of(multipliers[k]) / lw - 1.0);
    }
    for (std::size_t k = 0; k < g.size(); ++k) scatter_add_rows(stat, g.members[k], multipliers[k]);
    out.kkt.stationarity = static_cast<double>(stat.norm()) / scale;
  } else {
    multipliers.resize(g.size());
    for (std::size_t k = 0; k < g.size(); ++k) {
      const double lw = lambda * g.weights[k];
      multipliers[k] = -gather_rows(resid, g.members[k]);
      const Index gk = static_cast<Index>(g.members[k].size());
      const double nuc = static_cast<double>(factors[k].d.sum());
      penalty += lw * nuc;
      gap += lw * nuc - static_cast<double>((multipliers[k].array() * dense(factors[k], gk, g.cols).array()).sum());
      feas = std::max(feas, spectral_norm_of(multipliers[k]) / lw - 1.0);
    }
    out.kkt.stationarity = 0.0;  // the certificate is built from (K1) itself
  }
  out.objective = loss(d, z) + penalty;
  out.kkt.dual_feasibility = std::max(feas, 0.0);
  out.kkt.complementarity = gap / std::max(out.objective, std::numeric_limits<double>::min());
  out.kkt.computed = true;
  return out;
}

}  // namespace

template <class T>
void finish(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& options,
            std::vector<LowRank<T>>& factors, std::vector<Matrix<T>>& multipliers, double consensus,
            GameResult<T>& result) {
  if (options.final_check) {
    KktAndObjective ko = evaluate(d, g, options.lambda, options.variant, result.estimate, factors, multipliers);
    result.objective = ko.objective;
    result.kkt = ko.kkt;
    result.kkt.consensus = consensus;
  } else {
    result.objective =
        result.objective_trace.empty() ? std::numeric_limits<double>::quiet_NaN() : result.objective_trace.back();
    result.kkt.consensus = consensus;
    if (options.variant == GameVariant::Latent && options.keep_certificates) {
      const Matrix<T> resid = (d.mask.array() * (d.x - result.estimate).array()).matrix();
      multipliers.resize(g.size());
      for (std::size_t k = 0; k < g.size(); ++k) multipliers[k] = gather_rows(resid, g.members[k]);
    }
  }
  store_group_fits(g, factors, result.groups);
  if (options.keep_certificates) {
    result.subgradients.resize(g.size());
    for (std::size_t k = 0; k < g.size(); ++k)
      result.subgradients[k] = multipliers[k] / static_cast<T>(options.lambda * g.weights[k]);
  }
}

// The warm start of a factored fit from zero (GameOptions::cold_start_ratio):
// the fits at lambda_max * ratio^j above lambda, each to
// max(10 tolerance, 1e-3) without the final check. Their ranks grow towards
// the final one instead of passing through the thresholded data block's.
template <class T>
std::optional<GameResult<T>> continuation_start(const SparseData<T>& sd, const ResolvedGroups& g,
                                                const GameOptions& options, const GameResult<T>* warm_start) {
  const double ratio = options.cold_start_ratio;
  if (warm_start || !(ratio > 0.0 && ratio < 1.0)) return std::nullopt;
  const double lmax = latent_lambda_max(sd, g);
  std::optional<GameResult<T>> stage;
  GameOptions o = options;
  o.tolerance = std::max(10.0 * options.tolerance, 1e-3);
  o.final_check = false;
  o.keep_certificates = false;
  o.progress = nullptr;
  for (double lam = lmax * ratio; lam > options.lambda; lam *= ratio) {
    if (interrupt_requested()) break;
    o.lambda = lam;
    GameResult<T> r;
    r.lambda = lam;
    r.variant = options.variant;
    r.solver = options.solver;
    solve_latent_fista_factored(sd, g, o, stage ? &*stage : nullptr, r);
    if (r.status == Status::NumericalIssue || r.status == Status::Interrupted) break;
    stage = std::move(r);
  }
  return stage;
}

}  // namespace game_detail

template <class T>
GameResult<T> fit_game(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                       const GameResult<T>* warm_start) {
  using namespace game_detail;
  const auto t0 = std::chrono::steady_clock::now();
  validate_options(options);
  const GameStorage storage = resolved_game_storage(options);
  GameResult<T> result;
  result.lambda = options.lambda;
  result.variant = options.variant;
  result.solver = options.solver;
  ResolvedGroups g = resolve_groups(entries.rows, entries.cols, groups, options, &result.warnings);
  if (warm_start) {
    const Index wr = warm_start->estimate.size() > 0 ? warm_start->estimate.rows() : warm_start->rows;
    const Index wc = warm_start->estimate.size() > 0 ? warm_start->estimate.cols() : warm_start->cols;
    if (wr != g.rows || wc != g.cols || warm_start->groups.size() != g.size())
      throw InvalidArgument("GAME: the warm start was fitted on a different shape or group list");
    if (warm_start->variant != options.variant) warm_start = nullptr;  // components mean different things
    // a factored warm start has no dense estimate for the Sum solvers to start from
    if (warm_start && warm_start->factored() && storage != GameStorage::Factored) warm_start = nullptr;
  }
  result.rows = g.rows;
  result.cols = g.cols;
  if (storage == GameStorage::Factored) {
    const SparseData<T> sd = sparsify(entries, g, options, &result.warnings);
    std::optional<GameResult<T>> stage = continuation_start(sd, g, options, warm_start);
    solve_latent_fista_factored(sd, g, options, stage ? &*stage : warm_start, result);
    result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }
  DenseData<T> d = densify(entries, g, options, &result.warnings);

  SolverOutput<T> out;
  if (options.variant == GameVariant::Sum) {
    out = options.solver == GameSolver::Admm ? solve_sum_admm(d, g, options, warm_start, result)
                                             : solve_sum_fista(d, g, options, warm_start, result);
  } else {
    out = options.solver == GameSolver::Admm ? solve_latent_admm(d, g, options, warm_start, result)
                                             : solve_latent_fista(d, g, options, warm_start, result);
  }
  finish(d, g, options, out.factors, out.multipliers, out.consensus, result);
  result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

template <class T>
double game_lambda_max(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options) {
  using namespace game_detail;
  GameOptions o = options;
  o.lambda = 1.0;
  validate_options(o);
  ResolvedGroups g = resolve_groups(entries.rows, entries.cols, groups, o, nullptr);
  o.allow_unobserved_groups = true;
  if (resolved_game_storage(options) == GameStorage::Factored)
    return latent_lambda_max(sparsify(entries, g, o, nullptr), g);
  DenseData<T> d = densify(entries, g, o, nullptr);
  double best = 0;
  if (options.variant == GameVariant::Latent) {
    for (std::size_t k = 0; k < g.size(); ++k)
      best = std::max(best, spectral_norm_of(gather_rows(d.x, g.members[k])) / g.weights[k]);
    return best;
  }
  // Split row i of P_Omega X among its groups in proportion to w_k:
  // L_k = w_k E_k^T D_w^{-1} P_Omega X is feasible, so ||L_k||_2 / w_k bounds the dual norm.
  Vector<T> wsum = Vector<T>::Zero(g.rows);
  for (std::size_t k = 0; k < g.size(); ++k)
    for (Index i : g.members[k]) wsum(i) += static_cast<T>(g.weights[k]);
  const Matrix<T> scaled = wsum.cwiseInverse().asDiagonal() * d.x;
  const auto count = static_cast<std::ptrdiff_t>(g.size());
#pragma omp parallel for schedule(dynamic, 1) reduction(max : best)
  for (std::ptrdiff_t k = 0; k < count; ++k)
    best = std::max(best, spectral_norm_of(gather_rows(scaled, g.members[static_cast<std::size_t>(k)])));
  return best;
}

template <class T>
Matrix<T> game_dense_estimate(const GameResult<T>& result) {
  if (!result.factored()) return result.estimate;
  Matrix<T> z = Matrix<T>::Zero(result.rows, result.cols);
  for (const GameGroupFit<T>& f : result.groups) {
    if (f.d.size() == 0) continue;
    const Matrix<T> us = f.U * f.d.asDiagonal();
    const Index gk = static_cast<Index>(f.rows.size());
    // z[G_k, :] += U S V^T, a block of rows at a time
    constexpr Index kChunk = 256;
    for (Index p0 = 0; p0 < gk; p0 += kChunk) {
      const Index len = std::min(kChunk, gk - p0);
      const Matrix<T> part = us.middleRows(p0, len) * f.V.transpose();
      for (Index j = 0; j < result.cols; ++j)
        for (Index p = 0; p < len; ++p) z(f.rows[static_cast<std::size_t>(p0 + p)], j) += part(p, j);
    }
  }
  return z;
}

template <class T>
double game_objective(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                      const GameResult<T>& result) {
  using namespace game_detail;
  GameOptions o = options;
  o.allow_unobserved_groups = true;
  ResolvedGroups g = resolve_groups(entries.rows, entries.cols, groups, o, nullptr);
  DenseData<T> d = densify(entries, g, o, nullptr);
  if (result.groups.size() != g.size()) throw InvalidArgument("GAME: result has a different group list");
  double penalty = 0;
  if (options.variant == GameVariant::Sum) {
    for (std::size_t k = 0; k < g.size(); ++k)
      penalty +=
          g.weights[k] * static_cast<double>(singular_values_of(gather_rows(result.estimate, g.members[k])).sum());
    return loss(d, result.estimate) + options.lambda * penalty;
  }
  std::vector<LowRank<T>> factors(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    factors[k].U = result.groups[k].U;
    factors[k].d = result.groups[k].d;
    factors[k].V = result.groups[k].V;
    // nuclear norm from the singular values of the component itself, not S
    const Matrix<T> comp = dense(factors[k], static_cast<Index>(g.members[k].size()), g.cols);
    penalty += g.weights[k] * static_cast<double>(singular_values_of(comp).sum());
  }
  return loss(d, sum_components(g, factors)) + options.lambda * penalty;
}

template <class T>
GameKkt game_kkt(const ObservedEntries<T>& entries, const RowGroups& groups, const GameOptions& options,
                 const GameResult<T>& result) {
  using namespace game_detail;
  GameOptions o = options;
  o.allow_unobserved_groups = true;
  validate_options(o);
  ResolvedGroups g = resolve_groups(entries.rows, entries.cols, groups, o, nullptr);
  DenseData<T> d = densify(entries, g, o, nullptr);
  if (result.groups.size() != g.size()) throw InvalidArgument("GAME: result has a different group list");
  std::vector<LowRank<T>> factors(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    factors[k].U = result.groups[k].U;
    factors[k].d = result.groups[k].d;
    factors[k].V = result.groups[k].V;
  }
  std::vector<Matrix<T>> multipliers;
  if (options.variant == GameVariant::Sum) {
    if (result.subgradients.size() != g.size())
      throw InvalidArgument("GAME: the Sum variant's KKT check needs the certificates (keep_certificates)");
    for (std::size_t k = 0; k < g.size(); ++k)
      multipliers.push_back(result.subgradients[k] * static_cast<T>(options.lambda * g.weights[k]));
  }
  const Matrix<T> z = options.variant == GameVariant::Sum ? result.estimate : sum_components(g, factors);
  return evaluate(d, g, options.lambda, options.variant, z, factors, multipliers).kkt;
}

#define LOWRANK_GAME_INSTANTIATE(T)                                                                                 \
  template GameResult<T> fit_game(const ObservedEntries<T>&, const RowGroups&, const GameOptions&,                  \
                                  const GameResult<T>*);                                                            \
  template double game_lambda_max(const ObservedEntries<T>&, const RowGroups&, const GameOptions&);                 \
  template double game_objective(const ObservedEntries<T>&, const RowGroups&, const GameOptions&,                   \
                                 const GameResult<T>&);                                                             \
  template GameKkt game_kkt(const ObservedEntries<T>&, const RowGroups&, const GameOptions&, const GameResult<T>&); \
  template Matrix<T> game_dense_estimate(const GameResult<T>&);                                                     \
  template game_detail::DenseData<T> game_detail::densify(const ObservedEntries<T>&, game_detail::ResolvedGroups&,  \
                                                          const GameOptions&, std::vector<std::string>*);           \
  template double game_detail::loss(const game_detail::DenseData<T>&, const Matrix<T>&);                            \
  template void game_detail::finish(const game_detail::DenseData<T>&, const game_detail::ResolvedGroups&,           \
                                    const GameOptions&, std::vector<game_detail::LowRank<T>>&,                      \
                                    std::vector<Matrix<T>>&, double, GameResult<T>&);

LOWRANK_GAME_INSTANTIATE(float)
LOWRANK_GAME_INSTANTIATE(double)
#undef LOWRANK_GAME_INSTANTIATE

}  // namespace lowrank
