#pragma once
// Internal helpers of the completion solvers (not installed, not API).
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/completion/model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank::completion_detail {

/// Shape > 0, at least one entry, equal array lengths, indices in range,
/// finite values; throws InvalidArgument prefixed by `what`.
template <class T>
void check_entries(const ObservedEntries<T>& e, std::string_view what);

/// Observation counts per row and per column.
template <class T>
void count_observations(const ObservedEntries<T>& e, std::vector<std::int64_t>& row_count,
                        std::vector<std::int64_t>& col_count);

/// Fills result.empty_rows / empty_cols and a warning when there are any.
template <class T>
void note_empty(const std::vector<std::int64_t>& row_count, const std::vector<std::int64_t>& col_count,
                CompletionResult<T>& result);

/// Deterministic N(0, 1) fill (splitmix64 + Box-Muller), column-major order.
template <class T>
void fill_normal(Matrix<T>& out, std::uint64_t seed);

/// m x r matrix with orthonormal columns spanning a Gaussian draw.
template <class T>
Matrix<T> random_orthonormal(Index m, Index r, std::uint64_t seed);

/// Thin SVD a = u diag(s) v^T of a tall a (n x r, n >= r): a BLAS-3 QR
/// (CholeskyQR2, Householder when ill-conditioned) then Jacobi SVD of the
/// r x r factor. u: n x r, s: r decreasing, v: r x r.
template <class T>
void thin_svd(const Matrix<T>& a, Matrix<T>& u, Vector<T>& s, Matrix<T>& v);

/// out[k] = sum_l a(row[k], l) * b(col[k], l) for every observed entry,
/// OpenMP-parallel. at = a^T (r x m) and bt = b^T (r x n) so each dot product
/// reads two contiguous columns.
template <class T>
void entries_of_product(const Matrix<T>& at, const Matrix<T>& bt, const std::vector<std::int32_t>& row,
                        const std::vector<std::int32_t>& col, std::vector<T>& out);

/// SVD form of a product P Q^T (P: m x k, Q: n x k): U diag(d) V^T with U, V
/// orthonormal, d decreasing; zero singular values (below eps * d_max)
/// dropped.
template <class T>
void product_to_svd(const Matrix<T>& p, const Matrix<T>& q, Matrix<T>& u, Vector<T>& d, Matrix<T>& v);

/// The observed entries as CSR (m x n) and CSR of the transpose (n x m),
/// each row's columns increasing, built straight from COO: a counting scatter
/// and a sort within each row, so the only scratch is the row offsets and
/// one row (SparseOperator's build also keeps two COO -> slot maps and two
/// full-length order arrays, 16 bytes per entry the solvers that never
/// replace the values do not need). Throws InvalidArgument naming the first
/// duplicate (row, col) pair.
template <class T>
void build_csr_pair(const ObservedEntries<T>& e, SparseCsr<T>& by_row, SparseCsr<T>& by_col);

/// Number of OpenMP threads to use for `requested` (0 = default).
int thread_count(int requested);

}  // namespace lowrank::completion_detail
