// GAME path, CV, centring and the per-group metrics.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "game/detail.hpp"
#include "game/game_test_util.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/game/path.hpp"
#include "lowrank/linalg/subspace.hpp"

namespace {

using namespace game_test;
using lowrank::GameOptions;
using lowrank::GamePathOptions;

// Two categories (3 and 2 levels). Each level l has its own rank-1 column
// pattern v_l on top of a shared rank-1 part, so every group block has a
// known right subspace span(shared, v_l, v_l' of the other category...).
struct Planted {
  lowrank::ObservedEntries<double> entries, test;
  lowrank::RowGroups groups;
  Matrix<double> truth;
  Matrix<double> shared;                 // n x 1
  std::vector<Matrix<double>> specific;  // per group, n x 1
};

Planted planted(Index m, Index n, double p, double noise, double offsets, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Planted pr;
  add_category(pr.groups, "a", assign_levels(m, 3, rng), 3);
  add_category(pr.groups, "b", assign_levels(m, 2, rng), 2);
  pr.shared = gaussian<double>(n, 1, rng);
  pr.truth = gaussian<double>(m, 1, rng) * pr.shared.transpose();
  for (std::size_t k = 0; k < pr.groups.size(); ++k) {
    pr.specific.push_back(gaussian<double>(n, 1, rng));
    for (auto i : pr.groups.rows[k]) pr.truth.row(i) += gaussian<double>(1, 1, rng)(0, 0) * pr.specific[k].transpose();
  }
  // row and column offsets, which centring should absorb
  const Matrix<double> a = gaussian<double>(m, 1, rng, offsets), b = gaussian<double>(1, n, rng, offsets);
  pr.truth.colwise() += a.col(0);
  pr.truth.rowwise() += b.row(0);
  const Matrix<double> noisy = pr.truth + gaussian<double>(m, n, rng, noise);
  std::uniform_real_distribution<double> u(0, 1);
  pr.entries.rows = pr.test.rows = m;
  pr.entries.cols = pr.test.cols = n;
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      if (u(rng) < p || j == i % n)
        pr.entries.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), noisy(i, j));
      else pr.test.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), pr.truth(i, j));
    }
  return pr;
}

// The path options these tests were written with: every fit at GameOptions'
// own defaults (1e-5, 3000 iterations), not the path's (1e-4, 1000), so their
// figures are unchanged by the move of the front-ends' defaults into
// GamePathOptions (issue 27).
GamePathOptions base_options() {
  GamePathOptions po;
  po.game = lowrank::GameOptions{};
  return po;
}

// Path options for the CV tests: `lambdas` down to `min_ratio`, `folds`
// folds, every fold on the whole grid unless `patience` is given.
GamePathOptions cv_options(int lambdas, double min_ratio, int folds, int patience = 0) {
  GamePathOptions po = base_options();
  po.lambdas = lambdas;
  po.min_ratio = min_ratio;
  po.folds = folds;
  po.patience = patience;
  po.centering = lowrank::Centering::Center;  // these tests predate Auto (see the Auto tests below)
  return po;
}

// One uncentred fit at `lambda`, converged tightly (no path, no CV).
GamePathOptions fixed_lambda_options(double lambda) {
  GamePathOptions po = base_options();
  po.centering = lowrank::Centering::None;
  po.lambda = lambda;
  po.game.tolerance = 1e-7;
  return po;
}

TEST(GamePath, FixedLambdaWithoutCentringIsFitGame) {
  const auto pr = planted(30, 16, 0.6, 0.1, 0.0, 1);
  GamePathOptions po = fixed_lambda_options(2.0);
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  GameOptions o = po.game;
  o.lambda = 2.0;
  const auto direct = lowrank::fit_game(pr.entries, pr.groups, o);
  EXPECT_EQ(fit.fits, 1);
  EXPECT_FALSE(fit.offsets.has_value());
  EXPECT_LT((fit.result.estimate - direct.estimate).norm(), 1e-10 * (1 + direct.estimate.norm()));
  EXPECT_DOUBLE_EQ(fit.predict(3, 4), direct.estimate(3, 4));
}

TEST(GamePath, CentringAddsTheOffsetsBackAndRecoversThePlantedMatrix) {
  const auto pr = planted(60, 24, 0.8, 0.1, 3.0, 2);
  GamePathOptions po = base_options();
  po.lambdas = 6;
  po.min_ratio = 0.01;
  po.folds = 3;
  po.seed = 5;
  po.centering = lowrank::Centering::Center;
  const auto c = lowrank::fit_game_path(pr.entries, pr.groups, po);
  ASSERT_TRUE(c.offsets.has_value());
  EXPECT_EQ(c.offsets->mu, 0.0);
  const Matrix<double> full = c.completed();
  EXPECT_NEAR(full(7, 5), c.result.estimate(7, 5) + c.offsets->row(7) + c.offsets->col(5), 1e-12);
  EXPECT_DOUBLE_EQ(c.predict(7, 5), full(7, 5));
  const double ec = lowrank::game_group_errors(c, pr.groups, pr.test).overall.rmse;
  // Planted truth: the centred, cross-validated fit recovers the missing
  // cells well below the entries' spread (sd about 4.5 with the offsets).
  // (Without centring the nuclear norm absorbs the offsets as two extra
  // directions; which does better depends on lambda, so no order is asserted.)
  EXPECT_LT(ec, 0.6);
}

TEST(GamePath, CrossValidationChoosesAnInteriorLambdaAndRefitsDownToIt) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 3);
  GamePathOptions po = cv_options(10, 0.005, 4);  // whole grid on every fold
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  ASSERT_EQ(fit.cv.size(), 10u);
  for (const auto& row : fit.cv) EXPECT_EQ(row.folds, 4);
  // noise sd 0.5: neither the zero fit nor the interpolating end wins
  EXPECT_GT(fit.best_index, 0u);
  EXPECT_LT(fit.best_index, 9u);
  for (std::size_t i = 0; i < fit.cv.size(); ++i) EXPECT_GE(fit.cv[i].mean_rmse, fit.cv[fit.best_index].mean_rmse);
  EXPECT_DOUBLE_EQ(fit.result.lambda, fit.grid[fit.best_index]);
  // the refit fits the chosen lambda in float from zero and polishes it in
  // double: two fits, whatever the index
  EXPECT_EQ(fit.fits, 4 * 10 + 2);
  // the grid starts at lambda_max, where the fit is exactly zero
  EXPECT_DOUBLE_EQ(fit.grid.front(), fit.lambda_max);
}

// The table is completion's cv_table: with patience 1 every fold stops past
// its minimum, so the small-lambda end of the grid is reached by no fold;
// those rows hold NaN with folds 0 (they held a mean RMSE of 0 before), the
// others average the folds that reached them, and the choice is among the
// lambdas every fold reached.
TEST(GamePath, RowsNoFoldReachedHoldNaN) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 3);
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, cv_options(10, 0.005, 4, 1));
  ASSERT_EQ(fit.cv.size(), 10u);
  EXPECT_EQ(fit.cv.back().folds, 0);
  for (const auto& row : fit.cv) {
    EXPECT_EQ(row.folds == 0, std::isnan(row.mean_rmse)) << row.lambda;
    if (row.folds > 0) {
      EXPECT_GT(row.mean_rmse, 0.0) << row.lambda;
    }
  }
  EXPECT_EQ(fit.cv[fit.best_index].folds, 4);
  const auto cv = fit.cv_result();
  ASSERT_TRUE(cv.has_value());
  EXPECT_EQ(cv->best_lambda, fit.grid[fit.best_index]);
}

// The folds fit at lambda * sqrt(fold share) (CvLambdaScaling): with two
// folds each sees half the entries, so the scaled CV moves to larger
// lambdas than the plain one, and the refit uses the grid's lambda. The shift
// is about 1.3 grid steps (sqrt(1/2) against a step of 0.05^(1/11)), within
// one seed's CV noise, so it is asserted over seven seeds, not per seed.
TEST(GamePath, ScaledCrossValidationChoosesLargerLambdasThanPlain) {
  int moved = 0;
  std::size_t sum_plain = 0, sum_scaled = 0;
  for (std::uint64_t seed = 11; seed <= 17; ++seed) {
    const auto pr = planted(72, 24, 0.5, 1.0, 0.0, seed);
    GamePathOptions po = cv_options(12, 0.05, 2);
    po.game.tolerance = 1e-4;  // the CLI's default
    po.lambda_scaling = lowrank::CvLambdaScaling::None;
    const auto plain = lowrank::fit_game_path(pr.entries, pr.groups, po);
    po.lambda_scaling = lowrank::CvLambdaScaling::SqrtEntries;
    const auto scaled = lowrank::fit_game_path(pr.entries, pr.groups, po);
    SCOPED_TRACE("seed " + std::to_string(seed));
    ASSERT_EQ(plain.grid, scaled.grid);
    sum_plain += plain.best_index;  // larger index = smaller lambda
    sum_scaled += scaled.best_index;
    moved += scaled.best_index < plain.best_index;
    EXPECT_DOUBLE_EQ(scaled.result.lambda, scaled.grid[scaled.best_index]);
    // same folds, other lambdas: the validation errors differ below the top
    EXPECT_NE(plain.cv[3].mean_rmse, scaled.cv[3].mean_rmse);
  }
  EXPECT_LT(sum_scaled + 3, sum_plain);
  EXPECT_GE(moved, 4);
}

TEST(GamePath, GroupErrorsCountEachEntryInEveryGroupOfItsRow) {
  const auto pr = planted(30, 12, 0.7, 0.1, 0.0, 4);
  GamePathOptions po = base_options();
  po.lambda = 1.0;
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  const auto e = lowrank::game_group_errors(fit, pr.groups, pr.test);
  ASSERT_EQ(e.groups.size(), 5u);
  // categories partition the rows: the counts of a category add up to all
  std::size_t a = 0, b = 0;
  double sa = 0;
  for (int k = 0; k < 3; ++k) {
    a += e.groups[k].count;
    sa += e.groups[k].rmse * e.groups[k].rmse * static_cast<double>(e.groups[k].count);
  }
  for (int k = 3; k < 5; ++k) b += e.groups[k].count;
  EXPECT_EQ(a, pr.test.nnz());
  EXPECT_EQ(b, pr.test.nnz());
  EXPECT_NEAR(std::sqrt(sa / static_cast<double>(a)), e.overall.rmse, 1e-12);
  double se = 0;
  for (std::size_t t = 0; t < pr.test.nnz(); ++t) {
    const double r = fit.predict(pr.test.row[t], pr.test.col[t]) - pr.test.value[t];
    se += r * r;
  }
  EXPECT_NEAR(e.overall.rmse, std::sqrt(se / static_cast<double>(pr.test.nnz())), 1e-12);
}

TEST(GamePath, GroupSubspacesMatchThePlantedOnes) {
  // Dense sampling, little noise: group k's block has right subspace
  // span(shared, specific_k, specific of the other category's levels present).
  const auto pr = planted(90, 30, 0.9, 0.01, 0.0, 5);
  GamePathOptions po = fixed_lambda_options(0.5);
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  for (std::size_t k = 0; k < 3; ++k) {
    // rows of level k of "a" carry shared + specific_k + the two "b" patterns
    Matrix<double> ref(30, 4);
    ref << pr.shared, pr.specific[k], pr.specific[3], pr.specific[4];
    const auto& g = fit.result.groups[k];
    EXPECT_EQ(lowrank::effective_rank(g, 1e-2), 4) << g.name;
    const auto angles = lowrank::group_subspace_angles(g, ref);
    ASSERT_EQ(angles.size(), 4);
    EXPECT_LT(angles.maxCoeff(), 0.1) << g.name;
    // and far from an unrelated subspace
    std::mt19937_64 rng(9);
    const auto other = lowrank::group_subspace_angles(g, gaussian<double>(30, 1, rng));
    EXPECT_GT(other(0), 0.3);
  }
}

// Folds run in parallel over the OpenMP threads; each fold's fits do not
// depend on the schedule, so the CV table and the refit are those of one
// thread, bit for bit, and every fold's events arrive.
TEST(GamePath, ParallelFoldsReproduceTheSerialPath) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 5);
  GamePathOptions po = cv_options(8, 0.01, 4);
  int cv_events = 0;
  po.progress = [&](const lowrank::ProgressEvent& e) { cv_events += e.stage == "game-cv"; };
  po.game.progress = [](const lowrank::ProgressEvent&) {};  // the fits' events go through the path's lock
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto serial = lowrank::fit_game_path(pr.entries, pr.groups, po);
  EXPECT_EQ(cv_events, 4 * 8);
  cv_events = 0;
  omp_set_num_threads(3);
  const auto parallel = lowrank::fit_game_path(pr.entries, pr.groups, po);
  omp_set_num_threads(saved);
  EXPECT_EQ(cv_events, 4 * 8);
  ASSERT_EQ(serial.cv.size(), parallel.cv.size());
  for (std::size_t i = 0; i < serial.cv.size(); ++i) {
    EXPECT_EQ(serial.cv[i].mean_rmse, parallel.cv[i].mean_rmse) << i;
    EXPECT_EQ(serial.cv[i].sd_rmse, parallel.cv[i].sd_rmse) << i;
    EXPECT_EQ(serial.cv[i].mean_rank, parallel.cv[i].mean_rank) << i;
  }
  EXPECT_EQ(serial.best_index, parallel.best_index);
  EXPECT_EQ(serial.fits, parallel.fits);
  EXPECT_EQ((serial.result.estimate - parallel.result.estimate).norm(), 0.0);
}

// With more threads than running folds, the refit starts beside the last
// folds, down to the lambda the finished folds choose. It is kept only when
// all folds choose the same lambda (it is then the one-thread refit) and
// thrown away otherwise, so the path is the serial one either way.
TEST(GamePath, SpeculativeRefitBesideTheLastFoldKeepsTheSerialResult) {
  const int saved = omp_get_max_threads();
  // 3 folds on 2 threads: the refit is the last task, taken by the thread
  // that finishes its second fold, so it speculates on two folds while the
  // third runs. On a quiet machine those are folds 0-1: with seed 1 they
  // choose the lambda all three do and the speculative refit is kept, with
  // seed 9 they do not and it is thrown away (discarded_fits) and redone.
  // Which folds they are depends on the schedule (under load fold 2 can
  // finish before fold 1), and so do checks of the race between the refit
  // and the last fold (they failed under ASan with ctest -j2). So the test
  // asserts what holds under any schedule: the serial result, and events
  // and discarded fits that add up.
  for (const std::uint64_t seed : {1, 9}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto pr = planted(60, 24, 0.5, 0.5, 0.0, seed);
    GamePathOptions po = cv_options(20, 0.01, 3);
    po.seed = seed;
    omp_set_num_threads(1);
    const auto serial = lowrank::fit_game_path(pr.entries, pr.groups, po);
    std::vector<std::string> stages;
    po.progress = [&](const lowrank::ProgressEvent& e) { stages.emplace_back(e.stage); };
    omp_set_num_threads(2);
    const auto parallel = lowrank::fit_game_path(pr.entries, pr.groups, po);
    omp_set_num_threads(saved);
    EXPECT_EQ(serial.discarded_fits, 0);
    EXPECT_EQ(serial.best_index, parallel.best_index);
    EXPECT_EQ(serial.fits, parallel.fits);
    EXPECT_EQ((serial.result.estimate - parallel.result.estimate).norm(), 0.0);
    // The objective is recomputed after the fit (final_check's SVDs), and a
    // refit redone after the folds runs them with both threads' BLAS: the
    // same estimate can give a last-bit different sum.
    EXPECT_NEAR(serial.result.objective, parallel.result.objective, 1e-12 * serial.result.objective);
    // the refit's float fit and double polish at the chosen lambda, plus the
    // events of a discarded refit
    const auto path_events = std::count(stages.begin(), stages.end(), "game-path");
    EXPECT_EQ(path_events, 2 + parallel.discarded_fits);
    // a thrown-away speculation is one float fit and its double polish
    EXPECT_TRUE(parallel.discarded_fits == 0 || parallel.discarded_fits == 2) << parallel.discarded_fits;
  }
}

// Ctrl-C during cross-validation (issue 31, item 2): on one thread nothing
// was fitted on all entries, so the result is empty and scoring it is
// refused (it read out of bounds before); on two threads the speculative
// refit that had started is kept, at the lambda the finished folds chose.
TEST(GamePath, CtrlCDuringCrossValidationKeepsTheRefitOrTheBestFoldFit) {
  const int saved = omp_get_max_threads();
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 1);
  GamePathOptions po = cv_options(20, 0.01, 3);
  po.seed = 1;
  omp_set_num_threads(1);
  const auto whole = lowrank::fit_game_path(pr.entries, pr.groups, po);
  const auto whole_errors = lowrank::game_group_errors(whole, pr.groups, pr.test);
  // Interrupted in the first fold, after its eighth lambda: no fit on all
  // entries exists, so the best finished fold fit is kept (fitted on 2/3 of
  // the entries with its fold's offsets), as fit_completion keeps its best
  // fold model: a real fit, better on the test cells than its offsets alone,
  // though not the CV's choice.
  int cv_events = 0;
  po.progress = [&cv_events](const lowrank::ProgressEvent& e) {
    if (e.stage == "game-cv" && ++cv_events == 8) lowrank::request_interrupt();
  };
  auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  lowrank::clear_interrupt();
  EXPECT_EQ(fit.status, lowrank::Status::Interrupted);
  ASSERT_TRUE(fit.result.has_estimate());
  ASSERT_EQ(fit.result.estimate.rows(), 60);
  ASSERT_EQ(fit.result.estimate.cols(), 24);
  EXPECT_NE(fit.stop_reason.find("best fold fit so far (fold 1"), std::string::npos) << fit.stop_reason;
  EXPECT_LT(fit.best_index, 8u);
  ASSERT_TRUE(fit.offsets.has_value());  // the fold's centring (cv_options: Center)
  auto offsets_only = fit;
  offsets_only.result.estimate.setZero();
  const double kept_rmse = lowrank::game_group_errors(fit, pr.groups, pr.test).overall.rmse;
  const double offsets_rmse = lowrank::game_group_errors(offsets_only, pr.groups, pr.test).overall.rmse;
  EXPECT_LT(kept_rmse, 0.9 * offsets_rmse) << "whole path " << whole_errors.overall.rmse;
  EXPECT_EQ(fit.model().rows, 60);

  po.progress = [](const lowrank::ProgressEvent& e) {
    if (e.stage == "game-path") lowrank::request_interrupt();  // the speculative refit has fitted its lambda
  };
  omp_set_num_threads(2);
  fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  lowrank::clear_interrupt();
  omp_set_num_threads(saved);
  EXPECT_EQ(fit.status, lowrank::Status::Interrupted);
  ASSERT_EQ(fit.result.estimate.rows(), 60);
  ASSERT_EQ(fit.result.estimate.cols(), 24);
  EXPECT_EQ(fit.result.lambda, fit.grid[fit.best_index]);
  const auto errors = lowrank::game_group_errors(fit, pr.groups, pr.test);
  // a real fit of the planted matrix: within 25% of the uninterrupted one's test RMSE
  EXPECT_LT(errors.overall.rmse, 1.25 * whole_errors.overall.rmse);
}

// The path's events and every fit's own events (folds and the refit alike)
// share the path's clock: on one thread they arrive in time order, and the
// refit's fit events come after the last fold's instead of restarting at 0.
TEST(GamePath, FitEventsOfFoldsAndRefitShareThePathClock) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 5);
  GamePathOptions po = cv_options(6, 0.01, 3);
  std::vector<std::pair<std::string, double>> events;
  po.progress = [&](const lowrank::ProgressEvent& e) { events.emplace_back(std::string(e.stage), e.elapsed_s); };
  po.game.progress = [&](const lowrank::ProgressEvent& e) { events.emplace_back("fit", e.elapsed_s); };
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  omp_set_num_threads(saved);
  ASSERT_EQ(fit.status, lowrank::Status::Success);
  std::size_t last_cv = 0, refit_fit_events = 0, first_path = events.size();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].first == "game-cv") last_cv = i;
    if (events[i].first == "game-path" && first_path == events.size()) first_path = i;
    if (i > 0) {
      EXPECT_GE(events[i].second, events[i - 1].second) << i << " " << events[i].first;
    }
  }
  for (std::size_t i = last_cv + 1; i < events.size(); ++i) refit_fit_events += events[i].first == "fit";
  ASSERT_LT(first_path, events.size());
  EXPECT_GT(first_path, last_cv);
  EXPECT_GT(refit_fit_events, 0u);
  EXPECT_GT(events.back().second, events[last_cv].second);
}

// The fits that only score a fold or warm-start the next lambda run loose
// by default (cv_tolerance 1e-3, one sweep per iteration, float): the
// validation errors move by far less than neighbouring lambdas differ, and
// the refit still reaches the tight optimum (same lambda, same objective).
TEST(GamePath, LooseFoldFitsMoveTheCvCurveLittle) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 7);
  GamePathOptions po = cv_options(8, 0.01, 3);
  po.game.tolerance = 1e-6;
  po.cv_tolerance = 0;  // every fit at 1e-6, in double, each prox solved
  po.cv_sweeps_per_iteration = 0;
  po.cv_float = false;
  const auto tight = lowrank::fit_game_path(pr.entries, pr.groups, po);
  const GamePathOptions defaults;
  EXPECT_EQ(defaults.cv_tolerance, 1e-3);
  EXPECT_EQ(defaults.cv_sweeps_per_iteration, 1);
  EXPECT_TRUE(defaults.cv_float);
  po.cv_tolerance = defaults.cv_tolerance;
  po.cv_sweeps_per_iteration = defaults.cv_sweeps_per_iteration;
  po.cv_float = defaults.cv_float;
  const auto loose = lowrank::fit_game_path(pr.entries, pr.groups, po);
  double moved = 0, spread = 0;
  for (std::size_t i = 0; i < tight.cv.size(); ++i) {
    moved = std::max(moved, std::abs(tight.cv[i].mean_rmse - loose.cv[i].mean_rmse));
    spread = std::max(spread, std::abs(tight.cv[i].mean_rmse - tight.cv[tight.best_index].mean_rmse));
  }
  EXPECT_GT(moved, 0.0);            // the folds did run otherwise
  EXPECT_LT(moved, 0.05 * spread);  // ... and it barely shows
  ASSERT_EQ(tight.best_index, loose.best_index);
  // The reported fit is still solved to 1e-6 in double (one convex optimum,
  // whatever the start).
  const double diff = (tight.result.estimate - loose.result.estimate).norm() / tight.result.estimate.norm();
  EXPECT_GT(diff, 0.0);
  EXPECT_LT(diff, 1e-4);
  EXPECT_NEAR(loose.result.objective, tight.result.objective, 1e-6 * tight.result.objective);
  EXPECT_LT(loose.result.kkt.max(), 1e-4);
  po.cv_tolerance = -1e-3;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.cv_tolerance = 1e-3;
  po.cv_sweeps_per_iteration = -1;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
}

// Without CV the path walks down the whole grid (float, one sweep per
// iteration, 1e-3) and the fit at its smallest lambda is polished in double:
// the same optimum as one tight double fit there.
TEST(GamePath, PathWithoutCvEndsAtTheSmallestLambdaOptimum) {
  const auto pr = planted(60, 24, 0.5, 0.5, 0.0, 4);
  GamePathOptions po = cv_options(6, 0.05, 0);
  po.game.tolerance = 1e-7;
  std::vector<int> path_events;
  po.progress = [&](const lowrank::ProgressEvent& e) {
    if (e.stage == "game-path") path_events.push_back(e.iteration);
  };
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  ASSERT_EQ(fit.status, lowrank::Status::Success);
  EXPECT_EQ(fit.best_index, 5u);
  EXPECT_EQ(fit.fits, 7);  // five lambdas above, the smallest in float, its polish
  EXPECT_EQ(path_events, (std::vector<int>{1, 2, 3, 4, 5, 6, 6}));
  GameOptions o = po.game;
  o.lambda = fit.grid.back();
  o.tolerance = 1e-9;
  o.max_iterations = 20000;
  const auto tight = lowrank::fit_game(fit.offsets->residuals(pr.entries), pr.groups, o);
  EXPECT_NEAR(fit.result.objective, tight.objective, 1e-6 * tight.objective);
  EXPECT_LT((fit.result.estimate - tight.estimate).norm(), 1e-3 * tight.estimate.norm());
}

// Auto (issue 35): CV on the same folds for None and Biases; the pair with
// the lower mean validation RMSE is the fit, bit for bit the fit that names
// that centring. On zero-mean planted blocks observed at 20%, biScale
// centring (the former default) estimates 84 row and column means from few
// entries each and predicts the held-out cells worse than the raw values.
TEST(GamePath, AutoCentringValidatesNoneAgainstBiasesAndBeatsCentringOnZeroMeanData) {
  const auto pr = planted(60, 40, 0.2, 0.3, 0.0, 11);
  GamePathOptions po = cv_options(8, 0.02, 3, 2);
  po.centering = lowrank::Centering::Auto;
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  ASSERT_EQ(fit.status, lowrank::Status::Success);
  ASSERT_EQ(fit.centering_scores.size(), 2u);
  EXPECT_EQ(fit.centering_scores[0].centering, lowrank::Centering::None);
  EXPECT_EQ(fit.centering_scores[1].centering, lowrank::Centering::Biases);
  const auto& winner = fit.centering_scores[0].best_rmse <= fit.centering_scores[1].best_rmse ? fit.centering_scores[0]
                                                                                              : fit.centering_scores[1];
  EXPECT_EQ(fit.centering, winner.centering);
  EXPECT_EQ(fit.result.lambda, winner.best_lambda);
  EXPECT_EQ(fit.offsets.has_value(), fit.centering != lowrank::Centering::None);

  po.centering = winner.centering;
  const auto named = lowrank::fit_game_path(pr.entries, pr.groups, po);
  EXPECT_EQ(named.result.lambda, fit.result.lambda);
  EXPECT_EQ((named.result.estimate - fit.result.estimate).norm(), 0.0);
  ASSERT_EQ(named.cv.size(), fit.cv.size());
  for (std::size_t i = 0; i < fit.cv.size(); ++i) EXPECT_EQ(named.cv[i].mean_rmse, fit.cv[i].mean_rmse);

  po.centering = lowrank::Centering::Center;
  const auto centred = lowrank::fit_game_path(pr.entries, pr.groups, po);
  const double auto_rmse = lowrank::game_group_errors(fit, pr.groups, pr.test).overall.rmse;
  const double centred_rmse = lowrank::game_group_errors(centred, pr.groups, pr.test).overall.rmse;
  EXPECT_LT(auto_rmse, 0.95 * centred_rmse);
}

// Biases: the model predicts mu + b_i + c_j + z_ij, with the shrunken biases
// of completion's fit_biases on all the entries.
TEST(GamePath, BiasesCentringUsesCompletionsShrunkenBiases) {
  const auto pr = planted(40, 20, 0.6, 0.1, 2.0, 12);
  GamePathOptions po = base_options();
  po.centering = lowrank::Centering::Biases;
  po.lambda = 1.0;
  const auto fit = lowrank::fit_game_path(pr.entries, pr.groups, po);
  const auto b = lowrank::fit_biases(pr.entries, po.bias_shrinkage, po.bias_sweeps);
  ASSERT_TRUE(fit.offsets.has_value());
  EXPECT_EQ(fit.offsets->mu, b.mu);
  EXPECT_LT((fit.offsets->row - b.row).norm(), 1e-14);
  EXPECT_NEAR(fit.predict(3, 7), fit.result.estimate(3, 7) + b.mu + b.row(3) + b.col(7), 1e-12);
  EXPECT_NEAR(fit.completed()(3, 7), fit.predict(3, 7), 1e-12);
  GameOptions o = po.game;
  o.lambda = 1.0;
  const auto direct = lowrank::fit_game(b.residuals(pr.entries), pr.groups, o);
  EXPECT_LT((fit.result.estimate - direct.estimate).norm(), 1e-12 * (1 + direct.estimate.norm()));
  po.centering = lowrank::Centering::Scale;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
}

TEST(GamePath, RejectsBadOptions) {
  const auto pr = planted(20, 10, 0.6, 0.1, 0.0, 6);
  GamePathOptions po = base_options();
  po.lambdas = 0;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.lambdas = 5;
  po.min_ratio = 1.0;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.min_ratio = 0.1;
  po.folds = 1;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.folds = 3;
  po.lambda = -1.0;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
}

// ---- weight search (GamePathOptions::weight_search, issue 35) ---------------

// Explicit weights equal to the scheme's (what every weight candidate passes)
// give the default path's fit bit for bit, and a search whose candidates
// never beat the given weights returns that same fit.
TEST(GameWeightSearch, ExplicitSchemeWeightsReproduceTheDefaultPath) {
  omp_set_num_threads(1);
  const auto pr = planted(40, 16, 0.5, 0.5, 0.0, 21);
  GamePathOptions po;  // the path's defaults: Latent, auto storage
  po.lambdas = 5;
  po.folds = 3;
  po.centering = lowrank::Centering::None;
  const auto plain = lowrank::fit_game_path(pr.entries, pr.groups, po);
  std::vector<double> w = lowrank::game_weights(pr.entries.rows, pr.entries.cols, pr.groups, po.game);
  GamePathOptions explicit_w = po;
  explicit_w.game.global_weight = w.back();
  w.pop_back();
  explicit_w.game.weights = w;
  const auto same = lowrank::fit_game_path(pr.entries, pr.groups, explicit_w);
  EXPECT_EQ(same.result.lambda, plain.result.lambda);
  const Matrix<double> a = plain.completed(), b = same.completed();
  EXPECT_EQ((a - b).norm(), 0.0);

  // the first candidate of a search is the given weights' whole path, and
  // the search returns the candidate with the lowest CV error
  GamePathOptions search = po;
  search.weight_search = lowrank::GameWeightSearch::PerGroup;
  search.weight_multipliers = {4.0};
  const auto s = lowrank::fit_game_path(pr.entries, pr.groups, search);
  ASSERT_EQ(s.weight_scores.size(), 1 + pr.groups.size());
  EXPECT_EQ(s.weight_scores[0].candidate, "sqrt-size-plus-sqrt-cols");
  EXPECT_EQ(s.weight_scores[0].cv_rmse, plain.cv[plain.best_index].mean_rmse);
  std::size_t best = 0;
  for (std::size_t c = 1; c < s.weight_scores.size(); ++c)
    if (s.weight_scores[c].cv_rmse < s.weight_scores[best].cv_rmse) best = c;
  EXPECT_EQ(s.weighting, s.weight_scores[best].candidate);
  EXPECT_EQ(s.result.lambda, s.weight_scores[best].lambda);
  for (std::size_t k = 0; k < s.result.groups.size(); ++k)
    EXPECT_EQ(s.result.groups[k].weight, s.weight_scores[best].weights[k]);
  if (best == 0) {
    EXPECT_EQ((s.completed() - a).norm(), 0.0);
  }
  EXPECT_GT(s.fits, plain.fits);
}

// Two disjoint groups without the global group (so GAME is soft-impute per
// group at lambda w_k) whose noise differs 20-fold: one lambda cannot suit
// both, so the per-group search must move the weights apart in the noisy
// group's favour of more shrinkage, and the refitted winner must be the path
// with those weights and predict the truth better than the default weights.
TEST(GameWeightSearch, PerGroupFindsThePlantedWeightOfANoisyGroup) {
  omp_set_num_threads(1);
  const Index m = 60, n = 24;
  std::mt19937_64 rng(5);
  Matrix<double> truth = gaussian<double>(m, 2, rng) * gaussian<double>(2, n, rng);
  lowrank::RowGroups groups;
  groups.names = {"clean", "noisy"};
  groups.rows.resize(2);
  for (Index i = 0; i < m; ++i) groups.rows[i < m / 2 ? 0 : 1].push_back(static_cast<std::int32_t>(i));
  lowrank::ObservedEntries<double> train, test;
  train.rows = test.rows = m;
  train.cols = test.cols = n;
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> z(0, 1);
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      const double sd = i < m / 2 ? 0.05 : 1.0;
      if (u(rng) < 0.6)
        train.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), truth(i, j) + sd * z(rng));
      else test.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), truth(i, j));
    }
  GamePathOptions po;
  po.lambdas = 12;
  po.min_ratio = 0.005;
  po.folds = 3;
  po.patience = 0;
  po.centering = lowrank::Centering::None;
  po.game.include_global_group = false;
  const auto plain = lowrank::fit_game_path(train, groups, po);
  po.weight_search = lowrank::GameWeightSearch::PerGroup;
  po.weight_multipliers = {0.2, 5.0};
  const auto s = lowrank::fit_game_path(train, groups, po);
  ASSERT_EQ(s.status, lowrank::Status::Success);
  ASSERT_EQ(s.weight_scores.size(), 5u);
  EXPECT_NE(s.weighting, "sqrt-size-plus-sqrt-cols");
  const double ratio = s.result.groups[1].weight / s.result.groups[0].weight;
  EXPECT_GE(ratio, 4.9);  // the equal-size groups start at ratio 1; one factor of 5 (or 1/0.2) at least
  // the winner is the lowest CV error of all candidates, and below the given weights'
  double lowest = s.weight_scores[0].cv_rmse;
  for (const auto& c : s.weight_scores) lowest = std::min(lowest, c.cv_rmse);
  EXPECT_LT(lowest, 0.95 * s.weight_scores[0].cv_rmse);
  // refitted from its CV table = the path with those weights
  GamePathOptions chosen = po;
  chosen.weight_search = lowrank::GameWeightSearch::None;
  chosen.game.weights = {s.result.groups[0].weight, s.result.groups[1].weight};
  const auto direct = lowrank::fit_game_path(train, groups, chosen);
  EXPECT_EQ(direct.result.lambda, s.result.lambda);
  EXPECT_EQ(direct.cv[direct.best_index].mean_rmse, lowest);
  EXPECT_LE((direct.completed() - s.completed()).norm(), 1e-12 * direct.completed().norm());
  const double plain_rmse = lowrank::game_group_errors(plain, groups, test).overall.rmse;
  const double search_rmse = lowrank::game_group_errors(s, groups, test).overall.rmse;
  EXPECT_LT(search_rmse, 0.9 * plain_rmse);
}

// sqrt(p_k / p) times the scheme's weight, by hand.
TEST(GameWeightSearch, SampledWeightsScaleBySqrtOfEachGroupsRate) {
  lowrank::ObservedEntries<double> e;
  e.rows = 4;
  e.cols = 10;
  for (int j = 0; j < 8; ++j) e.push_back(0, j, 1.0);  // rows 0-1: 8 + 2 of 20 cells
  for (int j = 0; j < 2; ++j) e.push_back(1, j, 1.0);
  for (int j = 0; j < 10; ++j) e.push_back(2, j, 1.0);  // rows 2-3: 10 + 10 of 20
  for (int j = 0; j < 10; ++j) e.push_back(3, j, 1.0);
  lowrank::RowGroups g;
  g.names = {"sparse", "dense"};
  g.rows = {{0, 1}, {2, 3}};
  GameOptions o;
  const std::vector<double> base = lowrank::game_weights(4, 10, g, o);
  const std::vector<double> w = lowrank::game_sampled_weights(e, g, o);
  ASSERT_EQ(w.size(), 3u);
  const double p = 30.0 / 40.0;
  EXPECT_NEAR(w[0], base[0] * std::sqrt(0.5 / p), 1e-15);
  EXPECT_NEAR(w[1], base[1] * std::sqrt(1.0 / p), 1e-15);
  EXPECT_EQ(w[2], base[2]);  // the global group's rate is p
}

TEST(GameWeightSearch, RejectsASearchWithoutCvAndBadMultipliers) {
  const auto pr = planted(20, 10, 0.6, 0.1, 0.0, 6);
  GamePathOptions po;
  po.weight_search = lowrank::GameWeightSearch::Schemes;
  po.folds = 0;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.folds = 3;
  po.lambda = 1.0;
  EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  po.lambda.reset();
  po.weight_search = lowrank::GameWeightSearch::PerGroup;
  for (const std::vector<double>& bad : {std::vector<double>{}, {1.0}, {0.0}, {-2.0}}) {
    po.weight_multipliers = bad;
    EXPECT_THROW(lowrank::fit_game_path(pr.entries, pr.groups, po), lowrank::InvalidArgument);
  }
  EXPECT_EQ(lowrank::parse_game_weight_search("per-group"), lowrank::GameWeightSearch::PerGroup);
  EXPECT_THROW(lowrank::parse_game_weight_search("grid"), lowrank::InvalidArgument);
}

// ---- when a fold's path stops (game_detail::FoldStopRule) -------------------

// Held-out squared errors of 400 entries: level * b_t, b_t in [0.5, 1.5].
std::vector<double> squared_errors(double level) {
  std::vector<double> e(400);
  for (std::size_t t = 0; t < e.size(); ++t) e[t] = level * (1.0 + 0.5 * std::sin(static_cast<double>(t)));
  return e;
}

// The same mean as squared_errors(level + rise), but the change from level
// swings by +-swing from entry to entry: a rise the entries do not agree on.
std::vector<double> noisy_rise(double level, double rise, double swing) {
  std::vector<double> e = squared_errors(level);
  for (std::size_t t = 0; t < e.size(); ++t)
    e[t] += rise * (1.0 + 0.5 * std::sin(static_cast<double>(t))) + (t % 2 == 0 ? swing : -swing);
  return e;
}

TEST(GameFoldStop, RisesBeforeTheErrorHasComeDownDoNotStopTheFold) {
  lowrank::game_detail::FoldStopRule rule(1);
  EXPECT_FALSE(rule.should_stop(squared_errors(10.0)));
  EXPECT_FALSE(rule.should_stop(squared_errors(10.1)));  // a bump at the top of the path
  EXPECT_FALSE(rule.should_stop(squared_errors(10.2)));
  EXPECT_FALSE(rule.should_stop(squared_errors(9.0)));  // 5 % below the first RMSE
  EXPECT_TRUE(rule.should_stop(squared_errors(9.1)));   // patience 1: the first rise now stops it
}

TEST(GameFoldStop, ASignificantRiseStopsAtOnceANoisyOneWaitsForThePatience) {
  {
    lowrank::game_detail::FoldStopRule rule(2);
    EXPECT_FALSE(rule.should_stop(squared_errors(10.0)));
    EXPECT_FALSE(rule.should_stop(squared_errors(9.0)));
    // every entry's error grows by 1 %: z = mean / (sd / sqrt(400)) ~ 57
    EXPECT_TRUE(rule.should_stop(squared_errors(9.09)));
  }
  {
    lowrank::game_detail::FoldStopRule rule(2);
    EXPECT_FALSE(rule.should_stop(squared_errors(10.0)));
    EXPECT_FALSE(rule.should_stop(squared_errors(9.0)));
    // the same mean rise, but entries move by +-3 either way: z ~ 0.6
    EXPECT_FALSE(rule.should_stop(noisy_rise(9.0, 0.09, 3.0)));
    EXPECT_TRUE(rule.should_stop(noisy_rise(9.0, 0.1, 3.0)));  // the second rise in a row
  }
  {
    // a new minimum in between resets the count
    lowrank::game_detail::FoldStopRule rule(2);
    EXPECT_FALSE(rule.should_stop(squared_errors(10.0)));
    EXPECT_FALSE(rule.should_stop(squared_errors(9.0)));
    EXPECT_FALSE(rule.should_stop(noisy_rise(9.0, 0.09, 3.0)));
    EXPECT_FALSE(rule.should_stop(squared_errors(8.5)));
    EXPECT_FALSE(rule.should_stop(noisy_rise(8.5, 0.09, 3.0)));
    EXPECT_TRUE(rule.should_stop(noisy_rise(8.5, 0.1, 3.0)));
  }
}

TEST(GameFoldStop, PatienceZeroRunsTheWholeGrid) {
  lowrank::game_detail::FoldStopRule rule(0);
  for (const double level : {10.0, 9.0, 9.5, 10.0, 12.0, 20.0}) EXPECT_FALSE(rule.should_stop(squared_errors(level)));
}

}  // namespace
