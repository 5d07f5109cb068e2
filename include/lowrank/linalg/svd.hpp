#pragma once
// Truncated SVD, four ways, behind one entry point.
//
//   Full        LAPACK gesdd on the densified operator; exact, O(m n min(m,n)).
//   Krylov      Block Lanczos bidiagonalisation (Golub & Kahan 1965 in block
//               form; Golub, Luk & Overton 1981) from a Gaussian start block,
//               with full two-pass reorthogonalisation and a Rayleigh-Ritz step
//               after every block: B = U^T A V is (block upper bidiagonal)
//               assembled from the orthogonalisation coefficients, its SVD gives
//               the Ritz triplets, and the Lanczos relation
//               A^T U = V B^T + V_{j+1} R_{j+1} E_j^T gives each triplet's
//               residual without touching A. Stops when every error bound (see
//               SvdResult::error_bounds) is at most tolerance * s_i. The block
//               is about k / 2 (at least 16); when the basis reaches
//               krylov_dim it restarts thick (Wu & Simon 2000), keeping the
//               top k + oversampling Ritz triplets. A singular value repeated
//               more times than the block holds can be missed (as by any
//               Krylov method with a smaller block). The default for dense
//               operators.
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
//               A fixed number of passes: its accuracy depends on the spectrum
//               (error_bounds says what it achieved); only on request.
//   Auto        Full when it is the cheapest (small min(m, n), or k a large
//               fraction of it; for sparse and implicit operators only while
//               m n <= 2^24, as Full densifies); otherwise Krylov for dense
//               operators and Lanczos for sparse / implicit ones. The cost
//               model is measured; see choose_method() in src/linalg/svd.cpp.
//
// The result satisfies A V = U diag(S) (up to the method's accuracy), with S
// sorted in decreasing order and U, V with orthonormal columns. Every method
// reports its achieved accuracy a posteriori (residuals, error_bounds).
//
// Status (never thrown): NotConverging when Spectra hits max_iterations (the
// result is then the Rayleigh-Ritz answer from the whole Krylov basis) or
// Krylov runs out of restarts (the best Ritz triplets so far);
// Interrupted when interrupt_requested() is seen (Randomized and Krylov return
// the answer from the passes done so far; Lanczos, which Spectra cannot
// pause, returns empty U, S, V); NumericalIssue when A holds NaN/Inf (S is
// then NaN). All four are compiled for float and double operators.
#include <cstdint>
#include <string>
#include <string_view>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/operator.hpp"

namespace lowrank {

enum class SvdMethod { Auto, Full, Lanczos, Randomized, Krylov };

const char* to_string(SvdMethod m) noexcept;
/// Parses "auto" | "full" | "krylov" | "lanczos" | "randomized"; throws InvalidArgument.
SvdMethod parse_svd_method(std::string_view name);

struct TruncatedSvdOptions {
  /// Auto: Full when cheapest, else Krylov (dense) or Lanczos (sparse,
  /// implicit); every choice meets `tolerance`.
  SvdMethod method = SvdMethod::Auto;
  /// Randomized: extra sketch columns beyond k (HMT's p). Krylov: the block
  /// size is min(k + oversampling, max(16, ceil(k / 2)), min(m, n) / 3), and a
  /// restart keeps k + oversampling Ritz vectors (fewer if krylov_dim is tight).
  Index oversampling = 10;
  /// Randomized: number of power iterations q; -1 picks automatically
  /// (q = 2 for dense, 4 for sparse/implicit operators).
  int power_iterations = -1;
  /// Target relative accuracy of the singular values: Krylov stops once every
  /// error bound is at most tolerance * s_i (or the rounding floor
  /// 8 eps sqrt(max(m, n)) s_1, whichever is larger); Lanczos passes it to
  /// Spectra as the relative tolerance on the Gram Ritz values sigma^2,
  /// which bounds the relative error of sigma by tolerance / 2. Values
  /// below 10 eps(T) are raised to it. Randomized ignores it.
  double tolerance = 1e-8;
  /// Lanczos: maximum number of restarts. Krylov: maximum number of block
  /// steps, over all restarts (at least ceil(k / block) are taken).
  int max_iterations = 1000;
  /// Lanczos: Krylov subspace dimension; 0 picks min(max(2k+1, k+20), n).
  /// Krylov: the largest basis (columns) before a restart; 0 picks
  /// min(min(m, n) / 3, max(8 b, 256)) rounded to whole blocks of size b.
  Index krylov_dim = 0;
  /// Seed for every random draw; the same seed gives bitwise-equal results
  /// for the same thread count.
  std::uint64_t seed = 0;
  /// Compute U and V (otherwise only S is filled).
  bool compute_vectors = true;
};

/// Stays apart from core's LowRankModel because it is a decomposition of a
/// given operator with the solver's diagnostics (method, status, residuals,
/// error bounds), not a fitted model of data (no offsets, sparse part or ids).
template <class T>
struct SvdResult {
  Matrix<T> U;  ///< m x k, orthonormal columns
  Vector<T> S;  ///< k, decreasing, >= 0
  Matrix<T> V;  ///< n x k, orthonormal columns
  SvdMethod method_used = SvdMethod::Full;
  Status status = Status::Success;
  int iterations = 0;  ///< Lanczos restarts, Krylov block steps or power iterations performed
  /// k: r_i = sqrt(||A v_i - s_i u_i||^2 + ||A^T u_i - s_i v_i||^2), from
  /// products with A (Krylov: the block products it kept). Empty when
  /// compute_vectors is false, except for Krylov, which then gives the
  /// Lanczos-relation value; empty for Full when k > min(m, n) / 4 (two
  /// extra products would cost about a fifth of the SVD; docs/svd.md).
  Vector<T> residuals;
  /// k: a bound on |s_i - sigma_i|. With rho_i = r_i / sqrt(2), the residual
  /// of the unit vector (u_i; v_i) / sqrt(2) for the Jordan-Wielandt matrix
  /// [0 A; A^T 0], some singular value lies within rho_i of s_i (Parlett,
  /// The Symmetric Eigenvalue Problem, Thm 4.5.1), and within rho_i^2 / gap_i
  /// once the other singular values are at least gap_i away (Thm 11.7.1,
  /// Kato-Temple); gap_i is taken from the other Ritz values (minus their own
  /// rho) and s_i itself. error_bounds_i = min(rho_i, rho_i^2 / gap_i). Full
  /// without vectors, or above that k: LAPACK's bound eps max(m, n) s_1.
  Vector<T> error_bounds;
};

/// Largest error_bounds_i / s_i (s_i > 0) of a result, 0 for none: the
/// achieved relative accuracy that `lowrank decompose --json` and Python report.
template <class T>
double max_relative_error_bound(const SvdResult<T>& r);

/// Rank-k truncated SVD of any linear operator (float or double). Throws
/// InvalidArgument if k <= 0 or k > min(m, n), or for an option out of range
/// (oversampling < 0, power_iterations < -1, tolerance <= 0 or NaN,
/// max_iterations < 1, krylov_dim < 0).
template <LinearOperator Op>
SvdResult<typename Op::Scalar> truncated_svd(const Op& op, Index k, const TruncatedSvdOptions& options = {});

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
