// CompletionModel prediction / evaluation and biScale against R softImpute.
#include <gtest/gtest.h>

#include <cmath>

#include "completion/helpers.hpp"
#include "lowrank/completion/biscale.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/solver.hpp"

namespace lowrank {
namespace {

CompletionModel<double> small_model() {
  CompletionModel<double> m;
  m.rows = 3;
  m.cols = 2;
  m.U = Matrix<double>::Zero(3, 1);
  m.U << 1, 0, 0;
  m.V = Matrix<double>::Zero(2, 1);
  m.V << 0, 1;
  m.d = Vector<double>::Constant(1, 2.0);
  m.global_offset = 10;
  m.row_offset = Vector<double>::LinSpaced(3, 1, 3);    // 1 2 3
  m.col_offset = Vector<double>::LinSpaced(2, 0.5, 1);  // 0.5 1
  m.row_scale = Vector<double>::Constant(3, 3.0);
  m.col_scale = Vector<double>::Constant(2, 0.5);
  return m;
}

TEST(CompletionModel, PredictAppliesOffsetsAndScales) {
  const auto m = small_model();
  // (0, 1): 10 + 1 + 1 + 3 * 0.5 * 2 = 15
  EXPECT_DOUBLE_EQ(m.predict(0, 1), 15.0);
  EXPECT_DOUBLE_EQ(m.predict(2, 0), 13.5);
  const Matrix<double> dense = m.to_dense();
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 2; ++j) EXPECT_DOUBLE_EQ(dense(i, j), m.predict(i, j));
  const auto many = m.predict({0, 2, 1}, {1, 0, 1});
  EXPECT_EQ(many, (std::vector<double>{15.0, 13.5, 13.0}));
  EXPECT_THROW(m.predict({0, 3}, {0, 0}), InvalidArgument);
  EXPECT_THROW(m.predict({0}, {0, 1}), InvalidArgument);
}

// The batch predict gathers one side's row per entry and transposes only
// the shorter factor (issue 32); each value must equal the dot of the two
// transposed columns the earlier code formed, bit for bit, on tall and wide
// models, an odd rank (columns at alternating alignment) and repeated rows.
TEST(CompletionModel, BatchPredictEqualsTransposedDotsBitForBit) {
  for (const auto& [m, n] : {std::pair<Index, Index>{60, 7}, {7, 60}}) {
    CompletionModel<double> model;
    model.rows = m;
    model.cols = n;
    const Index r = 5;
    model.U = Matrix<double>::Random(m, r);
    model.V = Matrix<double>::Random(n, r);
    model.d = Vector<double>::LinSpaced(r, 3.0, 0.7);
    model.global_offset = 0.25;
    std::vector<std::int32_t> rows, cols;
    for (std::int32_t k = 0; k < 400; ++k) {
      rows.push_back(static_cast<std::int32_t>((k / 3) % m));  // runs of a repeated row
      cols.push_back(static_cast<std::int32_t>((7 * k + 1) % n));
    }
    const Matrix<double> ud_t = (model.U * model.d.asDiagonal()).transpose();
    const Matrix<double> v_t = model.V.transpose();
    const std::vector<double> got = model.predict(rows, cols);
    ASSERT_EQ(got.size(), rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k)
      EXPECT_EQ(got[k], 0.25 + ud_t.col(rows[k]).dot(v_t.col(cols[k]))) << m << " x " << n << ", entry " << k;
  }
}

TEST(CompletionModel, EvaluateComputesRmseAndMae) {
  const auto m = small_model();
  ObservedEntries<double> e;
  e.rows = 3;
  e.cols = 2;
  e.push_back(0, 1, 16.0);  // error -1
  e.push_back(2, 0, 10.5);  // error 3
  const auto em = evaluate(m, e);
  EXPECT_EQ(em.count, 2u);
  EXPECT_DOUBLE_EQ(em.rmse, std::sqrt(5.0));
  EXPECT_DOUBLE_EQ(em.mae, 2.0);
  e.cols = 3;
  EXPECT_THROW(evaluate(m, e), InvalidArgument);
}

class BiScaleAgainstR : public ::testing::TestWithParam<const char*> {};

// R: biScale(x, maxit = 200, thresh = 1e-14) on the "Incomplete" matrix.
TEST_P(BiScaleAgainstR, SameCentresAndScales) {
  const std::string name = GetParam();
  const auto x = test::read_entries(name);
  const auto ref = test::read_keyed(name + ".biscale.txt");
  BiScaleOptions o;
  o.max_iterations = 200;
  o.tolerance = 1e-14;
  const auto bs = fit_biscale(x, o);
  auto check = [](const Vector<double>& got, const std::vector<double>& want, const char* what) {
    ASSERT_EQ(got.size(), static_cast<Index>(want.size())) << what;
    for (std::size_t k = 0; k < want.size(); ++k) {
      EXPECT_NEAR(got(static_cast<Index>(k)), want[k], 1e-9 * (1 + std::abs(want[k]))) << what << "[" << k << "]";
    }
  };
  check(bs.row_center, ref.at("row_center"), "row_center");
  check(bs.col_center, ref.at("col_center"), "col_center");
  check(bs.row_scale, ref.at("row_scale"), "row_scale");
  check(bs.col_scale, ref.at("col_scale"), "col_scale");
  // The standardised entries have zero mean and unit mean square per row and column.
  const auto z = bs.transform(x);
  std::vector<double> rs(static_cast<std::size_t>(x.rows)), rq(rs.size()), rc(rs.size());
  for (std::size_t k = 0; k < z.nnz(); ++k) {
    const auto i = static_cast<std::size_t>(z.row[k]);
    rs[i] += z.value[k];
    rq[i] += z.value[k] * z.value[k];
    rc[i] += 1;
  }
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_NEAR(rs[i] / rc[i], 0.0, 1e-7);
    EXPECT_NEAR(rq[i] / rc[i], 1.0, 1e-7);
  }
  EXPECT_NEAR(bs.inverse(3, 4, bs.forward(3, 4, 1.25)), 1.25, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BiScaleAgainstR, ::testing::Values("planted60x40", "planted100x80"));

TEST(BiScale, DegenerateRowsKeepNeutralParameters) {
  ObservedEntries<double> e;
  e.rows = 4;  // row 3 empty, row 2 has a single entry
  e.cols = 3;
  for (std::int32_t i = 0; i < 2; ++i)
    for (std::int32_t j = 0; j < 3; ++j) e.push_back(i, j, double(i * 3 + j * j));
  e.push_back(2, 1, 5.0);
  BiScaleOptions o;
  o.col_scale = false;
  const auto bs = fit_biscale(e, o);
  EXPECT_EQ(bs.row_center(3), 0.0);
  EXPECT_EQ(bs.row_scale(3), 1.0);
  EXPECT_TRUE(std::isfinite(bs.row_scale(2)));
  EXPECT_GT(bs.row_scale(2), 0.0);
  o.max_iterations = 0;
  EXPECT_THROW(fit_biscale(e, o), InvalidArgument);
  o.max_iterations = 10;
  e.value[0] = std::nan("");
  EXPECT_THROW(fit_biscale(e, o), InvalidArgument);
}

TEST(IterationMonitor, StopsOnRelativeChangeCapAndNaN) {
  IterationMonitor mon("t", 1e-3, 5, {});
  EXPECT_FALSE(mon.step(100.0));
  EXPECT_FALSE(mon.step(50.0));
  EXPECT_EQ(mon.step(49.99), Status::Success);  // change 2e-4
  IterationMonitor cap("t", 0.0, 2, {});
  EXPECT_FALSE(cap.step(1.0));
  EXPECT_EQ(cap.step(0.5), Status::NotConverging);
  IterationMonitor nan("t", 0.0, 10, {});
  EXPECT_EQ(nan.step(std::nan("")), Status::NumericalIssue);
  Vector<double> s(3);
  s << 3, 1, 0.5;
  EXPECT_EQ(soft_threshold(s, 0.75), 2);
  EXPECT_DOUBLE_EQ(s(0), 2.25);
  EXPECT_DOUBLE_EQ(s(2), 0.0);
  EXPECT_THROW(check_iteration_options("x", -1.0, 3), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
