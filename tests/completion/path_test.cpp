// Lambda grid, warm-started path and k-fold CV (completion/path.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "lowrank/completion/path.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"

namespace lowrank {
namespace {

ObservedEntries<double> planted(int m, int n, double keep) {
  // Rank-2 matrix observed on a deterministic pseudo-random pattern.
  ObservedEntries<double> e;
  e.rows = m;
  e.cols = n;
  std::uint64_t s = 12345;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      if (uniform01(s) < keep) {
        const double v = std::sin(0.3 * i + 1) * std::cos(0.2 * j) + 0.5 * std::cos(0.7 * i) * std::sin(0.9 * j + 2);
        e.push_back(i, j, v);
      }
  return e;
}

TEST(LambdaGrid, IsLogSpacedAndDecreasing) {
  const auto g = log_lambda_grid(10.0, 5, 1e-2);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_DOUBLE_EQ(g.front(), 10.0);
  EXPECT_NEAR(g.back(), 0.1, 1e-12);
  for (std::size_t i = 1; i < g.size(); ++i) EXPECT_NEAR(g[i] / g[i - 1], std::pow(1e-2, 0.25), 1e-12);
  EXPECT_THROW(log_lambda_grid(10, 0, 0.1), InvalidArgument);
  EXPECT_THROW(log_lambda_grid(0, 5, 0.1), InvalidArgument);
  EXPECT_THROW(log_lambda_grid(10, 5, 1.0), InvalidArgument);
}

TEST(LambdaPath, StartsAtZeroAndRankGrowsAsLambdaShrinks) {
  const auto e = planted(30, 20, 0.6);
  SoftImputeOptions base;
  base.max_rank = 12;
  base.tolerance = 1e-9;
  base.max_iterations = 500;
  PathFitFunction<double> fit = [&](const ObservedEntries<double>& d, double lambda, const CompletionModel<double>* w) {
    SoftImputeOptions o = base;
    o.lambda = lambda;
    return soft_impute(d, o, w);
  };
  const double lmax = lambda_max(e);
  const auto path = fit_path(e, log_lambda_grid(lmax, 8, 0.05), fit, true);
  ASSERT_EQ(path.points.size(), 8u);
  // lambda_max gives Z = 0: the objective is 1/2 ||P_Omega X||^2 there. The
  // iterate itself approaches 0 only sublinearly at exactly the threshold.
  double half_sq = 0;
  for (double v : e.value) half_sq += 0.5 * v * v;
  EXPECT_NEAR(path.points.front().objective, half_sq, 1e-6 * half_sq);
  EXPECT_LT(path.models.front().d.sum(), 1e-3 * lmax);
  EXPECT_GE(path.points.back().rank, 2);
  for (std::size_t i = 1; i < path.points.size(); ++i) {
    // Smaller lambda, better (or equal) fit of the observed entries.
    EXPECT_LE(path.points[i].train_rmse, path.points[i - 1].train_rmse + 1e-9);
  }
  // The rank cap is not active, so the problem is convex and warm starts
  // reach the same optimum as a cold start at the last lambda.
  ASSERT_LT(path.points.back().rank, base.max_rank);
  SoftImputeOptions cold = base;
  cold.lambda = path.points.back().lambda;
  const auto c = soft_impute(e, cold);
  EXPECT_NEAR(c.objective_trace.back(), path.points.back().objective, 1e-4 * std::abs(c.objective_trace.back()));
}

TEST(CrossValidation, PicksAnInteriorLambdaOnNoisyData) {
  auto e = planted(40, 30, 0.5);
  std::uint64_t s = 7;
  for (double& v : e.value) v += 0.3 * (uniform01(s) - 0.5) * std::sqrt(12.0);  // noise sd 0.3
  SoftImputeOptions base;
  base.max_rank = 10;
  base.tolerance = 1e-6;
  base.max_iterations = 300;
  PathFitFunction<double> fit = [&](const ObservedEntries<double>& d, double lambda, const CompletionModel<double>* w) {
    SoftImputeOptions o = base;
    o.lambda = lambda;
    return soft_impute(d, o, w);
  };
  const auto grid = log_lambda_grid(lambda_max(e), 12, 1e-3);
  CrossValidationOptions cvo;
  cvo.folds = 4;
  cvo.seed = 3;
  cvo.patience = 0;
  const auto cv = cross_validate(e, grid, fit, cvo);
  ASSERT_EQ(cv.table.size(), grid.size());
  // Neither the all-zero end nor the overfitting end wins with noise present.
  EXPECT_GT(cv.best_index, 0u);
  EXPECT_LT(cv.best_index, grid.size() - 1);
  EXPECT_LT(cv.table[cv.best_index].mean_rmse, cv.table.front().mean_rmse);
  EXPECT_LE(cv.table[cv.best_index].mean_rmse, cv.table.back().mean_rmse);
  for (const auto& row : cv.table) EXPECT_EQ(row.folds, 4);
  EXPECT_THROW(cross_validate(e, grid, fit, CrossValidationOptions{.folds = 1}), InvalidArgument);
  EXPECT_THROW(cross_validate(e, std::vector<double>{1.0, 2.0}, fit, cvo), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
