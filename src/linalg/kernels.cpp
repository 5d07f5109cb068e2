#include "lowrank/linalg/detail/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <vector>

#include <string>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

// lapack.h defaults to C99 `float _Complex`; give it the C++ type instead.
#define lapack_complex_float std::complex<float>
#define lapack_complex_double std::complex<double>
#include <lapacke.h>
#include <omp.h>

#include "lowrank/core/error.hpp"

// The public pieces (lowrank/linalg/dense.hpp) are defined in namespace
// lowrank, the internal ones (detail/kernels.hpp) in lowrank::detail.
namespace lowrank {

// ---- random numbers -----------------------------------------------------------

template <class T>
void fill_gaussian(Matrix<T>& out, std::uint64_t seed) {
  detail::Xoshiro256 rng(seed);
  T* p = out.data();
  const Index n = out.size();
  for (Index i = 0; i < n; i += 2) {
    // Box-Muller: (r cos t, r sin t) with r = sqrt(-2 log u1), t = 2 pi u2.
    const double r = std::sqrt(-2.0 * std::log(rng.uniform_open0()));
    const double t = 2.0 * std::numbers::pi * rng.uniform_open0();
    p[i] = static_cast<T>(r * std::cos(t));
    if (i + 1 < n) p[i + 1] = static_cast<T>(r * std::sin(t));
  }
}

}  // namespace lowrank

namespace lowrank::detail {

// ---- LAPACK wrappers ------------------------------------------------------------

namespace {
lapack_int geqrf(lapack_int m, lapack_int n, float* a, lapack_int lda, float* tau) {
  return LAPACKE_sgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
}
lapack_int geqrf(lapack_int m, lapack_int n, double* a, lapack_int lda, double* tau) {
  return LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
}
lapack_int orgqr(lapack_int m, lapack_int n, float* a, lapack_int lda, const float* tau) {
  return LAPACKE_sorgqr(LAPACK_COL_MAJOR, m, n, n, a, lda, tau);
}
lapack_int orgqr(lapack_int m, lapack_int n, double* a, lapack_int lda, const double* tau) {
  return LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, n, a, lda, tau);
}
lapack_int syevd_call(lapack_int n, float* a, float* w) {
  return LAPACKE_ssyevd(LAPACK_COL_MAJOR, 'V', 'L', n, a, n, w);
}
lapack_int syevd_call(lapack_int n, double* a, double* w) {
  return LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, a, n, w);
}
lapack_int gesdd_call(char jobz, lapack_int m, lapack_int n, float* a, float* s, float* u, lapack_int ldu, float* vt,
                      lapack_int ldvt) {
  return LAPACKE_sgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt);
}
lapack_int gesdd_call(char jobz, lapack_int m, lapack_int n, double* a, double* s, double* u, lapack_int ldu,
                      double* vt, lapack_int ldvt) {
  return LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt);
}
}  // namespace

template <class T>
void householder_orthonormalize(Matrix<T>& y) {
  const auto m = static_cast<lapack_int>(y.rows());
  const auto n = static_cast<lapack_int>(y.cols());
  if (n == 0) return;
  // More columns than rows has no orthonormal basis; LAPACK would print
  // "illegal value" to stdout and return garbage.
  if (m < n)
    throw InvalidArgument("orthonormalize: " + std::to_string(n) + " columns of length " + std::to_string(m) +
                          " cannot be orthonormal");
  std::vector<T> tau(static_cast<std::size_t>(n));
  geqrf(m, n, y.data(), m, tau.data());
  orgqr(m, n, y.data(), m, tau.data());
}

template <class T>
void householder_qr(Matrix<T>& y, Matrix<T>& r) {
  const auto m = static_cast<lapack_int>(y.rows());
  const auto n = static_cast<lapack_int>(y.cols());
  r.setZero(n, n);
  if (n == 0) return;
  if (m < n)
    throw InvalidArgument("householder_qr: " + std::to_string(n) + " columns of length " + std::to_string(m) +
                          " cannot be orthonormal");
  std::vector<T> tau(static_cast<std::size_t>(n));
  geqrf(m, n, y.data(), m, tau.data());
  r = y.topRows(n).template triangularView<Eigen::Upper>();
  orgqr(m, n, y.data(), m, tau.data());
}

template <class T>
bool cholesky_qr2(Matrix<T>& y, Matrix<T>* r_out) {
  const Index b = y.cols();
  Matrix<T> g = Matrix<T>::Zero(b, b);
  g.template selfadjointView<Eigen::Lower>().rankUpdate(y.transpose());  // G = Y^T Y (syrk)
  // One CholeskyQR pass leaves ||Q^T Q - I|| ~ kappa(Y)^2 eps, so the second
  // pass restores orthogonality to O(eps) only while kappa(Y)^2 eps is well
  // below 1 (Yamamoto et al. 2015). kappa(Y)^2 = lambda_max / lambda_min of G.
  const Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(g, Eigen::EigenvaluesOnly);
  const T lmin = eig.eigenvalues()(0);
  const T lmax = eig.eigenvalues()(b - 1);
  if (!(lmax > 0) || !(lmin > lmax * T(1000) * std::numeric_limits<T>::epsilon())) return false;
  if (r_out != nullptr) r_out->setIdentity(b, b);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      g.setZero();
      g.template selfadjointView<Eigen::Lower>().rankUpdate(y.transpose());
    }
    const Eigen::LLT<Matrix<T>> llt(g);  // G = R^T R
    if (llt.info() != Eigen::Success) return false;
    llt.matrixU().template solveInPlace<Eigen::OnTheRight>(y);         // Y <- Y R^{-1}
    if (r_out != nullptr) *r_out = (llt.matrixU() * (*r_out)).eval();  // R = R2 R1
  }
  return true;
}

}  // namespace lowrank::detail

namespace lowrank {

template <class T>
void orthonormalize(Matrix<T>& y) {
  if (y.cols() == 0) return;
  // CholeskyQR2 first: on tall blocks it is several times faster than LAPACK's
  // geqrf + orgqr and Eigen's HouseholderQR (docs/benchmarks.md, "Measurements
  // behind code choices"). Householder is the fallback for ill-conditioned
  // blocks, where CholeskyQR would lose the span.
  if (y.rows() >= y.cols() && detail::cholesky_qr2(y)) return;
  detail::householder_orthonormalize(y);
}

}  // namespace lowrank

namespace lowrank::detail {

template <class T>
int gesdd(Matrix<T>& a, Vector<T>& s, Matrix<T>* u, Matrix<T>* vt) {
  const auto m = static_cast<lapack_int>(a.rows());
  const auto n = static_cast<lapack_int>(a.cols());
  const lapack_int r = std::min(m, n);
  s.resize(r);
  if (r == 0) {
    if (u) u->resize(m, 0);
    if (vt) vt->resize(0, n);
    return 0;
  }
  if (u == nullptr || vt == nullptr) {
    T dummy_u = 0, dummy_vt = 0;
    return gesdd_call('N', m, n, a.data(), s.data(), &dummy_u, 1, &dummy_vt, 1);
  }
  u->resize(m, r);
  vt->resize(r, n);
  return gesdd_call('S', m, n, a.data(), s.data(), u->data(), m, vt->data(), r);
}

}  // namespace lowrank::detail

namespace lowrank {

template <class T>
void dense_thin_svd(const Eigen::Ref<const Matrix<std::type_identity_t<T>>>& a, Matrix<T>& u, Vector<T>& s,
                    Matrix<T>& v) {
  const Index p = std::min(a.rows(), a.cols());
  if (p == 0) {
    u.resize(a.rows(), 0);
    s.resize(0);
    v.resize(a.cols(), 0);
    return;
  }
  Matrix<T> work = a;
  Matrix<T> vt;
  if (detail::gesdd(work, s, &u, &vt) != 0) {
    Eigen::JacobiSVD<Matrix<T>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    u = svd.matrixU();
    s = svd.singularValues();
    v = svd.matrixV();
    return;
  }
  v = vt.transpose();
}

template <class T>
int symmetric_eigen(Matrix<T>& a, Vector<T>& w) {
  const auto n = static_cast<lapack_int>(a.rows());
  w.resize(n);
  if (n == 0) return 0;
  return detail::syevd_call(n, a.data(), w.data());
}

template <class T>
bool gram_svd(const Eigen::Ref<const Matrix<std::type_identity_t<T>>>& a, double min_sigma, Matrix<T>& u, Vector<T>& s,
              Matrix<T>& v, double accuracy) {
  const bool wide = a.rows() <= a.cols();
  const Index p = std::min(a.rows(), a.cols());
  if (p == 0 || !(min_sigma > 0)) return false;
  Matrix<T> gram = Matrix<T>::Zero(p, p);
  if (wide) gram.template selfadjointView<Eigen::Lower>().rankUpdate(a);         // A A^T (syrk)
  else gram.template selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());  // A^T A
  Vector<T> w;
  if (symmetric_eigen(gram, w) != 0 || !w.allFinite()) return false;
  const double top = static_cast<double>(w(p - 1));
  if (!(top > 0) || min_sigma * min_sigma < gram_accurate_sigma2<T>(top, accuracy)) return false;
  Index r = 0;
  while (r < p && static_cast<double>(w(p - 1 - r)) >= min_sigma * min_sigma) ++r;
  s.resize(r);
  Matrix<T> side(p, r);  // eigenvectors of the short side, decreasing order
  for (Index i = 0; i < r; ++i) {
    s(i) = std::sqrt(w(p - 1 - i));
    side.col(i) = gram.col(p - 1 - i);
  }
  // the long side's vectors: A^T u_i / sigma_i (or A v_i / sigma_i)
  Matrix<T> other;
  if (wide) other.noalias() = a.transpose() * side;
  else other.noalias() = a * side;
  for (Index i = 0; i < r; ++i) other.col(i) /= s(i);
  if (wide) {
    u = std::move(side);
    v = std::move(other);
  } else {
    v = std::move(side);
    u = std::move(other);
  }
  return true;
}

template <class T>
Vector<T> dense_singular_values(const Matrix<T>& a) {
  Vector<T> s;
  if (std::min(a.rows(), a.cols()) == 0) return s;
  Matrix<T> work = a;
  if (detail::gesdd<T>(work, s, nullptr, nullptr) != 0) return Eigen::JacobiSVD<Matrix<T>>(a).singularValues();
  return s;
}

}  // namespace lowrank

namespace lowrank::detail {

// ---- sparse * dense block ---------------------------------------------------------

template <class T>
void csr_times_dense(const SparseCsr<T>& a, const Matrix<T>& x, Matrix<T>& y) {
  const Index m = a.rows();
  const Index n = a.cols();
  const Index b = x.cols();
  y.resize(m, b);
  // Column tiles of x small enough to stay in cache while rows of a gather
  // from them at random; each tile is copied row-major so a nonzero a_ij reads
  // one contiguous stretch x_j,tile.
  // The tiles pay for A x with a wide x (docs/benchmarks.md, "Measurements
  // behind code choices"); for A^T x, x is tall, tiles hold only a few columns
  // and Eigen's column sweep is as fast.
  constexpr Index kTileBytes = Index{8} << 20;
  const Index tile = std::clamp<Index>(kTileBytes / static_cast<Index>(sizeof(T)) / std::max<Index>(n, 1), 1, b);
  if (tile < 16) {
    y.noalias() = a * x;  // b SpMVs, each row-parallel
    return;
  }
  const std::int32_t* outer = a.outerIndexPtr();
  const std::int32_t* inner = a.innerIndexPtr();
  const T* val = a.valuePtr();
  RowMajorMatrix<T> xr;
  for (Index c0 = 0; c0 < b; c0 += tile) {
    const Index w = std::min(tile, b - c0);
    xr = x.middleCols(c0, w);
#pragma omp parallel if (a.nonZeros() * w > 200000)
    {
      Eigen::Matrix<T, 1, Eigen::Dynamic> acc(w);
#pragma omp for schedule(dynamic, 256)
      for (Index i = 0; i < m; ++i) {
        acc.setZero();
        for (std::int32_t p = outer[i]; p < outer[i + 1]; ++p) {
          acc.noalias() += val[p] * xr.row(inner[p]);
        }
        y.row(i).segment(c0, w) = acc;  // y_i,tile = sum_j a_ij x_j,tile
      }
    }
  }
}

// ---- fused residual sweep (factored soft-impute and ALS) ----------------------

template <class T>
double csr_residual_times_factor(const SparseCsr<T>& a, const Matrix<T>& pt, const Matrix<T>& qt, Matrix<T>* yt) {
  const Index m = a.rows();
  const Index r = pt.rows();
  if (pt.cols() != m || qt.cols() != a.cols() || qt.rows() != r) {
    throw InvalidArgument("csr_residual_times_factor: factor shapes do not match the sparse matrix");
  }
  if (yt) yt->resize(r, m);
  const std::int32_t* outer = a.outerIndexPtr();
  const std::int32_t* inner = a.innerIndexPtr();
  const T* val = a.valuePtr();
  const T* p_all = pt.data();
  const T* q_all = qt.data();
  T* y_all = yt ? yt->data() : nullptr;
  // Row blocks fixed by m alone (not by the thread count), so the loss sum
  // does not depend on the threads; at least 64 of them so that small
  // matrices (MovieLens: 943 rows) still spread over the threads.
  const Index kBlockRows = std::clamp<Index>((m + 63) / 64, 16, 512);
  constexpr Index kPrefetch = 8;
  const Index nnz = a.nonZeros();
  const Index row_bytes = r * static_cast<Index>(sizeof(T));
  const Index blocks = (m + kBlockRows - 1) / kBlockRows;
  std::vector<double> block_loss(static_cast<std::size_t>(blocks), 0.0);
#pragma omp parallel for schedule(dynamic, 1) if (a.nonZeros() * std::max <Index>(r, 1) > 200000)
  for (Index blk = 0; blk < blocks; ++blk) {
    double loss = 0.0;
    const Index i_end = std::min(m, (blk + 1) * kBlockRows);
    for (Index i = blk * kBlockRows; i < i_end; ++i) {
      const T* p = p_all + i * r;
      T* y = y_all ? y_all + i * r : nullptr;
      if (y) std::fill(y, y + r, T(0));
      for (std::int32_t k = outer[i]; k < outer[i + 1]; ++k) {
        // The gathers of qt_j are what this loop waits on (q is tens of MB
        // on large problems): ask for the row kPrefetch entries ahead.
        if (static_cast<Index>(k) + kPrefetch < nnz) {
          const Index j_ahead = inner[static_cast<Index>(k) + kPrefetch];
          const char* ahead = reinterpret_cast<const char*>(q_all + j_ahead * r);
          for (Index off = 0; off < row_bytes; off += 64) __builtin_prefetch(ahead + off);
        }
        const T* q = q_all + static_cast<Index>(inner[k]) * r;
        T dot = 0;
#pragma omp simd reduction(+ : dot)
        for (Index l = 0; l < r; ++l) dot += p[l] * q[l];
        const T e = val[k] - dot;
        loss += static_cast<double>(e) * static_cast<double>(e);
        if (y) {
#pragma omp simd
          for (Index l = 0; l < r; ++l) y[l] += e * q[l];
        }
      }
    }
    block_loss[static_cast<std::size_t>(blk)] = loss;
  }
  double total = 0.0;
  for (const double l : block_loss) total += l;
  return 0.5 * total;
}

// ---- Gram products for Lanczos ------------------------------------------------------

template <class T>
void csr_gram_times_vector(const SparseCsr<T>& b, const T* x, T* y, std::vector<Vector<T>>& workspace) {
  const Index r = b.rows();
  const Index c = b.cols();
  const std::int32_t* outer = b.outerIndexPtr();
  const std::int32_t* inner = b.innerIndexPtr();
  const T* val = b.valuePtr();
  // y = sum_i (b_i . x) b_i over the rows in [lo, hi). Rows go in pairs so
  // the two gathers overlap their cache misses (docs/benchmarks.md,
  // "Measurements behind code choices"); the order of the sums is fixed either way.
  const auto sweep = [&](Index lo, Index hi, T* acc) {
    const auto dot = [&](Index i) {
      T t = 0;
      for (std::int32_t p = outer[i]; p < outer[i + 1]; ++p) t += val[p] * x[inner[p]];
      return t;
    };
    const auto scatter = [&](Index i, T t) {
      for (std::int32_t p = outer[i]; p < outer[i + 1]; ++p) acc[inner[p]] += t * val[p];
    };
    Index i = lo;
    for (; i + 1 < hi; i += 2) {
      const T t0 = dot(i);
      const T t1 = dot(i + 1);
      scatter(i, t0);
      scatter(i + 1, t1);
    }
    if (i < hi) scatter(i, dot(i));
  };
  Eigen::Map<Vector<T>> out(y, c);
  // Inside an outer parallel region (e.g. a path's loop over folds) the team
  // would have one thread while omp_get_max_threads() still says more: run
  // serially there rather than sum accumulators no thread wrote.
  // Below ~1M nonzeros a product takes under ~3 ms on one core, and a Lanczos
  // run makes hundreds: a parallel region per product then costs more than it
  // saves whenever the machine is shared (a descheduled team member stalls
  // the join by a time slice). MovieLens-100k (1e5 nonzeros, k = 20) through
  // Python, 2 threads, load ~12: 0.36-1.1 s with threads from 50000
  // nonzeros, against 0.08 s serial (scipy svds 0.12 s).
  const int threads = b.nonZeros() >= (Index{1} << 20) && !omp_in_parallel() ? omp_get_max_threads() : 1;
  if (threads == 1) {
    out.setZero();
    sweep(0, r, y);
    return;
  }
  // Thread-private accumulators, kept across calls (a Lanczos run makes
  // hundreds), added in thread order so the result does not depend on timing.
  workspace.resize(static_cast<std::size_t>(threads));
  int team = 1;  // the team OpenMP gave, which may be smaller than asked
#pragma omp parallel num_threads(threads)
  {
    const int id = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    if (id == 0) team = nt;
    Vector<T>& acc = workspace[static_cast<std::size_t>(id)];
    acc.setZero(c);
    sweep(r * id / nt, r * (id + 1) / nt, acc.data());
  }
  out = workspace[0];
  for (int t = 1; t < team; ++t) out += workspace[static_cast<std::size_t>(t)];
}

#define LOWRANK_INSTANTIATE(T)                                                                        \
  template void householder_orthonormalize<T>(Matrix<T>&);                                            \
  template bool cholesky_qr2<T>(Matrix<T>&, Matrix<T>*);                                              \
  template void householder_qr<T>(Matrix<T>&, Matrix<T>&);                                            \
  template int gesdd<T>(Matrix<T>&, Vector<T>&, Matrix<T>*, Matrix<T>*);                              \
  template void csr_times_dense<T>(const SparseCsr<T>&, const Matrix<T>&, Matrix<T>&);                \
  template void csr_gram_times_vector<T>(const SparseCsr<T>&, const T*, T*, std::vector<Vector<T>>&); \
  template double csr_residual_times_factor<T>(const SparseCsr<T>&, const Matrix<T>&, const Matrix<T>&, Matrix<T>*);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank::detail

namespace lowrank {

#define LOWRANK_INSTANTIATE(T)                                                                             \
  template void fill_gaussian<T>(Matrix<T>&, std::uint64_t);                                               \
  template void orthonormalize<T>(Matrix<T>&);                                                             \
  template void dense_thin_svd<T>(const Eigen::Ref<const Matrix<T>>&, Matrix<T>&, Vector<T>&, Matrix<T>&); \
  template Vector<T> dense_singular_values<T>(const Matrix<T>&);                                           \
  template int symmetric_eigen<T>(Matrix<T>&, Vector<T>&);                                                 \
  template bool gram_svd<T>(const Eigen::Ref<const Matrix<T>>&, double, Matrix<T>&, Vector<T>&, Matrix<T>&, double);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
