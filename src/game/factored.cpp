// GAME's Latent variant (G2) without dense blocks (issue 32): every component
// Z_k is kept as its SVT factors U_k diag(S_k) V_k^T and the data term is
// evaluated on the observed entries only.
//
// The proximal-gradient step of solve_latent_fista is, per group,
//     Z_k+ = SVT_{step lambda w_k}(Y_k - step E_k^T P_Omega(sum_l E_l Y_l - X)),
// where the extrapolated component Y_k = (1 + beta) Z_k - beta Z_k(prev) has
// rank at most 2 r_k and the gradient is sparse on the group's observed
// entries: the SVT input is sparse + low-rank, as in soft-impute's SVD form
// (Mazumder, Hastie, Tibshirani 2010, eq. 11), and the warm-started subspace
// iteration needs only its products. The iterates are those of the dense
// solver up to rounding (same SVT code, same step, momentum and restart).
// Memory: the entries once, each group's entries once more (its sparse
// gradient block), and 2-3 factor pairs per group:
// O(cover * nnz + sum_k (|G_k| + n) r_k).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "game/detail.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::game_detail {

template <class T>
SparseData<T> sparsify(const ObservedEntries<T>& e, ResolvedGroups& g, const GameOptions& options,
                       std::vector<std::string>* warnings) {
  check_entry_arrays(e);
  SparseData<T> d;
  const std::size_t nnz = e.value.size();
  if (g.cols > std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("GAME: factored storage needs fewer than 2^31 columns");
  d.col.resize(nnz);
  d.value = e.value;
  double norm2 = 0;
  for (std::size_t t = 0; t < nnz; ++t) {
    check_entry(e, t, g.rows, g.cols);
    d.col[t] = static_cast<std::int32_t>(e.col[t]);
    norm2 += static_cast<double>(e.value[t]) * static_cast<double>(e.value[t]);
  }
  d.x_norm = std::sqrt(norm2);
  // entries by row (counting sort), then by column inside a row: finds
  // duplicates and gives each group its entries in row order
  std::vector<std::int64_t> start(static_cast<std::size_t>(g.rows) + 1, 0);
  for (std::size_t t = 0; t < nnz; ++t) ++start[static_cast<std::size_t>(e.row[t]) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::int64_t> by_row(nnz), fill(start.begin(), start.end() - 1);
  for (std::size_t t = 0; t < nnz; ++t)
    by_row[static_cast<std::size_t>(fill[static_cast<std::size_t>(e.row[t])]++)] = static_cast<std::int64_t>(t);
  for (Index i = 0; i < g.rows; ++i) {
    const auto b = by_row.begin() + start[static_cast<std::size_t>(i)],
               en = by_row.begin() + start[static_cast<std::size_t>(i) + 1];
    std::sort(b, en, [&](std::int64_t a, std::int64_t c) {
      return d.col[static_cast<std::size_t>(a)] < d.col[static_cast<std::size_t>(c)];
    });
    for (auto it = b; it != en && it + 1 != en; ++it)
      if (d.col[static_cast<std::size_t>(*it)] == d.col[static_cast<std::size_t>(*(it + 1))])
        throw InvalidArgument("GAME: entry (" + std::to_string(i) + ", " +
                              std::to_string(d.col[static_cast<std::size_t>(*it)]) +
                              ") is observed more than once (resolve duplicates first)");
  }
  g.observed.assign(g.size(), 0);
  d.entry.resize(g.size());
  d.local_row.resize(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    for (std::size_t p = 0; p < g.members[k].size(); ++p) {
      const auto i = static_cast<std::size_t>(g.members[k][p]);
      for (std::int64_t q = start[i]; q < start[i + 1]; ++q) {
        d.entry[k].push_back(by_row[static_cast<std::size_t>(q)]);
        d.local_row[k].push_back(static_cast<std::int32_t>(p));
      }
    }
    g.observed[k] = static_cast<std::int64_t>(d.entry[k].size());
    check_group_observed(g, k, options, warnings);
  }
  return d;
}

namespace {

// A component in product form U diag(d) V^T held in the one factor type;
// here d may have either sign and U, V need not be orthonormal (the
// extrapolated point is a signed combination of two SVT outputs).
template <class T>
using SignedFactors = LowRankFactors<T>;

template <class T>
SignedFactors<T> as_factors(const LowRank<T>& f) {
  return {f.U, f.d, f.V};
}

// (1 + beta) a - beta b, stacked: rank r_a + r_b, never formed densely.
template <class T>
SignedFactors<T> extrapolate(const LowRank<T>& a, const LowRank<T>& b, T beta) {
  if (b.d.size() == 0 || beta == T(0)) return {a.U, (T(1) + beta) * a.d, a.V};
  const Index ra = a.d.size(), rb = b.d.size();
  SignedFactors<T> f;
  f.U.resize(a.U.rows(), ra + rb);
  f.U << a.U, b.U;
  f.V.resize(a.V.rows(), ra + rb);
  f.V << a.V, b.V;
  f.d.resize(ra + rb);
  f.d << (T(1) + beta) * a.d, -beta * b.d;
  return f;
}

// ||a - b||_F^2 for two SVT outputs. With [V_a V_b] = Q R (thin QR),
// a - b = [U_a S_a, -U_b S_b] R^T Q^T, so the norm is that of a (g x r)
// matrix whose entries carry the rounding of the factors only, as the dense
// difference does (Gram-matrix expansions would cancel to eps ||a||^2).
template <class T>
double difference_norm2(const LowRank<T>& a, const LowRank<T>& b) {
  const Index ra = a.d.size(), rb = b.d.size();
  if (rb == 0) return static_cast<double>(a.d.squaredNorm());
  if (ra == 0) return static_cast<double>(b.d.squaredNorm());
  const Index n = a.V.rows();
  Matrix<T> v(n, ra + rb);
  v << a.V, b.V;
  Matrix<T> us(a.U.rows(), ra + rb);
  us << a.U * a.d.asDiagonal(), -(b.U * b.d.asDiagonal());
  const Eigen::HouseholderQR<Matrix<T>> qr(v);
  const Index q = std::min(n, ra + rb);
  const Matrix<T> r = qr.matrixQR().topRows(q).template triangularView<Eigen::Upper>();
  return static_cast<double>((us * r.transpose()).squaredNorm());
}

// out[t] = sum_k (E_k U_k diag(d_k) V_k^T)(row_t, col_t) on every observed entry.
template <class T, class F>
void observed_values(const SparseData<T>& d, const std::vector<F>& comps, std::vector<T>& out) {
  out.assign(d.value.size(), T(0));
  for (std::size_t k = 0; k < comps.size(); ++k) {
    const F& f = comps[k];
    if (f.U.cols() == 0) continue;
    const Matrix<T> ut = f.U.transpose();
    Matrix<T> wt;
    wt = (f.V * f.d.asDiagonal()).transpose();
    const std::vector<std::int64_t>& entry = d.entry[k];
    const std::vector<std::int32_t>& local = d.local_row[k];
    const auto count = static_cast<std::ptrdiff_t>(entry.size());
    // within one group every entry index appears once: no write conflicts
#pragma omp parallel for schedule(static) if (count > 20000)
    for (std::ptrdiff_t q = 0; q < count; ++q) {
      const auto t = static_cast<std::size_t>(entry[static_cast<std::size_t>(q)]);
      out[t] += ut.col(local[static_cast<std::size_t>(q)]).dot(wt.col(d.col[t]));
    }
  }
}

}  // namespace

// Largest singular value of a sparse block (lambda_max, the KKT's dual feasibility).
template <class T>
double sparse_spectral_norm(const SparseOperator<T>& op) {
  if (std::min(op.rows(), op.cols()) <= 64) {
    Matrix<T> eye = Matrix<T>::Identity(op.rows(), op.rows()), at;
    op.apply_adjoint(eye, at);  // A^T, n x g
    return spectral_norm_of(Matrix<T>(at));
  }
  TruncatedSvdOptions o;
  o.method = SvdMethod::Lanczos;
  o.tolerance = std::is_same_v<T, double> ? 1e-13 : 1e-6;
  o.compute_vectors = false;
  // Through the generic operator route: the SparseOperator route's Gram
  // product keeps per-thread buffers that a fold's fit, running inside the
  // path's parallel loop over folds, indexed out of range (a crash of the
  // MovieLens-100k CV path at the refit's KKT check).
  const Matrix<T> u0(op.rows(), 0), v0(op.cols(), 0);
  const Vector<T> d0(0);
  const SparsePlusLowRank<T> generic(op, u0, d0, v0);
  const SvdResult<T> r = truncated_svd(generic, 1, o);
  if (r.status == Status::Success && r.S.size() == 1 && std::isfinite(static_cast<double>(r.S(0))))
    return static_cast<double>(r.S(0));
  return spectral_norm_of(to_dense(op));
}

template <class T>
double latent_lambda_max(const SparseData<T>& d, const ResolvedGroups& g) {
  double best = 0;
  for (std::size_t k = 0; k < g.size(); ++k) {
    if (d.entry[k].empty()) continue;
    std::vector<std::int32_t> cols(d.entry[k].size());
    std::vector<T> vals(cols.size());
    for (std::size_t q = 0; q < cols.size(); ++q) {
      const auto e = static_cast<std::size_t>(d.entry[k][q]);
      cols[q] = static_cast<std::int32_t>(d.col[e]);
      vals[q] = d.value[e];
    }
    const SparseOperator<T> op(static_cast<Index>(g.members[k].size()), g.cols, d.local_row[k], cols, vals);
    best = std::max(best, sparse_spectral_norm(op) / g.weights[k]);
  }
  return best;
}

template <class T>
void solve_latent_fista_factored(const SparseData<T>& d, const ResolvedGroups& g, const GameOptions& o,
                                 const GameResult<T>* warm, GameResult<T>& res) {
  const std::size_t K = g.size();
  const Index n = g.cols;
  const std::size_t nnz = d.value.size();
  const double step = 1.0 / static_cast<double>(g.max_cover);  // 1 / Lipschitz constant
  std::vector<LowRank<T>> comp(K);
  std::vector<SvtState<T>> st(K);
  for (std::size_t k = 0; k < K; ++k) {
    st[k].seed = svt_seed(o.seed, k);
    comp[k] = starting_factors(warm, k, static_cast<Index>(g.members[k].size()), n);
  }
  // E_k^T P_Omega(.) with the values `vals` in the group's entry order: built
  // when its SVT runs and dropped after, so one group's two CSR copies are
  // alive at a time, not every group's (each entry once per group holding
  // its row: 32 bytes per entry and group, 380 MB of a 4 x 10^6-entry fit
  // with three groups per row; issue 32). A counting pass per group and
  // iteration, against the SVT's several products with the block.
  std::vector<std::int32_t> cols;
  const auto grad_block = [&](std::size_t k, const std::vector<T>& vals) {
    cols.resize(d.entry[k].size());
    for (std::size_t q = 0; q < cols.size(); ++q)
      cols[q] = static_cast<std::int32_t>(d.col[static_cast<std::size_t>(d.entry[k][q])]);
    SparseOperator<T> op(static_cast<Index>(g.members[k].size()), n, d.local_row[k], cols, vals);
    std::vector<std::int32_t>().swap(cols);
    return op;
  };
  std::vector<SignedFactors<T>> ext(K);
  for (std::size_t k = 0; k < K; ++k) ext[k] = as_factors(comp[k]);
  std::vector<T> zext(nnz), znew(nnz), vals;
  std::vector<LowRank<T>> next(K);
  double t = 1.0, prev_objective = std::numeric_limits<double>::infinity();

  SolverLoop<T> loop("game-latent-fista", o.tolerance, o);
  while (!loop.interrupted()) {
    observed_values(d, ext, zext);
    for (std::size_t e = 0; e < nnz; ++e) zext[e] -= d.value[e];  // the gradient P_Omega(Zext - X)
    double change2 = 0, norm2 = 0, penalty = 0;
    for (std::size_t k = 0; k < K; ++k) {
      vals.resize(d.entry[k].size());
      for (std::size_t q = 0; q < vals.size(); ++q)
        vals[q] = -static_cast<T>(step) * zext[static_cast<std::size_t>(d.entry[k][q])];
      const SparseOperator<T> block = grad_block(k, vals);
      const SparsePlusLowRank<T> a(block, ext[k].U, ext[k].d, ext[k].V);
      next[k] = svt<T>(a, o.lambda * g.weights[k] * step, g.max_rank[k], o, st[k], svt_tolerance(o.tolerance));
      ext[k] = SignedFactors<T>{};  // not needed until rebuilt below: frees rank 2 r_k before the next SVT
      change2 += difference_norm2(next[k], comp[k]);
      norm2 += static_cast<double>(next[k].d.squaredNorm());
      penalty += o.lambda * g.weights[k] * static_cast<double>(next[k].d.sum());
    }
    observed_values(d, next, znew);
    double loss2 = 0;
    for (std::size_t e = 0; e < nnz; ++e) {
      const double r = static_cast<double>(d.value[e] - znew[e]);
      loss2 += r * r;
    }
    const double objective = 0.5 * loss2 + penalty;
    const double change =
        std::sqrt(change2) / std::max({std::sqrt(norm2), d.x_norm, std::numeric_limits<double>::min()});
    const std::optional<Status> stop = loop.step(objective, change, next);
    if (stop == Status::NumericalIssue) break;
    const bool restart = objective > prev_objective;
    const double t_next = restart ? 1.0 : 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
    const T beta = static_cast<T>(restart ? 0.0 : (t - 1.0) / t_next);
    t = t_next;
    // Group by group, so that at most one group holds its previous, new and
    // extrapolated factors at once (three factor sets in all, not four: the
    // peak of a fit at rank ~500 on MovieLens-100k, docs/benchmarks.md).
    for (std::size_t k = 0; k < K; ++k) {
      ext[k] = restart ? as_factors(next[k]) : extrapolate(next[k], comp[k], beta);
      comp[k] = std::move(next[k]);
      next[k] = LowRank<T>{};
    }
    prev_objective = objective;
    if (stop) break;
  }
  loop.finish(res);
  res.rho = 0.0;
  ext.clear();
  next.clear();

  // The factored counterpart of finish(): objective and the Latent KKT
  // certificates Gamma_k = E_k^T P_Omega(X - Z) / (lambda w_k), sparse.
  res.rows = g.rows;
  res.cols = g.cols;
  res.kkt.consensus = 0.0;
  const bool need_resid = o.final_check || o.keep_certificates;
  if (need_resid) {
    observed_values(d, comp, znew);
    for (std::size_t e = 0; e < nnz; ++e) znew[e] = d.value[e] - znew[e];  // X - Z on Omega
  }
  if (o.final_check) {
    double loss2 = 0, penalty = 0, gap = 0, feas = 0;
    for (std::size_t e = 0; e < nnz; ++e) loss2 += static_cast<double>(znew[e]) * static_cast<double>(znew[e]);
    for (std::size_t k = 0; k < K; ++k) {
      const double lw = o.lambda * g.weights[k];
      const double nuc = static_cast<double>(comp[k].d.sum());
      penalty += lw * nuc;
      vals.resize(d.entry[k].size());
      double inner = 0;
      const Matrix<T> ut = comp[k].U.transpose();
      const Matrix<T> wt = (comp[k].V * comp[k].d.asDiagonal()).transpose();
      for (std::size_t q = 0; q < vals.size(); ++q) {
        const auto e = static_cast<std::size_t>(d.entry[k][q]);
        vals[q] = znew[e];
        if (ut.rows() > 0)
          inner += static_cast<double>(vals[q]) * static_cast<double>(ut.col(d.local_row[k][q]).dot(wt.col(d.col[e])));
      }
      gap += lw * nuc - inner;
      feas = std::max(feas, sparse_spectral_norm(grad_block(k, vals)) / lw - 1.0);
    }
    res.objective = 0.5 * loss2 + penalty;
    res.kkt.stationarity = 0.0;  // the certificate is built from (K1) itself
    res.kkt.dual_feasibility = std::max(feas, 0.0);
    res.kkt.complementarity = gap / std::max(res.objective, std::numeric_limits<double>::min());
    res.kkt.computed = true;
  } else {
    res.objective = res.objective_trace.empty() ? std::numeric_limits<double>::quiet_NaN() : res.objective_trace.back();
  }
  if (o.keep_certificates) {
    // dense |G_k| x n, as GameResult::subgradients are: not lean (requested)
    res.subgradients.resize(K);
    for (std::size_t k = 0; k < K; ++k) {
      const T lw = static_cast<T>(o.lambda * g.weights[k]);
      res.subgradients[k] = Matrix<T>::Zero(static_cast<Index>(g.members[k].size()), n);
      for (std::size_t q = 0; q < d.entry[k].size(); ++q) {
        const auto e = static_cast<std::size_t>(d.entry[k][q]);
        res.subgradients[k](d.local_row[k][q], d.col[e]) = znew[e] / lw;
      }
    }
  }
  store_group_fits(g, comp, res.groups);
}

#define LOWRANK_GAME_FACTORED_INSTANTIATE(T)                                                                 \
  template SparseData<T> sparsify(const ObservedEntries<T>&, ResolvedGroups&, const GameOptions&,            \
                                  std::vector<std::string>*);                                                \
  template void solve_latent_fista_factored(const SparseData<T>&, const ResolvedGroups&, const GameOptions&, \
                                            const GameResult<T>*, GameResult<T>&);                           \
  template double latent_lambda_max(const SparseData<T>&, const ResolvedGroups&);

LOWRANK_GAME_FACTORED_INSTANTIATE(float)
LOWRANK_GAME_FACTORED_INSTANTIATE(double)
#undef LOWRANK_GAME_FACTORED_INSTANTIATE

}  // namespace lowrank::game_detail
