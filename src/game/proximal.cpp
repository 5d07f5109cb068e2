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

template <class T>
SolverOutput<T> solve_sum_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                const GameResult<T>* warm, GameResult<T>& res) {
  const auto t0 = std::chrono::steady_clock::now();
  // The parallelism is over groups: BLAS threads inside would only contend.
  const lowrank::detail::SerialBlasScope serial_blas;
  const std::size_t K = g.size();
  const Index m = g.rows, n = g.cols;
  // The solver works on transposes (n x m, n x g_k): row i of the problem is
  // column i, one contiguous stretch, so a group's block is gathered and
  // scattered by whole-column copies. In the row layout every block step
  // indexed single elements; that was 16 % of a MovieLens-100k fit at lambda 5.
  // The SVTs threshold A_k^T, whose factors are A_k's swapped.
  // The data term only ever reads the observed cells, so they are kept as
  // positions in the transposed layout (column i of n x m is row i) with
  // their values, not as transposed dense copies of X and of the mask and a
  // dense complement of the mask: three n x m arrays fewer (issue 32; 19 MB
  // of a float MovieLens-100k fold fit). The forward step is the same
  // arithmetic as before; the loss (objective trace, restart test) is now
  // summed in double.
  std::vector<std::size_t> obs_pos;
  std::vector<T> obs_val;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i)
      if (d.mask(i, j) != T(0)) {
        obs_pos.push_back(static_cast<std::size_t>(j) + static_cast<std::size_t>(i) * static_cast<std::size_t>(n));
        obs_val.push_back(d.x(i, j));
      }
  // 1/2 ||P_Omega(X - Z)||^2 for Z stored transposed (n x m).
  auto data_loss = [&](const Matrix<T>& zt) {
    double sum = 0;
    for (std::size_t t = 0; t < obs_pos.size(); ++t) {
      const double e = static_cast<double>(obs_val[t] - zt.data()[obs_pos[t]]);
      sum += e * e;
    }
    return 0.5 * sum;
  };
  std::vector<Matrix<T>> mult(K);  // L_k^T = lambda w_k Gamma_k^T, n x g_k
  std::vector<LowRank<T>> factors(K);  // of A_k (g_k x n): U is g_k x r
  std::vector<SvtState<T>> st(K);
  for (std::size_t k = 0; k < K; ++k) {
    const Index gk = static_cast<Index>(g.members[k].size());
    st[k].seed = o.seed * 0x9E3779B97F4A7C15ULL + 1000003ULL * (k + 1);
    mult[k] = (warm && warm->subgradients.size() == K)
                  ? Matrix<T>(warm->subgradients[k].transpose() * static_cast<T>(o.lambda * g.weights[k]))
                  : Matrix<T>(Matrix<T>::Zero(n, gk));
    factors[k].U.resize(gk, 0);
    factors[k].S.resize(0);
    factors[k].V.resize(n, 0);
  }
  Matrix<T> z = warm ? Matrix<T>(warm->estimate.transpose()) : Matrix<T>(Matrix<T>::Zero(n, m));
  Matrix<T> yext = z, v(n, m), r(n, m);
  // The inner accuracy follows the last outer change. A warm start with its
  // certificates is taken to be near the optimum already: its first prox is
  // solved as a converged iteration's would be, so a fit that stops after
  // one iteration (a polish of a fit at the same lambda) leaves a solved prox
  // and consistent group factors, not a 1e-3 one.
  double t = 1.0, prev_objective = std::numeric_limits<double>::infinity();
  double last_change = (warm && warm->subgradients.size() == K) ? o.tolerance : 1.0;

  // Dual block-coordinate sweeps on the prox at v (multipliers warm), until
  // the stopping test below holds. Consecutive
  // groups with disjoint rows (the levels of one category) touch disjoint
  // columns of r and their own L_k, so their block steps commute: each such
  // run is done in parallel and the iterates are those of the serial sweep.
  // The block input A_k^T and the thresholded block live in per-thread
  // scratch buffers sized for the largest group, not in fresh temporaries.
  const std::vector<std::vector<std::size_t>> runs = disjoint_runs(g);
  std::size_t largest = 0;
  for (const auto& rows : g.members) largest = std::max(largest, rows.size());
  struct Scratch {
    std::vector<T> a, block;
    Matrix<T> vs;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(1, omp_get_max_threads())));
  // Returns ||L_k(new) - L_k(old)||_F^2, which is also how far the step moved
  // the group's rows of r (they go from A_k - L_old to A_k - L_new).
  auto block_step = [&](std::size_t k, double tol) -> double {
    Scratch& sc = scratch[static_cast<std::size_t>(omp_get_thread_num())];
    const std::vector<Index>& rows = g.members[k];
    const Index gk = static_cast<Index>(rows.size());
    sc.a.resize(largest * static_cast<std::size_t>(n));
    sc.block.resize(sc.a.size());
    Eigen::Map<Matrix<T>> a(sc.a.data(), n, gk), block(sc.block.data(), n, gk);
    Matrix<T>& lk = mult[k];
    for (Index i = 0; i < gk; ++i) a.col(i) = r.col(rows[static_cast<std::size_t>(i)]) + lk.col(i);
    LowRank<T> f = svt<T>(a, o.lambda * g.weights[k], g.max_rank[k], o, st[k], svt_tolerance(tol));
    std::swap(f.U, f.V);  // factors of A_k = (A_k^T)^T
    if (f.S.size() == 0) {
      block.setZero();
    } else {
      sc.vs.noalias() = f.V * f.S.asDiagonal();
      block.noalias() = sc.vs * f.U.transpose();  // SVT(A_k)^T
    }
    factors[k] = std::move(f);
    // L_k = A_k - SVT(A_k), and the group's rows of r become SVT(A_k). The
    // step's length is ||L_new - L_old|| = ||r_old[G_k] - SVT(A_k)||.
    double moved2 = 0;
    for (Index i = 0; i < gk; ++i) {
      auto rc = r.col(rows[static_cast<std::size_t>(i)]);
      const auto bc = block.col(i);
      moved2 += static_cast<double>((rc - bc).squaredNorm());
      lk.col(i) = a.col(i) - bc;
      rc = bc;
    }
    return moved2;
  };
  // r -= sum_k E_k L_k, in the transposed layout.
  auto subtract_multipliers = [&] {
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t i = 0; i < g.members[k].size(); ++i)
        r.col(g.members[k][i]) -= mult[k].col(static_cast<Index>(i));
  };
  // A sweep ends the prox when r moved by at most tol * ||V|| from the sweep's
  // start to its end, and the block steps in between by at most
  // kStepSlack * tol * ||V|| together. The first test alone is not enough:
  // the last group (often the global one) can reset every row, so r may
  // return to where it was while the other groups are still far from
  // agreeing with it (seen at lambdas where the estimate is zero). Asking the
  // steps themselves for tol costs 10-25x the sweeps, because the
  // multipliers' drift along directions that leave r unchanged decays only
  // sublinearly; the slack keeps the check for that failure cheap.
  constexpr double kStepSlack = 100.0;
  const int sweeps_per_iteration = o.sweeps_per_iteration > 0
                                       ? std::min(o.sweeps_per_iteration, o.inner_max_iterations)
                                       : o.inner_max_iterations;
  const double rounding_floor =
      std::max(100.0 * static_cast<double>(std::numeric_limits<T>::epsilon()), gram_route_accuracy<T>(o));
  constexpr Index kParallelCells = 20000;
  std::vector<Index> run_cells(runs.size(), 0);
  for (std::size_t ri = 0; ri < runs.size(); ++ri)
    for (const std::size_t k : runs[ri]) run_cells[ri] += static_cast<Index>(g.members[k].size()) * n;
  Matrix<T> r_start(n, m);
  auto sweeps = [&](double tol, double vnorm, int cap) {
    for (int sweep = 0; sweep < cap; ++sweep) {
      if (interrupt_requested()) break;
      ++res.inner_sweeps;
      r_start = r;
      double moved2 = 0;
      for (std::size_t ri = 0; ri < runs.size(); ++ri) {
        const std::vector<std::size_t>& run = runs[ri];
        const auto count = static_cast<std::ptrdiff_t>(run.size());
        // A team per run pays off only with some work in it: on small
        // problems (tests, dune) thousands of sweeps of microsecond blocks
        // spent most of their time waking and spinning the team.
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : moved2) if (count > 1 && run_cells[ri] >= kParallelCells)
        for (std::ptrdiff_t idx = 0; idx < count; ++idx) moved2 += block_step(run[static_cast<std::size_t>(idx)], tol);
      }
      if (static_cast<double>((r - r_start).norm()) <= tol * vnorm && std::sqrt(moved2) <= kStepSlack * tol * vnorm)
        break;
    }
  };

  res.status = Status::NotConverging;
  int it = 0;
  while (it < o.max_iterations) {
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    ++it;
    // V = P_Omega(X) + P_Omega^perp(Y)
    v = yext;
    for (std::size_t t = 0; t < obs_pos.size(); ++t) v.data()[obs_pos[t]] = obs_val[t];
    // Prox by dual block-coordinate minimisation, warm-started from the last L_k.
    r = v;
    subtract_multipliers();
    const double vnorm = std::max(static_cast<double>(v.norm()), std::numeric_limits<double>::min());
    // The multipliers need not converge (they are not unique when groups
    // overlap); the prox point r is, so the sweeps stop when r stops moving.
    // Not below the rounding of a sweep (rounding_floor): a float prox point
    // stops settling at the accuracy of its Gram SVTs, so a tighter test ran
    // every float sweep loop to inner_max_iterations (1074 sweeps for one
    // MovieLens fit at 1e-4).
    const double inner_tol =
        std::max({o.inner_tolerance, rounding_floor, std::min(1e-3, 0.1 * last_change)});
    sweeps(inner_tol, vnorm, sweeps_per_iteration);
    // r is now the prox, Z_{t+1}. The trace uses the penalty at the
    // thresholded copies (exact SVDs of every block each iteration would
    // cost more than the sweeps); the exact objective is final_check's.
    double penalty = 0;
    for (std::size_t k = 0; k < K; ++k) penalty += o.lambda * g.weights[k] * static_cast<double>(factors[k].S.sum());
    const double objective = data_loss(r) + penalty;
    res.objective_trace.push_back(objective);
    if (!std::isfinite(objective)) {
      res.status = Status::NumericalIssue;
      break;
    }
    const double change = static_cast<double>((r - z).norm()) /
                          std::max({static_cast<double>(r.norm()), d.x_norm, std::numeric_limits<double>::min()});
    report(o, "game-fista", it, objective, change, t0, factors);
    last_change = change;
    // Gradient-based adaptive restart (O'Donoghue & Candes 2015, sec. 3.2):
    // the momentum points uphill when <Y_t - Z_{t+1}, Z_{t+1} - Z_t> > 0.
    const bool uphill = ((yext - r).array() * (r - z).array()).sum() > T(0);
    if (uphill || objective > prev_objective * (1 + 1e-12)) {
      // Restart: drop the momentum and take a plain step from Z_{t+1}.
      t = 1.0;
      yext = r;
    } else {
      const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
      yext = r + static_cast<T>((t - 1.0) / t_next) * (r - z);
      t = t_next;
    }
    prev_objective = objective;
    z = r;
    if (change <= o.tolerance) {
      res.status = Status::Success;
      break;
    }
  }
  res.iterations = it;
  res.rho = 0.0;
  if (res.status == Status::Success && it > 0) {
    // The last prox was solved to 0.1 x the previous outer change; finish it
    // to the solver's tolerance so the reported group factors (and ranks) are
    // those of the estimate. Not tighter: at 0.1 x tolerance this took 36
    // sweeps (a third of the fit) on MovieLens-100k at lambda 5 and moved the
    // objective by 3e-5 relative, inside what the outer stop already allows.
    r = v;
    subtract_multipliers();
    sweeps(std::max({o.inner_tolerance, rounding_floor, o.tolerance}),
           std::max(static_cast<double>(v.norm()), std::numeric_limits<double>::min()), o.inner_max_iterations);
    z = r;
  }
  res.estimate = z.transpose();

  SolverOutput<T> out;
  double diff2 = 0, block2 = 0;
  for (std::size_t k = 0; k < K; ++k) {
    const Index gk = static_cast<Index>(g.members[k].size());
    const Matrix<T> block = gather_rows(res.estimate, g.members[k]);
    diff2 += static_cast<double>((block - factors[k].dense(gk, n)).squaredNorm());
    block2 += static_cast<double>(block.squaredNorm());
    mult[k].transposeInPlace();
  }
  // relative to the blocks, or to the data when the estimate is (near) zero
  out.consensus = std::sqrt(diff2) / std::max({std::sqrt(block2), d.x_norm, std::numeric_limits<double>::min()});
  out.factors = std::move(factors);
  out.multipliers = std::move(mult);
  return out;
}

template <class T>
SolverOutput<T> solve_latent_fista(const DenseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                   const GameResult<T>* warm, GameResult<T>& res) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t K = g.size();
  const Index m = g.rows, n = g.cols;
  const double step = 1.0 / static_cast<double>(g.max_cover);  // 1 / Lipschitz constant
  std::vector<LowRank<T>> factors(K);
  std::vector<SvtState<T>> st(K);
  std::vector<Matrix<T>> comp(K), ext(K);
  for (std::size_t k = 0; k < K; ++k) {
    const Index gk = static_cast<Index>(g.members[k].size());
    st[k].seed = o.seed * 0x9E3779B97F4A7C15ULL + 1000003ULL * (k + 1);
    if (warm) {
      factors[k].U = warm->groups[k].U;
      factors[k].S = warm->groups[k].S;
      factors[k].V = warm->groups[k].V;
    } else {
      factors[k].U.resize(gk, 0);
      factors[k].S.resize(0);
      factors[k].V.resize(n, 0);
    }
    comp[k] = factors[k].dense(gk, n);
    ext[k] = comp[k];
  }
  Matrix<T>& z = res.estimate;
  z = sum_components(g, factors);
  Matrix<T> grad(m, n), zext(m, n);
  double t = 1.0, prev_objective = std::numeric_limits<double>::infinity();

  res.status = Status::NotConverging;
  int it = 0;
  while (it < o.max_iterations) {
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    ++it;
    zext.setZero();
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(zext, g.members[k], ext[k]);
    grad = (d.mask.array() * (zext - d.x).array()).matrix();
    double change2 = 0, norm2 = 0, penalty = 0;
    std::vector<Matrix<T>> next(K);
    for (std::size_t k = 0; k < K; ++k) {
      const Index gk = static_cast<Index>(g.members[k].size());
      const Matrix<T> a = ext[k] - static_cast<T>(step) * gather_rows(grad, g.members[k]);
      factors[k] = svt<T>(a, o.lambda * g.weights[k] * step, g.max_rank[k], o, st[k], svt_tolerance(o.tolerance));
      next[k] = factors[k].dense(gk, n);
      change2 += static_cast<double>((next[k] - comp[k]).squaredNorm());
      norm2 += static_cast<double>(next[k].squaredNorm());
      penalty += o.lambda * g.weights[k] * static_cast<double>(factors[k].S.sum());
    }
    Matrix<T> znew = Matrix<T>::Zero(m, n);
    for (std::size_t k = 0; k < K; ++k) scatter_add_rows(znew, g.members[k], next[k]);
    const double objective = loss(d, znew) + penalty;
    res.objective_trace.push_back(objective);
    if (!std::isfinite(objective)) {
      res.status = Status::NumericalIssue;
      break;
    }
    const double change = std::sqrt(change2) / std::max({std::sqrt(norm2), d.x_norm, std::numeric_limits<double>::min()});
    report(o, "game-latent-fista", it, objective, change, t0, factors);
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
    if (change <= o.tolerance) {
      res.status = Status::Success;
      break;
    }
  }
  res.iterations = it;
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
