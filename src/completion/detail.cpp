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
    throw InvalidArgument(w + ": the matrix is empty (" + std::to_string(e.rows) + " x " + std::to_string(e.cols) +
                          ")");
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
    result.warnings.push_back(std::to_string(result.empty_rows) + " row(s) and " + std::to_string(result.empty_cols) +
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
void thin_svd_in_place(Matrix<T>& a, Vector<T>& s, Matrix<T>& v) {
  Matrix<T> q = a;
  detail::orthonormalize(q);
  const Matrix<T> rr = q.transpose() * a;
  Matrix<T> ur;
  detail::dense_thin_svd(rr, ur, s, v);
  a.noalias() = q * ur;
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

template <class T>
ObservedMatrix<T> take_entries(ObservedEntries<T>& e) {
  const std::size_t nnz = e.value.size();
  if (nnz > static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument("more than 2^31 - 1 observed entries (" + std::to_string(nnz) +
                          "): the solvers' 32-bit positions cannot address them");
  const Index m = e.rows, n = e.cols;
  std::vector<std::int32_t>& row = e.row;
  std::vector<std::int32_t>& col = e.col;
  std::vector<T>& val = e.value;
  ObservedMatrix<T> x;
  x.rows = m;
  x.cols = n;
  x.row_ptr.assign(static_cast<std::size_t>(m) + 1, 0);
  std::int32_t* outer = x.row_ptr.data();
  for (std::size_t k = 0; k < nnz; ++k) ++outer[row[k] + 1];
  for (Index i = 0; i < m; ++i) outer[i + 1] += outer[i];
  {
    // In-place counting sort by row (each swap puts one entry into its
    // row's range for good): no second copy of the entries.
    std::vector<std::int32_t> head(outer, outer + m);
    for (Index b = 0; b < m; ++b) {
      const std::int32_t end = outer[b + 1];
      for (std::int32_t p = head[static_cast<std::size_t>(b)]; p < end; p = head[static_cast<std::size_t>(b)]) {
        const std::int32_t r = row[static_cast<std::size_t>(p)];
        if (r == b) {
          ++head[static_cast<std::size_t>(b)];
          continue;
        }
        const std::int32_t q = head[static_cast<std::size_t>(r)]++;
        std::swap(row[static_cast<std::size_t>(p)], row[static_cast<std::size_t>(q)]);
        std::swap(col[static_cast<std::size_t>(p)], col[static_cast<std::size_t>(q)]);
        std::swap(val[static_cast<std::size_t>(p)], val[static_cast<std::size_t>(q)]);
      }
    }
  }
  // Within a row: sort by column (entries are unique, so the result does not
  // depend on the input order); scratch of one row.
  std::vector<std::pair<std::int32_t, T>> one;
  for (Index i = 0; i < m; ++i) {
    const std::int32_t b = outer[i], en = outer[i + 1];
    bool sorted = true;
    for (std::int32_t s = b; s + 1 < en && sorted; ++s)
      sorted = col[static_cast<std::size_t>(s)] < col[static_cast<std::size_t>(s + 1)];
    if (!sorted) {
      one.clear();
      for (std::int32_t s = b; s < en; ++s)
        one.emplace_back(col[static_cast<std::size_t>(s)], val[static_cast<std::size_t>(s)]);
      std::sort(one.begin(), one.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
      for (std::int32_t s = b; s < en; ++s) {
        col[static_cast<std::size_t>(s)] = one[static_cast<std::size_t>(s - b)].first;
        val[static_cast<std::size_t>(s)] = one[static_cast<std::size_t>(s - b)].second;
      }
    }
    for (std::int32_t s = b + 1; s < en; ++s)
      if (col[static_cast<std::size_t>(s)] == col[static_cast<std::size_t>(s - 1)])
        throw InvalidArgument("duplicate entry at (row " + std::to_string(i) + ", col " +
                              std::to_string(col[static_cast<std::size_t>(s)]) + ")");
  }
  // The CSC index. Visiting the rows in order leaves each column's rows
  // increasing; the row indices go into e.row's array, no longer needed.
  x.col_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
  std::int32_t* cptr = x.col_ptr.data();
  for (std::size_t k = 0; k < nnz; ++k) ++cptr[col[k] + 1];
  for (Index j = 0; j < n; ++j) cptr[j + 1] += cptr[j];
  x.csc_pos.resize(nnz);
  x.csc_row = std::move(e.row);
  std::vector<std::int32_t> next(cptr, cptr + n);
  for (Index i = 0; i < m; ++i) {
    for (std::int32_t s = outer[i]; s < outer[i + 1]; ++s) {
      const std::int32_t q = next[static_cast<std::size_t>(col[static_cast<std::size_t>(s)])]++;
      x.csc_pos[static_cast<std::size_t>(q)] = s;
      x.csc_row[static_cast<std::size_t>(q)] = static_cast<std::int32_t>(i);
    }
  }
  x.col = std::move(e.col);
  x.value = std::move(e.value);
  e.row.clear();
  e.col.clear();
  e.value.clear();
  return x;
}

template <class T>
void give_back(ObservedMatrix<T>& x, ObservedEntries<T>& e) {
  std::vector<std::int32_t>().swap(x.csc_pos);
  std::vector<std::int32_t>().swap(x.col_ptr);
  e.row = std::move(x.csc_row);
  e.row.resize(x.value.size());
  for (Index i = 0; i < x.rows; ++i)
    std::fill(e.row.begin() + x.row_ptr[static_cast<std::size_t>(i)],
              e.row.begin() + x.row_ptr[static_cast<std::size_t>(i) + 1], static_cast<std::int32_t>(i));
  e.col = std::move(x.col);
  e.value = std::move(x.value);
  std::vector<std::int32_t>().swap(x.row_ptr);
  x.csc_row.clear();
  x.col.clear();
  x.value.clear();
}

template <class T>
double residual_sweep(const SparseView<T>& v, const Matrix<T>& p, const Matrix<T>& qt,
                      const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y) {
  const Index m = v.count;
  const Index r = p.cols();
  const Matrix<T>& bm = bt ? *bt : qt;
  const Index k = bm.rows();
  if (p.rows() != m || qt.cols() != v.other || qt.rows() != r || bm.cols() != v.other)
    throw InvalidArgument("residual_sweep: factor shapes do not match the sparse matrix");
  if (y) y->resize(m, k);
  const std::int32_t* outer = v.outer;
  const std::int32_t* inner = v.inner;
  const T* q_all = qt.data();
  const T* b_all = bm.data();
  // Row blocks fixed by m alone, so the loss does not depend on the threads
  // (as in linalg's csr_residual_times_factor).
  const Index kBlockRows = std::clamp<Index>((m + 63) / 64, 16, 512);
  constexpr std::int32_t kPrefetch = 8;
  const Index nnz = v.nnz();
  const Index blocks = (m + kBlockRows - 1) / kBlockRows;
  std::vector<double> block_loss(static_cast<std::size_t>(blocks), 0.0);
#pragma omp parallel if (nnz * std::max <Index>(r + (y ? k : 0), 1) > 200000)
  {
    // Row i of p and of y, contiguous: p and y stay m x r column-major (no
    // transposed copies of the tall factors); only the gathered side is
    // transposed.
    std::vector<T> p_row(static_cast<std::size_t>(r)), y_row(static_cast<std::size_t>(k));
#pragma omp for schedule(dynamic, 1)
    for (Index blk = 0; blk < blocks; ++blk) {
      double loss = 0.0;
      const Index i_end = std::min(m, (blk + 1) * kBlockRows);
      for (Index i = blk * kBlockRows; i < i_end; ++i) {
        T* pr = p_row.data();
        T* yr = y_row.data();
        for (Index l = 0; l < r; ++l) pr[l] = p(i, l);
        std::fill(yr, yr + k, T(0));
        const std::int32_t end = outer[i + 1];
        for (std::int32_t s = outer[i]; s < end; ++s) {
          // The gathers (qt_j, and the value through the CSC index) are what
          // this loop waits on: ask for them kPrefetch entries ahead.
          if (static_cast<Index>(s) + kPrefetch < nnz) {
            const Index j_ahead = inner[s + kPrefetch];
            const char* ahead = reinterpret_cast<const char*>(q_all + j_ahead * r);
            for (Index off = 0; off < r * static_cast<Index>(sizeof(T)); off += 64) __builtin_prefetch(ahead + off);
            if (bt) {
              const char* bh = reinterpret_cast<const char*>(b_all + j_ahead * k);
              for (Index off = 0; off < k * static_cast<Index>(sizeof(T)); off += 64) __builtin_prefetch(bh + off);
            }
            if (v.pos) __builtin_prefetch(v.value + v.pos[s + kPrefetch]);
          }
          const Index j = inner[s];
          const T* q = q_all + j * r;
          T dot = 0;
#pragma omp simd reduction(+ : dot)
          for (Index l = 0; l < r; ++l) dot += pr[l] * q[l];
          const T e = v.at(s) - dot;
          loss += static_cast<double>(e) * static_cast<double>(e);
          if (y) {
            const T* b = b_all + j * k;
#pragma omp simd
            for (Index l = 0; l < k; ++l) yr[l] += e * b[l];
          }
        }
        if (y)
          for (Index l = 0; l < k; ++l) (*y)(i, l) = yr[l];
      }
      block_loss[static_cast<std::size_t>(blk)] = loss;
    }
  }
  double total = 0.0;
  for (const double l : block_loss) total += l;
  return 0.5 * total;
}

int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

#define LOWRANK_COMPLETION_DETAIL(T)                                                                            \
  template void check_entries<T>(const ObservedEntries<T>&, std::string_view);                                  \
  template void count_observations<T>(const ObservedEntries<T>&, std::vector<std::int64_t>&,                    \
                                      std::vector<std::int64_t>&);                                              \
  template void note_empty<T>(const std::vector<std::int64_t>&, const std::vector<std::int64_t>&,               \
                              CompletionResult<T>&);                                                            \
  template void fill_normal<T>(Matrix<T>&, std::uint64_t);                                                      \
  template Matrix<T> random_orthonormal<T>(Index, Index, std::uint64_t);                                        \
  template void thin_svd<T>(const Matrix<T>&, Matrix<T>&, Vector<T>&, Matrix<T>&);                              \
  template void thin_svd_in_place<T>(Matrix<T>&, Vector<T>&, Matrix<T>&);                                       \
  template void entries_of_product<T>(const Matrix<T>&, const Matrix<T>&, const std::vector<std::int32_t>&,     \
                                      const std::vector<std::int32_t>&, std::vector<T>&);                       \
  template void product_to_svd<T>(const Matrix<T>&, const Matrix<T>&, Matrix<T>&, Vector<T>&, Matrix<T>&);      \
  template ObservedMatrix<T> take_entries<T>(ObservedEntries<T>&);                                              \
  template void give_back<T>(ObservedMatrix<T>&, ObservedEntries<T>&);                                          \
  template double residual_sweep<T>(const SparseView<T>&, const Matrix<T>&, const Matrix<T>&, const Matrix<T>*, \
                                    Matrix<T>*);
LOWRANK_COMPLETION_DETAIL(float)
LOWRANK_COMPLETION_DETAIL(double)
#undef LOWRANK_COMPLETION_DETAIL

}  // namespace lowrank::completion_detail
