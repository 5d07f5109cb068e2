#pragma once
// Truncated SVD, three ways, behind one entry point.
//
//   Full        LAPACK gesdd on the densified operator; exact, O(m n min(m,n)).
//   Lanczos     Spectra's symmetric Lanczos on the smaller Gram operator
//               (A^T A or A A^T, never formed), followed by a Rayleigh-Ritz
//               step on A itself (Q = orth(A V), SVD of Q^T A) so small
//               singular values keep full accuracy: sqrt(eig(A^T A)) alone
//               has absolute error ~ eps sigma_1^2 / sigma_i. Sparse operators
//               use a one-sweep CSR kernel for A^T A x. Needs k < min(m, n);
//               k = min(m, n) is computed by Full (method_used says so).
//   Randomized  Halko, Martinsson, Tropp (2011), Algorithms 4.4 + 5.1: Gaussian
//               sketch with oversampling p, q power iterations re-orthonormalised
//               after every product (CholeskyQR2 when the block is well
//               conditioned, Householder QR otherwise), then the SVD of Q^T A.
//   Auto        Full when min(m,n) <= 100 or k >= min(m,n) / 3 (for sparse and
//               implicit operators only while m n <= 2^24, as Full densifies);
//               otherwise Randomized for dense operators and Lanczos for
//               sparse / implicit ones. The thresholds are measured; see
//               choose_method() in src/linalg/svd.cpp.
//
// The result satisfies A V = U diag(S) (up to the method's accuracy), with S
// sorted in decreasing order and U, V with orthonormal columns.
//
// Status (never thrown): NotConverging when Spectra hits max_iterations (the
// result is then the Rayleigh-Ritz answer from the whole Krylov basis);
// Interrupted when interrupt_requested() is seen (Randomized returns the
// answer from the power iterations done so far; Lanczos, which Spectra cannot
// pause, returns empty U, S, V); NumericalIssue when A holds NaN/Inf (S is
// then NaN). All three are compiled for float and double operators.
#include <cstdint>
#include <string>
#include <string_view>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/operator.hpp"

namespace lowrank {

enum class SvdMethod { Auto, Full, Lanczos, Randomized };

const char* to_string(SvdMethod m) noexcept;
/// Parses "auto" | "full" | "lanczos" | "randomized"; throws InvalidArgument.
SvdMethod parse_svd_method(std::string_view name);

struct TruncatedSvdOptions {
  SvdMethod method = SvdMethod::Auto;
  /// Randomized: extra sketch columns beyond k (HMT's p).
  Index oversampling = 10;
  /// Randomized: number of power iterations q; -1 picks automatically
  /// (q = 2 for dense, 4 for sparse/implicit operators).
  int power_iterations = -1;
  /// Lanczos: relative tolerance on the Ritz values of the Gram operator
  /// (Spectra's criterion); values below 10 eps(T) are raised to it.
  double tolerance = 1e-10;
  /// Lanczos: maximum number of restarts.
  int max_iterations = 1000;
  /// Lanczos: Krylov subspace dimension; 0 picks min(max(2k+1, k+20), n).
  Index krylov_dim = 0;
  /// Seed for every random draw; the same seed gives bitwise-equal results
  /// for the same thread count.
  std::uint64_t seed = 0;
  /// Compute U and V (otherwise only S is filled).
  bool compute_vectors = true;
};

template <class T>
struct SvdResult {
  Matrix<T> U;  ///< m x k, orthonormal columns
  Vector<T> S;  ///< k, decreasing, >= 0
  Matrix<T> V;  ///< n x k, orthonormal columns
  SvdMethod method_used = SvdMethod::Full;
  Status status = Status::Success;
  int iterations = 0;  ///< Lanczos restarts or power iterations performed
};

/// Rank-k truncated SVD of any linear operator (float or double). Throws
/// InvalidArgument if k <= 0 or k > min(m, n), or for an option out of range
/// (oversampling < 0, power_iterations < -1, tolerance <= 0 or NaN,
/// max_iterations < 1, krylov_dim < 0).
template <LinearOperator Op>
SvdResult<typename Op::Scalar> truncated_svd(const Op& op, Index k,
                                             const TruncatedSvdOptions& options = {});

/// Convenience overload for a dense matrix.
template <class T>
SvdResult<T> truncated_svd(const Matrix<T>& a, Index k, const TruncatedSvdOptions& options = {}) {
  return truncated_svd(DenseOperator<T>(a), k, options);
}

/// All singular values of a dense matrix (LAPACK gesdd, values only).
template <class T>
Vector<T> singular_values(const Matrix<T>& a);

/// Thin full SVD of a dense matrix (LAPACK gesdd).
template <class T>
SvdResult<T> full_svd(const Matrix<T>& a);

}  // namespace lowrank

#include "lowrank/linalg/detail/svd_impl.hpp"
