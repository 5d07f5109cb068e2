#include "lowrank/linalg/polar.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

template <class T>
Matrix<T> polar_factor_svd(const Matrix<T>& a) {
  if (a.size() == 0) return Matrix<T>::Zero(a.rows(), a.cols());
  const SvdResult<T> svd = full_svd(a);
  Matrix<T> q(a.rows(), a.cols());
  q.noalias() = svd.U * svd.V.transpose();  // Q = U V^T
  return q;
}

template <class T>
Matrix<T> polar_factor_newton_schulz(const Matrix<T>& a, const NewtonSchulzOptions& options) {
  if (options.iterations < 0) {
    throw InvalidArgument("polar_factor_newton_schulz: iterations must be >= 0, got " +
                          std::to_string(options.iterations));
  }
  if (!(options.tolerance >= 0)) {
    throw InvalidArgument("polar_factor_newton_schulz: tolerance must be >= 0, got " +
                          std::to_string(options.tolerance));
  }
  if (a.size() == 0) return Matrix<T>::Zero(a.rows(), a.cols());
  // Work on the wide orientation (r x c, r <= c) so X X^T is the small r x r Gram.
  const bool tall = a.rows() > a.cols();
  Matrix<T> x = tall ? Matrix<T>(a.transpose()) : a;
  const T fro = x.norm();
  if (fro == 0) return Matrix<T>::Zero(a.rows(), a.cols());
  x /= fro;  // all singular values now in (0, 1]
  const Index r = x.rows();
  Matrix<T> gram(r, r), poly(r, r), next(x.rows(), x.cols());
  if (options.kind == NewtonSchulzKind::Cubic) {
    // Newton-Schulz (Higham 2008, eq. 8.20): X <- X (3 I - X^T X) / 2, written
    // as (3 X - (X X^T) X) / 2; each singular value follows s <- s (3 - s^2) / 2,
    // which converges quadratically to 1 for s in (0, sqrt(3)).
    // Below a few ulps the change is rounding noise; do not wait for it.
    const T tol = std::max(static_cast<T>(options.tolerance), T(10) * std::numeric_limits<T>::epsilon());
    for (int it = 0; it < options.iterations; ++it) {
      gram.noalias() = x * x.transpose();
      next.noalias() = T(-0.5) * gram * x;
      next += T(1.5) * x;
      const T change = (next - x).norm();
      x.swap(next);
      if (change <= tol * next.norm()) break;
    }
  } else {
    // Muon's quintic (Jordan et al. 2024): s <- a s + b s^3 + c s^5 with the
    // coefficients below pushes every s in (0, 1] into about [0.7, 1.2] in five
    // steps, trading exact convergence for speed.
    const T ca = T(3.4445), cb = T(-4.7750), cc = T(2.0315);
    for (int it = 0; it < options.iterations; ++it) {
      gram.noalias() = x * x.transpose();  // A = X X^T
      poly.noalias() = cc * gram * gram;   // B = b A + c A^2
      poly += cb * gram;
      next.noalias() = poly * x;  // X <- a X + B X
      next += ca * x;
      x.swap(next);
    }
  }
  if (tall) return x.transpose();
  return x;
}

#define LOWRANK_INSTANTIATE(T)                              \
  template Matrix<T> polar_factor_svd<T>(const Matrix<T>&); \
  template Matrix<T> polar_factor_newton_schulz<T>(const Matrix<T>&, const NewtonSchulzOptions&);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
