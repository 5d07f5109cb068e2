// Lambda grid, warm-started path and k-fold CV (completion/path.hpp).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

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

// planted(40, 30, 0.5) plus seeded uniform noise of sd 0.3: the CV tests'
// problem, where neither end of the grid should win.
ObservedEntries<double> noisy_planted() {
  auto e = planted(40, 30, 0.5);
  std::uint64_t s = 7;
  for (double& v : e.value) v += 0.3 * (uniform01(s) - 0.5) * std::sqrt(12.0);  // noise sd 0.3
  return e;
}

// Soft-impute at rank 10 with the given stopping rule.
SoftImputeOptions rank10(double tolerance, int max_iterations) {
  SoftImputeOptions o;
  o.max_rank = 10;
  o.tolerance = tolerance;
  o.max_iterations = max_iterations;
  return o;
}

// The path's fit function: soft-impute with `base` at the path's lambda.
PathFitFunction<double> soft_impute_at(const SoftImputeOptions& base) {
  return [base](const ObservedEntries<double>& d, double lambda, const CompletionModel<double>* w) {
    SoftImputeOptions o = base;
    o.lambda = lambda;
    return soft_impute(d, o, w);
  };
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
  const PathFitFunction<double> fit = soft_impute_at(base);
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
  const auto e = noisy_planted();
  const PathFitFunction<double> fit = soft_impute_at(rank10(1e-6, 300));
  const auto grid = log_lambda_grid(lambda_max(e), 12, 1e-3);
  CrossValidationOptions cvo;
  cvo.folds = 4;
  cvo.seed = 3;
  cvo.patience = 0;
  std::vector<std::string> stages;  // progress (issue 34): fold f/F lambda l/L, then the grid's time left
  cvo.progress = [&stages](const ProgressEvent& ev) { stages.emplace_back(ev.stage); };
  const auto cv = cross_validate(e, grid, fit, cvo);
  ASSERT_EQ(stages.size(), 4 * grid.size());
  EXPECT_EQ(stages.front(), "cross-validation fold 1/4 lambda 1/12");
  EXPECT_EQ(stages[11], "cross-validation fold 1/4 lambda 12/12");
  EXPECT_EQ(stages.back().rfind("cross-validation fold 4/4 lambda 12/12, grid ~", 0), 0u) << stages.back();
  EXPECT_NE(stages.back().find("s left"), std::string::npos) << stages.back();
  ASSERT_EQ(cv.table.size(), grid.size());
  // Neither the all-zero end nor the overfitting end wins with noise present.
  EXPECT_GT(cv.best_index, 0u);
  EXPECT_LT(cv.best_index, grid.size() - 1);
  EXPECT_LT(cv.table[cv.best_index].mean_rmse, cv.table.front().mean_rmse);
  EXPECT_LE(cv.table[cv.best_index].mean_rmse, cv.table.back().mean_rmse);
  for (const auto& row : cv.table) EXPECT_EQ(row.folds, 4);
  CrossValidationOptions one_fold;
  one_fold.folds = 1;
  EXPECT_THROW(cross_validate(e, grid, fit, one_fold), InvalidArgument);
  EXPECT_THROW(cross_validate(e, std::vector<double>{1.0, 2.0}, fit, cvo), InvalidArgument);
}

// Refinement (CrossValidationOptions::refine) adds log-spaced lambdas
// between the best grid lambda and its neighbours, scored on the same folds:
// each new row's fold RMSEs equal cold fits at that lambda on the fold's
// training part (the warm starts change the path, not the answer), and the
// choice is the argmin over the merged table.
TEST(CrossValidation, RefinementScoresPointsBetweenTheBestAndItsNeighbours) {
  const auto e = noisy_planted();
  const SoftImputeOptions base = rank10(1e-9, 3000);
  const PathFitFunction<double> fit = soft_impute_at(base);
  const auto grid = log_lambda_grid(lambda_max(e), 8, 1e-2);
  CrossValidationOptions cvo;
  cvo.folds = 3;
  cvo.seed = 3;
  cvo.patience = 0;
  const auto plain = cross_validate(e, grid, fit, cvo);
  ASSERT_GT(plain.best_index, 0u);
  ASSERT_LT(plain.best_index, grid.size() - 1);
  cvo.refine = 2;
  const auto cv = cross_validate(e, grid, fit, cvo);
  ASSERT_EQ(cv.refined, 4);
  ASSERT_EQ(cv.table.size(), grid.size() + 4);
  const std::size_t b = plain.best_index;
  // Rows in path order: the grid's, with two between b-1 and b and two between b and b+1.
  std::vector<double> extra;
  for (std::size_t k : {b - 1, b})
    for (int j = 1; j <= 2; ++j) extra.push_back(grid[k] * std::pow(grid[k + 1] / grid[k], j / 3.0));
  const std::vector<double> want_rows = [&] {
    std::vector<double> w(grid.begin(), grid.begin() + static_cast<std::ptrdiff_t>(b));
    w.insert(w.end(), extra.begin(), extra.begin() + 2);
    w.push_back(grid[b]);
    w.insert(w.end(), extra.begin() + 2, extra.end());
    w.insert(w.end(), grid.begin() + static_cast<std::ptrdiff_t>(b) + 1, grid.end());
    return w;
  }();
  for (std::size_t r = 0; r < want_rows.size(); ++r)
    EXPECT_NEAR(cv.table[r].lambda, want_rows[r], 1e-12 * want_rows[r]);
  // Grid rows are unchanged; the new rows match cold fits on each fold.
  const auto folds = k_fold(e, 3, 3);
  double best = plain.table[b].mean_rmse;
  for (std::size_t r = 0; r < cv.table.size(); ++r) {
    EXPECT_EQ(cv.table[r].folds, 3);
    best = std::min(best, cv.table[r].mean_rmse);
    const auto at = std::find(grid.begin(), grid.end(), cv.table[r].lambda);
    if (at != grid.end()) {
      EXPECT_DOUBLE_EQ(cv.table[r].mean_rmse, plain.table[static_cast<std::size_t>(at - grid.begin())].mean_rmse);
      continue;
    }
    double sum = 0;
    for (const auto& f : folds) {
      const auto train = e.subset(f.train);
      const double factor = cv_lambda_factor(cvo.lambda_scaling, train.nnz(), e.nnz());
      sum += evaluate(fit(train, cv.table[r].lambda * factor, nullptr).model, e.subset(f.test)).rmse;
    }
    EXPECT_NEAR(cv.table[r].mean_rmse, sum / 3, 1e-4) << "row " << r;  // warm vs cold stop within tol
  }
  EXPECT_DOUBLE_EQ(cv.table[cv.best_index].mean_rmse, best);
  EXPECT_DOUBLE_EQ(cv.best_lambda, cv.table[cv.best_index].lambda);
  EXPECT_LE(cv.table[cv.best_index].mean_rmse, plain.table[b].mean_rmse);
  EXPECT_EQ(cv.fits, plain.fits + 3 * 4);
}

// The same entries in another order give the same folds and the same table
// (the CLI reads entries in file order, Python in CSR order).
TEST(CrossValidation, TheTableDoesNotDependOnEntryOrder) {
  auto e = planted(30, 25, 0.5);
  ObservedEntries<double> shuffled;
  shuffled.rows = e.rows;
  shuffled.cols = e.cols;
  const std::size_t n = e.nnz();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t p = (k * 7919 + 5) % n;  // a permutation while gcd(7919, n) = 1
    shuffled.push_back(e.row[p], e.col[p], e.value[p]);
  }
  ASSERT_NE(n % 7919, 0u);
  SoftImputeOptions base;
  base.max_rank = 8;
  base.tolerance = 1e-7;
  const PathFitFunction<double> fit = soft_impute_at(base);
  const auto grid = log_lambda_grid(lambda_max(e), 8, 1e-2);
  CrossValidationOptions cvo;
  cvo.folds = 4;
  cvo.seed = 9;
  cvo.refine = 1;
  const auto a = cross_validate(e, grid, fit, cvo), b = cross_validate(shuffled, grid, fit, cvo);
  ASSERT_EQ(a.table.size(), b.table.size());
  EXPECT_EQ(a.best_index, b.best_index);
  for (std::size_t r = 0; r < a.table.size(); ++r) {
    EXPECT_EQ(a.table[r].lambda, b.table[r].lambda);
    EXPECT_EQ(a.table[r].folds, b.table[r].folds);
    if (a.table[r].folds > 0) {
      EXPECT_NEAR(a.table[r].mean_rmse, b.table[r].mean_rmse, 1e-6) << "row " << r;
    }
  }
}

TEST(CrossValidation, FoldFitsSeeTheGridScaledBySqrtOfTheirShare) {
  const auto e = planted(30, 20, 0.6);
  const auto grid = log_lambda_grid(lambda_max(e), 4, 0.1);
  for (const CvLambdaScaling scaling : {CvLambdaScaling::SqrtEntries, CvLambdaScaling::None}) {
    std::vector<std::pair<std::size_t, double>> calls;  // (training entries, lambda)
    PathFitFunction<double> fit = [&](const ObservedEntries<double>& d, double lambda,
                                      const CompletionModel<double>* w) {
      calls.emplace_back(d.nnz(), lambda);
      SoftImputeOptions o;
      o.max_rank = 5;
      o.max_iterations = 5;
      o.lambda = lambda;
      return soft_impute(d, o, w);
    };
    CrossValidationOptions cvo;
    cvo.folds = 3;
    cvo.patience = 0;
    cvo.lambda_scaling = scaling;
    const auto cv = cross_validate(e, grid, fit, cvo);
    ASSERT_EQ(calls.size(), 3 * grid.size());
    for (std::size_t c = 0; c < calls.size(); ++c) {
      const double share = static_cast<double>(calls[c].first) / static_cast<double>(e.nnz());
      EXPECT_GT(share, 0.6);
      EXPECT_LT(share, 0.7);
      const double want = grid[c % grid.size()] * (scaling == CvLambdaScaling::None ? 1.0 : std::sqrt(share));
      EXPECT_NEAR(calls[c].second, want, 1e-12 * want);
    }
    // the table speaks the full data's lambdas either way
    for (std::size_t l = 0; l < grid.size(); ++l) EXPECT_DOUBLE_EQ(cv.table[l].lambda, grid[l]);
  }
  EXPECT_DOUBLE_EQ(cv_lambda_factor(CvLambdaScaling::SqrtEntries, 75, 100), std::sqrt(0.75));
  EXPECT_DOUBLE_EQ(cv_lambda_factor(CvLambdaScaling::None, 75, 100), 1.0);
  EXPECT_EQ(parse_cv_lambda_scaling("sqrt"), CvLambdaScaling::SqrtEntries);
  EXPECT_EQ(parse_cv_lambda_scaling("none"), CvLambdaScaling::None);
  EXPECT_THROW(parse_cv_lambda_scaling("linear"), InvalidArgument);
}

// Planted rank-3 signal, unit noise, 2 folds (each fold sees half the
// entries), over five seeds: unscaled CV picks lambdas below the one that is
// best for the refit on all entries, which the oracle (error against the
// noiseless matrix, every grid lambda fitted on all entries) shows; scaled CV
// picks larger ones and lands nearer the oracle on the whole. (Seed by seed
// the scaled choice can overshoot by as much as the plain one falls short.)
TEST(CrossValidation, SqrtScalingLandsNearerTheOracleLambda) {
  const int m = 60, n = 50;
  double gap_plain = 0, gap_scaled = 0, err_plain = 0, err_scaled = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    std::uint64_t s = seed;
    Matrix<double> u(m, 3), v(n, 3);
    for (auto& x : u.reshaped()) x = 2.0 * (uniform01(s) - 0.5);
    for (auto& x : v.reshaped()) x = 2.0 * (uniform01(s) - 0.5);
    const Matrix<double> truth = u * v.transpose();
    ObservedEntries<double> e;
    e.rows = m;
    e.cols = n;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        if (uniform01(s) < 0.5) e.push_back(i, j, truth(i, j) + (uniform01(s) - 0.5) * std::sqrt(12.0));
    SoftImputeOptions base;
    base.max_rank = 25;
    base.tolerance = 1e-6;
    base.max_iterations = 1000;
    const PathFitFunction<double> fit = soft_impute_at(base);
    // ratio 0.05^(1/19) = 0.85 per step; halving the data should move the
    // folds' best lambda by about sqrt(2), two steps
    const auto grid = log_lambda_grid(lambda_max(e), 20, 0.05);
    const auto path = fit_path(e, grid, fit, true);
    std::vector<double> err(grid.size());
    for (std::size_t l = 0; l < grid.size(); ++l) {
      const CompletionModel<double>& mdl = path.models[l];
      err[l] = (mdl.U * mdl.d.asDiagonal() * mdl.V.transpose() - truth).norm();
    }
    const auto oracle = static_cast<std::size_t>(std::min_element(err.begin(), err.end()) - err.begin());
    CrossValidationOptions cvo;
    cvo.folds = 2;
    cvo.seed = seed;
    cvo.patience = 0;
    cvo.lambda_scaling = CvLambdaScaling::None;
    const auto plain = cross_validate(e, grid, fit, cvo);
    cvo.lambda_scaling = CvLambdaScaling::SqrtEntries;
    const auto scaled = cross_validate(e, grid, fit, cvo);
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_GE(plain.best_index, oracle);  // larger index = smaller lambda
    EXPECT_LT(scaled.best_index, plain.best_index);
    gap_plain += std::abs(std::log(grid[plain.best_index] / grid[oracle]));
    gap_scaled += std::abs(std::log(grid[scaled.best_index] / grid[oracle]));
    err_plain += err[plain.best_index];
    err_scaled += err[scaled.best_index];
  }
  EXPECT_LT(gap_scaled, 0.85 * gap_plain);  // measured 0.63 vs 0.95
  EXPECT_LT(err_scaled, err_plain);         // measured 127.8 vs 130.0
}

// Screening during the first fold: a later candidate whose validation RMSE
// falls with geometrically shrinking gains towards a floor above the
// leader's stops there; one whose gains shrink slowly enough to pass the
// leader runs on. The fits return constant models on all-zero data, so a
// fit's validation RMSE is |its offset|, a curve the test sets exactly.
TEST(CrossValidation, AClearlyWorseCandidateStopsDuringTheFirstFold) {
  ObservedEntries<double> zeros;
  zeros.rows = 10;
  zeros.cols = 10;
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) zeros.push_back(i, j, 0.0);
  std::vector<double> grid;
  for (int l = 0; l < 15; ++l) grid.push_back(std::pow(0.5, l));
  // RMSE at grid point l: floor + 2 q^l (gains shrink by q per step).
  auto curve = [&grid](double floor, double q) {
    return PathFitFunction<double>(
        [floor, q, grid](const ObservedEntries<double>& d, double lambda, const CompletionModel<double>*) {
          std::size_t l = 0;
          while (l < grid.size() && std::abs(grid[l] - lambda) > 1e-12 * grid[l] * 4) ++l;  // lambda as the fold saw it
          CompletionResult<double> r;
          r.model.rows = d.rows;
          r.model.cols = d.cols;
          r.model.U = Matrix<double>(d.rows, 0);
          r.model.V = Matrix<double>(d.cols, 0);
          r.model.global_offset = floor + 2.0 * std::pow(q, static_cast<double>(l));
          r.lambda = lambda;
          return r;
        });
  };
  CrossValidationOptions o;
  o.folds = 2;
  o.patience = 0;
  o.lambda_scaling = CvLambdaScaling::None;
  // Leader: RMSE 1 everywhere. A: floor 1.5 (never within 2%), gains halve.
  auto res = cross_validate_candidates<double>(zeros, {grid, grid}, {curve(1.0, 0.0), curve(1.5, 0.5)}, o);
  EXPECT_TRUE(res[1].screened_out);
  // 1 + 2 + 3: from grid point 3 on, three shrinking gains predict the floor; point 3's fit is the last.
  EXPECT_EQ(res[1].fits, 4);
  EXPECT_EQ(res[0].fits, 30);
  // B: floor 0.5, below the leader: its path runs every fold to the end and wins.
  res = cross_validate_candidates<double>(zeros, {grid, grid}, {curve(1.0, 0.0), curve(0.5, 0.5)}, o);
  EXPECT_FALSE(res[1].screened_out);
  EXPECT_EQ(res[1].fits, 30);
  EXPECT_LT(res[1].table[res[1].best_index].mean_rmse, 0.51);
  // With screening off (margin < 0) the worse candidate runs on.
  o.screen_margin = -1;
  res = cross_validate_candidates<double>(zeros, {grid, grid}, {curve(1.0, 0.0), curve(1.5, 0.5)}, o);
  EXPECT_FALSE(res[1].screened_out);
  EXPECT_EQ(res[1].fits, 30);
}

// cv_table is the one table both cross_validate and GAME's path build: means
// and sds by hand, and the choice restricted to lambdas every fold reached.
TEST(CrossValidation, TableMeansOverTheFoldsThatReachedEachLambda) {
  const std::vector<double> grid{4.0, 2.0, 1.0, 0.5};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Fold 0 stops after lambda 3 (shorter vector), fold 1 after lambda 2 (NaN).
  const std::vector<FoldScores> folds{{{1.0, 0.8, 0.5}, {0.9, 0.7, 0.4}, {0, 1, 2}},
                                      {{1.2, 0.6, nan, nan}, {1.1, 0.5, nan, nan}, {0, 2, nan, nan}}};
  std::vector<CrossValidationRow> table;
  const std::size_t best = cv_table(folds, grid, table);
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[0].folds, 2);
  EXPECT_DOUBLE_EQ(table[0].mean_rmse, 1.1);
  EXPECT_NEAR(table[0].sd_rmse, std::sqrt(0.02), 1e-12);  // (1.0 - 1.1)^2 + (1.2 - 1.1)^2 over 1
  EXPECT_DOUBLE_EQ(table[1].mean_rmse, 0.7);
  EXPECT_DOUBLE_EQ(table[1].mean_mae, 0.6);
  EXPECT_DOUBLE_EQ(table[1].mean_rank, 1.5);
  EXPECT_EQ(table[2].folds, 1);
  EXPECT_DOUBLE_EQ(table[2].sd_rmse, 0.0);
  // Lambda 3 has the lowest mean (0.5) but only one fold reached it.
  EXPECT_EQ(best, 1u);
  EXPECT_EQ(table[3].folds, 0);
  EXPECT_TRUE(std::isnan(table[3].mean_rmse));
  // No lambda reached by every fold (a fold interrupted before its first
  // fit): the lowest among those any fold reached.
  const std::vector<FoldScores> partial{folds[0], FoldScores{}};
  EXPECT_EQ(cv_table(partial, grid, table), 2u);
}

// A fitter for the loop's own test: predicts sum(train) / (n + lambda) for
// every entry (a shrunken mean), so its held-out errors are known in closed
// form; with stop_after it stops each fold's path there by its own rule.
class ShrunkMeanFitter final : public CvPathFitter<double> {
 public:
  ShrunkMeanFitter(const CvFold<double>& fold, std::vector<double>* kept, int stop_after)
      : fold_(fold), kept_(kept), stop_after_(stop_after) {}
  CvFitScore fit(std::size_t index, double lambda) override {
    double sum = 0;
    for (double v : fold_.train.value) sum += v;
    const double pred = sum / (static_cast<double>(fold_.train.nnz()) + lambda);
    double se = 0, ae = 0;
    for (double v : fold_.test.value) {
      se += (v - pred) * (v - pred);
      ae += std::abs(v - pred);
    }
    CvFitScore s;
    s.rmse = last_ = std::sqrt(se / static_cast<double>(fold_.test.nnz()));
    s.mae = ae / static_cast<double>(fold_.test.nnz());
    s.rank = 1;
    s.stop = stop_after_ >= 0 && static_cast<int>(index) >= stop_after_;
    return s;
  }
  void keep_as_best() override { kept_->push_back(last_); }
  bool own_stop_rule() const override { return stop_after_ >= 0; }

 private:
  const CvFold<double>& fold_;
  std::vector<double>* kept_;
  int stop_after_;
  double last_ = 0;
};

// The one CV loop (cross_validate_paths, behind soft-impute's, ALS's and
// GAME's CV) with any fitter: the table is the mean over cv_splits' folds of
// the closed-form held-out errors, the same fold by fold or with the folds
// in parallel beside a side task (GAME's schedule), and a fitter's own
// stopping rule replaces the patience rule.
TEST(CrossValidation, OneLoopDrivesAnyFitterSeriallyOrWithFoldsInParallel) {
  const auto e = noisy_planted();
  const std::vector<double> grid{400.0, 100.0, 25.0, 5.0, 0.0};
  const int K = 4;
  const std::uint64_t seed = 3;
  // Reference: the held-out RMSE of each fold and lambda, by hand.
  std::vector<double> mean(grid.size(), 0.0);
  double best_fold = std::numeric_limits<double>::infinity();
  for (const auto& s : cv_splits(e, K, seed)) {
    const CvFold<double> f = cv_fold(e, s, CvLambdaScaling::SqrtEntries);
    double sum = 0;
    for (double v : f.train.value) sum += v;
    for (std::size_t l = 0; l < grid.size(); ++l) {
      const double pred = sum / (static_cast<double>(f.train.nnz()) + grid[l] * f.lambda_factor);
      double se = 0;
      for (double v : f.test.value) se += (v - pred) * (v - pred);
      const double rmse = std::sqrt(se / static_cast<double>(f.test.nnz()));
      mean[l] += rmse / K;
      best_fold = std::min(best_fold, rmse);
    }
  }
  std::vector<double> kept;
  auto run = [&](bool parallel, int stop_after, int* side_runs, std::optional<std::size_t>* chosen) {
    CrossValidationOptions o;
    o.folds = K;
    o.seed = seed;
    o.patience = 1;  // would stop the shrunken mean's monotone paths early: a fitter with its own rule ignores it
    o.parallel_folds = parallel;
    if (side_runs) {
      o.side_task = [side_runs, chosen](const std::function<std::optional<std::size_t>()>& so_far) {
        ++*side_runs;
        *chosen = so_far();
      };
    }
    kept.clear();
    const CvFitterFactory<double> factory = [&kept, stop_after](std::size_t, const CvFold<double>& fold) {
      return std::unique_ptr<CvPathFitter<double>>(std::make_unique<ShrunkMeanFitter>(fold, &kept, stop_after));
    };
    return cross_validate_paths<double>(e, {grid}, {factory}, o).front();
  };
  const CrossValidationResult<double> serial = run(false, static_cast<int>(grid.size()), nullptr, nullptr);
  ASSERT_EQ(serial.table.size(), grid.size());
  EXPECT_EQ(serial.fits, K * static_cast<int>(grid.size()));
  EXPECT_EQ(serial.folds_completed, K);
  std::size_t best = 0;
  for (std::size_t l = 0; l < grid.size(); ++l) {
    EXPECT_EQ(serial.table[l].folds, K);
    EXPECT_NEAR(serial.table[l].mean_rmse, mean[l], 1e-12) << l;
    if (mean[l] < mean[best]) best = l;
  }
  EXPECT_EQ(serial.best_index, best);
  // The best fold fit: the lowest held-out RMSE of any fit, the last one kept.
  EXPECT_DOUBLE_EQ(serial.best_fold_rmse, best_fold);
  ASSERT_FALSE(kept.empty());
  EXPECT_DOUBLE_EQ(kept.back(), best_fold);

  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  int side_runs = 0;
  std::optional<std::size_t> chosen;
  const CrossValidationResult<double> par = run(true, static_cast<int>(grid.size()), &side_runs, &chosen);
  omp_set_num_threads(saved);
  for (std::size_t l = 0; l < grid.size(); ++l) EXPECT_EQ(par.table[l].mean_rmse, serial.table[l].mean_rmse) << l;
  EXPECT_EQ(par.best_index, serial.best_index);
  EXPECT_EQ(par.fits, serial.fits);
  EXPECT_DOUBLE_EQ(kept.back(), best_fold);
  // The side task runs once, after at least one fold has finished.
  EXPECT_EQ(side_runs, 1);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_LT(*chosen, grid.size());

  // The fitter's own rule: every fold stops after its second lambda.
  const CrossValidationResult<double> stopped = run(false, 1, nullptr, nullptr);
  EXPECT_EQ(stopped.fits, 2 * K);
  EXPECT_EQ(stopped.table[1].folds, K);
  EXPECT_EQ(stopped.table[2].folds, 0);
  EXPECT_TRUE(std::isnan(stopped.table[2].mean_rmse));
}

TEST(CrossValidation, FoldsPartitionTheEntriesAndScaleTheGrid) {
  const auto e = planted(30, 20, 0.6);
  EXPECT_THROW(cv_splits(e, 1, 0), InvalidArgument);
  EXPECT_THROW(cv_splits(e, static_cast<int>(e.nnz()) + 1, 0), InvalidArgument);
  const auto splits = cv_splits(e, 4, 9);
  ASSERT_EQ(splits.size(), 4u);
  std::size_t held_out = 0;
  for (const auto& s : splits) {
    const CvFold<double> f = cv_fold(e, s, CvLambdaScaling::SqrtEntries);
    EXPECT_EQ(f.train.nnz() + f.test.nnz(), e.nnz());
    EXPECT_DOUBLE_EQ(f.lambda_factor, std::sqrt(static_cast<double>(f.train.nnz()) / e.nnz()));
    EXPECT_EQ(cv_fold(e, s, CvLambdaScaling::None).lambda_factor, 1.0);
    held_out += f.test.nnz();
  }
  EXPECT_EQ(held_out, e.nnz());
}

}  // namespace
}  // namespace lowrank
