#pragma once
// Dense building blocks of the solvers above linalg: Gaussian blocks,
// orthonormalisation, thin SVDs (gesdd with a Jacobi fallback), symmetric
// eigendecomposition and the Gram-matrix SVD of GAME's thresholding step.
// Compiled once in src/linalg/kernels.cpp for float and double. What only the
// SVD drivers use (the QR variants, the raw gesdd, the sparse kernels) stays
// in linalg/detail/kernels.hpp.
//
// Example: an orthonormal basis of a random 100 x 5 block, and the SVD of A Q.
//   Matrix<double> q(100, 5);
//   lowrank::fill_gaussian(q, 42);
//   lowrank::orthonormalize(q);  // q^T q = I to O(eps)
//   Matrix<double> u, v;
//   Vector<double> s;
//   lowrank::dense_thin_svd<double>(a * q, u, s, v);
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// Fills `out` (any shape, column-major order) with independent N(0, 1)
/// draws by Box-Muller on the library's xoshiro256** uniforms
/// (lowrank/core/random.hpp). Same seed, same matrix, with any standard library.
template <class T>
void fill_gaussian(Matrix<T>& out, std::uint64_t seed);

/// Replaces the columns of y (n x b, n >= b) by an orthonormal basis of their
/// span. Uses CholeskyQR2 (two passes of Y <- Y chol(Y^T Y)^{-1}, BLAS-3 only;
/// Yamamoto et al. 2015) when y is well enough conditioned for it to be exact
/// to O(eps), otherwise the thin Q of a Householder QR. Columns of a
/// rank-deficient y still come back orthonormal (they then span more).
/// Throws InvalidArgument when b > n.
template <class T>
void orthonormalize(Matrix<T>& y);

/// Thin SVD a = u diag(s) v^T of any m x n matrix (u m x p, s p decreasing,
/// v n x p, p = min(m, n)) by LAPACK gesdd, falling back to Eigen's one-sided
/// Jacobi when gesdd's divide and conquer fails to converge (rare). The one
/// place that instantiates Eigen's SVD: an Eigen BDCSVD or JacobiSVD
/// instantiation costs 20-45 s of compile time per translation unit and
/// scalar type.
template <class T>
void dense_thin_svd(const Eigen::Ref<const Matrix<std::type_identity_t<T>>>& a, Matrix<T>& u, Vector<T>& s,
                    Matrix<T>& v);

/// Singular values of any matrix, decreasing (gesdd without vectors; Jacobi
/// fallback). Unlike singular_values() (svd.hpp), never NaN for finite input.
template <class T>
Vector<T> dense_singular_values(const Matrix<T>& a);

/// Eigendecomposition of a symmetric matrix (LAPACK syevd, lower triangle
/// read): eigenvalues ascending in w, eigenvectors overwrite a. Returns
/// LAPACK's info (0 on success).
template <class T>
int symmetric_eigen(Matrix<T>& a, Vector<T>& w);

/// Smallest sigma^2 a Gram matrix whose largest eigenvalue is `top` (=
/// sigma_1^2) resolves to relative accuracy `accuracy` (0 = 1e-3 sqrt(eps),
/// and never tighter than that): an eigenvalue's absolute error eps
/// sigma_1^2 is a relative error eps (sigma_1 / sigma)^2 on sigma. gram_svd
/// and the GAME solver's Ritz step share this bound.
template <class T>
inline double gram_accurate_sigma2(double top, double accuracy = 0.0) {
  const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
  return eps * top / std::max(accuracy, 1e-3 * std::sqrt(eps));
}

/// The singular triplets of a (m x n) with sigma_i >= min_sigma, sigma
/// decreasing, through the Gram matrix of its short side (syrk + syevd: BLAS-3
/// only, where gesdd's bidiagonalisation runs at matrix-vector speed). A
/// Gram eigenvalue carries an absolute error of about eps sigma_1^2, so
/// sigma_i comes with relative error eps (sigma_1 / sigma_i)^2: the function
/// returns false (and leaves the outputs unspecified) unless that is at most
/// `accuracy` (gram_accurate_sigma2) at min_sigma, and the caller then uses
/// dense_thin_svd. u and v come back orthonormal to the same accuracy.
template <class T>
bool gram_svd(const Eigen::Ref<const Matrix<std::type_identity_t<T>>>& a, double min_sigma, Matrix<T>& u, Vector<T>& s,
              Matrix<T>& v, double accuracy = 0.0);

}  // namespace lowrank
