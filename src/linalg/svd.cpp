#include "lowrank/linalg/svd.hpp"

#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/detail/kernels.hpp"


namespace lowrank {

const char* to_string(SvdMethod m) noexcept {
  switch (m) {
    case SvdMethod::Auto: return "auto";
    case SvdMethod::Full: return "full";
    case SvdMethod::Lanczos: return "lanczos";
    case SvdMethod::Randomized: return "randomized";
  }
  return "unknown";
}

SvdMethod parse_svd_method(std::string_view name) {
  if (name == "auto") return SvdMethod::Auto;
  if (name == "full") return SvdMethod::Full;
  if (name == "lanczos") return SvdMethod::Lanczos;
  if (name == "randomized") return SvdMethod::Randomized;
  throw InvalidArgument("unknown SVD method '" + std::string(name) +
                        "' (expected auto, full, lanczos or randomized)");
}

namespace detail {
namespace {

// A x and A^T x through the fastest kernel the operator's kind allows.
template <class T>
struct Products {
  const OperatorView<T>& op;

  void forward(const Matrix<T>& x, Matrix<T>& y) const {  // y = A x
    if (op.dense != nullptr) {
      y.noalias() = (*op.dense) * x;
    } else if (op.sparse != nullptr) {
      csr_times_dense(op.sparse->csr(), x, y);
    } else {
      op.apply(op.self, x, y);
    }
  }
  void adjoint(const Matrix<T>& x, Matrix<T>& y) const {  // y = A^T x
    if (op.dense != nullptr) {
      y.noalias() = op.dense->transpose() * x;
    } else if (op.sparse != nullptr) {
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

// The sparse paths run BLAS serial (detail/serial_blas.hpp). Measured on
// 200000 x 20000 at 0.05%, 2 cores, k = 20: Lanczos 2.68 s with both thread
// pools, 1.36 s with BLAS serial; randomized 0.93 s vs 0.76 s.
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
Status finish_from_basis(const Matrix<T>& basis, Matrix<T>& image, bool basis_on_left, Index k,
                         bool vectors, SvdResult<T>& out) {
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
  if (vectors) {
    out.U = u.leftCols(k);
    out.V = vt.topRows(k).transpose();
  }
  out.status = all_finite(out.S) ? Status::Success : Status::NumericalIssue;
  return out;
}

// ---- Randomized (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1) ---------

template <class T>
SvdResult<T> svd_randomized(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& opt) {
  const Products<T> a{op};
  const Index m = op.rows;
  const Index n = op.cols;
  const Index l = std::min(k + opt.oversampling, std::min(m, n));
  const int q = opt.power_iterations >= 0 ? opt.power_iterations
                                          : (op.kind == OperatorKind::Dense ? 2 : 4);
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
  GramOperator(const Products<T>& a, bool right)
      : m_a(a), m_right(right), m_dim(right ? a.op.cols : a.op.rows) {}
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
  const Index ncv = opt.krylov_dim > 0 ? std::clamp(opt.krylov_dim, k + 1, dim)
                                       : std::min(std::max(2 * k + 1, k + 20), dim);
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
    eigs.compute(Spectra::SortRule::LargestAlge, opt.max_iterations, tol,
                 Spectra::SortRule::LargestAlge);
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
  return out;
}

// ---- Auto ----------------------------------------------------------------------

// Auto, measured with one thread (2-core EPYC, OpenBLAS), A = 2s x s Gaussian
// with geometric column scaling, CPU seconds:
//   s = 100, k = 10:   full 0.0027  randomized 0.0004  lanczos 0.0004
//   s = 400, k = 100:  full 0.070   randomized 0.020   lanczos 0.026
//   s = 400, k = 200:  full 0.072   randomized 0.050   lanczos 0.070
//   s = 800, k = 200:  full 0.41    randomized 0.12    lanczos 0.20
//   s = 800, k = 400:  full 0.40    randomized 0.34    lanczos 0.63
// Up to min(m, n) = 100 the exact answer costs under 3 ms, so it wins. Once k
// reaches a third of min(m, n) the iterative paths are at most 2x faster,
// while Lanczos's restarts and the randomized path's missing spectral gap make
// them slower and less accurate, so Full again. Sparse and implicit operators
// are densified for Full only up to 2^24 entries (128 MiB in double).
template <class T>
SvdMethod choose_method(const OperatorView<T>& op, Index k) {
  const Index mn = std::min(op.rows, op.cols);
  const bool small_enough = op.kind == OperatorKind::Dense || op.rows * op.cols <= (Index{1} << 24);
  if (small_enough && (mn <= 100 || 3 * k >= mn)) return SvdMethod::Full;
  return op.kind == OperatorKind::Dense ? SvdMethod::Randomized : SvdMethod::Lanczos;
}

void validate(Index rows, Index cols, Index k, const TruncatedSvdOptions& opt) {
  const Index mn = std::min(rows, cols);
  if (k <= 0 || k > mn) {
    throw InvalidArgument("truncated_svd: rank k = " + std::to_string(k) + " must be in [1, min(m, n)] = [1, " +
                          std::to_string(mn) + "] for a " + std::to_string(rows) + " x " +
                          std::to_string(cols) + " operator");
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
    throw InvalidArgument("truncated_svd: max_iterations must be >= 1, got " +
                          std::to_string(opt.max_iterations));
  }
  if (opt.krylov_dim < 0) {
    throw InvalidArgument("truncated_svd: krylov_dim must be >= 0, got " + std::to_string(opt.krylov_dim));
  }
}

}  // namespace

template <class T>
SvdResult<T> truncated_svd_view(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& options) {
  validate(op.rows, op.cols, k, options);
  const SvdMethod method = options.method == SvdMethod::Auto ? choose_method(op, k) : options.method;
  switch (method) {
    case SvdMethod::Lanczos: return svd_lanczos(op, k, options);
    case SvdMethod::Randomized: return svd_randomized(op, k, options);
    default: return svd_full(op, k, options.compute_vectors);
  }
}

template SvdResult<float> truncated_svd_view<float>(const OperatorView<float>&, Index, const TruncatedSvdOptions&);
template SvdResult<double> truncated_svd_view<double>(const OperatorView<double>&, Index,
                                                      const TruncatedSvdOptions&);

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

template Vector<float> singular_values<float>(const Matrix<float>&);
template Vector<double> singular_values<double>(const Matrix<double>&);
template SvdResult<float> full_svd<float>(const Matrix<float>&);
template SvdResult<double> full_svd<double>(const Matrix<double>&);

}  // namespace lowrank
