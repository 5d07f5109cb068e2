// ADMM solvers for GAME (Boyd, Parikh, Chu, Peleato, Eckstein 2011, scaled form).
//
// Sum variant (G1), consensus form:
//   minimise 1/2 ||P_Omega(X - Z)||^2 + sum_k lambda w_k ||Y_k||_*   s.t.  E_k^T Z = Y_k.
//   Z-update: entrywise closed form, since sum_k E_k E_k^T = diag(c) (c_i = groups holding row i):
//     Z_ij = (omega_ij X_ij + rho sum_{k ni i} (Y_k - U_k)_ij) / (omega_ij + rho c_i)
//   Y-update: Y_k = SVT_{lambda w_k / rho}(E_k^T Z + U_k);  U_k += E_k^T Z - Y_k.
//   rho U_k is then exactly lambda w_k times a subgradient of ||Y_k||_*.
//   With over-relaxation (sec. 3.4.3) E_k^T Z is replaced by
//   alpha E_k^T Z + (1 - alpha) Y_k in both updates.
//
// Latent variant (G2), copies Y_k = Z_k:
//   minimise 1/2 ||P_Omega(X - sum_k E_k Z_k)||^2 + sum_k lambda w_k ||Y_k||_*  s.t.  Z_k = Y_k.
//   Z-update, entrywise with a_k = Y_k - U_k: Z_k = a_k + E_k^T R,
//     R_ij = omega_ij (X_ij - sum_{k ni i} a_k,ij) / (rho + c_i).
#include <chrono>
#include <cmath>
#include <limits>

#include "game/detail.hpp"

namespace lowrank::game_detail {

namespace {

struct Residuals {
  double primal = 0, dual = 0, eps_primal = 0, eps_dual = 0;
  // Converged (Boyd et al. 2011, sec. 3.3.1) when both residuals are within
  // their bounds, i.e. this is below 1 (the driver's tolerance for ADMM).
  double measure() const {
    constexpr double tiny = std::numeric_limits<double>::min();
    return std::max(primal / std::max(eps_primal, tiny), dual / std::max(eps_dual, tiny));
  }
};

// Boyd et al. sec. 3.4.1: keep the primal and dual residuals within a factor
// 10 of each other; the scaled duals move inversely to rho.
template <class T>
bool rebalance(const GameOptions& o, int iteration, const Residuals& r, double& rho, std::vector<Matrix<T>>& dual) {
  if (!o.adaptive_rho || iteration % 10 != 0 || iteration > o.max_iterations / 2) return false;
  double factor = 1.0;
  if (r.primal > 10.0 * r.dual) factor = 2.0;
  else if (r.dual > 10.0 * r.primal) factor = 0.5;
  if (factor == 1.0) return false;
  rho *= factor;
  for (auto& u : dual) u /= static_cast<T>(factor);
  return true;
}

// What both ADMM solvers start from: each row's group count, the copies Y_k
// (factored and dense), the scaled duals U_k and the SVT states.
template <class T>
struct AdmmStart {
  Vector<T> cover;
  std::vector<LowRank<T>> y;
  std::vector<Matrix<T>> ydense, dual;
  std::vector<SvtState<T>> st;
};

template <class T>
void init_copies(const ResolvedGroups& g, const GameOptions& o, const GameResult<T>* warm, double rho,
                 std::vector<LowRank<T>>& y, std::vector<Matrix<T>>& ydense, std::vector<Matrix<T>>& dual,
                 std::vector<SvtState<T>>& st) {
  const std::size_t K = g.size();
  y.resize(K);
  ydense.resize(K);
  dual.resize(K);
  st.resize(K);
  for (std::size_t k = 0; k < K; ++k) {
    const Index gk = static_cast<Index>(g.members[k].size());
    st[k].seed = svt_seed(o.seed, k);
    if (warm) {
      y[k].U = warm->groups[k].U;
      y[k].d = warm->groups[k].d;
      y[k].V = warm->groups[k].V;
      st[k].V = y[k].V;
      st[k].rank_hint = y[k].d.size();
    } else {
      y[k].U.resize(gk, 0);
      y[k].d.resize(0);
      y[k].V.resize(g.cols, 0);
    }
    ydense[k] = dense(y[k], gk, g.cols);
    if (warm && warm->subgradients.size() == K)
      dual[k] = warm->subgradients[k] * static_cast<T>(o.lambda * g.weights[k] / rho);
    else dual[k] = Matrix<T>::Zero(gk, g.cols);
  }
}

template <class T>
AdmmStart<T> admm_start(const ResolvedGroups& g, const GameOptions& o, const GameResult<T>* warm, double rho) {
  AdmmStart<T> a;
  a.cover.resize(g.rows);
  for (Index i = 0; i < g.rows; ++i) a.cover(i) = static_cast<T>(g.cover[static_cast<std::size_t>(i)]);
  init_copies(g, o, warm, rho, a.y, a.ydense, a.dual, a.st);
  return a;
}

}  // namespace

template <class T>
SolverOutput<T> solve_sum_admm(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                               const GameResult<T>* warm, GameResult<T>& res) {
  const std::size_t K = g.size();
  const Index m = g.rows, n = g.cols;
  double rho = o.rho;
  const T alpha = static_cast<T>(o.relaxation);
  auto [cover, y, ydense, dual, st] = admm_start(g, o, warm, rho);
  Matrix<T>& z = res.estimate;
  z = warm ? warm->estimate : Matrix<T>::Zero(m, n);
  Matrix<T> z_prev = z, acc(m, n), dy(m, n);
  const double floor = 1e-2 * d.x_norm;
  double primal2 = 0, block2 = 0;

  SolverLoop<T> loop("game-admm", 1.0, o);
  while (!loop.interrupted()) {
    const int it = loop.iterations() + 1;
    z_prev = z;
    // Z-update (closed form, entrywise).
    acc.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(acc, g.members[k], Matrix<T>(ydense[k] - dual[k]));
    const T r = static_cast<T>(rho);
    z.array() = (d.x.array() + r * acc.array()) / (d.mask.array() + r * cover.replicate(1, n).array());

    // Y- and dual updates.
    dy.setZero();
    primal2 = 0;
    block2 = 0;
    double copy2 = 0, penalty = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const Index gk = static_cast<Index>(g.members[k].size());
      const Matrix<T> zk = gather_rows(z, g.members[k]);
      // over-relaxation: alpha E_k^T Z + (1 - alpha) Y_k in place of E_k^T Z
      const Matrix<T> a = alpha * zk + (T(1) - alpha) * ydense[k] + dual[k];
      y[k] = svt<T>(a, o.lambda * g.weights[k] / rho, g.max_rank[k], o, st[k], svt_tolerance(o.tolerance));
      Matrix<T> ynew = dense(y[k], gk, n);
      scatter_add_rows(dy, g.members[k], Matrix<T>(ynew - ydense[k]));
      dual[k] = a - ynew;
      primal2 += static_cast<double>((zk - ynew).squaredNorm());
      block2 += static_cast<double>(zk.squaredNorm());
      copy2 += static_cast<double>(ynew.squaredNorm());
      penalty += o.lambda * g.weights[k] * static_cast<double>(y[k].d.sum());
      ydense[k] = std::move(ynew);
    }
    acc.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(acc, g.members[k], dual[k]);

    Residuals rs;
    rs.primal = std::sqrt(primal2);
    rs.dual = rho * static_cast<double>(dy.norm());
    rs.eps_primal = o.tolerance * std::max({std::sqrt(block2), std::sqrt(copy2), floor});
    rs.eps_dual = o.tolerance * std::max(rho * static_cast<double>(acc.norm()), floor);
    const double objective = loss(d, z) + penalty;
    const std::optional<Status> stop = loop.step(objective, rs.measure(), y);
    if (stop == Status::NumericalIssue) z = z_prev;
    if (stop) break;
    rebalance(o, it, rs, rho, dual);
  }
  loop.finish(res);
  res.rho = rho;

  SolverOutput<T> out;
  out.factors = std::move(y);
  out.multipliers.resize(K);
  for (std::size_t k = 0; k < K; ++k) out.multipliers[k] = dual[k] * static_cast<T>(rho);
  out.consensus = block2 > 0 ? std::sqrt(primal2 / block2) : std::sqrt(primal2);
  return out;
}

template <class T>
SolverOutput<T> solve_latent_admm(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                  const GameResult<T>* warm, GameResult<T>& res) {
  const std::size_t K = g.size();
  const Index m = g.rows, n = g.cols;
  double rho = o.rho;
  const T alpha = static_cast<T>(o.relaxation);
  auto [cover, y, ydense, dual, st] = admm_start(g, o, warm, rho);
  std::vector<Matrix<T>> comp(K);  // Z_k
  Matrix<T> acc(m, n), r_obs(m, n);
  Matrix<T>& z = res.estimate;
  z = sum_components(g, y);
  Matrix<T> z_prev = z;
  const double floor = 1e-2 * d.x_norm;
  double primal2 = 0, comp2 = 0;

  SolverLoop<T> loop("game-latent-admm", 1.0, o);
  while (!loop.interrupted()) {
    const int it = loop.iterations() + 1;
    z_prev = z;
    // Z-update: a_k = Y_k - U_k, the observed residual shared out over the c_i components.
    acc.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(acc, g.members[k], Matrix<T>(ydense[k] - dual[k]));
    const T r = static_cast<T>(rho);
    r_obs.array() = d.mask.array() * (d.x - acc).array() / (r + cover.replicate(1, n).array());
    for (std::size_t k = 0; k < K; ++k) comp[k] = ydense[k] - dual[k] + gather_rows(r_obs, g.members[k]);

    double dual_change2 = 0, copy2 = 0, penalty = 0, u2 = 0;
    primal2 = 0;
    comp2 = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const Index gk = static_cast<Index>(g.members[k].size());
      const Matrix<T> a = alpha * comp[k] + (T(1) - alpha) * ydense[k] + dual[k];
      y[k] = svt<T>(a, o.lambda * g.weights[k] / rho, g.max_rank[k], o, st[k], svt_tolerance(o.tolerance));
      Matrix<T> ynew = dense(y[k], gk, n);
      dual_change2 += static_cast<double>((ynew - ydense[k]).squaredNorm());
      dual[k] = a - ynew;
      primal2 += static_cast<double>((comp[k] - ynew).squaredNorm());
      comp2 += static_cast<double>(comp[k].squaredNorm());
      copy2 += static_cast<double>(ynew.squaredNorm());
      u2 += static_cast<double>(dual[k].squaredNorm());
      penalty += o.lambda * g.weights[k] * static_cast<double>(y[k].d.sum());
      ydense[k] = std::move(ynew);
    }
    z.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(z, g.members[k], ydense[k]);

    Residuals rs;
    rs.primal = std::sqrt(primal2);
    rs.dual = rho * std::sqrt(dual_change2);
    rs.eps_primal = o.tolerance * std::max({std::sqrt(comp2), std::sqrt(copy2), floor});
    rs.eps_dual = o.tolerance * std::max(rho * std::sqrt(u2), floor);
    const double objective = loss(d, z) + penalty;  // exact: the copies are valid components
    const std::optional<Status> stop = loop.step(objective, rs.measure(), y);
    if (stop == Status::NumericalIssue) z = z_prev;
    if (stop) break;
    rebalance(o, it, rs, rho, dual);
  }
  loop.finish(res);
  res.rho = rho;

  SolverOutput<T> out;
  out.factors = std::move(y);
  out.consensus = comp2 > 0 ? std::sqrt(primal2 / comp2) : std::sqrt(primal2);
  return out;
}

template SolverOutput<float> solve_sum_admm(const DenseData<float>&, const ResolvedGroups&, const GameOptions&,
                                            const GameResult<float>*, GameResult<float>&);
template SolverOutput<double> solve_sum_admm(const DenseData<double>&, const ResolvedGroups&, const GameOptions&,
                                             const GameResult<double>*, GameResult<double>&);
template SolverOutput<float> solve_latent_admm(const DenseData<float>&, const ResolvedGroups&, const GameOptions&,
                                               const GameResult<float>*, GameResult<float>&);
template SolverOutput<double> solve_latent_admm(const DenseData<double>&, const ResolvedGroups&, const GameOptions&,
                                                const GameResult<double>*, GameResult<double>&);

}  // namespace lowrank::game_detail
