#include "completion/detail.hpp"

#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <Eigen/QR>
#include <algorithm>
#include <exception>
#include <limits>
#include <numbers>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/dense.hpp"

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
  orthonormalize(q);
  const Matrix<T> rr = q.transpose() * a;
  Matrix<T> ur;
  dense_thin_svd(rr, ur, s, v);
  u = q * ur;
}

template <class T>
void thin_svd_in_place(Matrix<T>& a, Vector<T>& s, Matrix<T>& v) {
  Matrix<T> q = a;
  orthonormalize(q);
  const Matrix<T> rr = q.transpose() * a;
  Matrix<T> ur;
  dense_thin_svd(rr, ur, s, v);
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
void product_to_svd(Matrix<T> p, Matrix<T> q, Matrix<T>& u, Vector<T>& d, Matrix<T>& v) {
  // The same arithmetic as QR copies of P and Q, in their own storage, and
  // each thin Q freed once multiplied: at most two m x k blocks at a time
  // (issue 32: at the end of a fit they sit beside the observed entries).
  const Index k = p.cols();
  Eigen::HouseholderQR<Eigen::Ref<Matrix<T>>> qp(p), qq(q);
  Matrix<T> rp = qp.matrixQR().topRows(k).template triangularView<Eigen::Upper>();
  Matrix<T> rq = qq.matrixQR().topRows(k).template triangularView<Eigen::Upper>();
  Matrix<T> core = rp * rq.transpose();  // P Q^T = Qp (Rp Rq^T) Qq^T
  Matrix<T> cu, cv;
  Vector<T> s;
  dense_thin_svd(core, cu, s, cv);
  const T cut = s.size() > 0 ? s(0) * std::numeric_limits<T>::epsilon() * T(k) : T(0);
  Index keep = 0;
  while (keep < s.size() && s(keep) > cut && s(keep) > T(0)) ++keep;
  const auto side = [&](const Eigen::HouseholderQR<Eigen::Ref<Matrix<T>>>& qr, Matrix<T>& factor, const Matrix<T>& c,
                        Matrix<T>& out) {
    Matrix<T> thin = qr.householderQ() * Matrix<T>::Identity(factor.rows(), k);
    factor = Matrix<T>();  // the Householder vectors are no longer needed
    out.noalias() = thin * c.leftCols(keep);
  };
  side(qp, p, cu, u);
  side(qq, q, cv, v);
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
  // The column offsets (the column sweeps build a chunk's CSC from the CSR
  // when they run); e.row's array is freed, not kept as a second index.
  x.col_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
  std::int32_t* cptr = x.col_ptr.data();
  for (std::size_t k = 0; k < nnz; ++k) ++cptr[col[k] + 1];
  for (Index j = 0; j < n; ++j) cptr[j + 1] += cptr[j];
  std::vector<std::int32_t>().swap(e.row);
  x.col = std::move(e.col);
  x.value = std::move(e.value);
  e.col.clear();
  e.value.clear();
  return x;
}

template <class T>
void give_back(ObservedMatrix<T>& x, ObservedEntries<T>& e) {
  std::vector<std::int32_t>().swap(x.col_ptr);
  e.row.assign(x.value.size(), 0);
  for (Index i = 0; i < x.rows; ++i)
    std::fill(e.row.begin() + x.row_ptr[static_cast<std::size_t>(i)],
              e.row.begin() + x.row_ptr[static_cast<std::size_t>(i) + 1], static_cast<std::int32_t>(i));
  e.col = std::move(x.col);
  e.value = std::move(x.value);
  std::vector<std::int32_t>().swap(x.row_ptr);
  x.col.clear();
  x.value.clear();
}

template <class T>
void for_each_column_chunk(const ObservedMatrix<T>& x, Index align, int threads,
                           const std::function<void(const SparseView<T>&)>& fn, Index chunk_entries) {
  const Index n = x.cols, m = x.rows;
  if (n == 0) return;
  align = std::max<Index>(align, 1);
  const std::int32_t* cptr = x.col_ptr.data();
  const std::int32_t* rptr = x.row_ptr.data();
  const std::int32_t* col = x.col.data();
  const T* val = x.value.data();
  // A sixteenth of the entries per chunk: the scratch (4 + sizeof(T) bytes
  // per entry of the chunk) stays under 1 byte per entry of the matrix,
  // while each chunk's one binary search per row stays small next to its
  // entries' work.
  const Index target = chunk_entries > 0 ? chunk_entries : std::max<Index>(x.nnz() / 16, Index(1) << 18);
  std::vector<std::int32_t> rows_of;
  std::vector<T> values_of;
  std::vector<std::int32_t> next;
  const int team = thread_count(threads);
  for (Index c0 = 0; c0 < n;) {
    Index c1 = std::min(n, c0 + align);
    while (c1 < n && cptr[c1] - cptr[c0] < target) c1 = std::min(n, c1 + align);
    const Index base = cptr[c0];
    const Index size = cptr[c1] - base;
    rows_of.resize(static_cast<std::size_t>(size));
    values_of.resize(static_cast<std::size_t>(size));
    next.assign(cptr + c0, cptr + c1);
    // Each part of the chunk's columns scans every row once (a binary search
    // for where the part starts in the row's sorted columns), so the parts
    // write disjoint slots and each column's rows come out increasing.
    const int parts = size > 100000 ? team : 1;
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int part = 0; part < parts; ++part) {
      const Index lo = c0 + (c1 - c0) * part / parts, hi = c0 + (c1 - c0) * (part + 1) / parts;
      if (lo == hi) continue;
      for (Index i = 0; i < m; ++i) {
        const std::int32_t* b = col + rptr[i];
        const std::int32_t* e = col + rptr[i + 1];
        if (b == e || *(e - 1) < lo || *b >= hi) continue;
        for (const std::int32_t* p = *b >= lo ? b : std::lower_bound(b, e, static_cast<std::int32_t>(lo));
             p != e && *p < hi; ++p) {
          const std::int32_t q = next[static_cast<std::size_t>(*p - c0)]++ - static_cast<std::int32_t>(base);
          rows_of[static_cast<std::size_t>(q)] = static_cast<std::int32_t>(i);
          values_of[static_cast<std::size_t>(q)] = val[p - col];
        }
      }
    }
    fn(SparseView<T>{n, m, cptr, rows_of.data(), values_of.data(), c0, c1, base});
    c0 = c1;
  }
}

namespace {

// residual_sweep over the rows [v.first, v.last) of v (whole blocks of
// sweep_block_rows(v.count)), the loss of block b written to block_loss[b].
template <class T>
void residual_sweep_blocks(const SparseView<T>& v, const Matrix<T>& p, const Matrix<T>& qt, const Matrix<T>* bt,
                           Matrix<T>* y, double* block_loss) {
  const Index r = p.cols();
  const Matrix<T>& bm = bt ? *bt : qt;
  const Index k = bm.rows();
  const std::int32_t* outer = v.outer;
  const T* q_all = qt.data();
  const T* b_all = bm.data();
  const Index kBlockRows = sweep_block_rows(v.count);
  constexpr Index kPrefetch = 8;
  const Index stop = outer[v.last];
  const Index block_lo = v.first / kBlockRows, block_hi = (v.last + kBlockRows - 1) / kBlockRows;
#pragma omp parallel if ((stop - outer[v.first]) * std::max <Index>(r + (y ? k : 0), 1) > 200000)
  {
    // Row i of p and of y, contiguous: p and y stay m x r column-major (no
    // transposed copies of the tall factors); only the gathered side is
    // transposed.
    std::vector<T> p_row(static_cast<std::size_t>(r)), y_row(static_cast<std::size_t>(k));
#pragma omp for schedule(dynamic, 1)
    for (Index blk = block_lo; blk < block_hi; ++blk) {
      double loss = 0.0;
      const Index i_end = std::min(v.last, (blk + 1) * kBlockRows);
      for (Index i = std::max(v.first, blk * kBlockRows); i < i_end; ++i) {
        T* pr = p_row.data();
        T* yr = y_row.data();
        for (Index l = 0; l < r; ++l) pr[l] = p(i, l);
        std::fill(yr, yr + k, T(0));
        const Index end = outer[i + 1];
        for (Index s = outer[i]; s < end; ++s) {
          // The gather of qt_j (and bt_j) is what this loop waits on: ask
          // for it kPrefetch entries ahead.
          if (s + kPrefetch < stop) {
            const Index j_ahead = v.index(s + kPrefetch);
            const char* ahead = reinterpret_cast<const char*>(q_all + j_ahead * r);
            for (Index off = 0; off < r * static_cast<Index>(sizeof(T)); off += 64) __builtin_prefetch(ahead + off);
            if (bt) {
              const char* bh = reinterpret_cast<const char*>(b_all + j_ahead * k);
              for (Index off = 0; off < k * static_cast<Index>(sizeof(T)); off += 64) __builtin_prefetch(bh + off);
            }
          }
          const Index j = v.index(s);
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
      block_loss[blk] = loss;
    }
  }
}

template <class T>
void check_sweep_shapes(Index count, Index other, const Matrix<T>& p, const Matrix<T>& qt, const Matrix<T>* bt) {
  const Matrix<T>& bm = bt ? *bt : qt;
  if (p.rows() != count || qt.cols() != other || qt.rows() != p.cols() || bm.cols() != other)
    throw InvalidArgument("residual_sweep: factor shapes do not match the sparse matrix");
}

}  // namespace

template <class T>
double residual_sweep(const SparseView<T>& v, const Matrix<T>& p, const Matrix<T>& qt,
                      const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y) {
  check_sweep_shapes(v.count, v.other, p, qt, bt);
  if (y) y->resize(v.count, bt ? bt->rows() : qt.rows());
  std::vector<double> block_loss(static_cast<std::size_t>((v.count + sweep_block_rows(v.count) - 1) /
                                                          sweep_block_rows(v.count)),
                                 0.0);
  residual_sweep_blocks(v, p, qt, bt, y, block_loss.data());
  double total = 0.0;
  for (const double l : block_loss) total += l;
  return 0.5 * total;
}

template <class T>
double residual_sweep_by_cols(const ObservedMatrix<T>& x, const Matrix<T>& p, const Matrix<T>& qt,
                              const std::type_identity_t<Matrix<T>>* bt, std::type_identity_t<Matrix<T>>* y,
                              Index chunk_entries) {
  check_sweep_shapes(x.cols, x.rows, p, qt, bt);
  if (y) y->resize(x.cols, bt ? bt->rows() : qt.rows());
  const Index rows_per_block = sweep_block_rows(x.cols);
  std::vector<double> block_loss(static_cast<std::size_t>((x.cols + rows_per_block - 1) / rows_per_block), 0.0);
  // Chunks aligned to the blocks: every block's loss is the same sum as over
  // a whole CSC, and the blocks are added in the same order.
  for_each_column_chunk<T>(
      x, rows_per_block, 0, [&](const SparseView<T>& v) { residual_sweep_blocks(v, p, qt, bt, y, block_loss.data()); },
      chunk_entries);
  double total = 0.0;
  for (const double l : block_loss) total += l;
  return 0.5 * total;
}

template <class U, class T>
void convert_releasing(std::vector<T>& from, std::vector<U>& to) {
  const std::size_t n = from.size();
  to.clear();
  to.reserve(n);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(from.data());
  std::uintptr_t released = (start + page - 1) / page * page;  // the first whole page
  constexpr std::size_t kChunk = std::size_t{1} << 18;
  for (std::size_t lo = 0; lo < n; lo += kChunk) {
    const std::size_t hi = std::min(n, lo + kChunk);
    to.insert(to.end(), from.begin() + static_cast<std::ptrdiff_t>(lo), from.begin() + static_cast<std::ptrdiff_t>(hi));
    // Whole pages of from[0, hi) only: the allocator's headers lie outside
    // them, and nothing reads these elements again before the free below.
    const std::uintptr_t upto = (start + hi * sizeof(T)) / page * page;
    if (upto > released) {
      ::madvise(reinterpret_cast<void*>(released), upto - released, MADV_DONTNEED);
      released = upto;
    }
  }
  std::vector<T>().swap(from);
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
  template void product_to_svd<T>(Matrix<T>, Matrix<T>, Matrix<T>&, Vector<T>&, Matrix<T>&);                    \
  template ObservedMatrix<T> take_entries<T>(ObservedEntries<T>&);                                              \
  template void give_back<T>(ObservedMatrix<T>&, ObservedEntries<T>&);                                          \
  template void for_each_column_chunk<T>(const ObservedMatrix<T>&, Index, int,                                  \
                                         const std::function<void(const SparseView<T>&)>&, Index);              \
  template double residual_sweep<T>(const SparseView<T>&, const Matrix<T>&, const Matrix<T>&, const Matrix<T>*, \
                                    Matrix<T>*);                                                                \
  template double residual_sweep_by_cols<T>(const ObservedMatrix<T>&, const Matrix<T>&, const Matrix<T>&,       \
                                            const Matrix<T>*, Matrix<T>*, Index);
LOWRANK_COMPLETION_DETAIL(float)
LOWRANK_COMPLETION_DETAIL(double)
template void convert_releasing<float, double>(std::vector<double>&, std::vector<float>&);
template void convert_releasing<double, float>(std::vector<float>&, std::vector<double>&);
template void convert_releasing<float, float>(std::vector<float>&, std::vector<float>&);
template void convert_releasing<double, double>(std::vector<double>&, std::vector<double>&);
#undef LOWRANK_COMPLETION_DETAIL

}  // namespace lowrank::completion_detail
