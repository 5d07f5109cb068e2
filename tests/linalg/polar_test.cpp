// Polar factor by SVD and by Newton-Schulz (cubic and Muon's quintic).
#include "lowrank/linalg/polar.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/svd.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

template <class T>
class PolarTest : public ::testing::Test {};
TYPED_TEST_SUITE(PolarTest, test::Scalars);

// Q has orthonormal columns (tall) or rows (wide), and H = Q^T A is symmetric PSD.
template <class T>
void expect_polar(const Matrix<T>& a, const Matrix<T>& q, double tolerance) {
  ASSERT_EQ(q.rows(), a.rows());
  ASSERT_EQ(q.cols(), a.cols());
  const Matrix<T> side = a.rows() >= a.cols() ? Matrix<T>(q) : Matrix<T>(q.transpose());
  EXPECT_LE(test::orthonormality_error(side), tolerance);
  const Matrix<T> h = a.rows() >= a.cols() ? Matrix<T>(q.transpose() * a) : Matrix<T>(a * q.transpose());
  EXPECT_LE(static_cast<double>((h - h.transpose()).norm() / h.norm()), tolerance);
  const Eigen::SelfAdjointEigenSolver<Matrix<T>> eig(Matrix<T>((h + h.transpose()) / 2));
  EXPECT_GE(static_cast<double>(eig.eigenvalues().minCoeff()), -tolerance * static_cast<double>(h.norm()));
}

TYPED_TEST(PolarTest, SvdPolarIsOrthonormalWithSymmetricPsdFactor) {
  using T = TypeParam;
  for (auto [m, n] : {std::pair<Index, Index>{20, 8}, {8, 20}, {10, 10}}) {
    MatrixXd g(m, n);
    detail::fill_gaussian(g, static_cast<std::uint64_t>(m * 100 + n));
    const Matrix<T> a = g.cast<T>();
    expect_polar<T>(a, polar_factor_svd(a), test::tol<T>(1e-13, 1e-5));
  }
}

TYPED_TEST(PolarTest, CubicNewtonSchulzEqualsSvdPolar) {
  using T = TypeParam;
  // sigma in [1, 10]: sigma_min / ||A||_F ~ 0.04, so ~8 linear steps + a quadratic tail.
  VectorXd s(12);
  for (Index i = 0; i < 12; ++i) s[i] = 1.0 + 9.0 * static_cast<double>(i) / 11.0;
  for (auto [m, n] : {std::pair<Index, Index>{30, 12}, {12, 30}}) {
    const auto p = test::planted(m, n, s, static_cast<std::uint64_t>(m + n));
    const Matrix<T> a = p.a.template cast<T>();
    const Matrix<T> ns = polar_factor_newton_schulz(a);
    const Matrix<T> ref = polar_factor_svd(a);
    EXPECT_LE(static_cast<double>((ns - ref).cwiseAbs().maxCoeff()), test::tol<T>(1e-10, 1e-5));
    // And against the planted factors directly: U V^T.
    const MatrixXd uvt = p.u * p.v.transpose();
    EXPECT_LE(static_cast<double>((ns.template cast<double>() - uvt).cwiseAbs().maxCoeff()), test::tol<T>(1e-10, 1e-5));
  }
}

TYPED_TEST(PolarTest, MuonQuinticLandsSingularValuesNearOne) {
  using T = TypeParam;
  // sigma / ||A||_F between ~0.02 and 0.5: the regime Muon's coefficients target.
  VectorXd s(16);
  for (Index i = 0; i < 16; ++i) s[i] = std::pow(30.0, -static_cast<double>(i) / 15.0);
  const auto p = test::planted(40, 16, s, 31);
  const Matrix<T> a = p.a.template cast<T>();
  NewtonSchulzOptions o;
  o.kind = NewtonSchulzKind::MuonQuintic;
  o.iterations = 5;
  const Matrix<T> x = polar_factor_newton_schulz(a, o);
  const Vector<T> sv = singular_values(x);
  EXPECT_GE(static_cast<double>(sv.minCoeff()), 0.6);
  EXPECT_LE(static_cast<double>(sv.maxCoeff()), 1.25);
  // Same singular vectors as A: X = U f(S) V^T, so U^T X V is diagonal.
  const MatrixXd core = p.u.transpose() * x.template cast<double>() * p.v;
  const MatrixXd off = core - MatrixXd(core.diagonal().asDiagonal());
  EXPECT_LE(off.cwiseAbs().maxCoeff(), test::tol<T>(1e-12, 1e-5));
  // The quintic does not converge to U V^T: with 5 steps it stays measurably off.
  const MatrixXd uvt = p.u * p.v.transpose();
  EXPECT_GT((x.template cast<double>() - uvt).norm(), 0.05);
}

TYPED_TEST(PolarTest, MatchesScipyPolarFixtures) {
  using T = TypeParam;
  for (const char* name : {"polar_10x6", "polar_4x7"}) {
    const auto f = test::read_fixture(name);
    const Matrix<T> a = f.at("A").cast<T>();
    const Matrix<T> u = f.at("U").cast<T>();
    EXPECT_LE(static_cast<double>((polar_factor_svd(a) - u).cwiseAbs().maxCoeff()), test::tol<T>(1e-12, 1e-5)) << name;
    NewtonSchulzOptions o;
    o.iterations = 60;  // Gaussian A: sigma_min / ||A||_F can be small
    EXPECT_LE(static_cast<double>((polar_factor_newton_schulz(a, o) - u).cwiseAbs().maxCoeff()),
              test::tol<T>(1e-9, 1e-4))
        << name;
  }
}

TYPED_TEST(PolarTest, ZeroAndRankDeficient) {
  using T = TypeParam;
  EXPECT_EQ(polar_factor_newton_schulz(Matrix<T>(Matrix<T>::Zero(4, 3))).norm(), T(0));
  // Rank 2 in a 6 x 4: Newton-Schulz leaves the zero singular values at zero,
  // giving the partial isometry U_2 V_2^T.
  VectorXd s(2);
  s << 2, 1;
  const auto p = test::planted(6, 4, s, 32);
  const Matrix<T> x = polar_factor_newton_schulz(Matrix<T>(p.a.template cast<T>()));
  const MatrixXd expected = p.u * p.v.transpose();
  EXPECT_LE((x.template cast<double>() - expected).cwiseAbs().maxCoeff(), test::tol<T>(1e-10, 1e-4));
}

TEST(PolarOptions, BadOptionsThrow) {
  NewtonSchulzOptions o;
  o.iterations = -1;
  EXPECT_THROW(polar_factor_newton_schulz(MatrixXd(MatrixXd::Ones(3, 2)), o), InvalidArgument);
  o = {};
  o.tolerance = -1;
  EXPECT_THROW(polar_factor_newton_schulz(MatrixXd(MatrixXd::Ones(3, 2)), o), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
