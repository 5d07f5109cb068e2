#pragma once
// Truncated SVD, three ways, behind one entry point.
//
//   Full        LAPACK gesdd on the densified operator; exact, O(m n min(m,n)).
//   Lanczos     Spectra's symmetric Lanczos on the smaller Gram operator
//               (A^T A or A A^T, never formed), followed by a Rayleigh-Ritz
//               step on A itself so small singular values keep full accuracy.
//   Randomized  Halko, Martinsson, Tropp (2011), Algorithms 4.4 + 5.1: Gaussian
//               sketch with oversampling p, q power iterations re-orthonormalised
//               by QR after every product.
//   Auto        Full when min(m,n) <= 100 or k >= min(m,n) / 3 (for sparse and
//               implicit operators only while m n <= 2^24, as Full densifies);
//               otherwise Randomized for dense operators and Lanczos for
//               sparse / implicit ones. The thresholds are measured; see
//               choose_method() in src/linalg/svd.cpp.
//
// The result satisfies A V = U diag(S) (up to the method's accuracy), with S
// sorted in decreasing order and U, V with orthonormal columns.
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
  /// Lanczos: relative tolerance on the Ritz values.
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

/// Rank-k truncated SVD of any linear operator. Throws InvalidArgument if
/// k <= 0 or k > min(m, n).
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
