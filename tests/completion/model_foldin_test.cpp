// CompletionModel extras used by `lowrank recommend`, `--clip` and Python's
// fold-in: checked against closed forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/QR>

#include "lowrank/completion/model.hpp"

namespace lowrank {
namespace {

// A rank-2 model with orthonormal U, V (QR of random matrices), no offsets.
CompletionModel<double> random_model(Index m, Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  auto orth = [&](Index rows) {
    Matrix<double> a(rows, 2);
    for (Index k = 0; k < a.size(); ++k) a.data()[k] = g(rng);
    return Matrix<double>(Eigen::HouseholderQR<Matrix<double>>(a).householderQ() * Matrix<double>::Identity(rows, 2));
  };
  CompletionModel<double> model;
  model.rows = m;
  model.cols = n;
  model.U = orth(m);
  model.V = orth(n);
  model.d = Vector<double>(2);
  model.d << 5.0, 2.0;
  return model;
}

TEST(FoldIn, ClosedFormOnOrthogonalFactors) {
  const CompletionModel<double> model = random_model(6, 9, 1);
  // A new row x fully observed: with B = V diag(sqrt d), B^T B = diag(d), so
  // a_k = sqrt(d_k) v_k^T x / (d_k + lambda) and the fit is sum_k sqrt(d_k) a_k v_k.
  Vector<double> x(9);
  for (Index j = 0; j < 9; ++j) x(j) = std::sin(1.0 + j);
  ObservedEntries<double> e;
  e.rows = 1;
  e.cols = 9;
  for (Index j = 0; j < 9; ++j) {
    e.row.push_back(0);
    e.col.push_back(static_cast<std::int32_t>(j));
    e.value.push_back(x(j));
  }
  for (double lambda : {0.0, 0.7, 30.0}) {
    const Matrix<double> got = fold_in(model, e, lambda);
    Vector<double> want = Vector<double>::Zero(9);
    for (Index k = 0; k < 2; ++k) {
      const double dk = model.d(k);
      want += dk / (dk + lambda) * model.V.col(k).dot(x) * model.V.col(k);
    }
    for (Index j = 0; j < 9; ++j) EXPECT_NEAR(got(0, j), want(j), 1e-12) << "lambda " << lambda;
  }
  // A training row of the model itself comes back exactly at lambda 0.
  const Matrix<double> z = model.to_dense();
  for (Index j = 0; j < 9; ++j) e.value[static_cast<std::size_t>(j)] = z(3, j);
  const Matrix<double> back = fold_in(model, e, 0.0);
  for (Index j = 0; j < 9; ++j) EXPECT_NEAR(back(0, j), z(3, j), 1e-12);
  e.cols = 8;
  EXPECT_THROW(fold_in(model, e, 0.0), InvalidArgument);
}

TEST(Recommend, TopKExcludesAndSorts) {
  const CompletionModel<double> model = random_model(5, 12, 2);
  const Matrix<double> z = model.to_dense();
  const std::vector<std::int32_t> seen = {0, 3, 7};
  const auto recs = recommend(model, 2, 4, seen);
  ASSERT_EQ(recs.size(), 4u);
  // Brute force: the 4 best unseen columns of row 2.
  std::vector<std::pair<double, Index>> all;
  for (Index j = 0; j < 12; ++j)
    if (j != 0 && j != 3 && j != 7) all.push_back({-z(2, j), j});
  std::sort(all.begin(), all.end());
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(recs[k].col, all[k].second);
    EXPECT_NEAR(recs[k].score, z(2, all[k].second), 1e-12);
  }
  EXPECT_EQ(recommend(model, 2, 50, seen).size(), 9u);
  EXPECT_THROW(recommend(model, 5, 1), InvalidArgument);
  EXPECT_THROW(recommend(model, 0, 1, {12}), InvalidArgument);
}

TEST(Clip, PredictionsStayInTheTrainingRange) {
  CompletionModel<double> model = random_model(4, 6, 3);
  ObservedEntries<double> train;
  train.rows = 4;
  train.cols = 6;
  train.row = {0, 1, 2};
  train.col = {0, 1, 2};
  train.value = {-0.5, 0.25, 0.1};
  const Matrix<double> raw = model.to_dense();
  clip_to_range(model, train);
  EXPECT_EQ(model.clip_low, -0.5);
  EXPECT_EQ(model.clip_high, 0.25);
  const Matrix<double> clipped = model.to_dense();
  for (Index i = 0; i < 4; ++i)
    for (Index j = 0; j < 6; ++j) {
      EXPECT_EQ(clipped(i, j), std::clamp(raw(i, j), -0.5, 0.25));
      EXPECT_EQ(model.predict(i, j), clipped(i, j));
      const std::vector<std::int32_t> r{static_cast<std::int32_t>(i)}, c{static_cast<std::int32_t>(j)};
      EXPECT_EQ(model.predict(r, c)[0], clipped(i, j));
    }
  EXPECT_GT((raw - clipped).cwiseAbs().maxCoeff(), 0.1);  // the clip did bind somewhere
}

}  // namespace
}  // namespace lowrank
