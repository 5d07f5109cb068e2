// Hard-rank ALS and robust ALS: planted truths, closed forms, error paths.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "completion/helpers.hpp"
#include "lowrank/completion/als.hpp"

namespace lowrank {
namespace {

using test::make_planted;

// Noiseless rank-3 120 x 80 matrix at 30% observed (r (m + n) log m ~ 2900
// < 2880 x 1.0): ALS with the true rank and a negligible ridge recovers every
// entry, observed or not.
TEST(Als, RecoversNoiselessPlantedMatrix) {
  auto p = make_planted<double>(120, 80, 3, 0.3, 0.0, 11);
  AlsOptions o;
  o.rank = 3;
  o.lambda = 1e-9;
  o.tolerance = 1e-14;
  o.max_iterations = 300;
  auto fit = als(p.train, o);
  const Matrix<double> z = fit.model.to_dense();
  const double rel = (z - p.truth).norm() / p.truth.norm();
  EXPECT_LT(rel, 1e-5) << "iterations " << fit.iterations;
  EXPECT_EQ(fit.model.rank(), 3);
  // SVD form: orthonormal factors, decreasing d.
  EXPECT_LT((fit.model.U.transpose() * fit.model.U - Matrix<double>::Identity(3, 3)).norm(), 1e-10);
  EXPECT_LT((fit.model.V.transpose() * fit.model.V - Matrix<double>::Identity(3, 3)).norm(), 1e-10);
  EXPECT_GE(fit.model.d(0), fit.model.d(1));
}

// Held-out error against the noise level as the sampling rate grows. Below
// the r (m + n) log m threshold (~25% here) recovery fails; above it the
// error on unobserved cells is of the parametric order
// sigma sqrt(r (m + n) / |Omega|) (a factor 2 is allowed), i.e. below sigma.
TEST(Als, HeldOutErrorApproachesNoiseLevelAboveSamplingThreshold) {
  const Index m = 150, n = 100, r = 3;
  const double sigma = 0.1;
  const double threshold = r * (m + n) * std::log(double(m)) / double(m * n);
  ASSERT_NEAR(threshold, 0.25, 0.01);
  double previous = 1e300;
  for (double frac : {0.06, 0.3, 0.5}) {
    auto p = make_planted<double>(m, n, r, frac, sigma, 21);
    AlsOptions o;
    o.rank = r;
    o.lambda = 0.01;
    o.tolerance = 1e-9;
    o.max_iterations = 200;
    auto fit = als(p.train, o);
    const double rmse = evaluate(fit.model, p.test_truth).rmse;  // against the noise-free truth
    const double parametric = sigma * std::sqrt(double(r * (m + n)) / double(p.train.nnz()));
    if (frac > threshold) {
      EXPECT_LT(rmse, 2.0 * parametric) << "fraction " << frac;
      EXPECT_LT(rmse, sigma);
    } else {
      EXPECT_GT(rmse, 5.0 * sigma) << "fraction " << frac << " (below the threshold recovery should fail)";
    }
    EXPECT_LT(rmse, previous);
    previous = rmse;
  }
}

// With every entry observed and lambda = 0, rank-2 ALS converges to the best
// rank-2 approximation: compare with the dense SVD (Eckart-Young).
TEST(Als, FullyObservedMatchesTruncatedSvd) {
  auto p = make_planted<double>(30, 20, 4, 1.0, 0.3, 5);
  AlsOptions o;
  o.rank = 2;
  o.lambda = 0.0;
  o.tolerance = 1e-15;
  o.max_iterations = 2000;
  auto fit = als(p.train, o);
  const Matrix<double> x = test::zero_filled(p.train);
  Eigen::JacobiSVD<Matrix<double>> svd(x, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Matrix<double> best =
      svd.matrixU().leftCols(2) * svd.singularValues().head(2).asDiagonal() * svd.matrixV().leftCols(2).transpose();
  EXPECT_LT((fit.model.to_dense() - best).norm() / best.norm(), 1e-6);
  EXPECT_NEAR(fit.model.d(0), svd.singularValues()(0), 1e-6 * svd.singularValues()(0));
  EXPECT_NEAR(fit.model.d(1), svd.singularValues()(1), 1e-6 * svd.singularValues()(0));
}

// The ALS objective is monotone non-increasing (each half-sweep is an exact
// block minimisation), and the column block, solved last, is stationary.
TEST(Als, ObjectiveDecreasesAndColumnFactorsAreStationary) {
  auto p = make_planted<double>(60, 50, 4, 0.4, 0.2, 8);
  AlsOptions o;
  o.rank = 4;
  o.lambda = 0.1;
  o.biases = true;
  o.max_iterations = 30;
  o.tolerance = 0.0;
  auto fit = als(p.train, o);
  ASSERT_EQ(fit.objective_trace.size(), 30u);
  for (std::size_t k = 1; k < fit.objective_trace.size(); ++k) {
    EXPECT_LE(fit.objective_trace[k], fit.objective_trace[k - 1] * (1 + 1e-12));
  }
  EXPECT_EQ(fit.status, Status::NotConverging);
  // dF/dc_j = 0  <=>  sum_i r_ij = lambda n_j c_j (Frequency weighting). The
  // factor part of the condition depends on the P the solver held, which the
  // SVD-form model does not keep, so only the bias part is checked.
  const auto& m = fit.model;
  std::vector<double> resid_sum(static_cast<std::size_t>(m.cols), 0.0), count(static_cast<std::size_t>(m.cols), 0.0);
  for (std::size_t k = 0; k < p.train.nnz(); ++k) {
    const double r = p.train.value[k] - m.predict(p.train.row[k], p.train.col[k]);
    resid_sum[static_cast<std::size_t>(p.train.col[k])] += r;
    count[static_cast<std::size_t>(p.train.col[k])] += 1.0;
  }
  for (Index j = 0; j < m.cols; ++j) {
    EXPECT_NEAR(resid_sum[static_cast<std::size_t>(j)], 0.1 * count[static_cast<std::size_t>(j)] * m.col_offset(j),
                1e-9);
  }
}

// Biases: on a matrix that is exactly mu + b_i + c_j (rank 0 interaction),
// ALS with biases and a tiny ridge predicts held-out cells exactly.
TEST(Als, BiasesCaptureAdditiveStructure) {
  const Index m = 40, n = 30;
  ObservedEntries<double> train, test;
  train.rows = test.rows = m;
  train.cols = test.cols = n;
  for (Index j = 0; j < n; ++j) {
    for (Index i = 0; i < m; ++i) {
      const double v = 3.5 + 0.1 * double(i % 7) - 0.2 * double(j % 5);
      ((i * 7 + j * 3) % 4 == 0 ? test : train).push_back(std::int32_t(i), std::int32_t(j), v);
    }
  }
  AlsOptions o;
  o.rank = 1;
  o.lambda = 1.0;  // the factor is not needed: shrink it away
  o.bias_lambda = 1e-10;
  o.biases = true;
  o.tolerance = 1e-15;
  o.max_iterations = 200;
  auto fit = als(train, o);
  EXPECT_NEAR(fit.model.global_offset, 3.5 + 0.1 * 3 - 0.2 * 2, 0.05);  // the mean of the train values
  EXPECT_LT(evaluate(fit.model, test).rmse, 1e-6);
}

// Robust ALS versus plain ALS with 5% gross outliers: the clipped fit stays
// close to the truth, the plain one does not.
TEST(Als, RobustVariantResistsOutliers) {
  auto p = make_planted<double>(120, 100, 3, 0.5, 0.05, 31);
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::size_t corrupted = 0;
  for (auto& v : p.train.value) {
    if (u(rng) < 0.05) {
      v += (u(rng) < 0.5 ? -1.0 : 1.0) * (10.0 + 10.0 * u(rng));
      ++corrupted;
    }
  }
  ASSERT_GT(corrupted, 100u);
  AlsOptions o;
  o.rank = 3;
  o.lambda = 0.01;
  o.tolerance = 1e-6;
  o.max_iterations = 200;
  auto plain = als(p.train, o);
  o.robust = true;
  auto robust = als(p.train, o);
  const double e_plain = evaluate(plain.model, p.test_truth).rmse;
  const double e_robust = evaluate(robust.model, p.test_truth).rmse;
  EXPECT_LT(e_robust, 0.1) << "plain " << e_plain;
  EXPECT_GT(e_plain, 5 * e_robust);
  EXPECT_GT(robust.clip_threshold, 0.0);
  EXPECT_LT(robust.clip_threshold, 0.5);  // ~1.345 * 1.4826 * 0.67 sigma-ish: far below the outliers
  EXPECT_EQ(robust.status, Status::Success);
}

// Robust objective (Huber) is non-increasing once the threshold is frozen.
TEST(Als, RobustObjectiveDecreasesWithFixedThreshold) {
  auto p = make_planted<double>(50, 40, 2, 0.5, 0.1, 3);
  p.train.value[0] += 50.0;
  AlsOptions o;
  o.rank = 2;
  o.lambda = 0.05;
  o.robust = true;
  o.clip_threshold = 0.2;
  o.tolerance = 0.0;
  o.max_iterations = 25;
  auto fit = als(p.train, o);
  for (std::size_t k = 1; k < fit.objective_trace.size(); ++k) {
    EXPECT_LE(fit.objective_trace[k], fit.objective_trace[k - 1] * (1 + 1e-12));
  }
  EXPECT_DOUBLE_EQ(fit.clip_threshold, 0.2);
}

// The objective is accumulated inside the last half-sweep (no separate
// residual pass); with lambda = 0 it must equal the loss of the returned
// model, recomputed here from its predictions: squared loss, and Huber's
// with a fixed threshold.
TEST(Als, ObjectiveTraceIsTheLossOfTheReturnedModel) {
  auto p = make_planted<double>(70, 50, 3, 0.4, 0.2, 12);
  p.train.value[5] += 4.0;  // one outlier, so the Huber branch is exercised
  for (const bool robust : {false, true}) {
    AlsOptions o;
    o.rank = 3;
    o.lambda = 0.0;
    o.biases = true;
    o.bias_lambda = 0.0;
    o.robust = robust;
    o.clip_threshold = 0.3;
    o.tolerance = 0.0;
    o.max_iterations = 7;
    auto fit = als(p.train, o);
    double loss = 0.0;
    for (std::size_t k = 0; k < p.train.nnz(); ++k) {
      const double r = p.train.value[k] - fit.model.predict(p.train.row[k], p.train.col[k]);
      const double a = std::abs(r);
      loss += robust ? (a <= 0.3 ? 0.5 * r * r : 0.3 * a - 0.045) : 0.5 * r * r;
    }
    EXPECT_NEAR(fit.objective_trace.back(), loss, 1e-9 * loss) << (robust ? "robust" : "plain");
  }
}

// Fully observed, rank 3 plus small noise, lambda = 0: the spectral start's
// Q already spans the top-3 right singular subspace, so the first sweep ends
// at the Eckart-Young minimum 1/2 sum_{i > 3} sigma_i^2 (closed form).
TEST(Als, SpectralStartOnFullyObservedMatrixIsEckartYoungAfterOneSweep) {
  auto p = make_planted<double>(60, 40, 3, 1.0, 0.01, 13);
  const Matrix<double> x = test::zero_filled(p.train);
  Eigen::JacobiSVD<Matrix<double>> svd(x);
  const double tail = 0.5 * svd.singularValues().tail(37).squaredNorm();
  AlsOptions o;
  o.rank = 3;
  o.lambda = 0.0;
  o.max_iterations = 1;
  o.init = AlsInitialization::Spectral;
  auto fit = als(p.train, o);
  ASSERT_EQ(fit.objective_trace.size(), 1u);
  EXPECT_NEAR(fit.objective_trace[0], tail, 1e-6 * tail);
}

// Rank-1 data fitted at rank 3 from the spectral start: the two trailing
// singular directions of X are rounding noise and start random instead; the
// fit must still be finite and reproduce X (its best rank-3 approximation).
TEST(Als, SpectralStartOnRankDeficientDataStaysWellPosed) {
  auto p = make_planted<double>(30, 20, 1, 1.0, 0.0, 15);
  AlsOptions o;
  o.rank = 3;
  o.lambda = 1e-9;
  o.tolerance = 1e-14;
  o.max_iterations = 200;
  o.init = AlsInitialization::Spectral;
  auto fit = als(p.train, o);
  ASSERT_TRUE(std::isfinite(fit.objective_trace.back()));
  EXPECT_LT((fit.model.to_dense() - p.truth).norm() / p.truth.norm(), 1e-6);
}

// Partially observed planted matrix: from the spectral start ALS reaches the
// same optimum as from a random one in fewer sweeps, and its first sweep is
// already much closer to it.
TEST(Als, SpectralStartConvergesInFewerSweepsThanRandom) {
  auto p = make_planted<double>(200, 150, 4, 0.25, 0.1, 14);
  AlsOptions o;
  o.rank = 4;
  o.lambda = 0.01;
  o.tolerance = 1e-10;
  o.max_iterations = 1000;
  o.init = AlsInitialization::Spectral;
  auto spectral = als(p.train, o);
  o.init = AlsInitialization::Random;
  auto random = als(p.train, o);
  ASSERT_EQ(spectral.status, Status::Success);
  ASSERT_EQ(random.status, Status::Success);
  const double f = spectral.objective_trace.back();
  EXPECT_NEAR(random.objective_trace.back(), f, 1e-6 * f);
  EXPECT_LT(spectral.iterations, random.iterations);
  EXPECT_LT(spectral.objective_trace.front() - f, 0.5 * (random.objective_trace.front() - f));
  EXPECT_LT(evaluate(spectral.model, p.test_truth).rmse, 0.1);
}

TEST(Als, FloatMatchesDouble) {
  auto p = make_planted<double>(60, 40, 2, 0.5, 0.1, 4);
  AlsOptions o;
  o.rank = 2;
  o.lambda = 0.05;
  o.tolerance = 1e-7;
  o.max_iterations = 100;
  auto fd = als(p.train, o);
  auto ff = als(p.train.cast<float>(), o);
  EXPECT_NEAR(ff.objective_trace.back(), fd.objective_trace.back(), 1e-3 * fd.objective_trace.back());
  EXPECT_LT((ff.model.to_dense().cast<double>() - fd.model.to_dense()).norm() / fd.model.to_dense().norm(), 1e-3);
}

TEST(Als, SameSeedSameResultAcrossThreadCounts) {
  auto p = make_planted<double>(80, 60, 3, 0.4, 0.1, 6);
  AlsOptions o;
  o.rank = 3;
  o.max_iterations = 10;
  o.threads = 1;
  auto a = als(p.train, o);
  o.threads = 2;
  auto b = als(p.train, o);
  // Each row's solve is independent of the schedule: bitwise equal.
  EXPECT_EQ(a.objective_trace, b.objective_trace);
}

TEST(Als, WarmStartContinuesFromModel) {
  auto p = make_planted<double>(80, 60, 3, 0.4, 0.05, 7);
  AlsOptions o;
  o.rank = 3;
  o.lambda = 0.01;
  o.tolerance = 1e-7;
  o.max_iterations = 300;
  auto cold = als(p.train, o);
  auto warm = als(p.train, o, &cold.model);
  // The warm start has the same product P Q^T, re-balanced: its first sweep
  // is already at the optimum's objective, a cold start's is far off.
  const double f = cold.objective_trace.back();
  EXPECT_LT(std::abs(warm.objective_trace.front() - f) / f, 5e-2);
  EXPECT_GT(std::abs(cold.objective_trace.front() - f) / f, 1e-1);
  EXPECT_LT(warm.iterations, cold.iterations);
}

TEST(Als, EmptyRowsAndColumnsAreWarnedAndPredictedByOffsets) {
  auto p = make_planted<double>(30, 20, 2, 0.6, 0.1, 9);
  ObservedEntries<double> e = p.train;
  e.rows = 32;  // rows 30, 31 and column 20 have no entries
  e.cols = 21;
  AlsOptions o;
  o.rank = 2;
  o.biases = true;
  o.max_iterations = 20;
  auto fit = als(e, o);
  EXPECT_EQ(fit.empty_rows, 2);
  EXPECT_EQ(fit.empty_cols, 1);
  ASSERT_EQ(fit.warnings.size(), 1u);
  EXPECT_NE(fit.warnings[0].find("no observed entry"), std::string::npos);
  EXPECT_DOUBLE_EQ(fit.model.row_offset(31), 0.0);
  EXPECT_NEAR(fit.model.predict(31, 20), fit.model.global_offset, 1e-12);
  EXPECT_NEAR(fit.model.low_rank_entry(30, 5), 0.0, 1e-12);
}

TEST(Als, InterruptReturnsCurrentEstimate) {
  auto p = make_planted<double>(40, 30, 2, 0.5, 0.1, 10);
  AlsOptions o;
  o.rank = 2;
  o.tolerance = 0.0;
  o.max_iterations = 1000;
  int calls = 0;
  o.progress = [&](const ProgressEvent& ev) {
    EXPECT_EQ(ev.stage, "als");
    EXPECT_EQ(ev.iteration, ++calls);
    if (calls == 3) request_interrupt();
  };
  auto fit = als(p.train, o);
  clear_interrupt();
  EXPECT_EQ(fit.status, Status::Interrupted);
  EXPECT_EQ(fit.iterations, 3);
  EXPECT_EQ(fit.model.rank(), 2);
  EXPECT_LT(evaluate(fit.model, p.train).rmse, 1.0);
}

TEST(Als, RejectsBadArguments) {
  auto p = make_planted<double>(10, 8, 2, 0.6, 0.1, 1);
  AlsOptions o;
  o.rank = 0;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.rank = 9;  // > min(m, n) = 8
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.rank = 2;
  o.lambda = -1;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.lambda = 0.1;
  o.bias_lambda = -0.5;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.bias_lambda.reset();
  o.max_iterations = 0;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.max_iterations = 10;
  o.tolerance = -1;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.tolerance = 1e-5;
  o.robust = true;
  o.clip_factor = 0;
  EXPECT_THROW(als(p.train, o), InvalidArgument);
  o.robust = false;

  auto bad = p.train;
  bad.push_back(bad.row[0], bad.col[0], 1.0);  // duplicate pair
  EXPECT_THROW(als(bad, o), InvalidArgument);
  bad = p.train;
  bad.value[3] = std::nan("");
  EXPECT_THROW(als(bad, o), InvalidArgument);
  bad = p.train;
  bad.row[2] = 10;  // out of range
  EXPECT_THROW(als(bad, o), InvalidArgument);
  ObservedEntries<double> empty;
  empty.rows = 5;
  empty.cols = 5;
  EXPECT_THROW(als(empty, o), InvalidArgument);
  CompletionModel<double> other;
  other.rows = 3;
  other.cols = 3;
  EXPECT_THROW(als(p.train, o, &other), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
