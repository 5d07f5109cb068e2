#include "lowrank/diagnostics/bound.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "lowrank/core/error.hpp"

namespace lowrank::diagnostics {

double rank_sparse_term(const BoundLayer& layer, double log_gamma, double p) {
  if (!(p > 0)) throw InvalidArgument("rank_sparse_term: p must be > 0, got " + std::to_string(p));
  if (!(layer.spectral > 0)) return 0.0;  // a zero layer: the network is constant
  // sum_j (sigma_j / ||A||_2)^p, scaled so it neither overflows nor underflows.
  double ratio = 0;
  for (Index j = 0; j < layer.delta_sv.size(); ++j) {
    if (layer.delta_sv[j] > layer.rank_tol) ratio += std::pow(layer.delta_sv[j] / layer.spectral, p);
  }
  if (ratio == 0) return 0.0;
  const double e = 2.0 / (p + 2.0);
  const double width = static_cast<double>(layer.fan_in + layer.fan_out);
  return std::exp(p * e * log_gamma + e * std::log(ratio) + e * std::log(width));
}

double input_norm_bound(const Matrix<double>& x) {
  if (x.rows() == 0) throw InvalidArgument("input_norm_bound: no inputs");
  return x.rowwise().norm().maxCoeff();
}

RankSparseBound rank_sparse_bound(const std::vector<BoundLayer>& layers, const RankSparseBoundOptions& options) {
  if (layers.empty()) throw InvalidArgument("rank_sparse_bound: no layers");
  std::vector<double> grid = options.p_grid;
  if (grid.empty()) {
    for (int i = 1; i <= 100; ++i) grid.push_back(0.02 * i);
  }
  for (double p : grid) {
    if (!(p > 0 && p <= 2))
      throw InvalidArgument("rank_sparse_bound: every p_l must be in (0, 2], got " + std::to_string(p));
  }
  if (!(options.input_norm >= 0) || !std::isfinite(options.input_norm))
    throw InvalidArgument("rank_sparse_bound: input norm B must be > 0 (0 = not given), got " +
                          std::to_string(options.input_norm));
  if (!(options.margin >= 0) || !std::isfinite(options.margin))
    throw InvalidArgument("rank_sparse_bound: margin gamma must be > 0 (0 = not given), got " +
                          std::to_string(options.margin));
  if (!(options.samples >= 0)) throw InvalidArgument("rank_sparse_bound: samples N must be >= 0");
  if (!options.lipschitz.empty() && options.lipschitz.size() != layers.size()) {
    throw InvalidArgument("rank_sparse_bound: " + std::to_string(options.lipschitz.size()) +
                          " Lipschitz constants for " + std::to_string(layers.size()) + " layers");
  }
  RankSparseBound out;
  out.input_norm_defaulted = options.input_norm == 0;
  out.margin_defaulted = options.margin == 0;
  out.samples_missing = options.samples == 0;
  out.input_norm = out.input_norm_defaulted ? 1.0 : options.input_norm;
  out.margin = out.margin_defaulted ? 1.0 : options.margin;
  if (out.input_norm_defaulted)
    out.warnings.push_back(
        "input norm bound B not given: B = 1 assumed; give it (--input-norm) or the training "
        "inputs (--inputs) so Gamma = B prod ||A_l|| / gamma is on the data's scale");
  if (out.margin_defaulted)
    out.warnings.push_back(
        "margin gamma not given: gamma = 1 assumed; give the network's output margin (--margin), "
        "e.g. a low quantile of f(x)_y - max_{j != y} f(x)_j on the training set");
  if (out.samples_missing)
    out.warnings.push_back("training-set size N not given (--samples): only R^2 is reported, no bound");
  double lg = std::log(out.input_norm) - std::log(out.margin);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const double rho = options.lipschitz.empty() ? 1.0 : options.lipschitz[l];
    if (!(rho > 0)) throw InvalidArgument("rank_sparse_bound: Lipschitz constants must be > 0");
    lg += std::log(rho) + std::log(layers[l].spectral);
  }
  out.log_gamma = lg;
  for (const auto& layer : layers) {
    BoundLayerTerm t;
    t.name = layer.name;
    t.term = std::numeric_limits<double>::infinity();
    for (double p : grid) {
      const double v = rank_sparse_term(layer, lg, p);
      if (v < t.term) {
        t.term = v;
        t.p = p;
      }
    }
    t.term_spectral = rank_sparse_term(layer, lg, 2.0);
    for (Index j = 0; j < layer.delta_sv.size(); ++j) t.rank += layer.delta_sv[j] > layer.rank_tol ? 1 : 0;
    t.limit = static_cast<double>(t.rank) * static_cast<double>(layer.fan_in + layer.fan_out);
    out.r_squared += t.term;
    out.r_squared_spectral += t.term_spectral;
    out.r_squared_limit += t.limit;
    out.layers.push_back(t);
  }
  const double p_min = *std::min_element(grid.begin(), grid.end());
  bool all_at_min = true;
  for (const auto& t : out.layers) all_at_min = all_at_min && t.p == p_min && t.term > 0;
  if (all_at_min && grid.size() > 1)
    out.warnings.push_back("every layer's p_l is the grid's smallest (" + std::to_string(p_min) +
                           "): R^2 is close to its p -> 0 limit, sum_l rank_l (fan_in + fan_out), a parameter count");
  const double L = static_cast<double>(layers.size());
  if (options.samples > 0) {
    out.bound = std::sqrt(L * out.r_squared / options.samples);
    out.bound_spectral = std::sqrt(L * out.r_squared_spectral / options.samples);
  } else {
    out.bound = out.bound_spectral = std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

}  // namespace lowrank::diagnostics
