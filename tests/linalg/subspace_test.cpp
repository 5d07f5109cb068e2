// Principal angles against planted angles (including the ill-conditioned ends
// near 0 and pi/2), plus basis and distance helpers.
#include "lowrank/linalg/subspace.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "lowrank/core/error.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

template <class T>
class SubspaceTest : public ::testing::Test {};
TYPED_TEST_SUITE(SubspaceTest, test::Scalars);

// span(A) = span(e_1..e_p), span(B) = span(cos t_i e_i + sin t_i e_{p+i}),
// both rotated by one random orthogonal Q and mixed by random invertible
// coefficient matrices: the principal angles are exactly t.
struct PlantedPair {
  MatrixXd a, b;
};
PlantedPair planted_angles(Index n, Index p, const VectorXd& t, std::uint64_t seed) {
  const Index q = t.size();
  const MatrixXd rot = test::random_orthonormal(n, n, seed);
  MatrixXd a0 = MatrixXd::Zero(n, p), b0 = MatrixXd::Zero(n, q);
  for (Index i = 0; i < p; ++i) a0(i, i) = 1;
  for (Index i = 0; i < q; ++i) {
    b0(i, i) = std::cos(t[i]);
    b0(p + i, i) = std::sin(t[i]);
  }
  MatrixXd ga(p, p), gb(q, q);
  detail::fill_gaussian(ga, seed + 1);
  detail::fill_gaussian(gb, seed + 2);
  return {rot * a0 * ga, rot * b0 * gb};
}

TYPED_TEST(SubspaceTest, PlantedAnglesAcrossTheWholeRange) {
  using T = TypeParam;
  const double pi2 = std::numbers::pi / 2;
  VectorXd t(6);
  t << 1e-9, 1e-4, 0.3, 0.9, pi2 - 1e-5, pi2;
  const auto pair = planted_angles(20, 7, t, 3);
  const Vector<T> got = principal_angles<T>(pair.a.cast<T>(), pair.b.cast<T>());
  ASSERT_EQ(got.size(), 6);
  for (Index i = 1; i < got.size(); ++i) EXPECT_LE(got[i - 1], got[i]);
  // Absolute accuracy at rounding level at both ends (arccos alone would give
  // ~1e-8 for the 1e-9 angle in double; arcsin alone ~1e-8 at pi/2 - 1e-5).
  // The planted input itself is only exact to the condition of the random
  // coefficient matrices, hence the factor of a few hundred ulps.
  const double abs_tol = test::tol<T>(1e-13, 2e-5);
  for (Index i = 0; i < 6; ++i) EXPECT_NEAR(static_cast<double>(got[i]), t[i], abs_tol) << "angle " << i;
  if constexpr (std::is_same_v<T, double>) {
    EXPECT_NEAR(got[0] / t[0], 1.0, 1e-3);  // the tiny angle to relative accuracy
  }
}

TYPED_TEST(SubspaceTest, SymmetricAndInvariantToBasisChoice) {
  using T = TypeParam;
  VectorXd t(3);
  t << 0.2, 0.5, 1.1;
  const auto pair = planted_angles(12, 4, t, 4);
  const Vector<T> ab = principal_angles<T>(pair.a.cast<T>(), pair.b.cast<T>());
  const Vector<T> ba = principal_angles<T>(pair.b.cast<T>(), pair.a.cast<T>());
  EXPECT_LE(static_cast<double>((ab - ba).cwiseAbs().maxCoeff()), test::tol<T>(1e-14, 1e-5));
}

TYPED_TEST(SubspaceTest, IdenticalAndOrthogonalSubspaces) {
  using T = TypeParam;
  const Matrix<T> a = test::random_orthonormal(10, 3, 5).cast<T>();
  const Matrix<T> mixed = a * Matrix<T>(test::random_orthonormal(3, 3, 6).cast<T>()) * T(7);
  EXPECT_LE(static_cast<double>(principal_angles<T>(a, mixed).maxCoeff()), test::tol<T>(1e-14, 1e-6));
  EXPECT_LE(sin_theta_distance<T>(a, mixed), test::tol<T>(1e-14, 1e-6));
  const Matrix<T> q = test::random_orthonormal(10, 6, 7).cast<T>();
  const Vector<T> right = principal_angles<T>(q.leftCols(3), q.rightCols(3));
  for (Index i = 0; i < 3; ++i) EXPECT_NEAR(right[i], std::numbers::pi / 2, test::tol<T>(1e-14, 1e-6));
  EXPECT_NEAR(sin_theta_distance<T>(q.leftCols(3), q.rightCols(3)), 1.0, test::tol<T>(1e-14, 1e-6));
}

TYPED_TEST(SubspaceTest, SinThetaDistanceIsTheSineOfTheLargestAngle) {
  using T = TypeParam;
  VectorXd t(3);
  t << 0.1, 0.4, 0.7;
  const auto pair = planted_angles(15, 3, t, 8);
  EXPECT_NEAR(sin_theta_distance<T>(pair.a.cast<T>(), pair.b.cast<T>()), std::sin(0.7), test::tol<T>(1e-13, 1e-5));
}

TYPED_TEST(SubspaceTest, OrthonormalBasis) {
  using T = TypeParam;
  Matrix<T> a(9, 4);
  MatrixXd g(9, 4);
  detail::fill_gaussian(g, 9);
  a = g.cast<T>();
  const Matrix<T> q = orthonormal_basis(a);
  ASSERT_EQ(q.rows(), 9);
  ASSERT_EQ(q.cols(), 4);
  EXPECT_LE(test::orthonormality_error(q), test::tol<T>(1e-14, 1e-6));
  // Same span: A = Q Q^T A.
  EXPECT_LE(static_cast<double>((a - q * (q.transpose() * a)).norm() / a.norm()), test::tol<T>(1e-14, 1e-6));
  const Matrix<T> wide = orthonormal_basis(Matrix<T>(a.transpose()));  // 4 x 9 -> 4 x 4
  EXPECT_EQ(wide.cols(), 4);
  EXPECT_LE(test::orthonormality_error(wide), test::tol<T>(1e-14, 1e-6));
}

TYPED_TEST(SubspaceTest, DifferentDimensionsGiveMinPQAngles) {
  using T = TypeParam;
  const Matrix<T> q = test::random_orthonormal(10, 5, 10).cast<T>();
  // span(q[:, :2]) lies inside span(q): both angles are zero.
  const Vector<T> inside = principal_angles<T>(q, q.leftCols(2));
  ASSERT_EQ(inside.size(), 2);
  EXPECT_LE(static_cast<double>(inside.maxCoeff()), test::tol<T>(1e-14, 1e-6));
  EXPECT_EQ(principal_angles<T>(q, Matrix<T>(10, 0)).size(), 0);
}

TYPED_TEST(SubspaceTest, MismatchesThrow) {
  using T = TypeParam;
  EXPECT_THROW(principal_angles<T>(Matrix<T>::Ones(5, 2), Matrix<T>::Ones(6, 2)), InvalidArgument);
  EXPECT_THROW(sin_theta_distance<T>(Matrix<T>::Ones(5, 2), Matrix<T>::Ones(6, 2)), InvalidArgument);
  EXPECT_THROW(sin_theta_distance<T>(Matrix<T>::Ones(5, 2), Matrix<T>::Ones(5, 3)), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
