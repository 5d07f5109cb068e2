#include "lowrank/linalg/operator.hpp"

#include <algorithm>
#include <climits>
#include <exception>
#include <memory>
#include <numeric>
#include <string>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/detail/kernels.hpp"

namespace lowrank {

namespace {

// Builds the CSR of an (rows x cols) matrix from COO, its values included,
// and records, for every COO entry, the slot its value occupies in the CSR
// value array. Scratch arrays are left uninitialised (every slot is written
// before it is read): zero-filling them was a tenth of setting up a
// soft-impute fit on 10^7 entries.
template <class T>
void build_csr(Index rows, Index cols, const std::vector<std::int32_t>& row, const std::vector<std::int32_t>& col,
               const std::vector<T>& value, SparseCsr<T>& out, std::vector<std::int32_t>& coo_to_slot) {
  const std::size_t nnz = row.size();
  if (nnz > static_cast<std::size_t>(INT32_MAX)) {
    throw InvalidArgument("SparseOperator: more than 2^31 - 1 entries (" + std::to_string(nnz) + ")");
  }
  std::vector<std::int32_t> outer(static_cast<std::size_t>(rows) + 1, 0);
  for (std::size_t k = 0; k < nnz; ++k) ++outer[static_cast<std::size_t>(row[k]) + 1];
  std::partial_sum(outer.begin(), outer.end(), outer.begin());
  // Two stable counting sorts, by column then by row, leave each row's
  // columns in increasing order without a comparison sort (a per-row
  // std::sort took a quarter of setting up ALS on 10^7 entries).
  const std::unique_ptr<std::int32_t[]> order(new std::int32_t[nnz]);
  {
    const std::unique_ptr<std::int32_t[]> by_col(new std::int32_t[nnz]);
    std::vector<std::int32_t> next_col(static_cast<std::size_t>(cols) + 1, 0);
    for (std::size_t k = 0; k < nnz; ++k) ++next_col[static_cast<std::size_t>(col[k]) + 1];
    std::partial_sum(next_col.begin(), next_col.end(), next_col.begin());
    for (std::size_t k = 0; k < nnz; ++k)
      by_col[static_cast<std::size_t>(next_col[static_cast<std::size_t>(col[k])]++)] = static_cast<std::int32_t>(k);
    std::vector<std::int32_t> next(outer.begin(), outer.end() - 1);
    for (std::size_t t = 0; t < nnz; ++t) {
      const std::int32_t k = by_col[t];
      order[static_cast<std::size_t>(next[static_cast<std::size_t>(row[static_cast<std::size_t>(k)])]++)] = k;
    }
  }
  for (Index r = 0; r < rows; ++r) {
    for (std::int32_t s = outer[r]; s + 1 < outer[r + 1]; ++s) {
      if (col[order[s]] == col[order[s + 1]]) {
        throw InvalidArgument("duplicate entry at (row " + std::to_string(r) + ", col " +
                              std::to_string(col[order[s]]) + ")");
      }
    }
  }
  out.resize(rows, cols);
  out.resizeNonZeros(static_cast<Index>(nnz));
  std::copy(outer.begin(), outer.end(), out.outerIndexPtr());
  coo_to_slot.resize(nnz);
  std::int32_t* inner = out.innerIndexPtr();
  T* val = out.valuePtr();
  for (std::size_t s = 0; s < nnz; ++s) {
    const auto k = static_cast<std::size_t>(order[s]);
    inner[s] = col[k];
    val[s] = value[k];
    coo_to_slot[k] = static_cast<std::int32_t>(s);
  }
}

}  // namespace

template <class T>
SparseOperator<T>::SparseOperator(Index rows, Index cols, const std::vector<std::int32_t>& row,
                                  const std::vector<std::int32_t>& col, const std::vector<T>& value) {
  if (row.size() != col.size() || row.size() != value.size()) {
    throw InvalidArgument("SparseOperator: row, col and value arrays differ in length");
  }
  for (std::size_t k = 0; k < row.size(); ++k) {
    if (row[k] < 0 || row[k] >= rows || col[k] < 0 || col[k] >= cols) {
      throw InvalidArgument("SparseOperator: entry " + std::to_string(k) + " at (" + std::to_string(row[k]) + ", " +
                            std::to_string(col[k]) + ") is outside a " + std::to_string(rows) + " x " +
                            std::to_string(cols) + " matrix");
    }
  }
  // The two copies are independent: build them side by side (they are
  // serial passes of random access, a third of setting up a 10^7-entry fit).
  std::exception_ptr failed[2];
#pragma omp parallel sections num_threads(2) if (row.size() > 100000)
  {
#pragma omp section
    {
      try {
        build_csr(rows, cols, row, col, value, m_csr, m_coo_to_csr);
      } catch (...) {
        failed[0] = std::current_exception();
      }
    }
#pragma omp section
    {
      try {
        build_csr(cols, rows, col, row, value, m_csr_t, m_coo_to_csrt);
      } catch (...) {
        failed[1] = std::current_exception();
      }
    }
  }
  // The row-major copy's message (row, col) first, as before.
  for (const auto& e : failed) {
    if (e) std::rethrow_exception(e);
  }
}

template <class T>
void SparseOperator<T>::set_values(const T* coo_values) {
  T* a = m_csr.valuePtr();
  T* b = m_csr_t.valuePtr();
  const std::int64_t n = static_cast<std::int64_t>(m_coo_to_csr.size());
#pragma omp parallel for schedule(static) if (n > 100000)
  for (std::int64_t k = 0; k < n; ++k) {
    a[m_coo_to_csr[static_cast<std::size_t>(k)]] = coo_values[k];
    b[m_coo_to_csrt[static_cast<std::size_t>(k)]] = coo_values[k];
  }
}

template <class T>
void SparseOperator<T>::apply(const Matrix<T>& x, Matrix<T>& y) const {
  // One sweep of the sparse rows for all columns of x (Eigen's product makes
  // one per column): 25 % of a MovieLens soft-impute fit went to Eigen's.
  detail::csr_times_dense(m_csr, x, y);
}

template <class T>
void SparseOperator<T>::apply_adjoint(const Matrix<T>& x, Matrix<T>& y) const {
  detail::csr_times_dense(m_csr_t, x, y);
}

template class SparseOperator<float>;
template class SparseOperator<double>;

}  // namespace lowrank
