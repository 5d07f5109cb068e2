#pragma once
// Internal building blocks of the SVD paths, compiled once in src/linalg/ for
// float and double. Not part of the public API: names and signatures may
// change without notice. Tests and benchmarks use them directly. The dense
// pieces the solvers above linalg use (orthonormalize, dense_thin_svd,
// gram_svd, ...) are public, in lowrank/linalg/dense.hpp.
#include <cstdint>
#include <vector>

#include "lowrank/core/random.hpp"
#include "lowrank/linalg/dense.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank::detail {

// ---- deterministic random numbers -----------------------------------------

/// The library-wide xoshiro256** (lowrank/core/random.hpp); the name is kept
/// for the SVD code and benchmarks that say which engine they draw from.
using Xoshiro256 = lowrank::Rng;

// The public dense pieces (lowrank/linalg/dense.hpp) under their old
// detail:: names, for the SVD code, tests and benchmarks that call them so.
using lowrank::dense_singular_values;
using lowrank::dense_thin_svd;
using lowrank::fill_gaussian;
using lowrank::gram_accurate_sigma2;
using lowrank::gram_svd;
using lowrank::orthonormalize;
using lowrank::symmetric_eigen;

// ---- orthonormalisation ---------------------------------------------------

/// Thin Q of a Householder QR (LAPACK geqrf + orgqr), in place.
template <class T>
void householder_orthonormalize(Matrix<T>& y);

/// Householder QR y = Q R in place: y becomes the thin Q (n x b), r the b x b
/// upper-triangular R. Works for rank-deficient y (Q is still orthonormal).
template <class T>
void householder_qr(Matrix<T>& y, Matrix<T>& r);

/// CholeskyQR2 in place; returns false when y is too ill-conditioned
/// (kappa(y)^2 eps > 1e-3) or not finite. y then still spans the same space
/// (it is unchanged unless the rare second-pass Cholesky failed). With r
/// given, it receives the b x b upper-triangular R of y_in = y_out R.
template <class T>
bool cholesky_qr2(Matrix<T>& y, Matrix<T>* r = nullptr);

// ---- dense SVD (LAPACK gesdd) ---------------------------------------------

/// Thin SVD a = u diag(s) vt of an m x n matrix, r = min(m, n): u m x r,
/// s r (decreasing), vt r x n. `a` is overwritten. With u == vt == nullptr only
/// the singular values are computed. Returns LAPACK's info (0 on success,
/// > 0 when the divide-and-conquer iteration failed, < 0 for NaN input).
template <class T>
int gesdd(Matrix<T>& a, Vector<T>& s, Matrix<T>* u, Matrix<T>* vt);

// ---- sparse products --------------------------------------------------------

/// y = a x for a CSR matrix a (m x n) and a dense block x (n x b), y resized
/// to m x b. Reads the sparse matrix once for all b columns (Eigen's product
/// sweeps it once per column), rows split across OpenMP threads.
template <class T>
void csr_times_dense(const SparseCsr<T>& a, const Matrix<T>& x, Matrix<T>& y);

/// The residual sweep of the factored soft-impute / ALS iterations, fused:
/// for a CSR matrix `a` whose stored values are the observations x_ij, and
/// factors given column-per-row, pt (r x m) and qt (r x n), the residuals
/// e_ij = x_ij - pt_i . qt_j at the stored entries and, when yt is given,
/// yt (r x m) with yt_i = sum_j e_ij qt_j, i.e. (P_Omega(X - P Q^T) Q)^T.
/// Returns 1/2 sum e_ij^2. One pass over the nonzeros with one gather of qt_j
/// per entry, used for both the dot product and the update; the residuals are
/// never stored (the unfused path computed them in COO order, scattered them
/// into two CSR copies and then swept one copy: three passes and two random
/// gathers per entry). The loss is summed per fixed block of rows and the
/// blocks in order, so it does not depend on the thread count.
template <class T>
double csr_residual_times_factor(const SparseCsr<T>& a, const Matrix<T>& pt, const Matrix<T>& qt, Matrix<T>* yt);

/// y = B^T (B x) for a CSR matrix B (r x c); x, y of length c. One sweep over
/// B: row i contributes (b_i . x) b_i, with thread-private accumulators
/// added in thread order (deterministic for a fixed thread count). About 3x
/// faster than the two SpMVs B x and B^T (B x) through the CSR of B^T, which
/// also read B twice (docs/benchmarks.md, "Measurements behind code choices").
/// `workspace` holds the accumulators between calls (no allocation per call).
template <class T>
void csr_gram_times_vector(const SparseCsr<T>& b, const T* x, T* y, std::vector<Vector<T>>& workspace);

}  // namespace lowrank::detail
