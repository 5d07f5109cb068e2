#include "completion/detail.hpp"

#include <omp.h>

#include <Eigen/QR>
#include <algorithm>
#include <exception>
#include <limits>
#include <numbers>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/detail/kernels.hpp"

namespace lowrank::completion_detail {

template <class T>
void check_entries(const ObservedEntries<T>& e, std::string_view what) {
  const std::string w(what);
  if (e.rows <= 0 || e.cols <= 0) {
    throw InvalidArgument(w + ": the matrix is empty (" + std::to_string(e.rows) + " x " +
                          std::to_string(e.cols) + ")");
  }
  if (e.row.size() != e.value.size() || e.col.size() != e.value.size()) {
    throw InvalidArgument(w + ": row, col and value arrays differ in length");
  }
  if (e.value.empty()) throw InvalidArgument(w + ": no observed entry");
  if (e.rows > INT32_MAX || e.cols > INT32_MAX) {
    throw InvalidArgument(w + ": more than 2^31 - 1 rows or columns");
  }
  for (std::size_t k = 0; k < e.value.size(); ++k) {
    if (e.row[k] < 0 || e.row[k] >= e.rows || e.col[k] < 0 || e.col[k] >= e.cols) {
      throw InvalidArgument(w + ": entry " + std::to_string(k) + " at (" + std::to_string(e.row[k]) + ", " +
                            std::to_string(e.col[k]) + ") is outside the " + std::to_string(e.rows) + " x " +
                            std::to_string(e.cols) + " matrix");
    }
    if (!std::isfinite(static_cast<double>(e.value[k]))) {
      throw InvalidArgument(w + ": entry " + std::to_string(k) + " at (" + std::to_string(e.row[k]) + ", " +
                            std::to_string(e.col[k]) + ") is not finite");
    }
  }
}

template <class T>
void count_observations(const ObservedEntries<T>& e, std::vector<std::int64_t>& row_count,
                        std::vector<std::int64_t>& col_count) {
  row_count.assign(static_cast<std::size_t>(e.rows), 0);
  col_count.assign(static_cast<std::size_t>(e.cols), 0);
  for (std::size_t k = 0; k < e.value.size(); ++k) {
    ++row_count[static_cast<std::size_t>(e.row[k])];
    ++col_count[static_cast<std::size_t>(e.col[k])];
  }
}

template <class T>
void note_empty(const std::vector<std::int64_t>& row_count, const std::vector<std::int64_t>& col_count,
                CompletionResult<T>& result) {
  result.empty_rows = std::count(row_count.begin(), row_count.end(), 0);
  result.empty_cols = std::count(col_count.begin(), col_count.end(), 0);
  if (result.empty_rows > 0 || result.empty_cols > 0) {
    result.warnings.push_back(std::to_string(result.empty_rows) + " row(s) and " +
                              std::to_string(result.empty_cols) +
                              " column(s) have no observed entry; they are predicted by the offsets only");
  }
}

namespace {
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

template <class T>
void fill_normal(Matrix<T>& out, std::uint64_t seed) {
  std::uint64_t state = seed ^ 0x5DEECE66DULL;
  T* p = out.data();
  const Index n = out.size();
  for (Index k = 0; k < n; k += 2) {
    // Box-Muller; u1 in (0, 1] keeps the log finite.
    const double u1 = static_cast<double>((splitmix(state) >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53;
    const double rad = std::sqrt(-2.0 * std::log(u1));
    p[k] = static_cast<T>(rad * std::cos(2.0 * std::numbers::pi * u2));
    if (k + 1 < n) p[k + 1] = static_cast<T>(rad * std::sin(2.0 * std::numbers::pi * u2));
  }
}

template <class T>
Matrix<T> random_orthonormal(Index m, Index r, std::uint64_t seed) {
  Matrix<T> g(m, r);
  fill_normal(g, seed);
  Eigen::HouseholderQR<Matrix<T>> qr(g);
  return qr.householderQ() * Matrix<T>::Identity(m, r);
}

template <class T>
void thin_svd(const Matrix<T>& a, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  // a = Q R with Q from the core's BLAS-3 orthonormalisation (CholeskyQR2, or
  // LAPACK's blocked Householder when a is ill-conditioned) and R = Q^T a;
  // then the SVD of the small R. Eigen's unblocked HouseholderQR and the
  // explicit forming of its Q took about 10 % of a MovieLens soft-impute fit.
  Matrix<T> q = a;
  detail::orthonormalize(q);
  const Matrix<T> rr = q.transpose() * a;
  Matrix<T> ur;
  detail::dense_thin_svd(rr, ur, s, v);
  u = q * ur;
}

template <class T>
void entries_of_product(const Matrix<T>& at, const Matrix<T>& bt, const std::vector<std::int32_t>& row,
                        const std::vector<std::int32_t>& col, std::vector<T>& out) {
  const std::int64_t nnz = static_cast<std::int64_t>(row.size());
  out.resize(row.size());
  const Index r = at.rows();
  if (r == 0) {
    std::fill(out.begin(), out.end(), T(0));
    return;
  }
  // Threads pay off once there is some work per call (r flops per entry).
#pragma omp parallel for schedule(static) if (nnz * r > 200000)
  for (std::int64_t k = 0; k < nnz; ++k) {
    const T* a = at.data() + static_cast<Index>(row[static_cast<std::size_t>(k)]) * r;
    const T* b = bt.data() + static_cast<Index>(col[static_cast<std::size_t>(k)]) * r;
    T acc = 0;
    for (Index l = 0; l < r; ++l) acc += a[l] * b[l];
    out[static_cast<std::size_t>(k)] = acc;
  }
}

template <class T>
void product_to_svd(const Matrix<T>& p, const Matrix<T>& q, Matrix<T>& u, Vector<T>& d, Matrix<T>& v) {
  const Index k = p.cols();
  Eigen::HouseholderQR<Matrix<T>> qp(p), qq(q);
  Matrix<T> rp = qp.matrixQR().topRows(k).template triangularView<Eigen::Upper>();
  Matrix<T> rq = qq.matrixQR().topRows(k).template triangularView<Eigen::Upper>();
  Matrix<T> core = rp * rq.transpose();  // P Q^T = Qp (Rp Rq^T) Qq^T
  Matrix<T> cu, cv;
  Vector<T> s;
  detail::dense_thin_svd(core, cu, s, cv);
  const T cut = s.size() > 0 ? s(0) * std::numeric_limits<T>::epsilon() * T(k) : T(0);
  Index keep = 0;
  while (keep < s.size() && s(keep) > cut && s(keep) > T(0)) ++keep;
  Matrix<T> thin_p = qp.householderQ() * Matrix<T>::Identity(p.rows(), k);
  Matrix<T> thin_q = qq.householderQ() * Matrix<T>::Identity(q.rows(), k);
  u = thin_p * cu.leftCols(keep);
  v = thin_q * cv.leftCols(keep);
  d = s.head(keep);
}

namespace {

// CSR of the (rows x cols) matrix with entries (major[k], minor[k], value[k]).
template <class T>
void build_csr(Index rows, Index cols, const std::vector<std::int32_t>& major, const std::vector<std::int32_t>& minor,
               const std::vector<T>& value, bool transposed, SparseCsr<T>& out) {
  const std::size_t nnz = value.size();
  if (nnz > static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument("more than 2^31 - 1 observed entries (" + std::to_string(nnz) + ")");
  out.resize(rows, cols);
  out.resizeNonZeros(static_cast<Index>(nnz));
  std::int32_t* outer = out.outerIndexPtr();
  std::fill(outer, outer + rows + 1, 0);
  for (std::size_t k = 0; k < nnz; ++k) ++outer[major[k] + 1];
  for (Index r = 0; r < rows; ++r) outer[r + 1] += outer[r];
  std::vector<std::int32_t> next(outer, outer + rows);
  std::int32_t* inner = out.innerIndexPtr();
  T* val = out.valuePtr();
  for (std::size_t k = 0; k < nnz; ++k) {
    const std::int32_t s = next[static_cast<std::size_t>(major[k])]++;
    inner[s] = minor[k];
    val[s] = value[k];
  }
  // Within a row the scatter kept input order: sort it by column (entries
  // are unique, so the result does not depend on the input order).
  std::vector<std::pair<std::int32_t, T>> row;
  for (Index r = 0; r < rows; ++r) {
    const std::int32_t b = outer[r], e = outer[r + 1];
    bool sorted = true;
    for (std::int32_t s = b; s + 1 < e && sorted; ++s) sorted = inner[s] < inner[s + 1];
    if (sorted) continue;
    row.clear();
    for (std::int32_t s = b; s < e; ++s) row.emplace_back(inner[s], val[s]);
    std::sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (std::int32_t s = b; s < e; ++s) {
      const auto& [c, v] = row[static_cast<std::size_t>(s - b)];
      if (s > b && c == inner[s - 1]) {
        const Index i = transposed ? c : r, j = transposed ? r : c;
        throw InvalidArgument("duplicate entry at (row " + std::to_string(i) + ", col " + std::to_string(j) + ")");
      }
      inner[s] = c;
      val[s] = v;
    }
  }
}

}  // namespace

template <class T>
void build_csr_pair(const ObservedEntries<T>& e, SparseCsr<T>& by_row, SparseCsr<T>& by_col) {
  // Independent: side by side, as SparseOperator does.
  std::exception_ptr failed[2];
#pragma omp parallel sections num_threads(2) if (e.nnz() > 100000)
  {
#pragma omp section
    {
      try {
        build_csr(e.rows, e.cols, e.row, e.col, e.value, false, by_row);
      } catch (...) {
        failed[0] = std::current_exception();
      }
    }
#pragma omp section
    {
      try {
        build_csr(e.cols, e.rows, e.col, e.row, e.value, true, by_col);
      } catch (...) {
        failed[1] = std::current_exception();
      }
    }
  }
  for (const auto& f : failed)
    if (f) std::rethrow_exception(f);
}

int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

#define LOWRANK_COMPLETION_DETAIL(T)                                                                       \
  template void check_entries<T>(const ObservedEntries<T>&, std::string_view);                             \
  template void count_observations<T>(const ObservedEntries<T>&, std::vector<std::int64_t>&,               \
                                      std::vector<std::int64_t>&);                                         \
  template void note_empty<T>(const std::vector<std::int64_t>&, const std::vector<std::int64_t>&,          \
                              CompletionResult<T>&);                                                       \
  template void fill_normal<T>(Matrix<T>&, std::uint64_t);                                                 \
  template Matrix<T> random_orthonormal<T>(Index, Index, std::uint64_t);                                   \
  template void thin_svd<T>(const Matrix<T>&, Matrix<T>&, Vector<T>&, Matrix<T>&);                         \
  template void entries_of_product<T>(const Matrix<T>&, const Matrix<T>&, const std::vector<std::int32_t>&, \
                                      const std::vector<std::int32_t>&, std::vector<T>&);                  \
  template void product_to_svd<T>(const Matrix<T>&, const Matrix<T>&, Matrix<T>&, Vector<T>&, Matrix<T>&); \
  template void build_csr_pair<T>(const ObservedEntries<T>&, SparseCsr<T>&, SparseCsr<T>&);
LOWRANK_COMPLETION_DETAIL(float)
LOWRANK_COMPLETION_DETAIL(double)
#undef LOWRANK_COMPLETION_DETAIL

}  // namespace lowrank::completion_detail
