#include "lowrank/linalg/subspace.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/QR>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/detail/kernels.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

namespace {

void check_rows(Index ra, Index rb, const char* who) {
  if (ra != rb) {
    throw InvalidArgument(std::string(who) + ": the two bases have " + std::to_string(ra) + " and " +
                          std::to_string(rb) + " rows; subspaces must live in the same space");
  }
}

// Orthonormal bases with qa having at least as many columns as qb.
template <class T>
void ordered_bases(const Matrix<T>& a, const Matrix<T>& b, Matrix<T>& qa, Matrix<T>& qb) {
  qa = orthonormal_basis(a);
  qb = orthonormal_basis(b);
  if (qa.cols() < qb.cols()) qa.swap(qb);
}

}  // namespace

template <class T>
Matrix<T> orthonormal_basis(const Matrix<T>& a) {
  const Index r = std::min(a.rows(), a.cols());
  if (a.cols() > r) {
    // Wide input (more columns than rows): Q of the QR of all columns is square.
    const Eigen::HouseholderQR<Matrix<T>> qr(a);
    return qr.householderQ() * Matrix<T>::Identity(a.rows(), r);
  }
  Matrix<T> q = a;
  detail::householder_orthonormalize(q);  // LAPACK geqrf + orgqr
  return q;
}

template <class T>
Vector<T> principal_angles(const Matrix<T>& a, const Matrix<T>& b) {
  check_rows(a.rows(), b.rows(), "principal_angles");
  Matrix<T> qa, qb;
  ordered_bases(a, b, qa, qb);  // qa: n x p, qb: n x q, p >= q
  const Index q = qb.cols();
  if (q == 0) return Vector<T>();
  // Bjorck & Golub (1973): cos(theta) are the singular values of Qa^T Qb and
  // sin(theta) those of (I - Qa Qa^T) Qb. arccos loses all accuracy for
  // theta near 0 (cos is flat there) and arcsin near pi/2, so each angle
  // comes from whichever of the two is well conditioned (as scipy does).
  Matrix<T> m = qa.transpose() * qb;  // p x q
  Matrix<T> perp = qb;
  perp.noalias() -= qa * m;                       // n x q
  const Vector<T> cosines = singular_values(m);   // decreasing: angles increasing
  const Vector<T> sines = singular_values(perp);  // decreasing: angles decreasing
  Vector<T> theta(q);
  for (Index i = 0; i < q; ++i) {
    const T c = std::clamp(cosines[i], T(0), T(1));
    const T s = std::clamp(sines[q - 1 - i], T(0), T(1));
    theta[i] = c * c >= T(0.5) ? std::asin(s) : std::acos(c);
  }
  // Both formulas are monotone in i, and where they switch they agree to
  // rounding, so theta stays sorted up to ulps; make it exact.
  std::sort(theta.data(), theta.data() + q);
  return theta;
}

template <class T>
double sin_theta_distance(const Matrix<T>& a, const Matrix<T>& b) {
  check_rows(a.rows(), b.rows(), "sin_theta_distance");
  if (a.cols() != b.cols()) {
    throw InvalidArgument("sin_theta_distance: subspaces of dimension " + std::to_string(a.cols()) + " and " +
                          std::to_string(b.cols()) + " (they must be equal)");
  }
  Matrix<T> qa, qb;
  ordered_bases(a, b, qa, qb);
  if (qb.cols() == 0) return 0;
  // ||P_A - P_B||_2 = sin(theta_max) = sigma_max((I - Qa Qa^T) Qb) for equal dimensions.
  Matrix<T> perp = qb;
  perp.noalias() -= qa * (qa.transpose() * qb);
  return std::min(1.0, static_cast<double>(singular_values(perp)[0]));
}

#define LOWRANK_INSTANTIATE(T)                                                \
  template Vector<T> principal_angles<T>(const Matrix<T>&, const Matrix<T>&); \
  template double sin_theta_distance<T>(const Matrix<T>&, const Matrix<T>&);  \
  template Matrix<T> orthonormal_basis<T>(const Matrix<T>&);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
