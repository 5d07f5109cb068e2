// Singular value thresholding for the GAME solvers.
//
// thin_svd / singular_values_of forward to the core's gesdd wrappers
// (dense_thin_svd, lowrank/linalg/dense.hpp), kept as names here so the
// solvers read alike.
#include <algorithm>
#include <cmath>
#include <limits>

#include "game/detail.hpp"
#include "lowrank/linalg/dense.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::game_detail {

namespace {

// The SVT keeps only singular values above tau, and on GAME's problems tau is
// a sizeable fraction of the block's top value (lambda w_k against a block
// whose top value is at most lambda_max w_k). There the Gram matrix of the
// short side (syrk + syevd, BLAS-3) is accurate: an eigenvalue's absolute
// error eps sigma_1^2 is a relative error eps (sigma_1 / sigma)^2 on sigma.
// Both SVD steps below take that route when the bound is at most
// 1e-3 sqrt(eps) at tau / 2 (gram_accurate_sigma2) and fall back to
// gesdd otherwise, whose bidiagonalisation runs at matrix-vector speed: on
// MovieLens-100k gesdd's Ritz steps took as long as the products with the
// blocks (8.8 s of 24 s), and the full SVDs of the 45 x 1650 occupation
// blocks 4 ms each.

// Ritz step of the subspace iteration, B = A^T Q (n x k) = W diag(sv) R^T,
// through B^T B (k x k). Columns below the accuracy floor (never kept: the
// floor is under tau / 2) are made orthonormal to the rest, so W stays a
// basis for the next pass.
template <class T>
void ritz_svd(const Matrix<T>& b, double tau, double accuracy, Matrix<T>& w, Vector<T>& sv, Matrix<T>& rot) {
  const Index k = b.cols();
  Matrix<T> gram = Matrix<T>::Zero(k, k);
  gram.template selfadjointView<Eigen::Lower>().rankUpdate(b.transpose());
  Vector<T> ev;
  if (k > 0 && symmetric_eigen(gram, ev) == 0 && ev.allFinite() && ev(k - 1) > T(0)) {
    const double floor2 = gram_accurate_sigma2<T>(static_cast<double>(ev(k - 1)), accuracy);
    if (0.25 * tau * tau >= floor2) {
      sv.resize(k);
      rot.resize(k, k);
      for (Index i = 0; i < k; ++i) {
        sv(i) = std::sqrt(std::max(ev(k - 1 - i), T(0)));
        rot.col(i) = gram.col(k - 1 - i);
      }
      w.noalias() = b * rot;
      bool all_accurate = true;
      for (Index i = 0; i < k; ++i) {
        if (static_cast<double>(sv(i)) * static_cast<double>(sv(i)) >= floor2) {
          w.col(i) /= sv(i);
        } else {
          all_accurate = false;
          const T norm = w.col(i).norm();
          if (norm > T(0)) w.col(i) /= norm;
        }
      }
      if (!all_accurate) orthonormalize(w);
      return;
    }
  }
  thin_svd<T>(b, w, sv, rot);
}

// Grows (or starts) the warm block to `total` orthonormal columns: the old
// columns first, then fresh Gaussian ones, re-orthonormalised together.
template <class T>
void grow_block(Matrix<T>& block, Index n, Index total, std::uint64_t seed) {
  const Index have = block.rows() == n ? std::min(block.cols(), total) : 0;
  Matrix<T> fresh(n, total - have);
  fill_gaussian(fresh, seed);
  Matrix<T> grown(n, total);
  if (have > 0) grown.leftCols(have) = block.leftCols(have);
  grown.rightCols(total - have) = fresh;
  orthonormalize(grown);
  block = std::move(grown);
}

// Singular triplets of A above tau by subspace iteration warm-started from
// the previous call's right singular block (the same idea as soft-impute's
// warm_started_svt, here for a dense block). One pass: Q = orth(A W),
// A^T Q = W' diag(s) R^T (thin SVD), so A ~ (Q R) diag(s) W'^T with
// A^T (Q R) = W' diag(s) exactly. The next pass's A W' checks the other half,
// || A w_i - s_i u_i ||, on the kept triplets and the first one below tau;
// when that residual is <= tol * s_1 the previous pass is returned. Successive
// blocks of one group change little between sweeps and outer iterations, so
// two passes (three products with A) are the usual cost, against six products
// plus restarts for a fresh randomized range finder. The block keeps `margin`
// columns beyond the kept rank and doubles while every Ritz value exceeds
// tau. Returns false when the block would need half of min(g, n) columns (a
// full SVD is then cheaper).
// W (g x n, g <= n) is given by its products w_times(x, out): out = W x and
// wt_times(x, out): out = W^T x, so the same iteration serves a dense block
// and the factored solver's sparse + low-rank operator.
template <class T, class WTimes, class WtTimes>
bool subspace_svt_wide(Index g, Index n, const WTimes& w_times, const WtTimes& wt_times, double tau, Index max_rank,
                       double tol, int max_passes, double gram_acc, SvtState<T>& st, Matrix<T>& u, Vector<T>& s,
                       Matrix<T>& v) {
  constexpr Index margin = 6;
  const Index p = std::min(g, n);
  Index k = std::max<Index>(st.rank_hint + margin, 8);
  if (max_rank > 0) k = std::min(k, max_rank + 1);
  // Decide before growing: a block wider than the matrix has no orthonormal
  // basis (LAPACK's orgqr rejects it, and its message went to stdout, where
  // it broke `--json` on a 240 x 60 matrix whose rank hint reached 60).
  if (4 * k >= p) return false;
  if (st.V.rows() != n || st.V.cols() != k) grow_block(st.V, n, k, st.seed++);
  Matrix<T> y, q, b, w, rot;
  Vector<T> sv;
  bool have_previous = false;
  Index watched = 0;
  for (int pass = 1;; ++pass) {
    if (4 * k >= p) return false;  // a full SVD is cheaper and exact
    w_times(st.V, y);
    if (have_previous) {
      // residual of the previous pass's triplets: A v_i - s_i u_i
      const double r2 =
          static_cast<double>((y.leftCols(watched) - u.leftCols(watched) * s.head(watched).asDiagonal()).squaredNorm());
      const double scale = s.size() > 0 && s(0) > T(0) ? static_cast<double>(s(0)) : 1.0;
      if (std::sqrt(r2) <= tol * scale || pass > max_passes) return true;
    }
    q = y;
    orthonormalize(q);                          // the core's BLAS-3 QR
    wt_times(q, b);                             // n x k
    ritz_svd<T>(b, tau, gram_acc, w, sv, rot);  // A^T Q = W diag(sv) R^T
    if (!sv.allFinite()) {
      u = q * rot;
      s = sv;
      v = w;
      return true;  // the NaN propagates to the objective check
    }
    Index keep = 0;
    while (keep<k&& static_cast<double>(sv(keep))> tau) ++keep;
    if (keep == k && (max_rank == 0 || k <= max_rank)) {
      // every Ritz value is above tau: more columns, and start over
      k = max_rank > 0 ? std::min(2 * k, max_rank + 1) : 2 * k;
      if (4 * k >= p) return false;
      st.V = w;
      grow_block(st.V, n, k, st.seed++);
      have_previous = false;
      continue;
    }
    u.noalias() = q * rot;
    s = sv;
    v = w;
    st.V = w;
    watched = std::min<Index>(keep + 1, k);
    have_previous = true;
    // At the cap the next product would only decide to stop: skip it.
    if (pass >= max_passes) return true;
  }
}

template <class T>
bool subspace_svt(const Eigen::Ref<const Matrix<T>>& a, double tau, Index max_rank, double tol, int max_passes,
                  double gram_acc, SvtState<T>& st, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  // A tall A (the FISTA solver's transposed blocks) is iterated as its wide
  // transpose, so Q and its orthonormalisation stay on the short side (on
  // the long side they cost as much as the gathers the layout saved).
  // W = A, or A^T when A is tall (then W is wide): W x and W^T x
  if (a.rows() > a.cols()) {
    auto w_times = [&](const Matrix<T>& x, Matrix<T>& out) { out.noalias() = a.transpose() * x; };
    auto wt_times = [&](const Matrix<T>& x, Matrix<T>& out) { out.noalias() = a * x; };
    return subspace_svt_wide<T>(a.cols(), a.rows(), w_times, wt_times, tau, max_rank, tol, max_passes, gram_acc, st, v,
                                s, u);
  }
  auto w_times = [&](const Matrix<T>& x, Matrix<T>& out) { out.noalias() = a * x; };
  auto wt_times = [&](const Matrix<T>& x, Matrix<T>& out) { out.noalias() = a.transpose() * x; };
  return subspace_svt_wide<T>(a.rows(), a.cols(), w_times, wt_times, tau, max_rank, tol, max_passes, gram_acc, st, u, s,
                              v);
}

// The same for an operator given only by its products (never densified here).
template <class T>
bool subspace_svt_op(const SparsePlusLowRank<T>& op, double tau, Index max_rank, double tol, int max_passes,
                     double gram_acc, SvtState<T>& st, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  auto apply = [&](const Matrix<T>& x, Matrix<T>& out) { op.apply(x, out); };
  auto adjoint = [&](const Matrix<T>& x, Matrix<T>& out) { op.apply_adjoint(x, out); };
  if (op.rows() > op.cols())
    return subspace_svt_wide<T>(op.cols(), op.rows(), adjoint, apply, tau, max_rank, tol, max_passes, gram_acc, st, v,
                                s, u);
  return subspace_svt_wide<T>(op.rows(), op.cols(), apply, adjoint, tau, max_rank, tol, max_passes, gram_acc, st, u, s,
                              v);
}

// The full route's triplets above tau / 2 through the short side's Gram
// matrix. In float the Gram's rounding eps sigma_1^2 swamps the threshold
// once sigma_1 is ~50 tau (MovieLens-100k below 0.2 lambda_max: the global
// block's sigma_1 is 55 tau); the block is then thresholded through a double
// Gram (syrk + syevd in double, still BLAS-3, where gesdd would run at
// matrix-vector speed), and stays there for the rest of the fit.
template <class T>
bool full_gram_svt_triplets(const Eigen::Ref<const Matrix<T>>& a, double tau, const GameOptions& options,
                            SvtState<T>& state, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  if constexpr (std::is_same_v<T, float>) {
    if (!state.gram_in_double && gram_svd<T>(a, 0.5 * tau, u, s, v, gram_route_accuracy<T>(options))) return true;
    state.gram_in_double = true;
    Matrix<double> ud, vd;
    Vector<double> sd;
    const Matrix<double> ad = a.template cast<double>();
    if (!gram_svd<double>(ad, 0.5 * tau, ud, sd, vd)) return false;
    u = ud.cast<T>();
    s = sd.cast<T>();
    v = vd.cast<T>();
    return true;
  } else {
    return gram_svd<T>(a, 0.5 * tau, u, s, v, gram_route_accuracy<T>(options));
  }
}

}  // namespace

template <class T>
void thin_svd(const Eigen::Ref<const Matrix<T>>& a, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  dense_thin_svd(a, u, s, v);
}

template <class T>
Vector<T> singular_values_of(const Matrix<T>& a) {
  return dense_singular_values(a);
}

template <class T>
double spectral_norm_of(const Matrix<T>& a) {
  if (a.size() == 0) return 0.0;
  // A full bidiagonalisation of a 943 x 1650 block costs about 5 GFlop; the
  // core's Lanczos on the Gram operator needs a few dozen products. Its Ritz
  // value converges from below to relative accuracy `tolerance` (Spectra's
  // criterion on sigma^2), far below what lambda_max and the KKT report need.
  if (std::min(a.rows(), a.cols()) > 64) {
    TruncatedSvdOptions o;
    o.method = SvdMethod::Lanczos;
    o.tolerance = std::is_same_v<T, double> ? 1e-13 : 1e-6;
    o.compute_vectors = false;
    const SvdResult<T> r = truncated_svd(a, 1, o);
    if (r.status == Status::Success && r.S.size() == 1 && std::isfinite(static_cast<double>(r.S(0))))
      return static_cast<double>(r.S(0));
  }
  return static_cast<double>(singular_values_of(a)(0));
}

namespace {

// svt() on a g x n block that `subspace(u, s, v)` iterates on (false: a full
// SVD is cheaper) and `dense()` materialises for the full route.
template <class T, class Subspace, class Dense>
LowRank<T> svt_impl(Index g, Index n, const Subspace& subspace, const Dense& dense, double tau, Index max_rank,
                    const GameOptions& options, SvtState<T>& state, double tol) {
  const Index p = std::min(g, n);
  LowRank<T> out;
  out.U.resize(g, 0);
  out.d.resize(0);
  out.V.resize(n, 0);
  if (p == 0) return out;

  Matrix<T> u, v;
  Vector<T> s;
  bool full = options.svd_method == GameSvdMethod::Full ||
              (options.svd_method == GameSvdMethod::Auto && p <= options.full_svd_max_dim);
  if (!full) {
    // accuracy a float block can reach
    const double floor = 50.0 * static_cast<double>(std::numeric_limits<T>::epsilon());
    full = !subspace(std::max(tol, floor), u, s, v);
  }
  // The full route needs only the triplets above tau (and a few below for
  // the warm block): through the short side's Gram matrix when accurate.
  if (full) {
    decltype(auto) a = dense();
    if (!full_gram_svt_triplets<T>(a, tau, options, state, u, s, v)) thin_svd<T>(a, u, s, v);
  }

  Index r = 0;
  // Singular values within rounding of tau are tau: a block the dual step
  // has just projected onto the ball has many exactly there, and counting
  // the 1e-15 excess would report ranks of zero blocks.
  const double cut = tau + (s.size() > 0 ? 100.0 * static_cast<double>(std::numeric_limits<T>::epsilon()) *
                                               std::max(static_cast<double>(s(0)), tau)
                                         : 0.0);
  while (r < s.size() && static_cast<double>(s(r)) > cut) ++r;
  if (max_rank > 0 && r > max_rank) {
    out.rank_capped = true;
    r = max_rank;
  }
  out.U = u.leftCols(r);
  out.d = (s.head(r).array() - static_cast<T>(tau)).matrix();
  out.V = v.leftCols(r);
  state.rank_hint = r;
  // the subspace route's warm block lives on the long side (see subspace_svt)
  if (full) {
    const Matrix<T>& long_side = g > n ? u : v;
    state.V = long_side.leftCols(std::min<Index>(long_side.cols(), r + 6));
  }
  return out;
}

}  // namespace

template <class T>
LowRank<T> svt(const Eigen::Ref<const Matrix<T>>& a, double tau, Index max_rank, const GameOptions& options,
               SvtState<T>& state, double tol) {
  auto subspace = [&](double t, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
    return subspace_svt(a, tau, max_rank, t, options.subspace_max_passes, gram_route_accuracy<T>(options), state, u, s,
                        v);
  };
  auto dense = [&]() -> const Eigen::Ref<const Matrix<T>>& { return a; };
  return svt_impl<T>(a.rows(), a.cols(), subspace, dense, tau, max_rank, options, state, tol);
}

template <class T>
LowRank<T> svt(const SparsePlusLowRank<T>& op, double tau, Index max_rank, const GameOptions& options,
               SvtState<T>& state, double tol) {
  auto subspace = [&](double t, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
    return subspace_svt_op(op, tau, max_rank, t, options.subspace_max_passes, gram_route_accuracy<T>(options), state, u,
                           s, v);
  };
  // Only for blocks with a short side of at most full_svd_max_dim, or when
  // the rank nears a quarter of it: then g x n is at most a few times the
  // factors' own size.
  // Materialised from the short side: A^T applied to the g x g identity
  // (to_dense would apply A to an n x n identity).
  auto dense = [&]() -> Matrix<T> {
    if (op.rows() > op.cols()) return to_dense(op);
    const Matrix<T> eye = Matrix<T>::Identity(op.rows(), op.rows());
    Matrix<T> at;
    op.apply_adjoint(eye, at);
    return at.transpose();
  };
  return svt_impl<T>(op.rows(), op.cols(), subspace, dense, tau, max_rank, options, state, tol);
}

template void thin_svd(const Eigen::Ref<const Matrix<float>>&, Matrix<float>&, Vector<float>&, Matrix<float>&);
template void thin_svd(const Eigen::Ref<const Matrix<double>>&, Matrix<double>&, Vector<double>&, Matrix<double>&);
template Vector<float> singular_values_of(const Matrix<float>&);
template Vector<double> singular_values_of(const Matrix<double>&);
template double spectral_norm_of(const Matrix<float>&);
template double spectral_norm_of(const Matrix<double>&);
template LowRank<float> svt(const Eigen::Ref<const Matrix<float>>&, double, Index, const GameOptions&, SvtState<float>&,
                            double);
template LowRank<double> svt(const Eigen::Ref<const Matrix<double>>&, double, Index, const GameOptions&,
                             SvtState<double>&, double);
template LowRank<float> svt(const SparsePlusLowRank<float>&, double, Index, const GameOptions&, SvtState<float>&,
                            double);
template LowRank<double> svt(const SparsePlusLowRank<double>&, double, Index, const GameOptions&, SvtState<double>&,
                             double);

}  // namespace lowrank::game_detail
