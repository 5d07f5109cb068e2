#include "lowrank/rl/estimator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>

namespace lowrank::rl {

const char* to_string(SamplingModel m) noexcept {
  switch (m) {
    case SamplingModel::UniformWithReplacement:
      return "uniform";
    case SamplingModel::ObservedMean:
      return "observed-mean";
    case SamplingModel::TransitionCounts:
      return "counts";
  }
  return "?";
}

SamplingModel parse_sampling_model(std::string_view name) {
  if (name == "uniform") return SamplingModel::UniformWithReplacement;
  if (name == "observed-mean") return SamplingModel::ObservedMean;
  if (name == "counts") return SamplingModel::TransitionCounts;
  throw InvalidArgument("unknown sampling model '" + std::string(name) +
                        "' (expected uniform, observed-mean or counts)");
}

const char* to_string(RankSelection s) noexcept {
  switch (s) {
    case RankSelection::Fixed:
      return "fixed";
    case RankSelection::NoiseThreshold:
      return "threshold";
    case RankSelection::LargestGap:
      return "gap";
  }
  return "?";
}

RankSelection parse_rank_selection(std::string_view name) {
  if (name == "fixed") return RankSelection::Fixed;
  if (name == "threshold") return RankSelection::NoiseThreshold;
  if (name == "gap") return RankSelection::LargestGap;
  throw InvalidArgument("unknown rank selection '" + std::string(name) + "' (expected fixed, threshold or gap)");
}

namespace {

template <class T>
void check_data(const ObservedEntries<T>& data, SamplingModel sampling) {
  if (data.rows <= 0 || data.cols <= 0) {
    throw InvalidArgument("spectral estimator: the matrix shape must be positive, got " + std::to_string(data.rows) +
                          " x " + std::to_string(data.cols));
  }
  if (data.rows > std::numeric_limits<std::int32_t>::max() || data.cols > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument("spectral estimator: dimensions exceed the int32 index range");
  }
  if (data.row.size() != data.value.size() || data.col.size() != data.value.size()) {
    throw InvalidArgument("spectral estimator: row, col and value arrays differ in length");
  }
  if (data.value.empty()) throw InvalidArgument("spectral estimator: no samples (the sample count must be > 0)");
  for (std::size_t k = 0; k < data.value.size(); ++k) {
    if (data.row[k] < 0 || data.row[k] >= data.rows || data.col[k] < 0 || data.col[k] >= data.cols) {
      throw InvalidArgument("spectral estimator: sample " + std::to_string(k) + " at (" + std::to_string(data.row[k]) +
                            ", " + std::to_string(data.col[k]) + ") is outside the " + std::to_string(data.rows) +
                            " x " + std::to_string(data.cols) + " matrix");
    }
    if (!std::isfinite(static_cast<double>(data.value[k]))) {
      throw InvalidArgument("spectral estimator: sample " + std::to_string(k) + " has a non-finite value");
    }
    if (sampling == SamplingModel::TransitionCounts && data.value[k] < 0) {
      throw InvalidArgument("spectral estimator: transition count " + std::to_string(k) + " is negative");
    }
  }
}

}  // namespace

template <class T>
EmpiricalMatrix<T> empirical_matrix(const ObservedEntries<T>& data, SamplingModel sampling, double trim_factor) {
  check_data(data, sampling);
  if (!(trim_factor >= 0.0)) throw InvalidArgument("spectral estimator: trim_factor must be >= 0");
  const Index m = data.rows, n = data.cols;
  const std::size_t nsamp = data.value.size();
  EmpiricalMatrix<T> out;

  // Counting sort of the samples by row: scatter (col, value) into row
  // buckets with sequential reads, so the per-row pass below streams.
  std::vector<std::int64_t> start(static_cast<std::size_t>(m) + 1, 0);
  for (std::size_t k = 0; k < nsamp; ++k) ++start[static_cast<std::size_t>(data.row[k]) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  // Default-initialised buffers: every slot is written below, so skip the memset.
  std::unique_ptr<std::int32_t[]> bcol(new std::int32_t[nsamp]);
  std::unique_ptr<double[]> bval(new double[nsamp]);
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < nsamp; ++k) {
      const std::size_t p = static_cast<std::size_t>(next[static_cast<std::size_t>(data.row[k])]++);
      bcol[p] = data.col[k];
      bval[p] = static_cast<double>(data.value[k]);
    }
  }

  // Per row, aggregate repeated (i, j): sum, sum of squares, count.
  std::vector<double> sum(static_cast<std::size_t>(n), 0.0), sumsq(static_cast<std::size_t>(n), 0.0);
  std::vector<std::int64_t> cnt(static_cast<std::size_t>(n), 0);
  std::vector<std::int32_t> touched;
  const std::size_t cap = static_cast<std::size_t>(
      std::min<double>(static_cast<double>(nsamp), static_cast<double>(m) * static_cast<double>(n)));
  // out.value / out.second_moment first hold the per-entry sums (ObservedMean:
  // means, and sums of squares / count^2); every model's weight is then one
  // global factor applied in place, so no per-entry aggregate arrays are
  // kept (at m = n = 2000 building M~ is dominated by first-touch page
  // faults on fresh buffers, see docs/rl.md).
  const bool observed_mean = sampling == SamplingModel::ObservedMean;
  out.row.reserve(cap);
  out.col.reserve(cap);
  out.value.reserve(cap);
  out.second_moment.reserve(cap);
  out.row_samples.assign(static_cast<std::size_t>(m), 0);
  out.col_samples.assign(static_cast<std::size_t>(n), 0);
  double total_weight = 0.0;  // T, or the sum of counts
  const bool counts = sampling == SamplingModel::TransitionCounts;
  for (Index i = 0; i < m; ++i) {
    touched.clear();
    for (std::int64_t p = start[static_cast<std::size_t>(i)]; p < start[static_cast<std::size_t>(i) + 1]; ++p) {
      const std::size_t js = static_cast<std::size_t>(bcol[static_cast<std::size_t>(p)]);
      const double x = bval[static_cast<std::size_t>(p)];
      if (cnt[js] == 0) touched.push_back(static_cast<std::int32_t>(js));
      sum[js] += x;
      // A count N is N unit samples: its sum of squares is N itself.
      sumsq[js] += counts ? x : x * x;
      cnt[js] += 1;
    }
    std::sort(touched.begin(), touched.end());
    for (std::int32_t j : touched) {
      const std::size_t js = static_cast<std::size_t>(j);
      if (counts && sum[js] == 0.0) {  // zero counts carry no information
        sum[js] = sumsq[js] = 0.0;
        cnt[js] = 0;
        continue;
      }
      const std::int64_t weight = counts ? std::llround(sum[js]) : cnt[js];
      out.row.push_back(static_cast<std::int32_t>(i));
      out.col.push_back(j);
      if (observed_mean) {
        const double c = static_cast<double>(cnt[js]);
        out.value.push_back(static_cast<T>(sum[js] / c));
        out.second_moment.push_back(static_cast<T>(sumsq[js] / (c * c)));
      } else {
        out.value.push_back(static_cast<T>(sum[js]));
        out.second_moment.push_back(static_cast<T>(sumsq[js]));
      }
      out.row_samples[static_cast<std::size_t>(i)] += weight;
      out.col_samples[js] += weight;
      total_weight += counts ? sum[js] : static_cast<double>(cnt[js]);
      sum[js] = sumsq[js] = 0.0;
      cnt[js] = 0;
    }
  }
  bcol.reset();
  bval.reset();
  if (!(total_weight > 0.0)) throw InvalidArgument("spectral estimator: all transition counts are zero");
  out.samples = static_cast<std::int64_t>(std::llround(total_weight));

  // Rescaling weights w_ij (M~_ij = w_ij * sum_ij) per sampling model; the
  // per-entry 1 / count of ObservedMean was applied above.
  const std::size_t nnz = out.row.size();
  const double mn = static_cast<double>(m) * static_cast<double>(n);
  const double p_hat = static_cast<double>(nnz) / mn;
  double w = 0.0;
  switch (sampling) {
    case SamplingModel::UniformWithReplacement:
      w = mn / total_weight;
      break;
    case SamplingModel::ObservedMean:
      w = 1.0 / p_hat;
      break;
    case SamplingModel::TransitionCounts:
      w = 1.0 / total_weight;
      break;
  }
  for (std::size_t k = 0; k < nnz; ++k) {
    out.value[k] = static_cast<T>(w * static_cast<double>(out.value[k]));
    out.second_moment[k] = static_cast<T>(w * w * static_cast<double>(out.second_moment[k]));
  }

  // Trimming: zero rows / columns holding far more samples than average.
  if (trim_factor > 0.0) {
    const double row_cap = trim_factor * total_weight / static_cast<double>(m);
    const double col_cap = trim_factor * total_weight / static_cast<double>(n);
    std::vector<char> trim_row(static_cast<std::size_t>(m), 0), trim_col(static_cast<std::size_t>(n), 0);
    for (Index i = 0; i < m; ++i)
      if (static_cast<double>(out.row_samples[static_cast<std::size_t>(i)]) > row_cap)
        trim_row[static_cast<std::size_t>(i)] = 1, ++out.trimmed_rows;
    for (Index j = 0; j < n; ++j)
      if (static_cast<double>(out.col_samples[static_cast<std::size_t>(j)]) > col_cap)
        trim_col[static_cast<std::size_t>(j)] = 1, ++out.trimmed_cols;
    for (std::size_t k = 0; k < nnz; ++k) {
      if (trim_row[static_cast<std::size_t>(out.row[k])] || trim_col[static_cast<std::size_t>(out.col[k])]) {
        out.value[k] = T(0);
        out.second_moment[k] = T(0);
      }
    }
  }

  // Noise level: sigma_row + sigma_col of Bandeira & van Handel (2016).
  std::vector<double> row_var(static_cast<std::size_t>(m), 0.0), col_var(static_cast<std::size_t>(n), 0.0);
  double var_total = 0.0;
  for (std::size_t k = 0; k < nnz; ++k) {
    const double v = static_cast<double>(out.second_moment[k]);
    row_var[static_cast<std::size_t>(out.row[k])] += v;
    col_var[static_cast<std::size_t>(out.col[k])] += v;
    var_total += v;
  }
  out.noise_level = std::sqrt(*std::max_element(row_var.begin(), row_var.end())) +
                    std::sqrt(*std::max_element(col_var.begin(), col_var.end()));
  out.mean_entry_variance = var_total / mn;
  out.matrix = SparseOperator<T>(m, n, out.row, out.col, out.value);
  return out;
}

template <class T>
double SpectralEstimate<T>::entry_sd(Index i, Index j) const {
  const double ui = static_cast<double>(fit.U.row(i).squaredNorm());
  const double vj = static_cast<double>(fit.V.row(j).squaredNorm());
  return std::sqrt(mean_entry_variance * (ui + vj));
}

template <class T>
SpectralEstimate<T> estimate_spectral(const ObservedEntries<T>& data, const SpectralEstimatorOptions& options) {
  const Index m = data.rows, n = data.cols;
  const Index kmax_possible = std::min(m, n);
  if (options.rank_selection == RankSelection::Fixed) {
    if (options.rank < 1 || options.rank > kmax_possible) {
      throw InvalidArgument("spectral estimator: rank " + std::to_string(options.rank) +
                            " is outside [1, min(m, n)] = [1, " + std::to_string(kmax_possible) + "] for a " +
                            std::to_string(m) + " x " + std::to_string(n) + " matrix");
    }
  } else if (options.max_rank < 1) {
    throw InvalidArgument("spectral estimator: max_rank must be >= 1, got " + std::to_string(options.max_rank));
  }
  if (!(options.threshold_scale >= 0.0)) throw InvalidArgument("spectral estimator: threshold_scale must be >= 0");

  EmpiricalMatrix<T> emp = empirical_matrix(data, options.sampling, options.trim_factor);
  SpectralEstimate<T> est;
  est.noise_level = emp.noise_level;
  est.threshold = options.threshold_scale * emp.noise_level;
  est.mean_entry_variance = emp.mean_entry_variance;
  est.samples = emp.samples;
  est.observed_entries = static_cast<Index>(emp.value.size());
  est.trimmed_rows = emp.trimmed_rows;
  est.trimmed_cols = emp.trimmed_cols;

  Index k_compute = options.rank;
  Index max_rank = 0;
  if (options.rank_selection != RankSelection::Fixed) {
    // The gap rule needs sigma_{k+1}; the threshold rule may use every rank.
    const Index cap =
        options.rank_selection == RankSelection::LargestGap ? std::max<Index>(kmax_possible - 1, 1) : kmax_possible;
    max_rank = std::min(options.max_rank, cap);
    k_compute = std::min(max_rank + 1, kmax_possible);
  }
  SvdResult<T> svd = truncated_svd(emp.matrix, k_compute, options.svd);
  est.svd_method = svd.method_used;
  est.status = svd.status;
  est.singular_values = svd.S;

  Index r = options.rank;
  if (options.rank_selection == RankSelection::NoiseThreshold) {
    r = 0;
    while (r < max_rank && r < svd.S.size() && static_cast<double>(svd.S(r)) > est.threshold) ++r;
    r = std::max<Index>(r, 1);
  } else if (options.rank_selection == RankSelection::LargestGap) {
    r = 1;
    double best = -1.0;
    for (Index k = 0; k < max_rank && k + 1 < svd.S.size(); ++k) {
      const double next = static_cast<double>(svd.S(k + 1));
      const double ratio = next > 0 ? static_cast<double>(svd.S(k)) / next : std::numeric_limits<double>::infinity();
      if (ratio > best) {
        best = ratio;
        r = k + 1;
      }
    }
  }
  r = std::min(r, svd.S.size());
  est.rank = r;
  est.fit.rows = m;
  est.fit.cols = n;
  est.fit.U = svd.U.leftCols(r);
  est.fit.d = svd.S.head(r);
  est.fit.V = svd.V.leftCols(r);
  return est;
}

template <class T>
Matrix<T> entry_mean_estimate(const ObservedEntries<T>& data, T fill, Index* unobserved) {
  check_data(data, SamplingModel::UniformWithReplacement);
  Matrix<double> sum = Matrix<double>::Zero(data.rows, data.cols);
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic> count =
      Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>::Zero(data.rows, data.cols);
  for (std::size_t k = 0; k < data.value.size(); ++k) {
    sum(data.row[k], data.col[k]) += static_cast<double>(data.value[k]);
    count(data.row[k], data.col[k]) += 1;
  }
  Matrix<T> out(data.rows, data.cols);
  Index missing = 0;
  for (Index j = 0; j < data.cols; ++j) {
    for (Index i = 0; i < data.rows; ++i) {
      if (count(i, j) > 0) {
        out(i, j) = static_cast<T>(sum(i, j) / static_cast<double>(count(i, j)));
      } else {
        out(i, j) = fill;
        ++missing;
      }
    }
  }
  if (unobserved) *unobserved = missing;
  return out;
}

double entrywise_rate(Index m, Index n, Index r, std::int64_t samples, double scale) {
  if (m <= 0 || n <= 0 || r <= 0 || samples <= 0) {
    throw InvalidArgument("entrywise_rate: m, n, r and the sample count must be > 0");
  }
  const double mn = static_cast<double>(m + n);
  return scale * std::sqrt(static_cast<double>(r) * mn * std::log(mn) / static_cast<double>(samples));
}

#define LOWRANK_RL_INSTANTIATE(T)                                                                                \
  template struct SpectralEstimate<T>;                                                                           \
  template EmpiricalMatrix<T> empirical_matrix<T>(const ObservedEntries<T>&, SamplingModel, double);             \
  template SpectralEstimate<T> estimate_spectral<T>(const ObservedEntries<T>&, const SpectralEstimatorOptions&); \
  template Matrix<T> entry_mean_estimate<T>(const ObservedEntries<T>&, T, Index*);
LOWRANK_RL_INSTANTIATE(float)
LOWRANK_RL_INSTANTIATE(double)
#undef LOWRANK_RL_INSTANTIATE

}  // namespace lowrank::rl
