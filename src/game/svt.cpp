// Singular value thresholding for the GAME solvers.
//
// thin_svd / singular_values_of are small local wrappers over LAPACK gesdd,
// kept in this one file so they can be swapped for lowrank::full_svd /
// lowrank::singular_values without touching the solvers.
#include <lapacke.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "game/detail.hpp"

namespace lowrank::game_detail {

namespace {

template <class T>
lapack_int gesdd(char jobz, lapack_int m, lapack_int n, T* a, lapack_int lda, T* s, T* u, lapack_int ldu, T* vt,
                 lapack_int ldvt) {
  if constexpr (std::is_same_v<T, double>)
    return LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
  else
    return LAPACKE_sgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}

// splitmix64 + Box-Muller: the same Gaussian sketch on every platform.
struct Gaussian {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double operator()() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

template <class T>
Matrix<T> orthonormalize(const Matrix<T>& y) {
  Eigen::HouseholderQR<Matrix<T>> qr(y);
  return qr.householderQ() * Matrix<T>::Identity(y.rows(), y.cols());
}

// Randomized range finder (Halko, Martinsson, Tropp 2011, Alg. 4.4) started
// from the previous right singular vectors, then the SVD of Q^T A.
template <class T>
void randomized_svd(const Matrix<T>& a, Index k, int power, const SvtState<T>& st, Matrix<T>& u, Vector<T>& s,
                    Matrix<T>& v) {
  const Index n = a.cols();
  Matrix<T> omega(n, k);
  Index warm = 0;
  if (st.V.rows() == n) {
    warm = std::min(k, st.V.cols());
    omega.leftCols(warm) = st.V.leftCols(warm);
  }
  Gaussian rng{st.seed};
  for (Index j = warm; j < k; ++j)
    for (Index i = 0; i < n; ++i) omega(i, j) = static_cast<T>(rng());
  Matrix<T> q = orthonormalize<T>(a * omega);
  for (int it = 0; it < power; ++it) {
    Matrix<T> w = orthonormalize<T>(a.transpose() * q);
    q = orthonormalize<T>(a * w);
  }
  Matrix<T> b = q.transpose() * a;  // k x n
  Matrix<T> ub;
  thin_svd(b, ub, s, v);
  u = q * ub;
}

}  // namespace

template <class T>
void thin_svd(const Matrix<T>& a, Matrix<T>& u, Vector<T>& s, Matrix<T>& v) {
  const Index m = a.rows(), n = a.cols(), p = std::min(m, n);
  u.resize(m, p);
  s.resize(p);
  v.resize(n, p);
  if (p == 0) return;
  Matrix<T> work = a;
  Matrix<T> vt(p, n);
  const lapack_int info = gesdd<T>('S', static_cast<lapack_int>(m), static_cast<lapack_int>(n), work.data(),
                                   static_cast<lapack_int>(m), s.data(), u.data(), static_cast<lapack_int>(m),
                                   vt.data(), static_cast<lapack_int>(p));
  if (info != 0) {
    // gesdd's divide and conquer failed to converge (rare): fall back to
    // one-sided Jacobi, slower but unconditionally convergent.
    Eigen::JacobiSVD<Matrix<T>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    u = svd.matrixU();
    s = svd.singularValues();
    v = svd.matrixV();
    return;
  }
  v = vt.transpose();
}

template <class T>
Vector<T> singular_values_of(const Matrix<T>& a) {
  const Index m = a.rows(), n = a.cols(), p = std::min(m, n);
  Vector<T> s(p);
  if (p == 0) return s;
  Matrix<T> work = a;
  T dummy = 0;
  const lapack_int info = gesdd<T>('N', static_cast<lapack_int>(m), static_cast<lapack_int>(n), work.data(),
                                   static_cast<lapack_int>(m), s.data(), &dummy, 1, &dummy, 1);
  if (info != 0) return Eigen::JacobiSVD<Matrix<T>>(a).singularValues();
  return s;
}

template <class T>
double spectral_norm_of(const Matrix<T>& a) {
  if (a.size() == 0) return 0.0;
  return static_cast<double>(singular_values_of(a)(0));
}

template <class T>
LowRank<T> svt(const Matrix<T>& a, double tau, Index max_rank, const GameOptions& options, SvtState<T>& state) {
  const Index g = a.rows(), n = a.cols(), p = std::min(g, n);
  LowRank<T> out;
  out.U.resize(g, 0);
  out.S.resize(0);
  out.V.resize(n, 0);
  if (p == 0) return out;

  Matrix<T> u, v;
  Vector<T> s;
  bool full = options.svd_method == GameSvdMethod::Full ||
              (options.svd_method == GameSvdMethod::Auto && p <= options.full_svd_max_dim);
  if (!full) {
    Index k = std::max<Index>(state.rank_hint + 8, 12);
    if (max_rank > 0) k = std::min(k, max_rank + 1);
    for (;;) {
      if (2 * k >= p) {  // as costly as the exact SVD by now
        full = true;
        break;
      }
      randomized_svd(a, k, options.power_iterations, state, u, s, v);
      ++state.seed;
      // Every singular value above tau is captured once the smallest
      // computed one is at or below it (or the cap is known to bind).
      if (static_cast<double>(s(k - 1)) <= tau || (max_rank > 0 && k > max_rank)) break;
      k *= 2;
    }
  }
  if (full) thin_svd(a, u, s, v);

  Index r = 0;
  while (r < s.size() && static_cast<double>(s(r)) > tau) ++r;
  if (max_rank > 0 && r > max_rank) {
    out.capped = true;
    r = max_rank;
  }
  out.U = u.leftCols(r);
  out.S = (s.head(r).array() - static_cast<T>(tau)).matrix();
  out.V = v.leftCols(r);
  state.rank_hint = r;
  state.V = v.leftCols(std::min<Index>(v.cols(), r + 4));
  return out;
}

template void thin_svd(const Matrix<float>&, Matrix<float>&, Vector<float>&, Matrix<float>&);
template void thin_svd(const Matrix<double>&, Matrix<double>&, Vector<double>&, Matrix<double>&);
template Vector<float> singular_values_of(const Matrix<float>&);
template Vector<double> singular_values_of(const Matrix<double>&);
template double spectral_norm_of(const Matrix<float>&);
template double spectral_norm_of(const Matrix<double>&);
template LowRank<float> svt(const Matrix<float>&, double, Index, const GameOptions&, SvtState<float>&);
template LowRank<double> svt(const Matrix<double>&, double, Index, const GameOptions&, SvtState<double>&);

}  // namespace lowrank::game_detail
