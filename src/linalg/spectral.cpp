#include "lowrank/linalg/spectral.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

namespace {

// Singular values as doubles, checked (>= 0, not NaN) and sorted decreasing.
template <class T>
std::vector<double> checked_sorted(const Vector<T>& sv, const char* who) {
  std::vector<double> s(static_cast<std::size_t>(sv.size()));
  for (Index i = 0; i < sv.size(); ++i) {
    const double v = static_cast<double>(sv[i]);
    if (!(v >= 0)) {
      throw InvalidArgument(std::string(who) + ": singular value " + std::to_string(i) + " is " + std::to_string(v) +
                            " (singular values must be >= 0)");
    }
    s[static_cast<std::size_t>(i)] = v;
  }
  std::sort(s.begin(), s.end(), std::greater<>());
  return s;
}

void check_p(double p, const char* who) {
  if (!(p > 0)) {
    throw InvalidArgument(std::string(who) + ": p must be > 0, got " + std::to_string(p));
  }
}

// sum_i (s_i / s_max)^p, the scaled sum that neither overflows nor underflows.
double scaled_power_sum(const std::vector<double>& s, double p) {
  const double smax = s.empty() ? 0.0 : s.front();
  if (smax == 0) return 0;
  double sum = 0;
  for (double v : s) sum += std::pow(v / smax, p);
  return sum;
}

}  // namespace

template <class T>
double schatten_p_sum(const Vector<T>& sv, double p) {
  check_p(p, "schatten_p_sum");
  if (std::isinf(p)) throw InvalidArgument("schatten_p_sum: p must be finite (use spectral_norm for p = inf)");
  const auto s = checked_sorted(sv, "schatten_p_sum");
  if (s.empty() || s.front() == 0) return 0;
  return scaled_power_sum(s, p) * std::pow(s.front(), p);
}

template <class T>
double schatten_norm(const Vector<T>& sv, double p) {
  check_p(p, "schatten_norm");
  const auto s = checked_sorted(sv, "schatten_norm");
  if (s.empty() || s.front() == 0) return 0;
  if (std::isinf(p)) return s.front();
  // (sum s_i^p)^(1/p) = s_max (sum (s_i / s_max)^p)^(1/p)
  return s.front() * std::pow(scaled_power_sum(s, p), 1.0 / p);
}

template <class T>
double nuclear_norm(const Vector<T>& sv) {
  return schatten_norm(sv, 1.0);
}
template <class T>
double frobenius_norm(const Vector<T>& sv) {
  return schatten_norm(sv, 2.0);
}
template <class T>
double spectral_norm(const Vector<T>& sv) {
  return schatten_norm(sv, std::numeric_limits<double>::infinity());
}

template <class T>
Index numerical_rank(const Vector<T>& sv, Index rows, Index cols, double tol) {
  const auto s = checked_sorted(sv, "numerical_rank");
  if (std::isnan(tol)) throw InvalidArgument("numerical_rank: tol is NaN");
  if (s.empty()) return 0;
  const double t = tol < 0 ? s.front() * static_cast<double>(std::max(rows, cols)) *
                                 static_cast<double>(std::numeric_limits<T>::epsilon())
                           : tol;
  return static_cast<Index>(std::count_if(s.begin(), s.end(), [t](double v) { return v > t; }));
}

template <class T>
double stable_rank(const Vector<T>& sv) {
  const auto s = checked_sorted(sv, "stable_rank");
  if (s.empty() || s.front() == 0) return 0;
  return scaled_power_sum(s, 2.0);  // sum s_i^2 / s_max^2
}

template <class T>
double entropy_rank(const Vector<T>& sv) {
  const auto s = checked_sorted(sv, "entropy_rank");
  double total = 0;
  for (double v : s) total += v;
  if (total == 0) return 0;
  double h = 0;  // H(p) = -sum p_i log p_i, with 0 log 0 = 0
  for (double v : s) {
    if (v > 0) {
      const double pi = v / total;
      h -= pi * std::log(pi);
    }
  }
  return std::exp(h);
}

template <class T>
double participation_ratio(const Vector<T>& sv) {
  const auto s = checked_sorted(sv, "participation_ratio");
  if (s.empty() || s.front() == 0) return 0;
  const double s2 = scaled_power_sum(s, 2.0);
  return s2 * s2 / scaled_power_sum(s, 4.0);  // scale-free, so the scaling cancels
}

template <class T>
Index energy_rank(const Vector<T>& sv, double fraction) {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw InvalidArgument("energy_rank: fraction must be in [0, 1], got " + std::to_string(fraction));
  }
  const auto s = checked_sorted(sv, "energy_rank");
  if (s.empty() || s.front() == 0 || fraction == 0) return 0;
  const double total = scaled_power_sum(s, 2.0);
  double cum = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double r = s[i] / s.front();
    cum += r * r;
    // A relative slack of a few ulps so fraction = 1 is reached despite rounding.
    if (cum >= fraction * total * (1 - 4 * std::numeric_limits<double>::epsilon())) {
      return static_cast<Index>(i + 1);
    }
  }
  return static_cast<Index>(s.size());
}

template <class T>
double best_rank_k_relative_error(const Vector<T>& sv, Index k) {
  if (k < 0) throw InvalidArgument("best_rank_k_relative_error: k must be >= 0, got " + std::to_string(k));
  const auto s = checked_sorted(sv, "best_rank_k_relative_error");
  if (s.empty() || s.front() == 0) return 0;
  double tail = 0;
  double total = 0;
  // Summed from the smallest up so the tail is not lost to the head's rounding.
  for (std::size_t i = s.size(); i-- > 0;) {
    const double r = s[i] / s.front();
    total += r * r;
    if (static_cast<Index>(i) >= k) tail += r * r;
  }
  return std::sqrt(tail / total);
}

template <class T>
EffectiveRanks effective_ranks(const Vector<T>& sv, Index rows, Index cols) {
  EffectiveRanks r;
  r.numerical = numerical_rank(sv, rows, cols);
  r.stable = stable_rank(sv);
  r.entropy = entropy_rank(sv);
  r.participation_ratio = participation_ratio(sv);
  r.energy_90 = energy_rank(sv, 0.9);
  r.energy_99 = energy_rank(sv, 0.99);
  return r;
}

template <class T>
double schatten_norm(const Matrix<T>& a, double p) {
  check_p(p, "schatten_norm");
  return schatten_norm(singular_values(a), p);
}

template <class T>
EffectiveRanks effective_ranks(const Matrix<T>& a) {
  return effective_ranks(singular_values(a), a.rows(), a.cols());
}

#define LOWRANK_INSTANTIATE(T)                                                \
  template double schatten_p_sum<T>(const Vector<T>&, double);                \
  template double schatten_norm<T>(const Vector<T>&, double);                 \
  template double nuclear_norm<T>(const Vector<T>&);                          \
  template double frobenius_norm<T>(const Vector<T>&);                        \
  template double spectral_norm<T>(const Vector<T>&);                         \
  template Index numerical_rank<T>(const Vector<T>&, Index, Index, double);   \
  template double stable_rank<T>(const Vector<T>&);                           \
  template double entropy_rank<T>(const Vector<T>&);                          \
  template double participation_ratio<T>(const Vector<T>&);                   \
  template Index energy_rank<T>(const Vector<T>&, double);                    \
  template double best_rank_k_relative_error<T>(const Vector<T>&, Index);     \
  template EffectiveRanks effective_ranks<T>(const Vector<T>&, Index, Index); \
  template double schatten_norm<T>(const Matrix<T>&, double);                 \
  template EffectiveRanks effective_ranks<T>(const Matrix<T>&);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
