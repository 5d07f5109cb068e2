// Error metrics against dense reference computations.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <Eigen/SVD>

#include "lowrank/core/error.hpp"
#include "lowrank/rl/metrics.hpp"
#include "lowrank/rl/planted.hpp"
#include "lowrank/rl/rng.hpp"

using namespace lowrank;
using namespace lowrank::rl;

namespace {

Matrix<double> random_orthonormal(Index m, Index r, Rng& rng) {
  Matrix<double> g(m, r);
  for (Index j = 0; j < r; ++j)
    for (Index i = 0; i < m; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Matrix<double>> qr(g);
  return qr.householderQ() * Matrix<double>::Identity(m, r);
}

double dense_two_to_inf(const Matrix<double>& a, const Matrix<double>& b) {
  const Matrix<double> d = a * a.transpose() - b * b.transpose();
  return d.rowwise().norm().maxCoeff();
}

}  // namespace

TEST(RlMetrics, TwoToInfinityMatchesDenseProjectors) {
  Rng rng(1);
  const Matrix<double> a = random_orthonormal(40, 3, rng), b = random_orthonormal(40, 4, rng);
  EXPECT_NEAR(two_to_infinity_projection_distance(a, b), dense_two_to_inf(a, b), 1e-12);
  EXPECT_NEAR(two_to_infinity_projection_distance(a, a), 0.0, 1e-7);
  // Same subspace, rotated basis: distance 0.
  const Matrix<double> rot = random_orthonormal(3, 3, rng);
  EXPECT_NEAR(two_to_infinity_projection_distance<double>(a, a * rot), 0.0, 1e-7);
  EXPECT_THROW(two_to_infinity_projection_distance<double>(a, Matrix<double>(39, 3)), InvalidArgument);
}

TEST(RlMetrics, FactoredErrorsMatchDenseDifference) {
  PlantedMatrixOptions po;
  po.rows = 50;
  po.cols = 30;
  po.rank = 3;
  po.seed = 2;
  const auto truth = planted_low_rank<double>(po);
  po.rank = 4;
  po.seed = 3;
  auto est = planted_low_rank<double>(po);
  est.d *= 0.1;
  const Matrix<double> diff = est.to_dense() - truth.to_dense();
  const auto e = estimation_errors(truth, est);
  Eigen::JacobiSVD<Matrix<double>> svd(diff);
  EXPECT_NEAR(e.max_entry, diff.cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_NEAR(e.spectral, svd.singularValues()(0), 1e-9 * svd.singularValues()(0));
  EXPECT_NEAR(e.frobenius, diff.norm(), 1e-9 * diff.norm());
  EXPECT_NEAR(e.relative_frobenius, diff.norm() / truth.to_dense().norm(), 1e-9);
  EXPECT_NEAR(e.two_to_infinity_left, dense_two_to_inf(est.U, truth.U), 1e-10);
  EXPECT_NEAR(e.two_to_infinity_right, dense_two_to_inf(est.V, truth.V), 1e-10);
  // Dense overload: same numbers, no subspace errors.
  const auto ed = estimation_errors(truth, Matrix<double>(est.to_dense()));
  EXPECT_NEAR(ed.max_entry, e.max_entry, 1e-10);
  EXPECT_NEAR(ed.spectral, e.spectral, 1e-6 * e.spectral);
  EXPECT_NEAR(ed.frobenius, e.frobenius, 1e-9 * e.frobenius);
  EXPECT_TRUE(std::isnan(ed.two_to_infinity_left));
  EXPECT_THROW(estimation_errors(truth, Matrix<double>(49, 30)), InvalidArgument);
}

TEST(RlMetrics, CoherenceBounds) {
  Matrix<double> e = Matrix<double>::Zero(10, 2);
  e(0, 0) = 1;
  e(1, 1) = 1;
  EXPECT_DOUBLE_EQ(coherence(e), 5.0);  // maximal: m / r
  Matrix<double> flat = Matrix<double>::Constant(16, 1, 0.25);
  EXPECT_DOUBLE_EQ(coherence(flat), 1.0);  // minimal
}
