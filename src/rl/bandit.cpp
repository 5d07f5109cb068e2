#include "lowrank/rl/bandit.hpp"
#include "lowrank/linalg/dense.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "lowrank/rl/baselines.hpp"
#include "lowrank/rl/rng.hpp"

namespace lowrank::rl {

const char* to_string(BanditAlgorithm a) noexcept {
  switch (a) {
    case BanditAlgorithm::SpectralUcb:
      return "spectral";
    case BanditAlgorithm::SpectralElimination:
      return "elimination";
    case BanditAlgorithm::Ucb:
      return "ucb";
    case BanditAlgorithm::SuccessiveElimination:
      return "se";
    case BanditAlgorithm::ExploreThenCommit:
      return "etc";
  }
  return "?";
}

BanditAlgorithm parse_bandit_algorithm(std::string_view name) {
  if (name == "spectral") return BanditAlgorithm::SpectralUcb;
  if (name == "elimination") return BanditAlgorithm::SpectralElimination;
  if (name == "ucb") return BanditAlgorithm::Ucb;
  if (name == "se") return BanditAlgorithm::SuccessiveElimination;
  if (name == "etc") return BanditAlgorithm::ExploreThenCommit;
  throw InvalidArgument("unknown bandit algorithm '" + std::string(name) +
                        "' (expected spectral, elimination, ucb, se or etc)");
}

const char* to_string(EtcEstimator e) noexcept { return e == EtcEstimator::Spectral ? "spectral" : "soft-impute"; }

EtcEstimator parse_etc_estimator(std::string_view name) {
  if (name == "spectral") return EtcEstimator::Spectral;
  if (name == "soft-impute") return EtcEstimator::SoftImpute;
  throw InvalidArgument("unknown ETC estimator '" + std::string(name) + "' (expected spectral or soft-impute)");
}

const char* to_string(SpectralSampling s) noexcept {
  switch (s) {
    case SpectralSampling::AllEntries:
      return "all";
    case SpectralSampling::ActiveSubmatrix:
      return "active";
  }
  return "?";
}

SpectralSampling parse_spectral_sampling(std::string_view name) {
  if (name == "all") return SpectralSampling::AllEntries;
  if (name == "active") return SpectralSampling::ActiveSubmatrix;
  throw InvalidArgument("unknown spectral sampling '" + std::string(name) + "' (expected all or active)");
}

// ---------------------------------------------------------------------------
// Instance

BanditInstance make_low_rank_bandit(const BanditInstanceOptions& o) {
  if (o.rows <= 0 || o.cols <= 0) {
    throw InvalidArgument("bandit: rows and cols must be > 0, got " + std::to_string(o.rows) + " x " +
                          std::to_string(o.cols));
  }
  if (o.rows * o.cols < 2) throw InvalidArgument("bandit: need at least two arms (rows * cols >= 2)");
  if (o.rank < 1 || o.rank > std::min(o.rows, o.cols)) {
    throw InvalidArgument("bandit: rank " + std::to_string(o.rank) + " is outside [1, min(rows, cols)] = [1, " +
                          std::to_string(std::min(o.rows, o.cols)) + "]");
  }
  if (!(o.gap > 0.0) || !std::isfinite(o.gap)) {
    throw InvalidArgument("bandit: gap must be a finite number > 0, got " + std::to_string(o.gap));
  }
  if (!(o.noise_sd >= 0.0) || !std::isfinite(o.noise_sd)) throw InvalidArgument("bandit: noise_sd must be >= 0");

  Rng rng(o.seed);
  const Index m = o.rows, n = o.cols, r = o.rank;
  Matrix<double> u(m, r), v(n, r);
  for (Index k = 0; k < r; ++k) {
    for (Index i = 0; i < m; ++i) u(i, k) = rng.uniform();
    for (Index j = 0; j < n; ++j) v(j, k) = rng.uniform();
  }
  u /= static_cast<double>(r);
  Matrix<double> m0 = u * v.transpose();
  Index bi = 0, bj = 0;
  const double b = m0.maxCoeff(&bi, &bj);
  const double ninf = -std::numeric_limits<double>::infinity();
  double x_row = ninf, x_col = ninf, y = ninf;
  for (Index j = 0; j < n; ++j)
    if (j != bj) x_row = std::max(x_row, m0(bi, j));
  for (Index i = 0; i < m; ++i)
    if (i != bi) x_col = std::max(x_col, m0(i, bj));
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i)
      if (i != bi && j != bj) y = std::max(y, m0(i, j));
  // Scaling row bi and column bj by alpha: the best entry becomes alpha^2 b,
  // the rest of its row / column alpha x; g is increasing where it is > 0.
  auto g = [&](double alpha) { return alpha * alpha * b - std::max({alpha * x_row, alpha * x_col, y}); };
  double lo = 1.0, hi = 1.0;
  while (g(lo) >= o.gap) lo *= 0.5;
  while (g(hi) <= o.gap) hi *= 2.0;
  for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (g(mid) < o.gap ? lo : hi) = mid;
  }
  const double alpha = 0.5 * (lo + hi);
  u.row(bi) *= alpha;
  v.row(bj) *= alpha;

  BanditInstance inst;
  inst.means = u * v.transpose();
  inst.rank = r;
  inst.noise_sd = o.noise_sd;
  inst.best_mean = inst.means.maxCoeff(&inst.best_row, &inst.best_col);
  double second = ninf;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i)
      if (i != inst.best_row || j != inst.best_col) second = std::max(second, inst.means(i, j));
  inst.gap = inst.best_mean - second;

  // Thin SVD of u v^T through two QRs and an r x r SVD.
  Eigen::HouseholderQR<Matrix<double>> qu(u), qv(v);
  const Matrix<double> ru = qu.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  const Matrix<double> rv = qv.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  Matrix<double> cu, cv;
  Vector<double> cs;
  dense_thin_svd<double>(ru * rv.transpose(), cu, cs, cv);
  inst.factors.rows = m;
  inst.factors.cols = n;
  inst.factors.U = (qu.householderQ() * Matrix<double>::Identity(m, r)) * cu;
  inst.factors.V = (qv.householderQ() * Matrix<double>::Identity(n, r)) * cv;
  inst.factors.d = cs;
  return inst;
}

Matrix<double> plugin_entry_sd(const SpectralEstimate<double>& est, double noise_sd) {
  // First order, M^ - M ~ P_U E + E P_V with E = M~ - M, so
  // Var (M^ - M)_ij = sum_l (U_i . U_l)^2 Var E_lj + sum_l (V_j . V_l)^2 Var E_il
  //                ~ ||U_i||^2 cvar_j + ||V_j||^2 rvar_i,
  // with cvar_j, rvar_i the mean variance of column j and row i of M~. Under
  // uniform sampling Var M~_ij = (m n / T)(sigma^2 + M_ij^2), estimated by
  // plugging in M^. Unlike entry_sd, this keeps the M_ij^2 term out of the
  // variance once entries repeat, and lets rows and columns with large
  // entries (the best arm's) have wider intervals.
  const Index m = est.fit.rows, n = est.fit.cols;
  const Matrix<double> fit = est.fit.to_dense();
  const double scale =
      static_cast<double>(m) * static_cast<double>(n) / static_cast<double>(std::max<std::int64_t>(est.samples, 1));
  Vector<double> rvar = Vector<double>::Zero(m), cvar = Vector<double>::Zero(n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      const double v = scale * (noise_sd * noise_sd + fit(i, j) * fit(i, j));
      rvar(i) += v / static_cast<double>(n);
      cvar(j) += v / static_cast<double>(m);
    }
  Matrix<double> out(m, n);
  for (Index j = 0; j < n; ++j) {
    const double vj = est.fit.V.row(j).squaredNorm();
    for (Index i = 0; i < m; ++i) out(i, j) = std::sqrt(est.fit.U.row(i).squaredNorm() * cvar(j) + vj * rvar(i));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Shared machinery

namespace {

using Clock = std::chrono::steady_clock;

/// Pseudo-regret bookkeeping at evenly spaced checkpoints.
class RegretTracker {
 public:
  RegretTracker(std::int64_t horizon, Index checkpoints) : m_horizon(horizon) {
    const Index c = static_cast<Index>(std::min<std::int64_t>(checkpoints, horizon));
    for (Index k = 1; k <= c; ++k) {
      m_times.push_back(static_cast<std::int64_t>(
          std::llround(static_cast<double>(horizon) * static_cast<double>(k) / static_cast<double>(c))));
    }
  }
  std::int64_t t() const { return m_t; }
  bool done() const { return m_t >= m_horizon; }
  std::int64_t remaining() const { return m_horizon - m_t; }
  /// One step with instantaneous regret `r`.
  void step(double r) {
    m_cum += r;
    ++m_t;
    while (m_next < m_times.size() && m_times[m_next] == m_t) {
      m_regret.push_back(m_cum);
      ++m_next;
    }
  }
  /// `count` steps of the same regret (a committed arm).
  void repeat(double r, std::int64_t count) {
    count = std::min(count, remaining());
    while (count > 0) {
      const std::int64_t to_cp = m_next < m_times.size() ? m_times[m_next] - m_t : count;
      const std::int64_t k = std::min(count, to_cp);
      m_cum += r * static_cast<double>(k);
      m_t += k;
      count -= k;
      while (m_next < m_times.size() && m_times[m_next] == m_t) {
        m_regret.push_back(m_cum);
        ++m_next;
      }
    }
  }
  void finish(BanditRunResult& out) {
    out.times.assign(m_times.begin(), m_times.begin() + static_cast<std::ptrdiff_t>(m_regret.size()));
    out.cumulative_regret = m_regret;
    out.final_regret = m_cum;
  }

 private:
  std::int64_t m_horizon;
  std::int64_t m_t = 0;
  double m_cum = 0.0;
  std::size_t m_next = 0;
  std::vector<std::int64_t> m_times;
  std::vector<double> m_regret;
};

struct Env {
  const BanditInstance& inst;
  Rng rng;
  /// Pulls per arm (column-major index i + j m) drawn through pull(); the
  /// pulls a commit adds in bulk are credited in run_bandit.
  std::vector<std::int64_t> pulls;
  double pull(Index i, Index j) {
    ++pulls[static_cast<std::size_t>(i + j * inst.means.rows())];
    return inst.means(i, j) + inst.noise_sd * rng.normal();
  }
  double regret(Index i, Index j) const { return inst.best_mean - inst.means(i, j); }
};

bool poll_interrupt(std::int64_t t) { return (t & 0xFFFF) == 0 && interrupt_requested(); }

void report(const ProgressCallback& progress, const char* stage, int iteration, double regret, Index active,
            Clock::time_point t0) {
  if (!progress) return;
  ProgressEvent e;
  e.stage = stage;
  e.iteration = iteration;
  e.objective = regret;
  e.change = static_cast<double>(active);
  e.elapsed_s = seconds_since(t0);
  progress(e);
}

// ---------------------------------------------------------------------------
// Spectral elimination

void run_spectral(Env& env, const BanditRunOptions& o, Index rank, RegretTracker& tr, BanditRunResult& out,
                  Clock::time_point t0) {
  const BanditInstance& inst = env.inst;
  const Index m = inst.means.rows(), n = inst.means.cols();
  const double delta = o.delta > 0 ? o.delta : 1.0 / static_cast<double>(o.horizon);
  std::vector<char> active(static_cast<std::size_t>(m * n), 1);
  Index active_count = m * n;
  std::vector<Index> rows(static_cast<std::size_t>(m)), cols(static_cast<std::size_t>(n));
  for (Index i = 0; i < m; ++i) rows[static_cast<std::size_t>(i)] = i;
  for (Index j = 0; j < n; ++j) cols[static_cast<std::size_t>(j)] = j;
  std::vector<std::int32_t> srow, scol;  // samples, global indices
  std::vector<double> sval;
  const double log_mn = std::log(static_cast<double>(m + n));
  double phase_len = std::ceil(o.first_phase_factor * static_cast<double>(rank) * static_cast<double>(m + n) * log_mn);
  phase_len = std::max(phase_len, 1.0);
  const bool all = o.spectral_sampling == SpectralSampling::AllEntries;
  SpectralEstimate<double> est;
  std::vector<Index> local_row(static_cast<std::size_t>(m), -1), local_col(static_cast<std::size_t>(n), -1);
  int ell = 0;
  while (!tr.done() && active_count > 1) {
    ++ell;
    const std::int64_t draw = std::min<std::int64_t>(static_cast<std::int64_t>(phase_len), tr.remaining());
    const std::uint64_t nr = all ? static_cast<std::uint64_t>(m) : rows.size();
    const std::uint64_t nc = all ? static_cast<std::uint64_t>(n) : cols.size();
    for (std::int64_t k = 0; k < draw; ++k) {
      const Index i = all ? static_cast<Index>(env.rng.index(nr)) : rows[env.rng.index(nr)];
      const Index j = all ? static_cast<Index>(env.rng.index(nc)) : cols[env.rng.index(nc)];
      srow.push_back(static_cast<std::int32_t>(i));
      scol.push_back(static_cast<std::int32_t>(j));
      sval.push_back(env.pull(i, j));
      tr.step(env.regret(i, j));
      if (poll_interrupt(tr.t())) {
        out.status = Status::Interrupted;
        return;
      }
    }
    // Estimate on the sampled domain (the whole matrix, or active rows x cols).
    std::fill(local_row.begin(), local_row.end(), -1);
    std::fill(local_col.begin(), local_col.end(), -1);
    const Index dr = all ? m : static_cast<Index>(rows.size());
    const Index dc = all ? n : static_cast<Index>(cols.size());
    for (Index a = 0; a < dr; ++a) local_row[static_cast<std::size_t>(all ? a : rows[static_cast<std::size_t>(a)])] = a;
    for (Index a = 0; a < dc; ++a) local_col[static_cast<std::size_t>(all ? a : cols[static_cast<std::size_t>(a)])] = a;
    ObservedEntries<double> data;
    data.rows = dr;
    data.cols = dc;
    data.reserve(sval.size());
    for (std::size_t k = 0; k < sval.size(); ++k) {
      data.push_back(static_cast<std::int32_t>(local_row[static_cast<std::size_t>(srow[k])]),
                     static_cast<std::int32_t>(local_col[static_cast<std::size_t>(scol[k])]), sval[k]);
    }
    // Rank: the components of the first min(r, |R|, |C|) that stand above
    // the noise level (a small submatrix of a rank-r matrix may have weaker
    // directions than the whole); no elimination while none does.
    SpectralEstimatorOptions eo;
    eo.sampling = SamplingModel::UniformWithReplacement;
    eo.rank_selection = RankSelection::NoiseThreshold;
    eo.max_rank = std::min({rank, dr, dc});
    eo.svd.seed = o.seed + static_cast<std::uint64_t>(ell);
    est = estimate_spectral(data, eo);
    const bool resolved = static_cast<double>(est.singular_values(0)) > est.threshold;
    const double factor = (o.confidence_scale > 0 ? o.confidence_scale : 1.0) *
                          std::sqrt(2.0 * std::log(4.0 * static_cast<double>(active_count) * ell * ell / delta));
    double best_lcb = -std::numeric_limits<double>::infinity();
    double max_width = 0.0, err = 0.0;
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < m; ++i) {
        if (!active[static_cast<std::size_t>(i + j * m)]) continue;
        const Index li = local_row[static_cast<std::size_t>(i)], lj = local_col[static_cast<std::size_t>(j)];
        const double w = factor * est.entry_sd(li, lj);
        best_lcb = std::max(best_lcb, est.fit.predict(li, lj) - w);
        max_width = std::max(max_width, w);
      }
    }
    for (Index lj = 0; lj < dc; ++lj)
      for (Index li = 0; li < dr; ++li) {
        const Index i = all ? li : rows[static_cast<std::size_t>(li)],
                    j = all ? lj : cols[static_cast<std::size_t>(lj)];
        err = std::max(err, std::abs(est.fit.predict(li, lj) - inst.means(i, j)));
      }
    if (resolved) {
      for (Index j = 0; j < n; ++j) {
        for (Index i = 0; i < m; ++i) {
          char& a = active[static_cast<std::size_t>(i + j * m)];
          if (!a) continue;
          const Index li = local_row[static_cast<std::size_t>(i)], lj = local_col[static_cast<std::size_t>(j)];
          if (est.fit.predict(li, lj) + factor * est.entry_sd(li, lj) < best_lcb) {
            a = 0;
            --active_count;
          }
        }
      }
    }
    // Active rows / columns, and the samples still usable on that submatrix.
    std::vector<char> row_on(static_cast<std::size_t>(m), 0), col_on(static_cast<std::size_t>(n), 0);
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < m; ++i)
        if (active[static_cast<std::size_t>(i + j * m)])
          row_on[static_cast<std::size_t>(i)] = col_on[static_cast<std::size_t>(j)] = 1;
    rows.clear();
    cols.clear();
    for (Index i = 0; i < m; ++i)
      if (row_on[static_cast<std::size_t>(i)]) rows.push_back(i);
    for (Index j = 0; j < n; ++j)
      if (col_on[static_cast<std::size_t>(j)]) cols.push_back(j);
    if (!all) {
      std::size_t w = 0;
      for (std::size_t k = 0; k < sval.size(); ++k) {
        if (row_on[static_cast<std::size_t>(srow[k])] && col_on[static_cast<std::size_t>(scol[k])]) {
          srow[w] = srow[k];
          scol[w] = scol[k];
          sval[w] = sval[k];
          ++w;
        }
      }
      srow.resize(w);
      scol.resize(w);
      sval.resize(w);
    }
    BanditPhase ph;
    ph.end_time = tr.t();
    ph.samples = est.samples;
    ph.active_arms = active_count;
    ph.active_rows = static_cast<Index>(rows.size());
    ph.active_cols = static_cast<Index>(cols.size());
    ph.max_width = max_width;
    ph.estimate_error = err;
    ph.best_active = active[static_cast<std::size_t>(inst.best_row + inst.best_col * m)] != 0;
    out.phases.push_back(ph);
    report(o.progress, "bandit spectral phase", ell, out.final_regret, active_count, t0);
    phase_len = std::ceil(phase_len * o.phase_growth);
  }
  // Commit to the last arm standing; if the horizon ran out first, report
  // the active arm with the largest estimate.
  Index ci = -1, cj = -1;
  double best = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      if (!active[static_cast<std::size_t>(i + j * m)]) continue;
      const Index li = local_row[static_cast<std::size_t>(i)], lj = local_col[static_cast<std::size_t>(j)];
      const double v = (est.rank > 0 && li >= 0 && lj >= 0) ? est.fit.predict(li, lj) : 0.0;
      if (ci < 0 || v > best) {
        best = v;
        ci = i;
        cj = j;
      }
    }
  if (active_count == 1) {
    out.commit_time = tr.t();
    tr.repeat(env.regret(ci, cj), tr.remaining());
  }
  out.committed_row = ci;
  out.committed_col = cj;
}

// ---------------------------------------------------------------------------
// UCB(delta) over all arms, argmax kept in a segment tree (only the pulled
// arm's index changes, since log(1/delta) does not depend on t).

class MaxTree {
 public:
  explicit MaxTree(Index n) : m_size(1) {
    while (m_size < n) m_size <<= 1;
    m_val.assign(static_cast<std::size_t>(2 * m_size), -std::numeric_limits<double>::infinity());
  }
  void set(Index k, double v) {
    std::size_t p = static_cast<std::size_t>(k + m_size);
    m_val[p] = v;
    for (p >>= 1; p >= 1; p >>= 1) m_val[p] = std::max(m_val[2 * p], m_val[2 * p + 1]);
  }
  Index argmax() const {
    std::size_t p = 1;
    while (p < static_cast<std::size_t>(m_size)) p = m_val[2 * p] >= m_val[2 * p + 1] ? 2 * p : 2 * p + 1;
    return static_cast<Index>(p) - m_size;
  }

 private:
  Index m_size;
  std::vector<double> m_val;
};

void run_ucb(Env& env, const BanditRunOptions& o, RegretTracker& tr, BanditRunResult& out, Clock::time_point t0) {
  const Index m = env.inst.means.rows(), n = env.inst.means.cols(), k_arms = m * n;
  const double bonus2 = 2.0 * env.inst.noise_sd * env.inst.noise_sd *
                        std::log(static_cast<double>(o.horizon) * static_cast<double>(o.horizon));
  std::vector<double> sum(static_cast<std::size_t>(k_arms), 0.0);
  std::vector<std::int64_t> cnt(static_cast<std::size_t>(k_arms), 0);
  MaxTree tree(k_arms);
  auto pull = [&](Index a) {
    const Index i = a % m, j = a / m;
    sum[static_cast<std::size_t>(a)] += env.pull(i, j);
    const std::int64_t c = ++cnt[static_cast<std::size_t>(a)];
    tr.step(env.regret(i, j));
    tree.set(a, sum[static_cast<std::size_t>(a)] / static_cast<double>(c) + std::sqrt(bonus2 / static_cast<double>(c)));
  };
  for (Index a = 0; a < k_arms && !tr.done(); ++a) pull(a);
  int last_report = 0;
  while (!tr.done()) {
    pull(tree.argmax());
    if (poll_interrupt(tr.t())) {
      out.status = Status::Interrupted;
      break;
    }
    if (o.progress && (tr.t() >> 20) > last_report) {
      last_report = static_cast<int>(tr.t() >> 20);
      report(o.progress, "bandit ucb", last_report, 0.0, k_arms, t0);
    }
  }
  const auto most = std::max_element(cnt.begin(), cnt.end()) - cnt.begin();
  out.committed_row = static_cast<Index>(most) % m;
  out.committed_col = static_cast<Index>(most) / m;
}

// ---------------------------------------------------------------------------
// Spectral two-phase (the default low-rank algorithm): uniform exploration
// rounds whose spectral estimates shrink a candidate set, then UCB on the
// candidates (the two-phase template of Bayati, Cao, Chen, arXiv 2210.00340,
// with the paper's spectral estimator and its entry-wise widths).

void run_spectral_ucb(Env& env, const BanditRunOptions& o, Index rank, RegretTracker& tr, BanditRunResult& out,
                      Clock::time_point t0) {
  const BanditInstance& inst = env.inst;
  const Index m = inst.means.rows(), n = inst.means.cols(), k_arms = m * n;
  const auto ka = static_cast<std::size_t>(k_arms);
  const double delta = o.delta > 0 ? o.delta : 1.0 / static_cast<double>(o.horizon);
  const double inf = std::numeric_limits<double>::infinity();
  const double sd = inst.noise_sd;
  // UCB(delta = 1/T^2) as in run_ucb: bonus sqrt(bonus2 / n_a), so a
  // suboptimal arm with gap g costs about bonus2 / g regret.
  const double bonus2 = 2.0 * sd * sd * std::log(static_cast<double>(o.horizon) * static_cast<double>(o.horizon));
  std::vector<double> sum(ka, 0.0), lr_ucb(ka, inf);
  std::vector<std::int64_t> cnt(ka, 0);
  std::vector<char> cand(ka, 1);
  Index cand_count = k_arms;
  ObservedEntries<double> data;
  data.rows = m;
  data.cols = n;
  const double log_mn = std::log(static_cast<double>(m + n));
  double phase_len =
      std::max(1.0, std::ceil(o.first_phase_factor * static_cast<double>(rank) * static_cast<double>(m + n) * log_mn));
  int ell = 0;
  // Phase A: rounds of uniform exploration of the whole matrix (the
  // estimator's sampling model, so E M~ = M holds for every round).
  while (!tr.done()) {
    ++ell;
    const std::int64_t draw = std::min<std::int64_t>(static_cast<std::int64_t>(phase_len), tr.remaining());
    for (std::int64_t k = 0; k < draw; ++k) {
      const Index i = static_cast<Index>(env.rng.index(static_cast<std::uint64_t>(m)));
      const Index j = static_cast<Index>(env.rng.index(static_cast<std::uint64_t>(n)));
      const double x = env.pull(i, j);
      data.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), x);
      sum[static_cast<std::size_t>(i + j * m)] += x;
      ++cnt[static_cast<std::size_t>(i + j * m)];
      tr.step(env.regret(i, j));
      if (poll_interrupt(tr.t())) {
        out.status = Status::Interrupted;
        return;
      }
    }
    SpectralEstimatorOptions eo;
    eo.sampling = SamplingModel::UniformWithReplacement;
    eo.rank_selection = RankSelection::NoiseThreshold;
    eo.max_rank = rank;
    eo.svd.seed = o.seed + static_cast<std::uint64_t>(ell);
    const SpectralEstimate<double> est = estimate_spectral(data, eo);
    // No shrinking before the leading direction stands above the noise.
    const bool resolved = static_cast<double>(est.singular_values(0)) > est.threshold;
    const Matrix<double> fit = est.fit.to_dense();
    // Per-arm widths z * sd_a with z = sqrt(2 log(l^2 / delta)): like
    // UCB(delta), no union bound over the arms (phase B only needs the best
    // arm's interval and those of the arms it is compared with).
    const Matrix<double> entry_sd = plugin_entry_sd(est, sd);
    // The scale 0.5 (z about 2.6 sd at these horizons) is the one factor
    // chosen by measurement: on the sweep of docs/rl.md it never dropped the
    // best arm, and 1 (the nominal level) spends 2x more regret.
    const double scale = o.confidence_scale > 0 ? o.confidence_scale : 0.5;
    const double factor = scale * std::sqrt(2.0 * std::log(static_cast<double>(ell) * ell / delta));
    std::vector<double> width(ka);
    double best_lcb = -inf, top = -inf, mean_fit = 0.0, err = 0.0, max_width = 0.0;
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < m; ++i) {
        const double w = factor * entry_sd(i, j);
        width[static_cast<std::size_t>(i + j * m)] = w;
        best_lcb = std::max(best_lcb, fit(i, j) - w);
        top = std::max(top, fit(i, j));
        mean_fit += fit(i, j);
        err = std::max(err, std::abs(fit(i, j) - inst.means(i, j)));
      }
    mean_fit /= static_cast<double>(k_arms);
    // Candidates. gap^_a = top - M^_a, and UCB would pay about
    // min(bonus2 / gap^_a, gap^_a * (T - t)) on arm a.
    cand_count = 0;
    const double rest = static_cast<double>(tr.remaining());
    std::vector<std::size_t> kept;
    for (std::size_t a = 0; a < ka; ++a) {
      const double f = fit(static_cast<Index>(a) % m, static_cast<Index>(a) / m);
      const bool keep = !resolved || f + width[a] >= best_lcb;
      cand[a] = keep ? 1 : 0;
      lr_ucb[a] = resolved ? f + width[a] : inf;
      if (!keep) continue;
      ++cand_count;
      kept.push_back(a);
      max_width = std::max(max_width, width[a]);
    }
    BanditPhase ph;
    ph.end_time = tr.t();
    ph.samples = est.samples;
    ph.active_arms = cand_count;
    ph.max_width = max_width;
    ph.estimate_error = err;
    ph.best_active = cand[static_cast<std::size_t>(inst.best_row + inst.best_col * m)] != 0;
    out.phases.push_back(ph);
    report(o.progress, "bandit spectral explore", ell, static_cast<double>(tr.t()), cand_count, t0);
    if (cand_count <= 1) break;
    // Keep exploring while some further amount of it is predicted to pay for
    // itself: after k more rounds (len_1 + ... + len_k uniform pulls, each
    // costing about the mean gap top - mean(M^)), the widths shrink by
    // sqrt(T_now / T_then), and every candidate with gap^_a >= 2 w_a then
    // would leave the set. Phase B's predicted cost on a set C with R pulls
    // left is min(sum_C bonus2 / gap^_a, R mean_C gap^_a): UCB's regret, or,
    // when R cannot pull every candidate the bonus2 / gap^2 times UCB needs
    // (a short horizon for the m n arms), about uniform play over C. Explore
    // k more rounds iff cost(C_now, R) > k rounds' cost + cost(C_then, R -
    // cum). With a long horizon the first term of each min wins and the
    // saving is sum over the dropped arms of bonus2 / gap^_a. Stop when no k
    // up to the horizon pays.
    const double next_len = std::ceil(phase_len * o.phase_growth);
    if (next_len >= rest) break;
    bool more = !resolved;
    const double per_pull = std::max(top - mean_fit, 0.0);
    const double t_now = static_cast<double>(est.samples);
    auto phase_b_cost = [&](bool drop, double shrink, double pulls) {
      double ucb_cost = 0.0, gap_sum = 0.0;
      std::size_t count = 0;
      for (const std::size_t a : kept) {
        const double g = top - fit(static_cast<Index>(a) % m, static_cast<Index>(a) / m);
        if (drop && g > 0 && g >= 2.0 * width[a] * shrink) continue;  // dropped by then
        ++count;
        if (g > 0) ucb_cost += bonus2 / g;
        gap_sum += std::max(g, 0.0);
      }
      return count == 0 ? 0.0 : std::min(ucb_cost, pulls * gap_sum / static_cast<double>(count));
    };
    const double cost_now = phase_b_cost(false, 1.0, rest);
    double cum = 0.0, len = phase_len;
    for (int k = 1; k <= 60 && !more; ++k) {
      len = std::ceil(len * o.phase_growth);
      cum += len;
      if (cum >= rest) break;
      const double shrink = std::sqrt(t_now / (t_now + cum));
      more = cost_now - phase_b_cost(true, shrink, rest - cum) > cum * per_pull;
    }
    if (!more) break;
    phase_len = next_len;
  }
  out.explore_end = tr.t();
  out.candidate_arms = cand_count;
  std::vector<Index> arms;
  for (std::size_t a = 0; a < ka; ++a)
    if (cand[a]) arms.push_back(static_cast<Index>(a));
  if (arms.size() == 1) {
    const Index a = arms.front();
    out.commit_time = tr.t();
    out.committed_row = a % m;
    out.committed_col = a / m;
    tr.repeat(env.regret(a % m, a / m), tr.remaining());
    return;
  }
  // Phase B: UCB on the candidates. Both the empirical bound and the
  // low-rank bound M^_a + w_a hold with high probability, so their minimum
  // is an upper confidence bound as well.
  MaxTree tree(static_cast<Index>(arms.size()));
  auto index = [&](std::size_t a) {
    const std::int64_t c = cnt[a];
    if (c == 0) return lr_ucb[a];
    return std::min(sum[a] / static_cast<double>(c) + std::sqrt(bonus2 / static_cast<double>(c)), lr_ucb[a]);
  };
  for (std::size_t k = 0; k < arms.size(); ++k)
    tree.set(static_cast<Index>(k), index(static_cast<std::size_t>(arms[k])));
  int last_report = 0;
  while (!tr.done()) {
    const Index k = tree.argmax();
    const Index a = arms[static_cast<std::size_t>(k)];
    const Index i = a % m, j = a / m;
    sum[static_cast<std::size_t>(a)] += env.pull(i, j);
    ++cnt[static_cast<std::size_t>(a)];
    tr.step(env.regret(i, j));
    tree.set(k, index(static_cast<std::size_t>(a)));
    if (poll_interrupt(tr.t())) {
      out.status = Status::Interrupted;
      break;
    }
    if (o.progress && (tr.t() >> 20) > last_report) {
      last_report = static_cast<int>(tr.t() >> 20);
      report(o.progress, "bandit spectral ucb", last_report, 0.0, static_cast<Index>(arms.size()), t0);
    }
  }
}

// ---------------------------------------------------------------------------
// Successive elimination (Even-Dar, Mannor, Mansour 2006).

void run_se(Env& env, const BanditRunOptions& o, RegretTracker& tr, BanditRunResult& out, Clock::time_point t0) {
  const Index m = env.inst.means.rows(), n = env.inst.means.cols(), k_arms = m * n;
  const double delta = o.delta > 0 ? o.delta : 1.0 / static_cast<double>(o.horizon);
  const double sd = env.inst.noise_sd;
  std::vector<Index> act(static_cast<std::size_t>(k_arms));
  for (Index a = 0; a < k_arms; ++a) act[static_cast<std::size_t>(a)] = a;
  std::vector<double> sum(static_cast<std::size_t>(k_arms), 0.0);
  std::int64_t round = 0;
  while (!tr.done() && act.size() > 1) {
    ++round;
    for (Index a : act) {
      if (tr.done()) break;
      sum[static_cast<std::size_t>(a)] += env.pull(a % m, a / m);
      tr.step(env.regret(a % m, a / m));
      if (poll_interrupt(tr.t())) {
        out.status = Status::Interrupted;
        return;
      }
    }
    if (tr.done()) break;
    const double k = static_cast<double>(round);
    const double c = sd * std::sqrt(2.0 * std::log(4.0 * static_cast<double>(k_arms) * k * k / delta) / k);
    double best = -std::numeric_limits<double>::infinity();
    for (Index a : act) best = std::max(best, sum[static_cast<std::size_t>(a)] / k);
    std::size_t w = 0;
    for (Index a : act)
      if (sum[static_cast<std::size_t>(a)] / k + c >= best - c) act[w++] = a;
    act.resize(w);
    BanditPhase ph;
    ph.end_time = tr.t();
    ph.samples = tr.t();
    ph.active_arms = static_cast<Index>(act.size());
    ph.max_width = c;
    if ((round & (round - 1)) == 0) {
      out.phases.push_back(ph);
      report(o.progress, "bandit se round", static_cast<int>(round), 0.0, ph.active_arms, t0);
    }
  }
  Index best_a = act.front();
  for (Index a : act)
    if (sum[static_cast<std::size_t>(a)] > sum[static_cast<std::size_t>(best_a)]) best_a = a;
  if (act.size() == 1 && !tr.done()) {
    out.commit_time = tr.t();
    tr.repeat(env.regret(best_a % m, best_a / m), tr.remaining());
  }
  out.committed_row = best_a % m;
  out.committed_col = best_a / m;
}

// ---------------------------------------------------------------------------
// Explore-then-commit with one spectral estimate.

void run_etc(Env& env, const BanditRunOptions& o, Index rank, RegretTracker& tr, BanditRunResult& out,
             Clock::time_point t0) {
  const Index m = env.inst.means.rows(), n = env.inst.means.cols();
  std::int64_t explore = o.etc_exploration;
  if (explore <= 0) {
    explore = static_cast<std::int64_t>(std::ceil(std::cbrt(static_cast<double>(rank * (m + n))) *
                                                  std::pow(static_cast<double>(o.horizon), 2.0 / 3.0)));
  }
  explore = std::min(explore, o.horizon);
  ObservedEntries<double> data;
  data.rows = m;
  data.cols = n;
  data.reserve(static_cast<std::size_t>(explore));
  for (std::int64_t k = 0; k < explore; ++k) {
    const Index i = static_cast<Index>(env.rng.index(static_cast<std::uint64_t>(m)));
    const Index j = static_cast<Index>(env.rng.index(static_cast<std::uint64_t>(n)));
    data.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), env.pull(i, j));
    tr.step(env.regret(i, j));
    if (poll_interrupt(tr.t())) {
      out.status = Status::Interrupted;
      return;
    }
  }
  Matrix<double> fit;
  if (o.etc_estimator == EtcEstimator::Spectral) {
    SpectralEstimatorOptions eo;
    eo.rank = rank;
    eo.svd.seed = o.seed;
    fit = estimate_spectral(data, eo).fit.to_dense();
  } else {
    SoftImputeBaselineOptions so;
    so.rank = rank;
    so.noise_sd = env.inst.noise_sd;
    so.seed = o.seed;
    fit = soft_impute_baseline(data, so).to_dense();
  }
  Index ci = 0, cj = 0;
  fit.maxCoeff(&ci, &cj);
  BanditPhase ph;
  ph.end_time = tr.t();
  ph.samples = static_cast<std::int64_t>(data.nnz());
  ph.active_arms = 1;
  ph.estimate_error = (fit - env.inst.means).cwiseAbs().maxCoeff();
  out.phases.push_back(ph);
  report(o.progress, "bandit etc commit", 1, 0.0, 1, t0);
  out.commit_time = tr.t();
  tr.repeat(env.regret(ci, cj), tr.remaining());
  out.committed_row = ci;
  out.committed_col = cj;
}

}  // namespace

BanditRunResult run_bandit(const BanditInstance& inst, const BanditRunOptions& o) {
  const Index m = inst.means.rows(), n = inst.means.cols();
  if (m <= 0 || n <= 0) throw InvalidArgument("bandit: empty instance");
  if (o.horizon <= 0) throw InvalidArgument("bandit: horizon must be > 0, got " + std::to_string(o.horizon));
  if (o.checkpoints < 1) throw InvalidArgument("bandit: checkpoints must be >= 1");
  if (!(o.phase_growth > 1.0)) throw InvalidArgument("bandit: phase_growth must be > 1");
  if (!(o.first_phase_factor > 0.0)) throw InvalidArgument("bandit: first_phase_factor must be > 0");
  if (!(o.confidence_scale >= 0.0)) throw InvalidArgument("bandit: confidence_scale must be >= 0");
  if (!(o.delta >= 0.0 && o.delta < 1.0)) throw InvalidArgument("bandit: delta must be in [0, 1)");
  if (o.rank < 0 || o.rank > std::min(m, n)) {
    throw InvalidArgument("bandit: rank " + std::to_string(o.rank) + " is outside [0, min(rows, cols)] = [0, " +
                          std::to_string(std::min(m, n)) + "]");
  }
  if (o.etc_exploration < 0) throw InvalidArgument("bandit: etc_exploration must be >= 0");
  const Index rank = o.rank > 0 ? o.rank : std::max<Index>(inst.rank, 1);
  const auto t0 = Clock::now();
  BanditRunResult out;
  RegretTracker tr(o.horizon, o.checkpoints);
  Env env{inst, Rng(o.seed), std::vector<std::int64_t>(static_cast<std::size_t>(m * n), 0)};
  switch (o.algorithm) {
    case BanditAlgorithm::SpectralUcb:
      run_spectral_ucb(env, o, rank, tr, out, t0);
      break;
    case BanditAlgorithm::SpectralElimination:
      run_spectral(env, o, rank, tr, out, t0);
      break;
    case BanditAlgorithm::Ucb:
      run_ucb(env, o, tr, out, t0);
      break;
    case BanditAlgorithm::SuccessiveElimination:
      run_se(env, o, tr, out, t0);
      break;
    case BanditAlgorithm::ExploreThenCommit:
      run_etc(env, o, rank, tr, out, t0);
      break;
  }
  tr.finish(out);
  // Pulls not drawn through env.pull() were the committed arm's, in bulk.
  std::int64_t drawn = 0;
  for (const std::int64_t c : env.pulls) drawn += c;
  if (out.commit_time >= 0 && out.committed_row >= 0) {
    env.pulls[static_cast<std::size_t>(out.committed_row + out.committed_col * m)] += tr.t() - drawn;
  } else {
    // Never committed: report the arm the run actually played most.
    const auto most = std::max_element(env.pulls.begin(), env.pulls.end()) - env.pulls.begin();
    out.committed_row = static_cast<Index>(most) % m;
    out.committed_col = static_cast<Index>(most) / m;
  }
  const double total = static_cast<double>(std::max<std::int64_t>(tr.t(), 1));
  out.arm_pull_fraction =
      static_cast<double>(env.pulls[static_cast<std::size_t>(out.committed_row + out.committed_col * m)]) / total;
  out.best_pull_fraction =
      static_cast<double>(env.pulls[static_cast<std::size_t>(inst.best_row + inst.best_col * m)]) / total;
  out.found_best = out.committed_row == inst.best_row && out.committed_col == inst.best_col;
  out.elapsed_s = seconds_since(t0);
  return out;
}

BanditExperimentResult run_bandit_experiment(const BanditExperimentOptions& o) {
  if (o.seeds < 1) throw InvalidArgument("bandit: seeds must be >= 1, got " + std::to_string(o.seeds));
  const auto t0 = Clock::now();
  BanditExperimentResult res;
  for (int s = 0; s < o.seeds; ++s) {
    BanditInstanceOptions io = o.instance;
    io.seed = o.first_seed + static_cast<std::uint64_t>(s);
    BanditRunOptions ro = o.run;
    ro.seed = o.first_seed + static_cast<std::uint64_t>(s);
    const BanditInstance inst = make_low_rank_bandit(io);
    res.runs.push_back(run_bandit(inst, ro));
    if (res.runs.back().status == Status::Interrupted) {
      res.status = Status::Interrupted;
      break;
    }
  }
  // Aggregate over the checkpoints every run reached.
  std::size_t c = res.runs.front().times.size();
  for (const auto& r : res.runs) c = std::min(c, r.times.size());
  res.times.assign(res.runs.front().times.begin(), res.runs.front().times.begin() + static_cast<std::ptrdiff_t>(c));
  res.mean_regret.assign(c, 0.0);
  res.sd_regret.assign(c, 0.0);
  const double k = static_cast<double>(res.runs.size());
  for (std::size_t p = 0; p < c; ++p) {
    double s1 = 0.0;
    for (const auto& r : res.runs) s1 += r.cumulative_regret[p];
    const double mean = s1 / k;
    double s2 = 0.0;
    for (const auto& r : res.runs) s2 += (r.cumulative_regret[p] - mean) * (r.cumulative_regret[p] - mean);
    res.mean_regret[p] = mean;
    res.sd_regret[p] = k > 1 ? std::sqrt(s2 / (k - 1)) : 0.0;
  }
  double f1 = 0.0, found = 0.0, committed = 0.0, share = 0.0;
  for (const auto& r : res.runs) {
    f1 += r.final_regret;
    found += r.found_best ? 1.0 : 0.0;
    committed += r.commit_time >= 0 ? 1.0 : 0.0;
    share += r.best_pull_fraction;
  }
  res.committed_fraction = committed / k;
  res.mean_best_pull_fraction = share / k;
  res.mean_final_regret = f1 / k;
  double f2 = 0.0;
  for (const auto& r : res.runs)
    f2 += (r.final_regret - res.mean_final_regret) * (r.final_regret - res.mean_final_regret);
  res.sd_final_regret = k > 1 ? std::sqrt(f2 / (k - 1)) : 0.0;
  res.found_best_fraction = found / k;
  res.elapsed_s = seconds_since(t0);
  return res;
}

std::string describe_run(const BanditRunResult& r) {
  const std::string arm = "(" + std::to_string(r.committed_row) + ", " + std::to_string(r.committed_col) + ")" +
                          (r.found_best ? " best" : "");
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * r.arm_pull_fraction);
  if (r.commit_time >= 0) return "committed to " + arm + " at t = " + std::to_string(r.commit_time);
  return "not committed; most-pulled arm " + arm + " with " + pct + " of pulls";
}

}  // namespace lowrank::rl
