#include "lowrank/linalg/svd.hpp"

#include <Spectra/SymEigsSolver.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "lowrank/core/detail/thread_scope.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/detail/kernels.hpp"
#include "lowrank/linalg/detail/svd_float_passes.hpp"

namespace lowrank {

const char* to_string(SvdMethod m) noexcept {
  switch (m) {
    case SvdMethod::Auto:
      return "auto";
    case SvdMethod::Full:
      return "full";
    case SvdMethod::Lanczos:
      return "lanczos";
    case SvdMethod::Randomized:
      return "randomized";
    case SvdMethod::Krylov:
      return "krylov";
  }
  return "unknown";
}

SvdMethod parse_svd_method(std::string_view name) {
  if (name == "auto") return SvdMethod::Auto;
  if (name == "full") return SvdMethod::Full;
  if (name == "lanczos") return SvdMethod::Lanczos;
  if (name == "randomized") return SvdMethod::Randomized;
  if (name == "krylov") return SvdMethod::Krylov;
  throw InvalidArgument("unknown SVD method '" + std::string(name) +
                        "' (expected auto, full, krylov, lanczos or randomized)");
}

namespace detail {
namespace {

// A sparse block product forms a team only from 2^23 multiply-adds (~5 ms on
// one core). Below, the few products of a call (the Lanczos finish makes
// four) each left libgomp's idle worker spinning through its GOMP_SPINCOUNT
// against the caller on a shared 2-core machine: MovieLens-100k, k = 20, from
// Python with two threads ran at 0.6x of scipy's svds (docs/benchmarks.md,
// "Measurements behind code choices").
template <class T>
bool small_sparse_product(const SparseOperator<T>& s, Index columns) {
  return s.nnz() * columns < (Index{1} << 23);
}

// A x and A^T x through the fastest kernel the operator's kind allows.
template <class T>
struct Products {
  const OperatorView<T>& op;

  void forward(const Matrix<T>& x, Matrix<T>& y) const {  // y = A x
    if (op.dense != nullptr) {
      y.noalias() = (*op.dense) * x;
    } else if (op.sparse != nullptr) {
      const ThreadCountScope serial(small_sparse_product(*op.sparse, x.cols()) ? 1 : 0);
      csr_times_dense(op.sparse->csr(), x, y);
    } else {
      op.apply(op.self, x, y);
    }
  }
  void adjoint(const Matrix<T>& x, Matrix<T>& y) const {  // y = A^T x
    if (op.dense != nullptr) {
      y.noalias() = op.dense->transpose() * x;
    } else if (op.sparse != nullptr) {
      const ThreadCountScope serial(small_sparse_product(*op.sparse, x.cols()) ? 1 : 0);
      csr_times_dense(op.sparse->csr_transpose(), x, y);
    } else {
      op.apply_adjoint(op.self, x, y);
    }
  }
  /// y = A x (to_right == false) or y = A^T x (to_right == true).
  void product(bool to_right, const Matrix<T>& x, Matrix<T>& y) const {
    if (to_right) {
      adjoint(x, y);
    } else {
      forward(x, y);
    }
  }
};

// The sparse paths run BLAS serial (detail/serial_blas.hpp): OpenBLAS's
// threads spinning against OpenMP's doubled the Lanczos time (docs/benchmarks.md,
// "Measurements behind code choices").
using lowrank::detail::SerialBlasScope;

template <class T>
bool all_finite(const Vector<T>& s) {
  return s.allFinite();
}

// Given an orthonormal basis `basis` (c columns) on one side of A and its
// image `image` = A^T basis (basis_on_left) or A basis (otherwise), the SVD
// image = Ui diag(s) Vi^T gives A's Ritz triplets: the image side takes Ui and
// the basis side takes basis * Vi. `image` is destroyed.
template <class T>
Status finish_from_basis(const Matrix<T>& basis, Matrix<T>& image, bool basis_on_left, Index k, bool vectors,
                         SvdResult<T>& out) {
  Vector<T> s;
  Matrix<T> ui, vit;
  const int info = gesdd(image, s, vectors ? &ui : nullptr, vectors ? &vit : nullptr);
  if (info != 0) {
    out.S = Vector<T>::Constant(k, std::numeric_limits<T>::quiet_NaN());
    return Status::NumericalIssue;
  }
  out.S = s.head(k);
  if (vectors) {
    Matrix<T> basis_side(basis.rows(), k);
    basis_side.noalias() = basis * vit.topRows(k).transpose();
    if (basis_on_left) {
      out.U = std::move(basis_side);
      out.V = ui.leftCols(k);
    } else {
      out.U = ui.leftCols(k);
      out.V = std::move(basis_side);
    }
  }
  return all_finite(out.S) ? Status::Success : Status::NumericalIssue;
}

// ---- a posteriori accuracy ----------------------------------------------------

// Absolute accuracy on sigma_i that rounding allows in precision T: a product
// A v carries an error of about eps sqrt(n) ||A|| (Higham, Accuracy and
// Stability, Sec. 3.5), so no residual can be trusted below it.
template <class T>
double rounding_level(Index m, Index n, double s1) {
  return static_cast<double>(std::numeric_limits<T>::epsilon()) * std::sqrt(static_cast<double>(std::max(m, n))) * s1;
}
// The Krylov stop test's absolute floor: a few times the rounding level.
template <class T>
double rounding_floor(Index m, Index n, double s1) {
  return 8.0 * rounding_level<T>(m, n, s1);
}

// error_bounds_i = min(rho_i, rho_i^2 / gap_i) (see SvdResult::error_bounds)
// for i < k, from all the Ritz values `s` (size >= k) and their residual
// norms rho (for the Jordan-Wielandt matrix). gap_i is the distance from s_i
// to every other Ritz value, less that value's own rho, and to 0 (the
// eigenvalues -sigma and 0 of [0 A; A^T 0] are at least s_i away). The last
// Ritz value has no neighbour below it to measure against, so it (and any
// value without one) keeps the linear bound.
// `rounding` is added to every bound: the computed s_i = u_i^T A v_i and the
// residuals themselves carry rounding errors of that size.
inline Vector<double> error_bounds_from(const Vector<double>& s, const Vector<double>& rho, Index k, double rounding) {
  Vector<double> out(k);
  const Index c = s.size();
  for (Index i = 0; i < k; ++i) {
    double gap = i + 1 < c ? s(i) : 0.0;
    for (Index l = 0; l < c; ++l) {
      if (l != i) gap = std::min(gap, std::abs(s(i) - s(l)) - rho(l));
    }
    out(i) = (gap > 0 ? std::min(rho(i), rho(i) * rho(i) / gap) : rho(i)) + rounding;
  }
  return out;
}

// Fills out.residuals and out.error_bounds from explicit products with A
// (two block products with k columns). `extra` holds the Ritz values after
// the k-th when the method has them (with residual norms `extra_rho`).
template <class T>
void residuals_by_products(const Products<T>& a, SvdResult<T>& out, const Vector<double>& extra = {},
                           const Vector<double>& extra_rho = {}) {
  const Index k = out.S.size();
  if (out.U.cols() != k || out.V.cols() != k || k == 0) return;
  Matrix<T> av, atu;
  a.forward(out.V, av);
  a.adjoint(out.U, atu);
  av -= out.U * out.S.asDiagonal();
  atu -= out.V * out.S.asDiagonal();
  out.residuals.resize(k);
  for (Index i = 0; i < k; ++i) {
    out.residuals(i) = std::sqrt(av.col(i).squaredNorm() + atu.col(i).squaredNorm());
  }
  Vector<double> s(k + extra.size()), rho(k + extra.size());
  s << out.S.template cast<double>(), extra;
  rho << out.residuals.template cast<double>() / std::sqrt(2.0), extra_rho;
  out.error_bounds =
      error_bounds_from(s, rho, k, rounding_level<T>(a.op.rows, a.op.cols, static_cast<double>(out.S(0))))
          .template cast<T>();
}

// ---- Full --------------------------------------------------------------------

template <class T>
Matrix<T> densify(const OperatorView<T>& op) {
  if (op.dense != nullptr) return *op.dense;
  if (op.sparse != nullptr) return Matrix<T>(op.sparse->csr());
  Matrix<T> eye = Matrix<T>::Identity(op.cols, op.cols);
  Matrix<T> out;
  op.apply(op.self, eye, out);
  return out;
}

template <class T>
SvdResult<T> svd_full(const OperatorView<T>& op, Index k, bool vectors) {
  Matrix<T> a = densify(op);
  SvdResult<T> out;
  out.method_used = SvdMethod::Full;
  Vector<T> s;
  Matrix<T> u, vt;
  const int info = gesdd(a, s, vectors ? &u : nullptr, vectors ? &vt : nullptr);
  if (info != 0) {
    out.S = Vector<T>::Constant(k, std::numeric_limits<T>::quiet_NaN());
    out.status = Status::NumericalIssue;
    return out;
  }
  out.S = s.head(k);
  out.status = all_finite(out.S) ? Status::Success : Status::NumericalIssue;
  // LAPACK Users' Guide, Sec. 4.9: |s_i - sigma_i| <= p(m, n) eps s_1.
  const auto lapack_bound = [&] {
    out.error_bounds =
        Vector<T>::Constant(k, std::numeric_limits<T>::epsilon() * static_cast<T>(std::max(op.rows, op.cols)) * s(0));
  };
  // The explicit residuals cost two products A V, A^T U (4 m n k flops): a
  // fifth of gesdd itself at k = min(m, n) (numpy's svd of 4000 x 3000 took
  // 10.2 s, ours 11.1 s with them), under 5% while k <= min(m, n) / 4.
  const bool residuals_cheap = 4 * k <= std::min(op.rows, op.cols);
  if (vectors) {
    if (k == u.cols()) {
      out.U = std::move(u);
    } else {
      out.U = u.leftCols(k);
    }
    out.V = vt.topRows(k).transpose();
    if (out.status == Status::Success && !residuals_cheap) {
      lapack_bound();
    } else if (out.status == Status::Success) {
      // The rest of the spectrum is known exactly (to LAPACK's bound).
      const Index rest = s.size() - k;
      const double lapack = static_cast<double>(std::numeric_limits<T>::epsilon()) *
                            static_cast<double>(std::max(op.rows, op.cols)) * static_cast<double>(s(0));
      residuals_by_products(Products<T>{op}, out, s.tail(rest).template cast<double>().eval(),
                            Vector<double>::Constant(rest, lapack));
    }
  } else if (out.status == Status::Success) {
    lapack_bound();
  }
  return out;
}

// ---- Randomized (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1) ---------

template <class T>
SvdResult<T> svd_randomized(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& opt) {
  const Products<T> a{op};
  const Index m = op.rows;
  const Index n = op.cols;
  const Index l = std::min(k + opt.oversampling, std::min(m, n));
  const int q = opt.power_iterations >= 0 ? opt.power_iterations : (op.kind == OperatorKind::Dense ? 2 : 4);
  const SerialBlasScope serial_blas(op.kind != OperatorKind::Dense);
  SvdResult<T> out;
  out.method_used = SvdMethod::Randomized;

  Matrix<T> omega(n, l);
  fill_gaussian(omega, opt.seed);
  Matrix<T> y;  // m x l, range side
  Matrix<T> z;  // n x l, co-range side
  a.forward(omega, y);
  orthonormalize(y);  // Y = orth(A Omega)
  for (int it = 0; it < q; ++it) {
    if (interrupt_requested()) {
      out.status = Status::Interrupted;
      break;
    }
    // Alg. 4.4: orthonormalise after every product so the directions of small
    // singular values are not swamped by roundoff in (A A^T)^q A Omega.
    a.adjoint(y, z);
    orthonormalize(z);
    a.forward(z, y);
    orthonormalize(y);
    out.iterations = it + 1;
  }
  a.adjoint(y, z);  // Z = A^T Q = B^T; Alg. 5.1: SVD of B = Q^T A
  const Status s = finish_from_basis(y, z, /*basis_on_left=*/true, k, opt.compute_vectors, out);
  if (out.status == Status::Success) out.status = s;
  if (s == Status::Success) residuals_by_products(a, out);
  return out;
}

// ---- Krylov (block Lanczos bidiagonalisation with Rayleigh-Ritz) --------------

// Orthonormalises the block y (rows x b) against the orthonormal columns of
// `basis` and within itself, keeping the relation y_in = basis c + y_out r
// (c: basis.cols() x b, r: b x b). Two passes of block classical Gram-Schmidt
// (CGS2: orthogonal to working precision, Giraud et al. 2005), then
// CholeskyQR2. A rank-deficient block (exact rank, or an invariant subspace
// found) falls back to Householder, whose extra columns are arbitrary, so
// they are projected once more and re-factored with the relation updated.
template <class T>
void block_orthonormalize(const Eigen::Ref<const Matrix<T>>& basis, Matrix<T>& y, Matrix<T>& c, Matrix<T>& r) {
  const Index b = y.cols();
  c.setZero(basis.cols(), b);
  auto project = [&](Matrix<T>& x, Matrix<T>& coef) {
    if (basis.cols() == 0) return;
    Matrix<T> d(basis.cols(), x.cols());
    for (int pass = 0; pass < 2; ++pass) {
      d.noalias() = basis.transpose() * x;
      x.noalias() -= basis * d;
      coef += d;
    }
  };
  project(y, c);
  if (cholesky_qr2(y, &r)) return;
  householder_qr(y, r);
  for (int round = 0; round < 2 && basis.cols() > 0; ++round) {
    // y_in = basis c + Q r and Q = Q' + basis d give y_in = basis (c + d r) + Q' r.
    Matrix<T> d = Matrix<T>::Zero(basis.cols(), b);
    project(y, d);
    c.noalias() += d * r;
    Matrix<T> r2;
    householder_qr(y, r2);
    r = (r2 * r).eval();
  }
}

// Block size, largest basis and thick-restart size of the Krylov method (see
// krylov_dim).
struct KrylovShape {
  Index block = 0;
  Index cap = 0;
  Index keep = 0;  ///< Ritz vectors a restart keeps (>= k)
};
inline KrylovShape krylov_shape(Index m, Index n, Index k, const TruncatedSvdOptions& opt, Index block = 0) {
  const Index mn = std::min(m, n);
  KrylovShape sh;
  // A block of about k / 2 (at least 16) rather than k + oversampling: the
  // Krylov degree per product with A is what converges, so half the block
  // takes fewer than twice the steps (4000 x 3000, k = 50: 7 steps of 25 in
  // 0.40 s against 5 of 60 in 0.60 s; docs/benchmarks.md "Truncated SVD").
  // The block still bounds the multiplicity of a singular value it can find.
  sh.block = block > 0 ? block : std::min({k + opt.oversampling, std::max<Index>(16, (k + 1) / 2), mn / 3});
  if (sh.block < 1) return sh;
  const Index want = opt.krylov_dim > 0 ? opt.krylov_dim : std::max<Index>(8 * sh.block, 256);
  sh.cap = std::max<Index>(2, std::min(want, mn - sh.block) / sh.block) * sh.block;
  sh.keep = std::min(k + opt.oversampling, sh.cap - sh.block);  // room for one block step
  return sh;
}

// How a Krylov run starts and stops when it is a phase of the mixed-precision
// method (svd_krylov_mixed); the defaults are a plain run.
template <class T>
struct KrylovPhase {
  /// Start block (its width is the block size), else a Gaussian one.
  const Matrix<T>* start = nullptr;
  /// > 0: the float phase. It stops once its top `predict` Ritz triplets,
  /// with residuals no smaller than the float noise, would pass the double
  /// test (see svd_krylov_mixed), or once float cannot resolve them further.
  Index predict = 0;
  /// Receives the top `predict` right Ritz vectors of the float phase.
  Matrix<T>* ritz_v = nullptr;
};

template <class T>
SvdResult<T> svd_krylov(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& opt,
                        const KrylovPhase<T>& phase = {}) {
  const Products<T> a{op};
  const Index m = op.rows;
  const Index n = op.cols;
  const KrylovShape sh = krylov_shape(m, n, k, opt, phase.start != nullptr ? phase.start->cols() : 0);
  const Index b = sh.block;
  if (b < 1 || sh.keep < k || sh.cap + b > std::min(m, n)) {
    return svd_full(op, k, opt.compute_vectors);  // k too close to min(m, n) for a Krylov basis
  }
  const Index cap = sh.cap;
  const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
  const bool float_phase = phase.predict > 0;
  // The float phase predicts the double test: double's tolerance floor and
  // rounding level, and residuals no smaller than the float noise (the
  // double residuals of float Ritz triplets at 4000 x 3000: 3.7 eps_f s_i for
  // the top one, ~8 eps_f s_i near k).
  const double eps_target = float_phase ? std::numeric_limits<double>::epsilon() : eps;
  const double tol = std::max(opt.tolerance, 10.0 * eps_target);
  const SerialBlasScope serial_blas(op.kind != OperatorKind::Dense);

  SvdResult<T> out;
  out.method_used = SvdMethod::Krylov;
  // Lanczos relations, per cycle (j blocks so far, c1 = (j + 1) b columns):
  //   A V = U B            (B = U^T A V, c1 x c1 block upper bidiagonal)
  //   A^T U = V B^T + V_{j+1} R E_j^T
  // with W = A V and Z = A^T U kept for the final residuals.
  Matrix<T> V(n, cap + b), U(m, cap), W(m, cap), Z(n, cap), B(cap, cap);
  {
    Matrix<T> start(n, b);
    if (phase.start != nullptr) {
      start = *phase.start;
    } else {
      fill_gaussian(start, opt.seed);
    }
    orthonormalize(start);
    V.leftCols(b) = start;
  }
  Matrix<T> blk_m(m, b), blk_n(n, b), xin, c, r, r_next;
  Vector<T> s;
  Matrix<T> x, yt;  // left / right singular vectors of B
  Vector<double> rho_est;
  Index c0 = 0, c1 = 0;
  int steps = 0, next_check = 0, last_check = 0;
  double last_ratio = 0;
  bool converged = false;
  Status status = Status::Success;
  B.setZero();
  // c0: columns of U so far (the next V block starts there); a thick restart
  // sets it to the number of Ritz vectors kept.
  for (;; c0 = c1) {
    c1 = c0 + b;
    // W_j = A V_j; U_j R = W_j - U_{<j} C.
    if (op.dense != nullptr) {
      blk_m.noalias() = (*op.dense) * V.middleCols(c0, b);
    } else {
      xin = V.middleCols(c0, b);
      a.forward(xin, blk_m);
    }
    if (!blk_m.allFinite()) {
      status = Status::NumericalIssue;
      break;
    }
    W.middleCols(c0, b) = blk_m;
    block_orthonormalize<T>(U.leftCols(c0), blk_m, c, r);
    U.middleCols(c0, b) = blk_m;
    B.block(0, c0, c0, b) = c;
    B.block(c0, c0, b, b) = r;
    // Z_j = A^T U_j; V_{j+1} R_next = Z_j - V_{<=j} D.
    if (op.dense != nullptr) {
      blk_n.noalias() = op.dense->transpose() * U.middleCols(c0, b);
    } else {
      xin = U.middleCols(c0, b);
      a.adjoint(xin, blk_n);
    }
    Z.middleCols(c0, b) = blk_n;
    block_orthonormalize<T>(V.leftCols(c1), blk_n, c, r_next);
    V.middleCols(c1, b) = blk_n;
    ++steps;
    const bool restart_due = c1 + b > cap;
    // A block smaller than k needs ceil(k / b) steps before B has k Ritz values.
    const bool last = c1 >= k && (steps >= opt.max_iterations || interrupt_requested());
    // The SVD of B costs O(c1^3): skip it at the steps where, at the rate
    // the bounds fell between the last two checks, they cannot have
    // converged yet (checking at half the predicted distance).
    if ((steps < next_check || c1 < k) && !restart_due && !last) continue;
    // Rayleigh-Ritz: B = X diag(s) Y^T. A^T u_i - s_i v_i = V_{j+1} R_next x_i^{(j)}
    // (the last block of x_i), and A v_i = s_i u_i, so the residual of the
    // triplet is ||R_next x_i^{(j)}||.
    Matrix<T> bb = B.topLeftCorner(c1, c1);
    if (gesdd(bb, s, &x, &yt) != 0 || !s.allFinite()) {
      status = Status::NumericalIssue;
      break;
    }
    rho_est = ((r_next * x.bottomRows(b)).colwise().norm().transpose() / std::sqrt(2.0)).template cast<double>();
    const Vector<double> sd = s.template cast<double>();
    double ratio = 0;  // max_i bound_i / target_i: converged at <= 1
    if (float_phase) {
      const Index c = std::min(phase.predict, c1);
      const Vector<double> rho = rho_est.head(c).cwiseMax(8.0 * eps * sd.head(c));
      const Vector<double> bound = error_bounds_from(sd.head(c), rho, k, rounding_level<double>(m, n, sd(0)));
      const double floor = rounding_floor<double>(m, n, sd(0));
      for (Index i = 0; i < k; ++i) ratio = std::max(ratio, bound(i) / std::max(tol * sd(i), floor));
      // Half the target leaves room for the double step's own rounding;
      // below eps_f s_1 float resolves nothing more.
      converged = c1 >= phase.predict && (ratio <= 0.5 || rho_est.head(k).maxCoeff() <= eps * sd(0));
    } else {
      const Vector<double> bound = error_bounds_from(sd, rho_est, k, rounding_level<T>(m, n, sd(0)));
      const double floor = rounding_floor<T>(m, n, sd(0));
      for (Index i = 0; i < k; ++i) ratio = std::max(ratio, bound(i) / std::max(tol * sd(i), floor));
      converged = ratio <= 1;
    }
    if (converged) break;
    if (last_ratio > 0 && ratio < last_ratio) {
      const double per_step = std::log(last_ratio / ratio) / static_cast<double>(steps - last_check);
      const double to_go = std::log(ratio) / per_step;
      next_check = steps + std::max(1, static_cast<int>(to_go / 2));
    } else {
      next_check = steps + 1;
    }
    last_ratio = ratio;
    last_check = steps;
    if (interrupt_requested()) {
      status = Status::Interrupted;
      break;
    }
    if (steps >= opt.max_iterations) {
      status = Status::NotConverging;
      break;
    }
    if (restart_due) {
      last_ratio = 0;  // a new cycle converges at its own rate
      // Thick restart (Wu & Simon 2000; Baglama & Reichel 2005 for the
      // bidiagonalisation): keep the top `keep` Ritz triplets and the next
      // block V_{j+1}. Then A V_k = U_k diag(s) and A^T U_k = V_k diag(s) +
      // V_{j+1} (R_next X_j)^T, so B restarts as diag(s) and the next step's
      // projection of A V_{j+1} on U_k fills its first column block.
      const Index keep = sh.keep;
      Matrix<T> vk(n, keep), uk(m, keep);
      vk.noalias() = V.leftCols(c1) * yt.topRows(keep).transpose();
      uk.noalias() = U.leftCols(c1) * x.leftCols(keep);
      V.middleCols(keep, b) = V.middleCols(c1, b).eval();
      V.leftCols(keep) = vk;
      U.leftCols(keep) = uk;
      uk.noalias() = W.leftCols(c1) * yt.topRows(keep).transpose();  // A V_k, for the final residuals
      W.leftCols(keep) = uk;
      vk.noalias() = Z.leftCols(c1) * x.leftCols(keep);  // A^T U_k
      Z.leftCols(keep) = vk;
      B.setZero();
      B.topLeftCorner(keep, keep).diagonal() = s.head(keep);
      c1 = keep;
    }
  }
  out.iterations = steps;
  out.status = status;
  if (status == Status::NumericalIssue) {
    out.S = Vector<T>::Constant(k, std::numeric_limits<T>::quiet_NaN());
    return out;
  }
  out.S = s.head(k);
  if (phase.ritz_v != nullptr) {
    const Index nv = std::min(phase.predict, c1);
    phase.ritz_v->noalias() = V.leftCols(c1) * yt.topRows(nv).transpose();
  }
  const Vector<double> sd = s.template cast<double>();
  if (!opt.compute_vectors) {
    out.residuals = (rho_est.head(k) * std::sqrt(2.0)).template cast<T>();
    out.error_bounds = error_bounds_from(sd, rho_est, k, rounding_level<T>(m, n, sd(0))).template cast<T>();
    return out;
  }
  out.U.noalias() = U.leftCols(c1) * x.leftCols(k);
  out.V.noalias() = V.leftCols(c1) * yt.topRows(k).transpose();
  // Residuals from the kept products: A v_i = W y_i, A^T u_i = Z x_i.
  Matrix<T> av(m, k), atu(n, k);
  av.noalias() = W.leftCols(c1) * yt.topRows(k).transpose();
  atu.noalias() = Z.leftCols(c1) * x.leftCols(k);
  av -= out.U * out.S.asDiagonal();
  atu -= out.V * out.S.asDiagonal();
  out.residuals.resize(k);
  Vector<double> rho = rho_est;
  for (Index i = 0; i < k; ++i) {
    out.residuals(i) = std::sqrt(av.col(i).squaredNorm() + atu.col(i).squaredNorm());
    rho(i) = static_cast<double>(out.residuals(i)) / std::sqrt(2.0);
  }
  out.error_bounds = error_bounds_from(sd, rho, k, rounding_level<T>(m, n, sd(0))).template cast<T>();
  return out;
}

// Krylov on a dense double matrix with float products. The
// Krylov basis is built from a float copy of A (sgemm: twice dgemm's rate;
// 4000 x 3000, k = 50: block step 0.024 s against 0.044 s), until its top
// k + oversampling Ritz vectors are as accurate as float resolves or enough
// for the target. Those vectors start a double block Lanczos run with a
// block of k + oversampling: its first step is a Rayleigh-Ritz step on their
// span with products in double, and its residuals and error bounds are
// computed as in any Krylov run, so the result meets `tolerance` or takes
// more double steps until it does. A float Ritz vector carries an error
// of about eps_f ||A|| / gap (Parlett, Sec. 11.7), so its double residual is
// ~ eps_f s_1 and the value bound rho^2 / gap (Thm 11.7.1) is ~ eps_f^2 s_1^2 /
// gap: 1e-8 relative is reached from float when s_k / s_1 >~ 1e-3 with gaps
// of s_k / 2; below that the double phase takes further steps. Opt-in: the
// float copy's first touch costs about what its products save on the
// reference VM (docs/svd.md, "Float passes").
SvdResult<double> svd_krylov_mixed(const OperatorView<double>& op, Index k, const TruncatedSvdOptions& opt) {
  const Index kp = k + std::max<Index>(opt.oversampling, 1);  // the last value needs a neighbour for its gap
  const KrylovShape sh = krylov_shape(op.rows, op.cols, k, opt, kp);
  const double amax = op.dense->cwiseAbs().maxCoeff();
  if (sh.keep < k || sh.cap + kp > std::min(op.rows, op.cols) || !(amax > 0) || !std::isfinite(amax)) {
    return svd_krylov(op, k, opt);
  }
  // Scaled by a power of two (exact) so that float neither overflows nor
  // loses entries to underflow; the singular vectors do not change.
  const double scale = std::ldexp(1.0, -std::ilogb(amax));
  Matrix<float> af = (*op.dense * scale).cast<float>();
  OperatorView<float> fv;
  fv.rows = op.rows;
  fv.cols = op.cols;
  fv.kind = OperatorKind::Dense;
  fv.dense = &af;
  TruncatedSvdOptions fo = opt;
  fo.compute_vectors = false;
  Matrix<float> vf;  // filled by the Krylov phase (not by a fallback to Full)
  const SvdResult<float> f = svd_krylov(fv, k, fo, KrylovPhase<float>{nullptr, kp, &vf});
  af = Matrix<float>();
  // An interrupt seen by the float phase stops the double phase after its
  // first step (its Rayleigh-Ritz answer is returned, as by a plain run).
  if (f.status == Status::NumericalIssue || vf.cols() < kp) return svd_krylov(op, k, opt);
  const Matrix<double> start = vf.cast<double>();
  SvdResult<double> out = svd_krylov(op, k, opt, KrylovPhase<double>{&start});
  out.iterations += f.iterations;
  return out;
}

// ---- Lanczos (Spectra on the Gram operator + Rayleigh-Ritz on A) ------------

struct InterruptSignal {};
struct NonFiniteSignal {};
struct ZeroRangeSignal {};

// B = A^T A (n x n, right == true) or A A^T (m x m), never formed, in the
// form Spectra asks for (Scalar, rows, cols, perform_op).
template <class T>
class GramOperator {
 public:
  using Scalar = T;
  GramOperator(const Products<T>& a, bool right) : m_a(a), m_right(right), m_dim(right ? a.op.cols : a.op.rows) {}
  Index rows() const { return m_dim; }
  Index cols() const { return m_dim; }

  void perform_op(const T* x_in, T* y_out) const {
    // Spectra offers no hook between restarts; unwinding from the product is
    // the only way to stop it early.
    if (interrupt_requested()) throw InterruptSignal{};
    const Eigen::Map<const Vector<T>> x(x_in, m_dim);
    // Spectra starts from B v0 / ||B v0||: NaN when the Gaussian v0 is in the
    // null space of B, which (almost surely) means A = 0.
    if (!x.allFinite()) throw ZeroRangeSignal{};
    Eigen::Map<Vector<T>> y(y_out, m_dim);
    if (const SparseOperator<T>* s = m_a.op.sparse) {  // one sweep over the CSR
      csr_gram_times_vector(m_right ? s->csr() : s->csr_transpose(), x_in, y_out, m_workspace);
    } else if (const Matrix<T>* d = m_a.op.dense) {  // two GEMVs straight on the buffers
      if (m_right) {
        m_tmp_v.noalias() = (*d) * x;
        y.noalias() = d->transpose() * m_tmp_v;
      } else {
        m_tmp_v.noalias() = d->transpose() * x;
        y.noalias() = (*d) * m_tmp_v;
      }
    } else {
      m_x = x;
      m_a.product(!m_right, m_x, m_tmp);  // A x (right) or A^T x
      m_a.product(m_right, m_tmp, m_y);   // then A^T (.) or A (.)
      y = m_y.col(0);
    }
    // NaN/Inf in A would otherwise keep Spectra restarting to max_iterations.
    if (!y.allFinite()) throw NonFiniteSignal{};
  }

 private:
  const Products<T>& m_a;
  bool m_right;
  Index m_dim;
  mutable Vector<T> m_tmp_v;
  mutable std::vector<Vector<T>> m_workspace;
  mutable Matrix<T> m_x, m_tmp, m_y;
};

// Exposes the Lanczos basis, which a non-converged run still has.
template <class OpType>
class GramEigsSolver : public Spectra::SymEigsSolver<OpType> {
 public:
  using Spectra::SymEigsSolver<OpType>::SymEigsSolver;
  const auto& lanczos_basis() const { return this->m_fac.matrix_V(); }
};

template <class T>
SvdResult<T> svd_lanczos(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& opt) {
  const Products<T> a{op};
  const bool right = op.cols <= op.rows;  // Gram operator on the smaller side
  const Index dim = right ? op.cols : op.rows;
  if (k >= dim) {
    // Spectra needs nev < dim; k = min(m, n) is the whole spectrum anyway.
    return svd_full(op, k, opt.compute_vectors);
  }
  const Index ncv =
      opt.krylov_dim > 0 ? std::clamp(opt.krylov_dim, k + 1, dim) : std::min(std::max(2 * k + 1, k + 20), dim);
  // Ritz estimates of the Gram eigenvalues sigma^2 cannot be trusted below a
  // few ulps; asking for less than that makes Spectra restart forever in float.
  const T tol = static_cast<T>(std::max(opt.tolerance, 10.0 * std::numeric_limits<T>::epsilon()));

  SvdResult<T> out;
  out.method_used = SvdMethod::Lanczos;
  // Dense Gram products are BLAS GEMVs and want BLAS's threads; sparse and
  // implicit ones run OpenMP kernels between Spectra's small BLAS calls.
  const SerialBlasScope serial_blas(op.kind != OperatorKind::Dense);
  GramOperator<T> gram(a, right);
  GramEigsSolver<GramOperator<T>> eigs(gram, k, ncv);
  Matrix<T> v0(dim, 1);
  fill_gaussian(v0, opt.seed);
  Matrix<T> basis;
  try {
    eigs.init(v0.data());
    eigs.compute(Spectra::SortRule::LargestAlge, opt.max_iterations, tol, Spectra::SortRule::LargestAlge);
  } catch (const InterruptSignal&) {
    out.status = Status::Interrupted;
    return out;
  } catch (const NonFiniteSignal&) {
    out.S = Vector<T>::Constant(k, std::numeric_limits<T>::quiet_NaN());
    out.status = Status::NumericalIssue;
    return out;
  } catch (const ZeroRangeSignal&) {
    return svd_randomized(op, k, opt);  // exact for A = 0: S = 0, any orthonormal U, V
  }
  out.iterations = static_cast<int>(eigs.num_iterations());
  if (eigs.info() == Spectra::CompInfo::Successful) {
    basis = eigs.eigenvectors(k);
  } else {
    out.status = Status::NotConverging;
    basis = eigs.lanczos_basis();  // Rayleigh-Ritz on the whole Krylov space
  }
  // Rayleigh-Ritz on A itself: sigma from sqrt(eig(A^T A)) has absolute error
  // ~ eps sigma_1^2 / sigma, while the SVD of Q^T A (Q = orth(A V)) is accurate
  // to ~ eps sigma_1 for every singular value.
  Matrix<T> q, w;
  a.product(!right, basis, q);  // A V (right) or A^T U
  orthonormalize(q);
  a.product(right, q, w);
  const Status s = finish_from_basis(q, w, /*basis_on_left=*/right, k, opt.compute_vectors, out);
  if (out.status == Status::Success) out.status = s;
  if (s == Status::Success) residuals_by_products(a, out);
  return out;
}

// ---- Auto ----------------------------------------------------------------------

// Auto: Full costs ~ m n min(m, n) and a Krylov run ~ 6 blocks of ~ 4 m n b plus
// the basis work. With the block of about k / 2 the crossover on the slowest
// spectrum measured (1/(1+i)) sits at min(m, n) = 6.5-7.3 (k + oversampling)
// for k = 10, 20, 40 (docs/benchmarks.md, "Truncated SVD"). Sparse and
// implicit operators are densified for Full only up to 2^24 entries (128 MiB
// in double) and while k >= min(m, n) / 3: their products are cheap, so
// Lanczos on them wins far below the dense crossover.
template <class T>
SvdMethod choose_method(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& opt) {
  const Index mn = std::min(op.rows, op.cols);
  if (op.kind != OperatorKind::Dense) {
    const bool small_enough = op.rows * op.cols <= (Index{1} << 24);
    return small_enough && (mn <= 100 || 3 * k >= mn) ? SvdMethod::Full : SvdMethod::Lanczos;
  }
  const KrylovShape sh = krylov_shape(op.rows, op.cols, k, opt);
  if (mn <= 100 || 7 * (k + opt.oversampling) >= mn || sh.block < 1 || sh.keep < k) return SvdMethod::Full;
  return SvdMethod::Krylov;
}

void validate(Index rows, Index cols, Index k, const TruncatedSvdOptions& opt) {
  const Index mn = std::min(rows, cols);
  if (k <= 0 || k > mn) {
    throw InvalidArgument("truncated_svd: rank k = " + std::to_string(k) + " must be in [1, min(m, n)] = [1, " +
                          std::to_string(mn) + "] for a " + std::to_string(rows) + " x " + std::to_string(cols) +
                          " operator");
  }
  if (opt.oversampling < 0) {
    throw InvalidArgument("truncated_svd: oversampling must be >= 0, got " + std::to_string(opt.oversampling));
  }
  if (opt.power_iterations < -1) {
    throw InvalidArgument("truncated_svd: power_iterations must be >= 0 (or -1 for automatic), got " +
                          std::to_string(opt.power_iterations));
  }
  if (!(opt.tolerance > 0)) {
    throw InvalidArgument("truncated_svd: tolerance must be > 0, got " + std::to_string(opt.tolerance));
  }
  if (opt.max_iterations < 1) {
    throw InvalidArgument("truncated_svd: max_iterations must be >= 1, got " + std::to_string(opt.max_iterations));
  }
  if (opt.krylov_dim < 0) {
    throw InvalidArgument("truncated_svd: krylov_dim must be >= 0, got " + std::to_string(opt.krylov_dim));
  }
}

}  // namespace

template <class T>
SvdResult<T> truncated_svd_view(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& options) {
  validate(op.rows, op.cols, k, options);
  const SvdMethod method = options.method == SvdMethod::Auto ? choose_method(op, k, options) : options.method;
  switch (method) {
    case SvdMethod::Krylov:
      return svd_krylov(op, k, options);
    case SvdMethod::Lanczos:
      return svd_lanczos(op, k, options);
    case SvdMethod::Randomized:
      return svd_randomized(op, k, options);
    default:
      return svd_full(op, k, options.compute_vectors);
  }
}

template SvdResult<float> truncated_svd_view<float>(const OperatorView<float>&, Index, const TruncatedSvdOptions&);
template SvdResult<double> truncated_svd_view<double>(const OperatorView<double>&, Index, const TruncatedSvdOptions&);

SvdResult<double> krylov_svd_float_passes(const Matrix<double>& a, Index k, const TruncatedSvdOptions& options) {
  validate(a.rows(), a.cols(), k, options);
  OperatorView<double> view;
  view.rows = a.rows();
  view.cols = a.cols();
  view.kind = OperatorKind::Dense;
  view.dense = &a;
  return svd_krylov_mixed(view, k, options);
}

}  // namespace detail

template <class T>
Vector<T> singular_values(const Matrix<T>& a) {
  Matrix<T> work = a;
  Vector<T> s;
  if (detail::gesdd<T>(work, s, nullptr, nullptr) != 0) s.setConstant(std::numeric_limits<T>::quiet_NaN());
  return s;
}

template <class T>
SvdResult<T> full_svd(const Matrix<T>& a) {
  Matrix<T> work = a;
  SvdResult<T> out;
  out.method_used = SvdMethod::Full;
  Matrix<T> vt;
  if (detail::gesdd(work, out.S, &out.U, &vt) != 0) {
    out.S.setConstant(std::numeric_limits<T>::quiet_NaN());
    out.status = Status::NumericalIssue;
    return out;
  }
  out.V = vt.transpose();
  out.status = out.S.allFinite() ? Status::Success : Status::NumericalIssue;
  return out;
}

template <class T>
double max_relative_error_bound(const SvdResult<T>& r) {
  double worst = 0;
  for (Index i = 0; i < r.error_bounds.size() && i < r.S.size(); ++i) {
    if (r.S(i) > 0) worst = std::max(worst, static_cast<double>(r.error_bounds(i)) / static_cast<double>(r.S(i)));
  }
  return worst;
}

template double max_relative_error_bound<float>(const SvdResult<float>&);
template double max_relative_error_bound<double>(const SvdResult<double>&);
template Vector<float> singular_values<float>(const Matrix<float>&);
template Vector<double> singular_values<double>(const Matrix<double>&);
template SvdResult<float> full_svd<float>(const Matrix<float>&);
template SvdResult<double> full_svd<double>(const Matrix<double>&);

}  // namespace lowrank
