#include "lowrank/completion/robust_pca.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "completion/detail.hpp"
#include "lowrank/completion/solver.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

namespace {

void check_options(const RobustPcaOptions& o) {
  if (o.lambda && !(*o.lambda > 0.0 && std::isfinite(*o.lambda))) {
    throw InvalidArgument("robust_pca: lambda must be > 0 (got " + std::to_string(*o.lambda) + ")");
  }
  if (o.mu && !(*o.mu > 0.0 && std::isfinite(*o.mu))) {
    throw InvalidArgument("robust_pca: mu must be > 0 (got " + std::to_string(*o.mu) + ")");
  }
  if (!(o.rho > 1.0)) throw InvalidArgument("robust_pca: rho must be > 1 (got " + std::to_string(o.rho) + ")");
  if (!(o.mu_max_factor >= 1.0)) {
    throw InvalidArgument("robust_pca: mu_max_factor must be >= 1 (got " + std::to_string(o.mu_max_factor) + ")");
  }
  check_iteration_options("robust_pca", o.tolerance, o.max_iterations);
}

// Inexact ALM on D~ (zeros off Omega); `observed` is empty when everything is
// observed, else m*n flags in column-major order.
template <class T>
RobustPcaResult<T> solve(const Matrix<T>& dt, const std::vector<unsigned char>& observed, std::size_t n_observed,
                         const RobustPcaOptions& o) {
  const Index m = dt.rows(), n = dt.cols();
  const bool full = observed.empty();
  const double norm_two = static_cast<double>(singular_values(dt)(0));
  if (!std::isfinite(norm_two)) throw InvalidArgument("robust_pca: the SVD of the data failed (LAPACK gesdd)");
  if (!(norm_two > 0.0)) throw InvalidArgument("robust_pca: the observed entries are all zero");
  const double frac = static_cast<double>(n_observed) / (static_cast<double>(m) * static_cast<double>(n));
  const double lambda = o.lambda.value_or(1.0 / std::sqrt(frac * static_cast<double>(std::max(m, n))));
  const double norm_inf = static_cast<double>(dt.cwiseAbs().maxCoeff()) / lambda;
  Matrix<T> y = dt / static_cast<T>(std::max(norm_two, norm_inf));
  double mu = o.mu.value_or(1.25 / norm_two);
  const double mu_bar = mu * o.mu_max_factor;
  const double d_norm = static_cast<double>(dt.norm());

  RobustPcaResult<T> r;
  r.lambda = lambda;
  // Dense iterates; the result keeps L as its factors and S as its nonzeros.
  Matrix<T> L = Matrix<T>::Zero(m, n), S = Matrix<T>::Zero(m, n);
  r.model.rows = m;
  r.model.cols = n;
  r.model.U.resize(m, 0);
  r.model.V.resize(n, 0);
  Matrix<T> work(m, n);
  IterationMonitor monitor("robust-pca", o.tolerance, o.max_iterations, o.progress);
  while (true) {
    const T inv_mu = static_cast<T>(1.0 / mu);
    const T thr = static_cast<T>(lambda / mu);
    // S <- shrink(D~ - L + Y/mu) on Omega; unpenalised (no shrink) off Omega.
    work = dt - L + inv_mu * y;
    for (Index c = 0; c < n; ++c) {
      for (Index i = 0; i < m; ++i) {
        const T v = work(i, c);
        const bool obs = full || observed[static_cast<std::size_t>(c * m + i)] != 0;
        S(i, c) = obs ? (v > thr ? v - thr : (v < -thr ? v + thr : T(0))) : v;
      }
    }
    // L <- SVT_{1/mu}(D~ - S + Y/mu)
    work = dt - S + inv_mu * y;
    SvdResult<T> svd = full_svd(work);
    if (svd.status != Status::Success) {
      monitor.step(std::numeric_limits<double>::quiet_NaN(), static_cast<int>(r.rank));
      r.status = Status::NumericalIssue;  // L, S keep the last finite iterate
      break;
    }
    Vector<T>& s = svd.S;
    const Index svp = soft_threshold(s, inv_mu);
    L.noalias() = svd.U.leftCols(svp) * s.head(svp).asDiagonal() * svd.V.leftCols(svp).transpose();
    r.rank = svp;
    r.model.U = svd.U.leftCols(svp);
    r.model.d = s.head(svp);
    r.model.V = svd.V.leftCols(svp);
    // Y <- Y + mu (D~ - L - S)
    work = dt - L - S;
    const double resid = static_cast<double>(work.norm()) / d_norm;
    y += static_cast<T>(mu) * work;
    mu = std::min(mu * o.rho, mu_bar);

    double l1 = 0.0;
    for (Index c = 0; c < n; ++c)
      for (Index i = 0; i < m; ++i)
        if (full || observed[static_cast<std::size_t>(c * m + i)] != 0) l1 += std::abs(static_cast<double>(S(i, c)));
    const double obj = static_cast<double>(s.head(svp).sum()) + lambda * l1;
    r.residual_trace.push_back(resid);
    if (auto stop = monitor.step(obj, static_cast<int>(svp), resid)) {
      r.status = *stop;
      break;
    }
  }
  // The sparse part: S's nonzeros on Omega (off Omega S only absorbed the
  // missing data), row-major so the triplets come out sorted by (row, col).
  for (Index i = 0; i < m; ++i)
    for (Index c = 0; c < n; ++c)
      if (S(i, c) != T(0) && (full || observed[static_cast<std::size_t>(c * m + i)] != 0)) {
        r.model.sparse.row.push_back(static_cast<std::int32_t>(i));
        r.model.sparse.col.push_back(static_cast<std::int32_t>(c));
        r.model.sparse.value.push_back(S(i, c));
      }
  r.iterations = monitor.iterations();
  r.elapsed_s = monitor.elapsed_s();
  r.objective_trace = monitor.take_trace();
  return r;
}

}  // namespace

template <class T>
RobustPcaResult<T> robust_pca(const Matrix<T>& d, const RobustPcaOptions& options) {
  check_options(options);
  if (d.rows() == 0 || d.cols() == 0) throw InvalidArgument("robust_pca: the matrix is empty");
  const Index m = d.rows(), n = d.cols();
  std::vector<unsigned char> observed(static_cast<std::size_t>(m * n), 1);
  std::size_t count = 0;
  Matrix<T> dt(m, n);
  for (Index c = 0; c < n; ++c) {
    for (Index i = 0; i < m; ++i) {
      const T v = d(i, c);
      if (std::isnan(v)) {
        observed[static_cast<std::size_t>(c * m + i)] = 0;
        dt(i, c) = T(0);
      } else if (!std::isfinite(v)) {
        throw InvalidArgument("robust_pca: entry (" + std::to_string(i) + ", " + std::to_string(c) + ") is infinite");
      } else {
        dt(i, c) = v;
        ++count;
      }
    }
  }
  if (count == 0) throw InvalidArgument("robust_pca: every entry is missing (NaN)");
  if (count == observed.size()) observed.clear();
  return solve(dt, observed, count, options);
}

template <class T>
RobustPcaResult<T> robust_pca(const ObservedEntries<T>& d, const RobustPcaOptions& options) {
  check_options(options);
  completion_detail::check_entries(d, "robust_pca");
  const Index m = d.rows, n = d.cols;
  std::vector<unsigned char> observed(static_cast<std::size_t>(m * n), 0);
  Matrix<T> dt = Matrix<T>::Zero(m, n);
  for (std::size_t k = 0; k < d.value.size(); ++k) {
    const auto slot = static_cast<std::size_t>(static_cast<Index>(d.col[k]) * m + d.row[k]);
    if (observed[slot]) {
      throw InvalidArgument("robust_pca: duplicate entry at (row " + std::to_string(d.row[k]) + ", col " +
                            std::to_string(d.col[k]) + ")");
    }
    observed[slot] = 1;
    dt(d.row[k], d.col[k]) = d.value[k];
  }
  const std::size_t count = d.value.size();
  if (count == observed.size()) observed.clear();
  return solve(dt, observed, count, options);
}

template RobustPcaResult<float> robust_pca<float>(const Matrix<float>&, const RobustPcaOptions&);
template RobustPcaResult<double> robust_pca<double>(const Matrix<double>&, const RobustPcaOptions&);
template RobustPcaResult<float> robust_pca<float>(const ObservedEntries<float>&, const RobustPcaOptions&);
template RobustPcaResult<double> robust_pca<double>(const ObservedEntries<double>&, const RobustPcaOptions&);

}  // namespace lowrank
