// The rank-sparse bound: closed forms, the per-layer grid minimum, the
// p -> 0 limit (rank * (fan_in + fan_out)) and argument checks.
#include <gtest/gtest.h>

#include <cmath>

#include "lowrank/core/error.hpp"
#include "lowrank/diagnostics/bound.hpp"
#include "report_json.hpp"

namespace lowrank::diagnostics {
namespace {

BoundLayer layer(const std::string& name, Index fan_out, Index fan_in, std::vector<double> sv) {
  BoundLayer l;
  l.name = name;
  l.fan_out = fan_out;
  l.fan_in = fan_in;
  l.delta_sv = Eigen::Map<VectorXd>(sv.data(), static_cast<Index>(sv.size()));
  l.spectral = sv.front();
  l.rank_tol = 1e-12;
  return l;
}

TEST(Bound, TermClosedForm) {
  const BoundLayer l = layer("a", 2, 3, {2.0, 1.0});
  const double lg = std::log(2.0);  // B = gamma = 1, one layer: Gamma = ||A|| = 2
  // p = 1: Gamma^(2/3) (1 + 1/2)^(2/3) 5^(2/3).
  EXPECT_NEAR(rank_sparse_term(l, lg, 1.0), std::pow(2.0 * 1.5 * 5.0, 2.0 / 3.0), 1e-12);
  // p = 2: Gamma (1 + 1/4)^(1/2) 5^(1/2) = ||A||_2 * ||A||_F / ||A||_2 * sqrt(W).
  EXPECT_NEAR(rank_sparse_term(l, lg, 2.0), 2.0 * std::sqrt(1.25) * std::sqrt(5.0), 1e-12);
}

TEST(Bound, LimitAsPGoesToZeroIsRankTimesWidth) {
  // Two layers, ranks 3 and 2 (a zero singular value is not counted).
  std::vector<BoundLayer> layers = {layer("l1", 20, 10, {5, 2, 0.3, 0}), layer("l2", 4, 20, {1.5, 0.01})};
  for (const auto& l : layers) {
    const double r = l.name == "l1" ? 3 : 2;
    const double t = rank_sparse_term(l, std::log(5.0 * 1.5), 1e-7);
    EXPECT_NEAR(t, r * double(l.fan_in + l.fan_out), 1e-4 * t) << l.name;
  }
  RankSparseBoundOptions opts;
  opts.p_grid = {1e-7};
  const auto b = rank_sparse_bound(layers, opts);
  EXPECT_NEAR(b.r_squared_limit, 3 * 30 + 2 * 24, 0);
  EXPECT_NEAR(b.r_squared, b.r_squared_limit, 1e-4 * b.r_squared_limit);
  EXPECT_EQ(b.layers[0].rank, 3);
  EXPECT_EQ(b.layers[1].rank, 2);
}

TEST(Bound, GridPicksEachLayersMinimumAndBeatsSpectral) {
  // A strongly low-rank wide layer: small p wins.
  std::vector<BoundLayer> layers = {layer("wide", 256, 256, {10, 9, 8, 0.001, 0.001}), layer("out", 10, 256, {3, 2.5})};
  RankSparseBoundOptions opts;
  opts.samples = 1000;
  opts.margin = 2;
  opts.input_norm = 1000;  // a large Gamma favours small p
  const auto b = rank_sparse_bound(layers, opts);
  ASSERT_EQ(b.layers.size(), 2u);
  EXPECT_NEAR(b.log_gamma, std::log(1000.0 * 10 * 3 / 2), 1e-12);
  double sum = 0;
  for (std::size_t l = 0; l < 2; ++l) {
    for (int i = 1; i <= 100; ++i) {  // the default grid 0.02 .. 2
      EXPECT_LE(b.layers[l].term, rank_sparse_term(layers[l], b.log_gamma, 0.02 * i) * (1 + 1e-12));
    }
    EXPECT_NEAR(b.layers[l].term, rank_sparse_term(layers[l], b.log_gamma, b.layers[l].p), 0);
    EXPECT_NEAR(b.layers[l].term_spectral, rank_sparse_term(layers[l], b.log_gamma, 2.0), 0);
    sum += b.layers[l].term;
  }
  EXPECT_NEAR(b.r_squared, sum, 1e-12 * sum);
  EXPECT_NEAR(b.bound, std::sqrt(2 * sum / 1000), 1e-12);
  EXPECT_LT(b.bound, b.bound_spectral);
  EXPECT_NEAR(b.bound_spectral, std::sqrt(2 * b.r_squared_spectral / 1000), 1e-12);
}

TEST(Bound, WithoutSamplesTheBoundIsNaN) {
  const auto b = rank_sparse_bound({layer("a", 3, 3, {1})});
  EXPECT_TRUE(std::isnan(b.bound));
  EXPECT_GT(b.r_squared, 0);
}

// Issue 35: B, gamma and N each change the bound's meaning, so each one left at
// its default is named; with all three given there is no warning.
TEST(Bound, WarnsForEveryDefaultedQuantity) {
  const std::vector<BoundLayer> layers = {layer("wide", 64, 64, {3, 2, 1, 0.5}), layer("out", 10, 64, {2, 1})};
  const auto d = rank_sparse_bound(layers);
  EXPECT_TRUE(d.input_norm_defaulted);
  EXPECT_TRUE(d.margin_defaulted);
  EXPECT_TRUE(d.samples_missing);
  EXPECT_EQ(d.input_norm, 1.0);
  EXPECT_EQ(d.margin, 1.0);
  auto has = [](const RankSparseBound& b, const std::string& needle) {
    for (const auto& w : b.warnings)
      if (w.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(d, "--input-norm"));
  EXPECT_TRUE(has(d, "--margin"));
  EXPECT_TRUE(has(d, "--samples"));
  // The defaults reproduce the explicit B = gamma = 1 numbers.
  const auto e = rank_sparse_bound(layers, {.input_norm = 1, .margin = 1, .samples = 100});
  EXPECT_EQ(e.r_squared, d.r_squared);
  EXPECT_FALSE(has(e, "--input-norm") || has(e, "--margin") || has(e, "--samples"));
  // Only gamma missing: exactly one warning, naming it.
  const auto g = rank_sparse_bound(layers, {.input_norm = 3, .samples = 100});
  EXPECT_TRUE(g.margin_defaulted);
  EXPECT_FALSE(g.input_norm_defaulted || g.samples_missing);
  EXPECT_TRUE(has(g, "--margin"));
  EXPECT_FALSE(has(g, "--input-norm") || has(g, "--samples"));
  // A huge Gamma pushes every p_l to the grid's smallest: flagged as a parameter count.
  const auto s = rank_sparse_bound(layers, {.input_norm = 1e12, .margin = 1e-6, .samples = 100});
  EXPECT_EQ(s.layers[0].p, 0.02);
  EXPECT_EQ(s.layers[1].p, 0.02);
  EXPECT_TRUE(has(s, "parameter count"));
  const auto j = frontend::to_json(d);
  EXPECT_EQ(j["defaulted"]["margin"], true);
  EXPECT_EQ(j["warnings"].size(), d.warnings.size());
  // B from data: the largest row norm.
  Matrix<double> x(3, 2);
  x << 3, 4, 1, 1, 0, -6;
  EXPECT_EQ(input_norm_bound(x), 6.0);
  EXPECT_THROW(input_norm_bound(Matrix<double>(0, 2)), InvalidArgument);
}

TEST(Bound, BadArguments) {
  const std::vector<BoundLayer> one = {layer("a", 3, 3, {1})};
  EXPECT_THROW(rank_sparse_bound({}), InvalidArgument);
  EXPECT_THROW(rank_sparse_bound(one, {.p_grid = {2.5}}), InvalidArgument);
  EXPECT_NO_THROW(rank_sparse_bound(one, {.p_grid = {1.5, 2.0}}));
  EXPECT_THROW(rank_sparse_bound(one, {.p_grid = {0.0}}), InvalidArgument);
  EXPECT_THROW(rank_sparse_bound(one, {.input_norm = -1}), InvalidArgument);
  EXPECT_THROW(rank_sparse_bound(one, {.input_norm = std::nan("")}), InvalidArgument);
  EXPECT_THROW(rank_sparse_bound(one, {.margin = -1}), InvalidArgument);
  EXPECT_THROW(rank_sparse_bound(one, {.lipschitz = {1, 1}}), InvalidArgument);
  EXPECT_THROW(rank_sparse_term(one[0], 0, 0), InvalidArgument);
}

}  // namespace
}  // namespace lowrank::diagnostics
