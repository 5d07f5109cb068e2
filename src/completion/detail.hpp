#pragma once
// Internal helpers of the completion solvers (not installed, not API).
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
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

/// One side's view of an ObservedMatrix: `count` rows of a sparse matrix in
/// compressed form, row i's entries at positions [outer[i], outer[i + 1]),
/// entry s in column inner[s] with value value[pos ? pos[s] : s]. The row
/// view reads the CSR directly (pos null); the column view is a CSC index
/// whose pos points into the CSR's values, so the values are stored once.
template <class T>
struct SparseView {
  Index count = 0;  ///< rows of this view
  Index other = 0;  ///< columns of this view
  const std::int32_t* outer = nullptr;
  const std::int32_t* inner = nullptr;
  const T* value = nullptr;
  const std::int32_t* pos = nullptr;
  Index nnz() const { return count > 0 ? static_cast<Index>(outer[count]) : 0; }
  T at(std::int32_t s) const { return value[pos ? pos[s] : s]; }
};

/// The observed entries of an m x n matrix stored once, for the solvers that
/// sweep them by rows and by columns (soft-impute, ALS):
///   CSR       row_ptr (m + 1), col, value     4 + sizeof(T) bytes per entry
///   CSC index col_ptr (n + 1), csc_row, csc_pos  8 bytes per entry
/// csc_pos[q] is the CSR position of the q-th entry in column order, so the
/// column sweeps read the one copy of the values through it (two full CSR
/// copies held 2 (4 + sizeof(T)) bytes per entry). Positions and offsets are
/// int32: more than 2^31 - 1 entries are refused with a clear error.
/// Rows' columns and columns' rows are increasing.
template <class T>
struct ObservedMatrix {
  Index rows = 0, cols = 0;
  std::vector<std::int32_t> row_ptr, col;
  std::vector<T> value;
  std::vector<std::int32_t> col_ptr, csc_row, csc_pos;

  Index nnz() const { return static_cast<Index>(value.size()); }
  SparseView<T> by_rows() const { return {rows, cols, row_ptr.data(), col.data(), value.data(), nullptr}; }
  SparseView<T> by_cols() const { return {cols, rows, col_ptr.data(), csc_row.data(), value.data(), csc_pos.data()}; }
};

/// Builds the ObservedMatrix in the storage of `e`, which it takes over: the
/// entries are sorted by (row, col) in place (an in-place counting sort, then
/// a sort within each row), e.col and e.value become the CSR's arrays and
/// e.row's array is reused for csc_row, so the only new per-entry array is
/// csc_pos (peak 12 + sizeof(T) bytes per entry plus the offsets). e is
/// left with its shape and ids but no entries; give_back() returns them.
/// Throws InvalidArgument naming the first duplicate (row, col) pair or for
/// more than 2^31 - 1 entries; e then holds its entries (reordered).
template <class T>
ObservedMatrix<T> take_entries(ObservedEntries<T>& e);

/// Returns the entries of `x` to `e` (sorted by row, then column), reusing
/// x's arrays; x is left empty.
template <class T>
void give_back(ObservedMatrix<T>& x, ObservedEntries<T>& e);

/// The fused residual sweep of the factored solvers over one view v
/// (count x other): e_ij = v_ij - p_i . qt_j at the stored entries
/// (p: count x r, qt: r x other, the gathered side transposed so each
/// entry reads one contiguous column) and, when y is given, y (count x k)
/// with y_i = sum_j e_ij bt_j, bt = qt when null (k x other):
/// P_Omega(X - P Q^T) B. Returns 1/2 sum e_ij^2, summed per fixed block of
/// rows in order (independent of the thread count). One pass with one
/// gather of qt_j (and bt_j) per entry; the residuals are never stored, and
/// p and y are read and written in place (no transposed copies of the tall
/// factors). Generalises linalg's csr_residual_times_factor to the CSC index
/// and to a multiplier other than qt (the SVD form's S x).
template <class T>
double residual_sweep(const SparseView<T>& v, const Matrix<T>& p, const Matrix<T>& qt,
                      const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y);

/// thin_svd() of a tall a (n x r), overwriting a with u: a = u diag(s) v^T
/// on entry, a = u on return. One n x r scratch instead of thin_svd's two.
template <class T>
void thin_svd_in_place(Matrix<T>& a, Vector<T>& s, Matrix<T>& v);

/// One row's ALS solve (als.cpp and the MPI ALS): a holds the lower triangle
/// of G G^T (k factor rows, then the bias row when `biases`), rhs = G y. Adds
/// the ridge weights ridge (factors) and bias_ridge to the diagonal; when
/// either is zero, also 1e-10 times the mean diagonal so Cholesky can still
/// run, with LDLT (pivoting) taking over if the system is only semidefinite.
template <class T>
void solve_row_ridge(Matrix<T>& a, const Vector<T>& rhs, Vector<T>& sol, Index k, bool biases, T ridge, T bias_ridge,
                     Eigen::LLT<Matrix<T>>& llt, Eigen::LDLT<Matrix<T>>& ldlt) {
  for (Index c = 0; c < k; ++c) a(c, c) += ridge;
  if (biases) a(k, k) += bias_ridge;
  if (ridge == T(0) || (biases && bias_ridge == T(0))) {
    const T tiny = T(1e-10) * std::max(a.diagonal().sum() / T(a.rows()), std::numeric_limits<T>::min());
    a.diagonal().array() += tiny;
  }
  llt.compute(a);
  if (llt.info() == Eigen::Success) {
    sol = llt.solve(rhs);
  } else {
    ldlt.compute(a);
    sol = ldlt.solve(rhs);
  }
}

/// Number of OpenMP threads to use for `requested` (0 = default).
int thread_count(int requested);

}  // namespace lowrank::completion_detail
