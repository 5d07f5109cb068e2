#pragma once
// Internal helpers of the completion solvers (not installed, not API).
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
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
/// dropped. P and Q are taken by value and factored in place: pass them
/// with std::move where the caller is done with them (one m x k block fewer).
template <class T>
void product_to_svd(Matrix<T> p, Matrix<T> q, Matrix<T>& u, Vector<T>& d, Matrix<T>& v);

/// One side's view of an ObservedMatrix: `count` rows of a sparse matrix in
/// compressed form, row i's entries at positions [outer[i], outer[i + 1]),
/// entry s in column inner[s - base] with value value[s - base]. Only the
/// rows [first, last) are present: the row view is the whole CSR (base 0);
/// a column view is one chunk of consecutive columns, a CSC of its entries
/// built from the CSR when a sweep needs it (for_each_column_chunk), whose
/// arrays start at the chunk's first position `base`.
template <class T>
struct SparseView {
  Index count = 0;                      ///< rows of this view
  Index other = 0;                      ///< columns of this view
  const std::int32_t* outer = nullptr;  ///< count + 1 offsets, all rows
  const std::int32_t* inner = nullptr;
  const T* value = nullptr;
  Index first = 0, last = 0;  ///< rows present
  Index base = 0;             ///< position of inner[0] and value[0]
  Index nnz() const { return count > 0 ? static_cast<Index>(outer[count]) : 0; }
  Index index(Index s) const { return inner[s - base]; }
  T at(Index s) const { return value[s - base]; }
};

/// The observed entries of an m x n matrix stored once, for the solvers that
/// sweep them by rows and by columns (soft-impute, ALS):
///   CSR        row_ptr (m + 1), col, value     4 + sizeof(T) bytes per entry
///   col_ptr    (n + 1) column offsets
/// The column sweeps see it through for_each_column_chunk: a CSC of a chunk
/// of columns at a time (about nnz / 16 entries), built from the CSR, so no
/// per-entry array beyond the CSR lives across a fit (a second CSR held
/// 4 + sizeof(T) bytes per entry, a CSC index into the values 8; issue 32).
/// Offsets are int32: more than 2^31 - 1 entries are refused with a clear
/// error. Rows' columns are increasing.
template <class T>
struct ObservedMatrix {
  Index rows = 0, cols = 0;
  std::vector<std::int32_t> row_ptr, col;
  std::vector<T> value;
  std::vector<std::int32_t> col_ptr;

  Index nnz() const { return static_cast<Index>(value.size()); }
  SparseView<T> by_rows() const { return {rows, cols, row_ptr.data(), col.data(), value.data(), 0, rows, 0}; }
};

/// Calls fn(view) for consecutive chunks of the column view of x, in column
/// order, each view holding columns [first, last) as a CSC (rows increasing,
/// values copied) in a scratch of about chunk_entries entries (0: max(nnz /
/// 16, 2^18)) that is reused from chunk to chunk. Chunk boundaries are multiples of `align`
/// (residual_sweep's fixed blocks, so sums do not depend on the chunking).
/// The copy runs on `threads` threads (0 = default), each over its own
/// columns, so the result does not depend on the thread count.
template <class T>
void for_each_column_chunk(const ObservedMatrix<T>& x, Index align, int threads,
                           const std::function<void(const SparseView<T>&)>& fn, Index chunk_entries = 0);

/// Builds the ObservedMatrix in the storage of `e`, which it takes over: the
/// entries are sorted by (row, col) in place (an in-place counting sort, then
/// a sort within each row), e.col and e.value become the CSR's arrays and
/// e.row's array is freed (peak 8 + sizeof(T) bytes per entry plus the
/// offsets, during the sort). e is left with its shape and ids but no
/// entries; give_back() returns them.
/// Throws InvalidArgument naming the first duplicate (row, col) pair or for
/// more than 2^31 - 1 entries; e then holds its entries (reordered).
template <class T>
ObservedMatrix<T> take_entries(ObservedEntries<T>& e);

/// Returns the entries of `x` to `e` (sorted by row, then column), reusing
/// x's arrays; x is left empty.
template <class T>
void give_back(ObservedMatrix<T>& x, ObservedEntries<T>& e);

/// Rows per block of residual_sweep over a view of `count` rows: fixed by
/// the count alone, so the loss does not depend on the threads.
inline Index sweep_block_rows(Index count) { return std::clamp<Index>((count + 63) / 64, 16, 512); }

/// The fused residual sweep of the factored solvers over one view v
/// (count x other): e_ij = v_ij - p_i . qt_j at the stored entries
/// (p: count x r, qt: r x other, the gathered side transposed so each
/// entry reads one contiguous column) and, when y is given, y (count x k)
/// with y_i = sum_j e_ij bt_j, bt = qt when null (k x other):
/// P_Omega(X - P Q^T) B. Returns 1/2 sum e_ij^2, summed per fixed block of
/// rows in order (independent of the thread count). One pass with one
/// gather of qt_j (and bt_j) per entry; the residuals are never stored, and
/// p and y are read and written in place (no transposed copies of the tall
/// factors). Generalises linalg's csr_residual_times_factor to a chunk of
/// the column view and to a multiplier other than qt (the SVD form's S x).
template <class T>
double residual_sweep(const SparseView<T>& v, const Matrix<T>& p, const Matrix<T>& qt,
                      const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y);

/// residual_sweep() over the column view of x (count = x.cols), chunk by
/// chunk (for_each_column_chunk); the same sums in the same order as over
/// a whole CSC, so the same result bit for bit.
template <class T>
double residual_sweep_by_cols(const ObservedMatrix<T>& x, const Matrix<T>& p, const Matrix<T>& qt,
                              const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y,
                              Index chunk_entries = 0);

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

/// to = from, converted element by element (float32 fits), and `from`
/// freed. The pages of `from` already converted go back to the system as the
/// copy advances (MADV_DONTNEED), so the two arrays together hold at most
/// max(sizeof(T), sizeof(U)) bytes per entry plus a chunk, where converting
/// then freeing held sizeof(T) + sizeof(U) (issue 32).
template <class U, class T>
void convert_releasing(std::vector<T>& from, std::vector<U>& to);

/// Number of OpenMP threads to use for `requested` (0 = default).
int thread_count(int requested);

}  // namespace lowrank::completion_detail
