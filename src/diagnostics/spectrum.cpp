#include "lowrank/diagnostics/spectrum.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/spectral.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::diagnostics {

PowerLawDecay fit_power_law_decay(const VectorXd& sv, double tol, const PowerLawDecayOptions& options) {
  if (options.first < 1) {
    throw InvalidArgument("fit_power_law_decay: first index must be >= 1, got " + std::to_string(options.first));
  }
  if (options.last != 0 && options.last < options.first) {
    throw InvalidArgument("fit_power_law_decay: last index " + std::to_string(options.last) + " is below first index " +
                          std::to_string(options.first));
  }
  Index last = options.last;
  if (last == 0) {
    last = 0;
    for (Index i = 0; i < sv.size(); ++i) {
      if (sv[i] > tol && sv[i] > 0) last = i + 1;
    }
  }
  last = std::min<Index>(last, sv.size());
  PowerLawDecay out;
  const Index first = options.first;
  if (last - first + 1 < 2) return out;
  // Ordinary least squares of y = log sigma on x = log i.
  double sx = 0, sy = 0;
  Index n = 0;
  for (Index i = first; i <= last; ++i) {
    if (!(sv[i - 1] > 0)) continue;
    sx += std::log(static_cast<double>(i));
    sy += std::log(sv[i - 1]);
    ++n;
  }
  if (n < 2) return out;
  const double mx = sx / static_cast<double>(n), my = sy / static_cast<double>(n);
  double sxx = 0, sxy = 0, syy = 0;
  for (Index i = first; i <= last; ++i) {
    if (!(sv[i - 1] > 0)) continue;
    const double dx = std::log(static_cast<double>(i)) - mx, dy = std::log(sv[i - 1]) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const double slope = sxy / sxx;
  out.alpha = -slope;
  out.c = std::exp(my - slope * mx);
  out.first = first;
  out.last = last;
  out.r_squared = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
  return out;
}

PowerLawTail fit_power_law_tail(const VectorXd& samples, const PowerLawTailOptions& options) {
  std::vector<double> x;
  x.reserve(static_cast<std::size_t>(samples.size()));
  for (Index i = 0; i < samples.size(); ++i) {
    if (samples[i] > options.floor && std::isfinite(samples[i])) x.push_back(samples[i]);
  }
  std::sort(x.begin(), x.end());
  const std::size_t n = x.size();
  const std::size_t min_tail = static_cast<std::size_t>(std::max<Index>(options.min_tail, 2));
  PowerLawTail best;
  if (n < min_tail) return best;
  // suffix[k] = sum_{j >= k} log x_j, so sum_{j>=k} log(x_j / x_k) = suffix[k] - (n - k) log x_k.
  std::vector<double> logx(n), suffix(n + 1, 0.0);
  for (std::size_t j = 0; j < n; ++j) logx[j] = std::log(x[j]);
  for (std::size_t j = n; j-- > 0;) suffix[j] = suffix[j + 1] + logx[j];
  best.ks = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k + min_tail <= n; ++k) {
    if (k > 0 && x[k] == x[k - 1]) continue;  // one candidate per distinct value
    const double m = static_cast<double>(n - k);
    const double denom = suffix[k] - m * logx[k];
    if (!(denom > 0)) continue;
    const double alpha = 1.0 + m / denom;
    // KS distance over the tail: the empirical CDF jumps from i/m to (i+1)/m at x_{k+i}.
    double d = 0;
    for (std::size_t i = 0; i < n - k; ++i) {
      const double cdf = 1.0 - std::exp((1.0 - alpha) * (logx[k + i] - logx[k]));
      const double lo = static_cast<double>(i) / m, hi = static_cast<double>(i + 1) / m;
      d = std::max(d, std::max(std::abs(cdf - lo), std::abs(hi - cdf)));
      if (d >= best.ks) break;  // cannot win any more
    }
    if (d < best.ks) {
      best.ks = d;
      best.alpha = alpha;
      best.xmin = x[k];
      best.n_tail = static_cast<Index>(n - k);
    }
  }
  if (!std::isfinite(best.ks)) best = PowerLawTail{};
  return best;
}

SpectrumDiagnostics diagnose_spectrum(const VectorXd& sv_in, Index rows, Index cols, const SpectrumOptions& options) {
  for (double p : options.p_grid) {
    if (!(p > 0 && p <= 2)) {
      throw InvalidArgument("p grid: every p must be in (0, 2], got " + std::to_string(p));
    }
  }
  SpectrumDiagnostics d;
  d.rows = rows;
  d.cols = cols;
  d.singular_values = sv_in;
  std::sort(d.singular_values.data(), d.singular_values.data() + d.singular_values.size(), std::greater<>());
  const VectorXd& s = d.singular_values;
  for (Index i = 0; i < s.size(); ++i) {
    if (!(s[i] >= 0)) {
      throw InvalidArgument("diagnose_spectrum: singular value " + std::to_string(i) + " is " + std::to_string(s[i]));
    }
  }
  const double eps = options.eps > 0 ? options.eps : std::numeric_limits<double>::epsilon();
  const double smax = s.size() > 0 ? s[0] : 0.0;
  d.rank_tolerance = smax * static_cast<double>(std::max(rows, cols)) * eps;
  d.numerical_rank = numerical_rank(s, rows, cols, d.rank_tolerance);
  d.stable_rank = stable_rank(s);
  d.entropy_rank = entropy_rank(s);
  d.participation_ratio = participation_ratio(s);
  d.energy_rank_90 = energy_rank(s, 0.90);
  d.energy_rank_99 = energy_rank(s, 0.99);
  d.frobenius = frobenius_norm(s);
  d.spectral = spectral_norm(s);
  d.nuclear = nuclear_norm(s);
  // Values at or below the rank tolerance are zeros in all but rounding;
  // raised to a small p they would count as ~1 each, so they are dropped.
  const VectorXd kept = s.head(d.numerical_rank);
  for (double p : options.p_grid) {
    SchattenPoint pt;
    pt.p = p;
    pt.sum = schatten_p_sum(kept, p);
    pt.ratio = smax > 0 ? pt.sum / std::pow(smax, p) : 0.0;
    d.schatten.push_back(pt);
  }
  d.decay = fit_power_law_decay(s, d.rank_tolerance, options.decay);
  PowerLawTailOptions tail = options.tail;
  tail.floor = std::max(tail.floor, d.rank_tolerance * d.rank_tolerance);
  const auto t_esd = std::chrono::steady_clock::now();
  d.esd_tail = fit_power_law_tail(s.array().square().matrix(), tail);
  d.esd_tail_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_esd).count();
  return d;
}

template <class T>
SpectrumDiagnostics diagnose_matrix(const Matrix<T>& w, const SpectrumOptions& options, const std::string& name) {
  if (!w.allFinite()) {
    for (Index j = 0; j < w.cols(); ++j) {
      for (Index i = 0; i < w.rows(); ++i) {
        if (!std::isfinite(static_cast<double>(w(i, j)))) {
          throw InputError(name, "weight (" + std::to_string(i) + ", " + std::to_string(j) + ") is " +
                                     std::to_string(static_cast<double>(w(i, j))) + " (weights must be finite)");
        }
      }
    }
  }
  SpectrumOptions opts = options;
  if (opts.eps <= 0) opts.eps = std::numeric_limits<T>::epsilon();
  const auto t_svd = std::chrono::steady_clock::now();
  const Vector<T> s = w.size() == 0 ? Vector<T>() : singular_values(w);
  const double svd_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_svd).count();
  SpectrumDiagnostics d = diagnose_spectrum(s.template cast<double>(), w.rows(), w.cols(), opts);
  d.svd_seconds = svd_seconds;
  return d;
}

template SpectrumDiagnostics diagnose_matrix<float>(const Matrix<float>&, const SpectrumOptions&, const std::string&);
template SpectrumDiagnostics diagnose_matrix<double>(const Matrix<double>&, const SpectrumOptions&, const std::string&);

}  // namespace lowrank::diagnostics
