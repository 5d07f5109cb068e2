#pragma once
// Quality of a truncated SVD without forming A - U S V^T, and implicit
// column centring of sparse matrices.
#include <cmath>

#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

/// ||A||_F^2 of a dense or sparse operator.
template <class T>
double frobenius_norm_squared(const DenseOperator<T>& op) {
  return static_cast<double>(op.matrix().template cast<double>().squaredNorm());
}
template <class T>
double frobenius_norm_squared(const SparseOperator<T>& op) {
  const T* v = op.csr().valuePtr();
  double s = 0;
  for (Index k = 0; k < op.nnz(); ++k) s += static_cast<double>(v[k]) * static_cast<double>(v[k]);
  return s;
}

/// ||A - U diag(S) V^T||_F / ||A||_F for U, V with orthonormal columns, via
/// ||A - U S V^T||_F^2 = ||A||_F^2 - 2 sum_i s_i u_i^T A v_i + sum_i s_i^2,
/// which needs one block product A V. `a_frobenius_sq` is ||A||_F^2.
template <LinearOperator Op>
double svd_relative_residual(const Op& op, const SvdResult<typename Op::Scalar>& svd, double a_frobenius_sq) {
  using T = typename Op::Scalar;
  if (a_frobenius_sq <= 0) return 0.0;
  Matrix<T> av;
  op.apply(svd.V, av);
  double cross = 0, ss = 0;
  for (Index i = 0; i < svd.S.size(); ++i) {
    const double s = static_cast<double>(svd.S(i));
    cross += s * static_cast<double>(svd.U.col(i).dot(av.col(i)));
    ss += s * s;
  }
  const double r2 = a_frobenius_sq - 2 * cross + ss;
  return std::sqrt(std::max(r2, 0.0) / a_frobenius_sq);
}

/// Column centring of a sparse matrix, kept implicit: A - 1 mu^T is the
/// sparse matrix plus a rank-one term, so it stays an operator.
template <class T>
struct CenteredSparse {
  Vector<T> means;          ///< mu_j = (1/m) sum_i A_ij (unobserved cells count as 0)
  Matrix<T> ones;           ///< m x 1 of ones
  Vector<T> minus_one;      ///< the single "singular value" -1
  Matrix<T> means_col;      ///< n x 1, mu
  double frobenius_sq = 0;  ///< ||A - 1 mu^T||_F^2
};

template <class T>
CenteredSparse<T> center_columns(const SparseOperator<T>& a) {
  CenteredSparse<T> c;
  const Index m = a.rows(), n = a.cols();
  Matrix<T> ones_m = Matrix<T>::Ones(m, 1), colsum;
  a.apply_adjoint(ones_m, colsum);
  c.means = colsum.col(0) / static_cast<T>(m);
  c.ones = std::move(ones_m);
  c.minus_one = Vector<T>::Constant(1, T(-1));
  c.means_col = c.means;
  // ||A||^2 - 2 mu^T (A^T 1) + m ||mu||^2 = ||A||^2 - m ||mu||^2
  double mu2 = static_cast<double>(c.means.template cast<double>().squaredNorm());
  c.frobenius_sq = frobenius_norm_squared(a) - static_cast<double>(m) * mu2;
  (void)n;
  return c;
}

}  // namespace lowrank
