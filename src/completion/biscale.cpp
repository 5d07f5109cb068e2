#include "lowrank/completion/biscale.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "completion/detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank {

template <class T>
ObservedEntries<T> BiScale<T>::transform(const ObservedEntries<T>& x) const {
  if (x.rows != row_center.size() || x.cols != col_center.size()) {
    throw InvalidArgument("BiScale::transform: entries are " + std::to_string(x.rows) + " x " + std::to_string(x.cols) +
                          " but the scaling was fitted on " + std::to_string(row_center.size()) + " x " +
                          std::to_string(col_center.size()));
  }
  ObservedEntries<T> out = x;
  for (std::size_t k = 0; k < x.value.size(); ++k) out.value[k] = forward(x.row[k], x.col[k], x.value[k]);
  return out;
}

template <class T>
BiScale<T> fit_biscale(const ObservedEntries<T>& x, const BiScaleOptions& options) {
  completion_detail::check_entries(x, "biScale");
  if (options.max_iterations < 1) {
    throw InvalidArgument("biScale: max_iterations must be >= 1 (got " + std::to_string(options.max_iterations) + ")");
  }
  if (!(options.tolerance >= 0.0)) {
    throw InvalidArgument("biScale: tolerance must be >= 0 (got " + std::to_string(options.tolerance) + ")");
  }
  const std::size_t m = static_cast<std::size_t>(x.rows), n = static_cast<std::size_t>(x.cols);
  const std::size_t nnz = x.value.size();
  // Parameters in double whatever T is; the sweeps are O(|Omega|) each.
  std::vector<double> alpha(m, 0.0), beta(n, 0.0), tau(m, 1.0), gamma(n, 1.0);
  std::vector<double> z(nnz);
  std::vector<double> row_acc(m), col_acc(n), row_den(m), col_den(n);
  std::vector<double> row_cnt(m, 0.0), col_cnt(n, 0.0);
  for (std::size_t k = 0; k < nnz; ++k) {
    row_cnt[static_cast<std::size_t>(x.row[k])] += 1.0;
    col_cnt[static_cast<std::size_t>(x.col[k])] += 1.0;
  }
  auto standardise = [&] {
    for (std::size_t k = 0; k < nnz; ++k) {
      const auto i = static_cast<std::size_t>(x.row[k]), j = static_cast<std::size_t>(x.col[k]);
      z[k] = (static_cast<double>(x.value[k]) - alpha[i] - beta[j]) / (tau[i] * gamma[j]);
    }
  };
  standardise();

  BiScale<T> out;
  double crit = 1.0;
  int iter = 0;
  while (crit > options.tolerance && iter < options.max_iterations) {
    ++iter;
    crit = 0.0;
    if (options.col_center) {
      std::fill(col_acc.begin(), col_acc.end(), 0.0);
      std::fill(col_den.begin(), col_den.end(), 0.0);
      for (std::size_t k = 0; k < nnz; ++k) {
        const auto i = static_cast<std::size_t>(x.row[k]), j = static_cast<std::size_t>(x.col[k]);
        col_acc[j] += z[k];
        col_den[j] += 1.0 / tau[i];
      }
      for (std::size_t j = 0; j < n; ++j) {
        const double db = col_den[j] > 0.0 ? gamma[j] * col_acc[j] / col_den[j] : 0.0;
        beta[j] += db;
        crit += db * db;
      }
      standardise();
    }
    if (options.row_center) {
      std::fill(row_acc.begin(), row_acc.end(), 0.0);
      std::fill(row_den.begin(), row_den.end(), 0.0);
      for (std::size_t k = 0; k < nnz; ++k) {
        const auto i = static_cast<std::size_t>(x.row[k]), j = static_cast<std::size_t>(x.col[k]);
        row_acc[i] += z[k];
        row_den[i] += 1.0 / gamma[j];
      }
      for (std::size_t i = 0; i < m; ++i) {
        const double da = row_den[i] > 0.0 ? tau[i] * row_acc[i] / row_den[i] : 0.0;
        alpha[i] += da;
        crit += da * da;
      }
      standardise();
    }
    if (options.col_scale) {
      std::fill(col_acc.begin(), col_acc.end(), 0.0);
      for (std::size_t k = 0; k < nnz; ++k) col_acc[static_cast<std::size_t>(x.col[k])] += z[k] * z[k];
      for (std::size_t j = 0; j < n; ++j) {
        const double dg = col_cnt[j] > 0.0 ? std::sqrt(col_acc[j] / col_cnt[j]) : 1.0;
        if (dg > 0.0 && std::isfinite(dg)) {  // all-zero column: keep its scale
          gamma[j] *= dg;
          crit += std::log(dg) * std::log(dg);
        }
      }
      standardise();
    }
    if (options.row_scale) {
      std::fill(row_acc.begin(), row_acc.end(), 0.0);
      for (std::size_t k = 0; k < nnz; ++k) row_acc[static_cast<std::size_t>(x.row[k])] += z[k] * z[k];
      for (std::size_t i = 0; i < m; ++i) {
        const double dt = row_cnt[i] > 0.0 ? std::sqrt(row_acc[i] / row_cnt[i]) : 1.0;
        if (dt > 0.0 && std::isfinite(dt)) {
          tau[i] *= dt;
          crit += std::log(dt) * std::log(dt);
        }
      }
      standardise();
    }
  }
  out.iterations = iter;
  out.converged = crit <= options.tolerance;
  out.row_center = Eigen::Map<const Vector<double>>(alpha.data(), x.rows).cast<T>();
  out.col_center = Eigen::Map<const Vector<double>>(beta.data(), x.cols).cast<T>();
  out.row_scale = Eigen::Map<const Vector<double>>(tau.data(), x.rows).cast<T>();
  out.col_scale = Eigen::Map<const Vector<double>>(gamma.data(), x.cols).cast<T>();
  return out;
}

template struct BiScale<float>;
template struct BiScale<double>;
template BiScale<float> fit_biscale<float>(const ObservedEntries<float>&, const BiScaleOptions&);
template BiScale<double> fit_biscale<double>(const ObservedEntries<double>&, const BiScaleOptions&);

}  // namespace lowrank
