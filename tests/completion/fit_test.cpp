// fit_completion (completion/fit.hpp): the one library entry behind `lowrank
// complete` and Python's SoftImpute / ALS. Planted truths throughout.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>

#include "completion/helpers.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/core/splits.hpp"

namespace lowrank {
namespace {

double normal(std::uint64_t& s) {
  const double u = uniform01(s), v = uniform01(s);
  return std::sqrt(-2.0 * std::log(std::max(u, 1e-300))) * std::cos(6.283185307179586 * v);
}

struct Split {
  ObservedEntries<double> train, test;  ///< test: noise-free truth at held-out cells
};

// x_ij = mu + b_i + c_j + (U V^T)_ij + noise on a fraction of the cells; the
// other cells hold the noise-free truth for scoring.
Split ratings(int m, int n, int r, double frac, double mu, double bias_sd, double factor_sd, double noise,
              std::uint64_t seed) {
  std::uint64_t s = seed;
  Matrix<double> u(m, r), v(n, r);
  for (auto& x : u.reshaped()) x = factor_sd * normal(s);
  for (auto& x : v.reshaped()) x = factor_sd * normal(s);
  Vector<double> b(m), c(n);
  for (auto& x : b) x = bias_sd * normal(s);
  for (auto& x : c) x = bias_sd * normal(s);
  Split out;
  for (auto* e : {&out.train, &out.test}) {
    e->rows = m;
    e->cols = n;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const double t = mu + b(i) + c(j) + u.row(i).dot(v.row(j));
      if (uniform01(s) < frac) out.train.push_back(i, j, t + noise * normal(s));
      else out.test.push_back(i, j, t);
    }
  return out;
}

TEST(FitBiases, MatchesTheRidgeSolutionOfTheBiasModel) {
  // min sum (x - mu - b_i - c_j)^2 + s (|b|^2 + |c|^2) is a ridge regression
  // on m + n indicator columns: solve its normal equations densely.
  const Split d = ratings(12, 9, 1, 0.5, 3.0, 0.7, 0.3, 0.2, 5);
  const double s = 2.5;
  const auto fit = fit_biases(d.train, s, 400);
  const int m = 12, n = 9;
  Matrix<double> a = Matrix<double>::Zero(m + n, m + n);
  Vector<double> rhs = Vector<double>::Zero(m + n);
  double mu = 0;
  for (double x : d.train.value) mu += x;
  mu /= static_cast<double>(d.train.nnz());
  for (std::size_t k = 0; k < d.train.nnz(); ++k) {
    const int i = d.train.row[k], j = m + d.train.col[k];
    a(i, i) += 1;
    a(j, j) += 1;
    a(i, j) += 1;
    a(j, i) += 1;
    rhs(i) += d.train.value[k] - mu;
    rhs(j) += d.train.value[k] - mu;
  }
  a.diagonal().array() += s;
  const Vector<double> sol = a.ldlt().solve(rhs);
  EXPECT_NEAR(fit.mu, mu, 1e-12);
  for (int i = 0; i < m; ++i) EXPECT_NEAR(fit.row(i), sol(i), 1e-8);
  for (int j = 0; j < n; ++j) EXPECT_NEAR(fit.col(j), sol(m + j), 1e-8);
  const auto res = fit.residuals(d.train);
  EXPECT_NEAR(res.value[0], d.train.value[0] - mu - sol(d.train.row[0]) - sol(m + d.train.col[0]), 1e-8);
  EXPECT_THROW(fit_biases(d.train, -1.0, 3), InvalidArgument);
  EXPECT_THROW(fit_biases(d.train, 1.0, 0), InvalidArgument);
}

// Zero-mean rank-3 block, noise 0.5: with centring None, CV's lambda lands
// within two grid steps of the oracle (the grid lambda whose full-data fit is
// nearest the truth), every row of the table averages every fold, and the
// result is the refit at the chosen lambda.
TEST(FitCompletion, CrossValidatedLambdaIsNearTheOracle) {
  const Split d = ratings(60, 50, 3, 0.5, 0.0, 0.0, 1.0, 0.5, 11);
  CompletionFitOptions o;
  o.centering = Centering::None;
  o.folds = 4;
  o.patience = 0;
  o.lambda_count = 15;
  o.min_ratio = 0.01;
  o.soft_impute.max_rank = 20;
  o.soft_impute.tolerance = 1e-6;
  o.soft_impute.max_iterations = 500;
  o.cv_refine = 0;  // the grid's choice against the grid's oracle
  const auto fit = fit_completion(d.train, o);
  ASSERT_TRUE(fit.cv);
  ASSERT_EQ(fit.cv->table.size(), 15u);
  for (const auto& row : fit.cv->table) EXPECT_EQ(row.folds, 4);
  EXPECT_EQ(fit.status, Status::Success);
  EXPECT_EQ(fit.centering, Centering::None);
  EXPECT_DOUBLE_EQ(fit.lambda, fit.cv->best_lambda);
  EXPECT_TRUE(fit.caps_bound.empty());
  // Oracle: the whole grid on all entries, scored against the truth.
  const auto grid = log_lambda_grid(fit.lambda_max, 15, 0.01);
  SoftImputeOptions so = o.soft_impute;
  const auto path = fit_path(d.train, grid,
                             PathFitFunction<double>(
                                 [so](const ObservedEntries<double>& x, double lam, const CompletionModel<double>* w) {
                                   SoftImputeOptions s = so;
                                   s.lambda = lam;
                                   return soft_impute(x, s, w);
                                 }),
                             true);
  std::size_t oracle = 0;
  double best = 1e300;
  for (std::size_t l = 0; l < grid.size(); ++l) {
    const double e = evaluate(path.models[l], d.test).rmse;
    if (e < best) best = e, oracle = l;
  }
  const auto chosen = static_cast<long>(fit.cv->best_index);
  EXPECT_LE(std::abs(chosen - static_cast<long>(oracle)), 2) << "oracle " << oracle << " chosen " << chosen;
  EXPECT_LT(evaluate(fit.model, d.test).rmse, 1.15 * best);
  EXPECT_NEAR(evaluate(fit.model, d.test).rmse, evaluate(path.models[fit.cv->best_index], d.test).rmse, 1e-3);
  // With the refinement (the default), one lambda between the grid's best
  // and each neighbour joins the table; the refit runs the grid down to the
  // chosen lambda, which is the last point of its path.
  o.cv_refine = 1;
  const auto refined = fit_completion(d.train, o);
  ASSERT_TRUE(refined.cv);
  EXPECT_EQ(refined.cv->refined, 2);
  ASSERT_EQ(refined.cv->table.size(), 17u);
  const std::size_t b = fit.cv->best_index;
  // Rows: the grid to b - 1, the point above b, b, the point below b, the rest.
  EXPECT_NEAR(refined.cv->table[b].lambda, std::sqrt(grid[b] * grid[b - 1]), 1e-9 * grid[b]);
  EXPECT_DOUBLE_EQ(refined.cv->table[b + 1].lambda, grid[b]);
  EXPECT_NEAR(refined.cv->table[b + 2].lambda, std::sqrt(grid[b] * grid[b + 1]), 1e-9 * grid[b]);
  EXPECT_LE(refined.cv->table[refined.cv->best_index].mean_rmse, fit.cv->table[b].mean_rmse);
  EXPECT_DOUBLE_EQ(refined.lambda, refined.cv->best_lambda);
  ASSERT_TRUE(refined.path);
  EXPECT_DOUBLE_EQ(refined.path->points.back().lambda, refined.lambda);
  for (std::size_t k = 0; k + 1 < refined.path->points.size(); ++k) {
    EXPECT_DOUBLE_EQ(refined.path->points[k].lambda, grid[k]);
    EXPECT_GT(grid[k], refined.lambda);
  }
}

// Ratings-like data (mean 3.5, user and item effects, a weak rank-2 part):
// the defaults pick the bias centring and beat the bias model alone, which
// is the defaults' own lambda_max end of the path.
TEST(FitCompletion, DefaultsBeatTheBiasBaselineOnPlantedRatings) {
  const Split d = ratings(150, 120, 2, 0.15, 3.5, 0.5, 0.6, 0.5, 3);
  CompletionFitOptions defaults;
  defaults.soft_impute.max_rank = 20;  // for the test's time; the truth has rank 2
  const auto fit = fit_completion(d.train, defaults);
  const auto b = fit_biases(d.train, 5.0, 15);
  CompletionModel<double> base;
  base.rows = 150;
  base.cols = 120;
  base.U = Matrix<double>(150, 0);
  base.V = Matrix<double>(120, 0);
  base.global_offset = b.mu;
  base.row_offset = b.row;
  base.col_offset = b.col;
  const double ours = evaluate(fit.model, d.test).rmse, baseline = evaluate(base, d.test).rmse;
  EXPECT_EQ(fit.centering, Centering::Biases);
  ASSERT_EQ(fit.centering_scores.size(), 2u);
  EXPECT_LT(ours, 0.9 * baseline) << "ours " << ours << " bias model " << baseline;
  EXPECT_GT(fit.model.rank(), 0);
  EXPECT_EQ(fit.status, Status::Success) << fit.stop_reason;
}

// The zero-mean block, scaled down: 150 x 225 (the 200 x
// 300 took 4 s idle and over 100 s under load, its small-lambda fold fits
// converging slowly), rank 3, 12% observed, noise 0.5. Centring costs here
// (row / column means from ~27 / ~18 entries are noise): biScale centring
// loses ~60 % (1.056 against 0.665 uncentred), and the defaults must not
// lose to the uncentred fit. (Rank cap 20 instead of 50 in all three, for
// the test's time: the truth has rank 3.)
TEST(FitCompletion, DefaultsDoNotLoseToUncentredOnAZeroMeanBlock) {
  const Split d = ratings(150, 225, 3, 0.12, 0.0, 0.0, 1.0, 0.5, 7);
  CompletionFitOptions defaults;
  defaults.soft_impute.max_rank = 20;
  const auto fit = fit_completion(d.train, defaults);
  CompletionFitOptions none = defaults;
  none.centering = Centering::None;
  const auto plain = fit_completion(d.train, none);
  CompletionFitOptions center = defaults;
  center.centering = Centering::Center;
  const auto centred = fit_completion(d.train, center);
  const double ours = evaluate(fit.model, d.test).rmse;
  const double uncentred = evaluate(plain.model, d.test).rmse;
  const double biscale = evaluate(centred.model, d.test).rmse;
  EXPECT_LT(uncentred, 0.8 * biscale) << "centring should cost on this block";
  EXPECT_LE(ours, 1.02 * uncentred) << "defaults " << ours << " uncentred " << uncentred << " biScale " << biscale;
  EXPECT_LT(ours, biscale);
}

TEST(FitCompletion, InterruptDuringCvKeepsTheBestFoldFit) {
  const Split d = ratings(80, 60, 3, 0.4, 3.0, 0.4, 0.7, 0.3, 9);
  CompletionFitOptions o;
  int events = 0;
  o.progress = [&events](const ProgressEvent& e) {
    if (std::string_view(e.stage).find("fold 2/5") != std::string_view::npos && ++events == 3) request_interrupt();
  };
  clear_interrupt();
  const auto fit = fit_completion(d.train, o);
  clear_interrupt();
  EXPECT_EQ(fit.status, Status::Interrupted);
  EXPECT_NE(fit.stop_reason.find("cross-validation"), std::string::npos) << fit.stop_reason;
  ASSERT_EQ(fit.model.rows, 80);
  ASSERT_EQ(fit.model.cols, 60);
  ASSERT_TRUE(fit.cv);
  EXPECT_EQ(fit.cv->folds_completed, 1);
  // The kept model is a finished fold fit: it predicts far better than the
  // mean (3.0 plus effects of sd ~0.8).
  EXPECT_LT(evaluate(fit.model, d.test).rmse, 0.6);
  EXPECT_FALSE(fit.path);
}

// Ctrl-C before or during the grid's lambda_max (the SVD returns nothing)
// must not crash: lambda_max falls back to ||P_Omega(X)||_F >= sigma_1, and
// the fit returns a usable model of the data's shape, status interrupted
// (before: a segfault on S(0) in `lowrank complete` interrupted in its first
// second).
TEST(FitCompletion, InterruptBeforeTheGridKeepsAUsableModel) {
  const Split d = ratings(80, 60, 3, 0.4, 3.0, 0.4, 0.7, 0.3, 9);
  const double exact = lambda_max(d.train);
  double fro = 0;
  for (double v : d.train.value) fro += v * v;
  clear_interrupt();
  request_interrupt();
  const double top = lambda_max(d.train);
  const auto fit = fit_completion(d.train, CompletionFitOptions{});
  clear_interrupt();
  EXPECT_GE(top, exact * (1 - 1e-12));
  EXPECT_LE(top, std::sqrt(fro) * (1 + 1e-12));
  EXPECT_EQ(fit.status, Status::Interrupted);
  ASSERT_EQ(fit.model.rows, 80);
  ASSERT_EQ(fit.model.cols, 60);
  for (double p : fit.model.predict(d.test.row, d.test.col)) ASSERT_TRUE(std::isfinite(p));
}

TEST(FitCompletion, ABindingIterationCapIsResumedAndReported) {
  const Split d = ratings(60, 50, 3, 0.5, 0.0, 0.0, 1.0, 0.3, 4);
  CompletionFitOptions o;
  o.lambda = 2.0;
  o.soft_impute.max_iterations = 5;
  o.soft_impute.tolerance = 1e-7;
  o.max_iteration_rounds = 1;
  const auto capped = fit_completion(d.train, o);
  EXPECT_EQ(capped.status, Status::NotConverging);
  ASSERT_EQ(capped.caps_bound.size(), 1u);
  EXPECT_EQ(capped.caps_bound[0], "iterations");
  EXPECT_NE(capped.stop_reason.find("iteration cap"), std::string::npos) << capped.stop_reason;
  // Resumed: caps of 25 iterations at the default tolerance, up to 40 of them.
  CompletionFitOptions r = o;
  r.soft_impute.max_iterations = 25;
  r.soft_impute.tolerance = 1e-5;
  r.max_iteration_rounds = 40;
  const auto resumed = fit_completion(d.train, r);
  EXPECT_EQ(resumed.status, Status::Success) << resumed.stop_reason;
  EXPECT_TRUE(resumed.caps_bound.empty());
  EXPECT_GT(resumed.iterations, 25);
  // It reaches the converged objective of one long solve.
  SoftImputeOptions s = r.soft_impute;
  s.lambda = 2.0;
  s.tolerance = 1e-9;
  s.max_iterations = 5000;
  const auto ref = soft_impute(d.train, s);
  EXPECT_NEAR(resumed.objective_trace.back(), ref.objective_trace.back(), 1e-3 * ref.objective_trace.back());
  EXPECT_GT(capped.objective_trace.back(), resumed.objective_trace.back());
}

// The path's working rank starts at the warm start's rank + margin and grows
// while the solution fills it (working_rank_margin): the same convex
// solutions as running every point at max_rank. A rank-8 truth with margin 2
// makes the working rank grow in rounds; both paths are converged tightly
// and must agree point by point in objective and fit.
TEST(FitCompletion, AGrowingWorkingRankReachesTheFullRankSolutions) {
  const Split d = ratings(70, 60, 8, 0.5, 0.0, 0.0, 1.0, 0.3, 21);
  CompletionFitOptions o;
  o.centering = Centering::None;
  o.folds = 0;
  o.lambda_count = 8;
  o.min_ratio = 0.05;
  o.soft_impute.max_rank = 25;
  o.soft_impute.tolerance = 1e-10;
  o.soft_impute.max_iterations = 20000;
  CompletionFitOptions full = o;
  full.working_rank_margin = 0;
  o.working_rank_margin = 2;
  const auto grown = fit_completion(d.train, o);
  const auto fixed = fit_completion(d.train, full);
  ASSERT_TRUE(grown.path && fixed.path);
  ASSERT_EQ(grown.path->points.size(), 8u);
  ASSERT_EQ(fixed.path->points.size(), 8u);
  for (std::size_t l = 0; l < 8; ++l) {
    const PathPoint &a = grown.path->points[l], &b = fixed.path->points[l];
    EXPECT_EQ(a.rank, b.rank) << "lambda " << a.lambda;
    EXPECT_NEAR(a.objective, b.objective, 1e-7 * std::abs(b.objective)) << "lambda " << a.lambda;
  }
  // The last point needs more than two rounds of margin 2 from rank 0 ...
  EXPECT_GT(grown.model.rank(), 4);
  EXPECT_LT(grown.model.rank(), 25);
  // ... and predicts what the max_rank path predicts.
  const Matrix<double> a = grown.model.U * grown.model.d.asDiagonal() * grown.model.V.transpose();
  const Matrix<double> b = fixed.model.U * fixed.model.d.asDiagonal() * fixed.model.V.transpose();
  EXPECT_LT((a - b).norm(), 1e-4 * b.norm());
  CompletionFitOptions bad = o;
  bad.working_rank_margin = -1;
  EXPECT_THROW(fit_completion(d.train, bad), InvalidArgument);
}

// ALS's grid top (als_lambda_max): at that L2 weight the factors vanish,
// just below it they do not (the weighted trace-norm threshold), and CV over
// the grid from it picks a lambda that predicts the planted truth better than
// both ends of the grid (rank 8 on a noisy rank-3 truth: the small end
// overfits).
TEST(FitCompletion, AlsCrossValidatesItsL2WeightFromTheWeightedLambdaMax) {
  const Split d = ratings(60, 50, 3, 0.4, 0.0, 0.0, 1.0, 0.5, 13);
  AlsOptions a;
  a.rank = 8;
  a.tolerance = 1e-10;
  a.max_iterations = 3000;
  const double top = als_lambda_max(d.train, a);
  ASSERT_GT(top, 0);
  auto fitted_norm = [&](double lam) {
    AlsOptions b = a;
    b.lambda = lam;
    const auto r = als(d.train, b);
    return (r.model.U * r.model.d.asDiagonal() * r.model.V.transpose()).norm();
  };
  EXPECT_LT(fitted_norm(1.01 * top), 1e-3);
  EXPECT_GT(fitted_norm(0.9 * top), 1e-1);
  CompletionFitOptions o;
  o.method = CompletionMethod::Als;
  o.als = a;
  o.als.tolerance = 1e-6;
  o.als.max_iterations = 200;
  o.als_path = true;
  o.folds = 4;
  o.lambda_count = 12;
  const auto fit = fit_completion(d.train, o);
  ASSERT_TRUE(fit.cv);
  EXPECT_DOUBLE_EQ(fit.lambda_max, top);
  EXPECT_DOUBLE_EQ(fit.cv->table.front().lambda, top);
  EXPECT_DOUBLE_EQ(fit.lambda, fit.cv->best_lambda);
  EXPECT_GT(fit.cv->best_index, 0u);
  EXPECT_LT(fit.cv->best_index + 1, fit.cv->table.size());
  const double ours = evaluate(fit.model, d.test).rmse;
  CompletionFitOptions lo = o;
  lo.als_path = false;
  lo.lambda = top * 1e-3;  // the grid's small end: overfits
  EXPECT_LT(ours, 0.9 * evaluate(fit_completion(d.train, lo).model, d.test).rmse);
  // The grid's top end predicts 0: the truth's RMS.
  double sq = 0;
  for (double v : d.test.value) sq += v * v;
  EXPECT_LT(ours, 0.5 * std::sqrt(sq / static_cast<double>(d.test.nnz())));
}

// A grid that stops above the best lambda: CV picks its small end and the
// result says the best lambda may lie beyond it.
TEST(FitCompletion, WarnsWhenTheChosenLambdaIsAtAnEdgeOfTheGrid) {
  const Split d = ratings(40, 30, 3, 0.6, 0.0, 0.0, 1.0, 0.05, 5);
  CompletionFitOptions o;
  o.centering = Centering::None;
  o.folds = 3;
  o.soft_impute.max_rank = 10;
  const double top = lambda_max(d.train);
  o.lambdas = {0.9 * top, 0.8 * top, 0.7 * top};
  const auto fit = fit_completion(d.train, o);
  ASSERT_TRUE(fit.cv);
  EXPECT_EQ(fit.cv->best_index + 1, fit.cv->table.size());  // the grid's small end (a refined row lies above it)
  EXPECT_DOUBLE_EQ(fit.lambda, 0.7 * top);
  bool warned = false;
  for (const auto& w : fit.warnings) warned |= w.find("small end of the grid") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(FitCompletion, ReportsABindingRankCapAndRejectsBadOptions) {
  const Split d = ratings(40, 30, 6, 0.6, 0.0, 0.0, 1.0, 0.05, 2);
  CompletionFitOptions o;
  o.lambda = 0.1;
  o.soft_impute.max_rank = 2;
  const auto fit = fit_completion(d.train, o);
  EXPECT_EQ(fit.model.rank(), 2);
  EXPECT_NE(std::find(fit.caps_bound.begin(), fit.caps_bound.end(), "rank"), fit.caps_bound.end());
  CompletionFitOptions bad;
  bad.folds = 1;
  EXPECT_THROW(fit_completion(d.train, bad), InvalidArgument);
  bad.folds = 5;
  bad.method = CompletionMethod::Als;
  bad.centering = Centering::Biases;
  EXPECT_THROW(fit_completion(d.train, bad), InvalidArgument);
  EXPECT_EQ(parse_completion_method("robust-als"), CompletionMethod::RobustAls);
  EXPECT_EQ(parse_centering("biases"), Centering::Biases);
  EXPECT_THROW(parse_centering("mean"), InvalidArgument);
}

// Issue 34's time: the fold fits run in float (cv_float32) and, when the
// best fold fit fills the rank cap and lies within one row of the choice,
// the refit is one fit warm-started from it (else the grid down to the
// choice). Against double folds and a fixed-lambda fit at the same lambda:
// the same choice, the CV table to 1e-3, the test RMSE to 1 %. Five seeds, so
// that both kinds of refit occur.
TEST(FitCompletion, FloatFoldsAndTheWarmRefitAtTheCapKeepTheAnswer) {
  int warm_refits = 0;
  for (std::uint64_t seed = 13; seed < 18; ++seed) {
    const Split d = ratings(60, 50, 8, 0.5, 0.0, 0.0, 1.0, 0.3, seed);
    CompletionFitOptions o;
    o.centering = Centering::None;
    o.soft_impute.max_rank = 4;  // the truth has rank 8: the cap binds
    const auto fit = fit_completion(d.train, o);
    CompletionFitOptions dbl = o;
    dbl.cv_float32 = false;
    const auto ref = fit_completion(d.train, dbl);
    ASSERT_TRUE(fit.cv && ref.cv && fit.path);
    EXPECT_DOUBLE_EQ(fit.cv->best_lambda, ref.cv->best_lambda) << seed;
    ASSERT_EQ(fit.cv->table.size(), ref.cv->table.size());
    for (std::size_t l = 0; l < fit.cv->table.size(); ++l) {
      if (fit.cv->table[l].folds == 0 || fit.cv->table[l].folds != ref.cv->table[l].folds) continue;
      EXPECT_NEAR(fit.cv->table[l].mean_rmse, ref.cv->table[l].mean_rmse, 1e-3 * ref.cv->table[l].mean_rmse) << l;
    }
    EXPECT_EQ(fit.model.rank(), 4);
    EXPECT_NE(std::find(fit.caps_bound.begin(), fit.caps_bound.end(), "rank"), fit.caps_bound.end());
    std::size_t at = 0;
    for (std::size_t l = 0; l < fit.cv->table.size(); ++l)
      if (fit.cv->table[l].lambda == fit.cv->best_fold_lambda) at = l;
    const std::size_t b = fit.cv->best_index;
    const bool warm = fit.cv->best_fold_model.rank() == 4 && at + 1 >= b && at <= b + 1;
    warm_refits += warm;
    // One refit point at the chosen lambda, or the grid down to it.
    if (warm) EXPECT_EQ(fit.path->points.size(), 1u) << seed;
    else EXPECT_GT(fit.path->points.size(), 1u) << seed;
    EXPECT_DOUBLE_EQ(fit.path->points.back().lambda, fit.lambda);
    EXPECT_EQ(fit.status, Status::Success) << fit.stop_reason;
    CompletionFitOptions fixed = o;
    fixed.lambda = fit.lambda;
    const auto one = fit_completion(d.train, fixed);
    const double ours = evaluate(fit.model, d.test).rmse, yard = evaluate(one.model, d.test).rmse;
    EXPECT_NEAR(ours, yard, 0.01 * yard) << seed;
  }
  EXPECT_GT(warm_refits, 0);
}

}  // namespace
}  // namespace lowrank
