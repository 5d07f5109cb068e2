// Accelerated proximal gradient (FISTA, Beck & Teboulle 2009) for GAME, with
// gradient- and function-value adaptive restart (O'Donoghue & Candes 2015).
//
// Sum variant (G1): the loss gradient P_Omega(Z - X) is 1-Lipschitz, so with
// step 1 the forward step is V = P_Omega(X) + P_Omega^perp(Y). The prox of
// lambda sum_k w_k ||E_k^T . ||_* at V has the dual
//     minimise_{||L_k||_2 <= lambda w_k}  1/2 ||V - sum_k E_k L_k||_F^2,   Z = V - sum_k E_k L_k,
// solved by exact block-coordinate minimisation over the L_k (Dykstra-type):
// with R = V - sum_{l != k} E_l L_l and A = E_k^T R, the block minimiser is the
// projection of A onto the spectral-norm ball, A - SVT_{lambda w_k}(A), which
// leaves E_k^T Z = SVT_{lambda w_k}(A).
//
// Latent variant (G2): the gradient in Z_k is E_k^T P_Omega(sum_l E_l Z_l - X),
// Lipschitz with constant max_i c_i; the prox is SVT of every component.
#include <chrono>
#include <cmath>
#include <limits>

#include <omp.h>

#include "game/detail.hpp"
#include "lowrank/core/detail/serial_blas.hpp"

namespace lowrank::game_detail {

std::vector<std::vector<std::size_t>> disjoint_runs(const ResolvedGroups& g) {
  std::vector<std::vector<std::size_t>> runs;
  std::vector<char> taken(static_cast<std::size_t>(g.rows), 0);
  for (std::size_t k = 0; k < g.size(); ++k) {
    bool clash = runs.empty();
    for (Index i : g.members[k]) clash = clash || taken[static_cast<std::size_t>(i)] != 0;
    if (clash) {
      runs.emplace_back();
      std::fill(taken.begin(), taken.end(), 0);
    }
    runs.back().push_back(k);
    for (Index i : g.members[k]) taken[static_cast<std::size_t>(i)] = 1;
  }
  // largest first, so the dynamic schedule balances the run's threads
  for (auto& run : runs)
    std::stable_sort(run.begin(), run.end(),
                     [&](std::size_t a, std::size_t b) { return g.members[a].size() > g.members[b].size(); });
  return runs;
}

namespace {

// The observed cells in the solver's transposed layout (column i of n x m is
// row i): positions and values, not transposed dense copies of X and of the
// mask and a dense complement of the mask (three n x m arrays fewer, issue
// 32; 19 MB of a float MovieLens-100k fold fit).
template <class T>
struct ObservedCells {
  std::vector<std::size_t> pos;
  std::vector<T> val;
  explicit ObservedCells(const DenseData<T>& d) {
    const Index m = d.x.rows(), n = d.x.cols();
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < m; ++i)
        if (d.mask(i, j) != T(0)) {
          pos.push_back(static_cast<std::size_t>(j) + static_cast<std::size_t>(i) * static_cast<std::size_t>(n));
          val.push_back(d.x(i, j));
        }
  }
  // The forward step V = P_Omega(X) + P_Omega^perp(Y), in place on a copy of Y.
  void impose(Matrix<T>& v) const {
    for (std::size_t t = 0; t < pos.size(); ++t) v.data()[pos[t]] = val[t];
  }
  // 1/2 ||P_Omega(X - Z)||^2 for Z stored transposed, summed in double.
  double loss(const Matrix<T>& zt) const {
    double sum = 0;
    for (std::size_t t = 0; t < pos.size(); ++t) {
      const double e = static_cast<double>(val[t] - zt.data()[pos[t]]);
      sum += e * e;
    }
    return 0.5 * sum;
  }
};

// The prox of lambda sum_k w_k ||E_k^T . ||_* at V, solved on its dual by
// block-coordinate sweeps (the derivation at the top of this file), in the
// transposed layout: a group's block is gathered and scattered by whole-
// column copies (in the row layout every block step indexed single elements;
// that was 16 % of a MovieLens-100k fit at lambda 5). The SVTs threshold
// A_k^T, whose factors are A_k's swapped. The multipliers L_k are warm across
// calls (outer iterations) and, through the certificates, across lambdas.
template <class T>
class SumProx {
 public:
  SumProx(const ResolvedGroups& g, const GameOptions& o, const GameResult<T>* warm)
      : m_g(g),
        m_o(o),
        m_n(g.cols),
        m_mult(g.size()),
        m_factors(g.size()),
        m_state(g.size()),
        m_runs(disjoint_runs(g)),
        m_scratch(static_cast<std::size_t>(std::max(1, omp_get_max_threads()))),
        m_r(g.cols, g.rows),
        m_start(g.cols, g.rows) {
    const std::size_t K = g.size();
    for (std::size_t k = 0; k < K; ++k) {
      const Index gk = static_cast<Index>(g.members[k].size());
      m_state[k].seed = svt_seed(o.seed, k);
      m_mult[k] = (warm && warm->subgradients.size() == K)
                      ? Matrix<T>(warm->subgradients[k].transpose() * static_cast<T>(o.lambda * g.weights[k]))
                      : Matrix<T>(Matrix<T>::Zero(m_n, gk));
      m_factors[k].U.resize(gk, 0);
      m_factors[k].d.resize(0);
      m_factors[k].V.resize(m_n, 0);
      m_largest = std::max(m_largest, g.members[k].size());
    }
    m_run_cells.assign(m_runs.size(), 0);
    for (std::size_t ri = 0; ri < m_runs.size(); ++ri)
      for (const std::size_t k : m_runs[ri]) m_run_cells[ri] += static_cast<Index>(g.members[k].size()) * m_n;
  }

  // r = V - sum_k E_k L_k: the prox point for the current multipliers.
  void start(const Matrix<T>& v) {
    m_r = v;
    for (std::size_t k = 0; k < m_g.size(); ++k)
      for (std::size_t i = 0; i < m_g.members[k].size(); ++i)
        m_r.col(m_g.members[k][i]) -= m_mult[k].col(static_cast<Index>(i));
  }

  // Sweeps until one ends the prox (below) or `cap` sweeps; returns how many
  // ran. A sweep ends it when r moved by at most tol * ||V|| from the sweep's
  // start to its end, and the block steps in between by at most
  // kStepSlack * tol * ||V|| together. The first test alone is not enough:
  // the last group (often the global one) can reset every row, so r may
  // return to where it was while the other groups are still far from
  // agreeing with it (seen at lambdas where the estimate is zero). Asking the
  // steps themselves for tol costs 10-25x the sweeps, because the
  // multipliers' drift along directions that leave r unchanged decays only
  // sublinearly; the slack keeps the check for that failure cheap.
  // Consecutive groups with disjoint rows (the levels of one category) touch
  // disjoint columns of r and their own L_k, so their block steps commute:
  // each such run is done in parallel and the iterates are those of the
  // serial sweep.
  int sweep(double tol, double vnorm, int cap) {
    constexpr double kStepSlack = 100.0;
    // A team per run pays off only with some work in it: on small problems
    // (tests, dune) thousands of sweeps of microsecond blocks spent most of
    // their time waking and spinning the team.
    constexpr Index kParallelCells = 20000;
    int done = 0;
    for (int s = 0; s < cap; ++s) {
      if (interrupt_requested()) break;
      ++done;
      m_start = m_r;
      double moved2 = 0;
      for (std::size_t ri = 0; ri < m_runs.size(); ++ri) {
        const std::vector<std::size_t>& run = m_runs[ri];
        const auto count = static_cast<std::ptrdiff_t>(run.size());
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : moved2) if (count > 1 && m_run_cells[ri] >= kParallelCells)
        for (std::ptrdiff_t idx = 0; idx < count; ++idx) moved2 += block_step(run[static_cast<std::size_t>(idx)], tol);
      }
      if (static_cast<double>((m_r - m_start).norm()) <= tol * vnorm && std::sqrt(moved2) <= kStepSlack * tol * vnorm)
        break;
    }
    return done;
  }

  const Matrix<T>& point() const { return m_r; }
  const std::vector<LowRank<T>>& factors() const { return m_factors; }
  // The penalty at the thresholded copies (exact SVDs of every block each
  // iteration would cost more than the sweeps; the exact objective is
  // final_check's).
  double penalty() const {
    double p = 0;
    for (std::size_t k = 0; k < m_g.size(); ++k)
      p += m_o.lambda * m_g.weights[k] * static_cast<double>(m_factors[k].d.sum());
    return p;
  }

  // Factors, multipliers (back in the row layout) and the consensus residual
  // of the copies against the blocks of `estimate` (m x n).
  SolverOutput<T> output(const Matrix<T>& estimate, double x_norm) {
    SolverOutput<T> out;
    double diff2 = 0, block2 = 0;
    for (std::size_t k = 0; k < m_g.size(); ++k) {
      const Index gk = static_cast<Index>(m_g.members[k].size());
      const Matrix<T> block = gather_rows(estimate, m_g.members[k]);
      diff2 += static_cast<double>((block - dense(m_factors[k], gk, m_n)).squaredNorm());
      block2 += static_cast<double>(block.squaredNorm());
      m_mult[k].transposeInPlace();
    }
    // relative to the blocks, or to the data when the estimate is (near) zero
    out.consensus = std::sqrt(diff2) / std::max({std::sqrt(block2), x_norm, std::numeric_limits<double>::min()});
    out.factors = std::move(m_factors);
    out.multipliers = std::move(m_mult);
    return out;
  }

 private:
  struct Scratch {
    std::vector<T> a, block;
    Matrix<T> vs;
  };

  // One block step: L_k = A_k - SVT(A_k) with A_k = E_k^T r + L_k, and the
  // group's rows of r become SVT(A_k). The block input A_k^T and the
  // thresholded block live in per-thread scratch sized for the largest
  // group. Returns ||L_k(new) - L_k(old)||_F^2, which is also how far the
  // step moved the group's rows of r (from A_k - L_old to A_k - L_new).
  double block_step(std::size_t k, double tol) {
    Scratch& sc = m_scratch[static_cast<std::size_t>(omp_get_thread_num())];
    const std::vector<Index>& rows = m_g.members[k];
    const Index gk = static_cast<Index>(rows.size());
    sc.a.resize(m_largest * static_cast<std::size_t>(m_n));
    sc.block.resize(sc.a.size());
    Eigen::Map<Matrix<T>> a(sc.a.data(), m_n, gk), block(sc.block.data(), m_n, gk);
    Matrix<T>& lk = m_mult[k];
    for (Index i = 0; i < gk; ++i) a.col(i) = m_r.col(rows[static_cast<std::size_t>(i)]) + lk.col(i);
    LowRank<T> f = svt<T>(a, m_o.lambda * m_g.weights[k], m_g.max_rank[k], m_o, m_state[k], svt_tolerance(tol));
    std::swap(f.U, f.V);  // factors of A_k = (A_k^T)^T
    if (f.d.size() == 0) {
      block.setZero();
    } else {
      sc.vs.noalias() = f.V * f.d.asDiagonal();
      block.noalias() = sc.vs * f.U.transpose();  // SVT(A_k)^T
    }
    m_factors[k] = std::move(f);
    double moved2 = 0;
    for (Index i = 0; i < gk; ++i) {
      auto rc = m_r.col(rows[static_cast<std::size_t>(i)]);
      const auto bc = block.col(i);
      moved2 += static_cast<double>((rc - bc).squaredNorm());
      lk.col(i) = a.col(i) - bc;
      rc = bc;
    }
    return moved2;
  }

  const ResolvedGroups& m_g;
  const GameOptions& m_o;
  Index m_n;
  std::vector<Matrix<T>> m_mult;      // L_k^T = lambda w_k Gamma_k^T, n x g_k
  std::vector<LowRank<T>> m_factors;  // of A_k (g_k x n): U is g_k x r
  std::vector<SvtState<T>> m_state;
  std::vector<std::vector<std::size_t>> m_runs;
  std::vector<Index> m_run_cells;
  std::size_t m_largest = 0;
  std::vector<Scratch> m_scratch;
  Matrix<T> m_r, m_start;  // the prox point and its value at the sweep's start
};

// FISTA's extrapolation with gradient- and function-value adaptive restart
// (O'Donoghue & Candes 2015, sec. 3.2): the momentum points uphill when
// <Y_t - Z_{t+1}, Z_{t+1} - Z_t> > 0; then (or when the objective rose)
// drop it and take a plain step from Z_{t+1}.
template <class T>
void fista_extrapolate(Matrix<T>& yext, const Matrix<T>& next, const Matrix<T>& prev, double& t, double objective,
                       double prev_objective) {
  const bool uphill = ((yext - next).array() * (next - prev).array()).sum() > T(0);
  if (uphill || objective > prev_objective * (1 + 1e-12)) {
    t = 1.0;
    yext = next;
  } else {
    const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
    yext = next + static_cast<T>((t - 1.0) / t_next) * (next - prev);
    t = t_next;
  }
}

}  // namespace

template <class T>
SolverOutput<T> solve_sum_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                const GameResult<T>* warm, GameResult<T>& res) {
  // The parallelism is over groups: BLAS threads inside would only contend.
  const lowrank::detail::SerialBlasScope serial_blas;
  const Index m = g.rows, n = g.cols;
  const bool warm_dual = warm && warm->subgradients.size() == g.size();
  const ObservedCells<T> cells(d);
  SumProx<T> prox(g, o, warm);
  Matrix<T> z = warm ? Matrix<T>(warm->estimate.transpose()) : Matrix<T>(Matrix<T>::Zero(n, m));
  Matrix<T> yext = z, v(n, m);
  // The inner accuracy follows the last outer change. A warm start with its
  // certificates is taken to be near the optimum already: its first prox is
  // solved as a converged iteration's would be, so a fit that stops after
  // one iteration (a polish of a fit at the same lambda) leaves a solved prox
  // and consistent group factors, not a 1e-3 one.
  double t = 1.0, prev_objective = std::numeric_limits<double>::infinity();
  double last_change = warm_dual ? o.tolerance : 1.0;
  const int sweeps_per_iteration =
      o.sweeps_per_iteration > 0 ? std::min(o.sweeps_per_iteration, o.inner_max_iterations) : o.inner_max_iterations;
  // Not below the rounding of a sweep: a float prox point stops settling at
  // the accuracy of its Gram SVTs, so a tighter test ran every float sweep
  // loop to inner_max_iterations (1074 sweeps for one MovieLens fit at 1e-4).
  const double rounding_floor =
      std::max(100.0 * static_cast<double>(std::numeric_limits<T>::epsilon()), gram_route_accuracy<T>(o));
  const auto norm_of = [](const Matrix<T>& a) {
    return std::max(static_cast<double>(a.norm()), std::numeric_limits<double>::min());
  };

  SolverLoop<T> loop("game-fista", o.tolerance, o);
  while (!loop.interrupted()) {
    v = yext;
    cells.impose(v);
    // Prox by dual block-coordinate minimisation, warm-started from the last
    // L_k. The multipliers need not converge (they are not unique when
    // groups overlap); the prox point r is, so the sweeps stop when r stops
    // moving.
    prox.start(v);
    const double inner_tol = std::max({o.inner_tolerance, rounding_floor, std::min(1e-3, 0.1 * last_change)});
    res.inner_sweeps += prox.sweep(inner_tol, norm_of(v), sweeps_per_iteration);
    const Matrix<T>& r = prox.point();  // Z_{t+1}
    const double objective = cells.loss(r) + prox.penalty();
    const double change = static_cast<double>((r - z).norm()) /
                          std::max({static_cast<double>(r.norm()), d.x_norm, std::numeric_limits<double>::min()});
    const std::optional<Status> stop = loop.step(objective, change, prox.factors());
    if (stop == Status::NumericalIssue) break;
    last_change = change;
    fista_extrapolate(yext, r, z, t, objective, prev_objective);
    prev_objective = objective;
    z = r;
    if (stop) break;
  }
  loop.finish(res);
  res.rho = 0.0;
  if (res.status == Status::Success && res.iterations > 0) {
    // The last prox was solved to 0.1 x the previous outer change; finish it
    // to the solver's tolerance so the reported group factors (and ranks) are
    // those of the estimate. Not tighter: at 0.1 x tolerance this took 36
    // sweeps (a third of the fit) on MovieLens-100k at lambda 5 and moved the
    // objective by 3e-5 relative, inside what the outer stop already allows.
    prox.start(v);
    res.inner_sweeps +=
        prox.sweep(std::max({o.inner_tolerance, rounding_floor, o.tolerance}), norm_of(v), o.inner_max_iterations);
    z = prox.point();
  }
  res.estimate = z.transpose();
  return prox.output(res.estimate, d.x_norm);
}

template <class T>
SolverOutput<T> solve_latent_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                   const GameResult<T>* warm, GameResult<T>& res) {
  const std::size_t K = g.size();
  const Index m = g.rows, n = g.cols;
  const double step = 1.0 / static_cast<double>(g.max_cover);  // 1 / Lipschitz constant
  std::vector<LowRank<T>> factors(K);
  std::vector<SvtState<T>> st(K);
  std::vector<Matrix<T>> comp(K), ext(K);
  for (std::size_t k = 0; k < K; ++k) {
    const Index gk = static_cast<Index>(g.members[k].size());
    st[k].seed = svt_seed(o.seed, k);
    factors[k] = starting_factors(warm, k, gk, n);
    comp[k] = dense(factors[k], gk, n);
    ext[k] = comp[k];
  }
  Matrix<T>& z = res.estimate;
  z = sum_components(g, factors);
  Matrix<T> grad(m, n), zext(m, n);
  double t = 1.0, prev_objective = std::numeric_limits<double>::infinity();

  SolverLoop<T> loop("game-latent-fista", o.tolerance, o);
  while (!loop.interrupted()) {
    zext.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(zext, g.members[k], ext[k]);
    grad = (d.mask.array() * (zext - d.x).array()).matrix();
    double change2 = 0, norm2 = 0, penalty = 0;
    std::vector<Matrix<T>> next(K);
    for (std::size_t k = 0; k < K; ++k) {
      const Index gk = static_cast<Index>(g.members[k].size());
      const Matrix<T> a = ext[k] - static_cast<T>(step) * gather_rows(grad, g.members[k]);
      factors[k] = svt<T>(a, o.lambda * g.weights[k] * step, g.max_rank[k], o, st[k], svt_tolerance(o.tolerance));
      next[k] = dense(factors[k], gk, n);
      change2 += static_cast<double>((next[k] - comp[k]).squaredNorm());
      norm2 += static_cast<double>(next[k].squaredNorm());
      penalty += o.lambda * g.weights[k] * static_cast<double>(factors[k].d.sum());
    }
    Matrix<T> znew = Matrix<T>::Zero(m, n);
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(znew, g.members[k], next[k]);
    const double objective = loss(d, znew) + penalty;
    const double change =
        std::sqrt(change2) / std::max({std::sqrt(norm2), d.x_norm, std::numeric_limits<double>::min()});
    const std::optional<Status> stop = loop.step(objective, change, factors);
    if (stop == Status::NumericalIssue) break;
    if (objective > prev_objective) {
      t = 1.0;
      for (std::size_t k = 0; k < K; ++k) ext[k] = next[k];
    } else {
      const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
      const T beta = static_cast<T>((t - 1.0) / t_next);
      for (std::size_t k = 0; k < K; ++k) ext[k] = next[k] + beta * (next[k] - comp[k]);
      t = t_next;
    }
    prev_objective = objective;
    comp = std::move(next);
    z = std::move(znew);
    if (stop) break;
  }
  loop.finish(res);
  res.rho = 0.0;
  SolverOutput<T> out;
  out.factors = std::move(factors);
  out.consensus = 0.0;
  return out;
}

template SolverOutput<float> solve_sum_fista(const DenseData<float>&, const ResolvedGroups&, const GameOptions&,
                                             const GameResult<float>*, GameResult<float>&);
template SolverOutput<double> solve_sum_fista(const DenseData<double>&, const ResolvedGroups&, const GameOptions&,
                                              const GameResult<double>*, GameResult<double>&);
template SolverOutput<float> solve_latent_fista(const DenseData<float>&, const ResolvedGroups&, const GameOptions&,
                                                const GameResult<float>*, GameResult<float>&);
template SolverOutput<double> solve_latent_fista(const DenseData<double>&, const ResolvedGroups&, const GameOptions&,
                                                 const GameResult<double>*, GameResult<double>&);

}  // namespace lowrank::game_detail
