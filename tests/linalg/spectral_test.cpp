// Norms and effective ranks against closed forms.
#include "lowrank/linalg/spectral.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lowrank/core/error.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

template <class T>
class SpectralTest : public ::testing::Test {};
TYPED_TEST_SUITE(SpectralTest, test::Scalars);

template <class T>
Vector<T> vec(std::initializer_list<double> v) {
  Vector<T> out(static_cast<Index>(v.size()));
  Index i = 0;
  for (double x : v) out[i++] = static_cast<T>(x);
  return out;
}

TYPED_TEST(SpectralTest, NormsOfThreeFour) {
  using T = TypeParam;
  const auto s = vec<T>({3, 4});
  EXPECT_DOUBLE_EQ(nuclear_norm(s), 7.0);
  EXPECT_DOUBLE_EQ(frobenius_norm(s), 5.0);
  EXPECT_DOUBLE_EQ(spectral_norm(s), 4.0);
  EXPECT_NEAR(schatten_norm(s, 3.0), std::cbrt(27.0 + 64.0), 1e-12);
  EXPECT_NEAR(schatten_norm(s, 0.5), std::pow(std::sqrt(3.0) + 2.0, 2.0), 1e-12);
  EXPECT_NEAR(schatten_p_sum(s, 2.0), 25.0, 1e-12);
  // Order does not matter.
  EXPECT_DOUBLE_EQ(spectral_norm(vec<T>({4, 3})), 4.0);
}

TYPED_TEST(SpectralTest, SchattenNormsAreMonotoneInP) {
  using T = TypeParam;
  const auto s = vec<T>({5, 2, 1, 0.5, 0.1});
  double prev = std::numeric_limits<double>::infinity();
  for (double p : {0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 16.0, 64.0}) {
    const double v = schatten_norm(s, p);
    EXPECT_LT(v, prev) << "p = " << p;  // ||.||_p decreases in p
    prev = v;
  }
  EXPECT_NEAR(schatten_norm(s, 64.0), 5.0, 5.0 * 1e-2);  // -> sigma_max
  EXPECT_DOUBLE_EQ(schatten_norm(s, std::numeric_limits<double>::infinity()), 5.0);
}

TYPED_TEST(SpectralTest, SchattenPSumTendsToRankAsPGoesToZero) {
  using T = TypeParam;
  const auto s = vec<T>({100, 3, 0.01, 0, 0});  // rank 3
  EXPECT_NEAR(schatten_p_sum(s, 1e-6), 3.0, 1e-4);
  EXPECT_NEAR(schatten_p_sum(s, 1e-9), 3.0, 1e-7);
  EXPECT_GT(schatten_p_sum(s, 0.1), 3.0);
}

TYPED_TEST(SpectralTest, NoOverflowForHugeOrTinyValues) {
  using T = TypeParam;
  const T big = std::numeric_limits<T>::max() / 4;
  const Vector<T> s = Vector<T>::Constant(4, big);
  EXPECT_NEAR(frobenius_norm(s) / (2.0 * static_cast<double>(big)), 1.0, 1e-12);
  EXPECT_NEAR(stable_rank(s), 4.0, 1e-12);
  EXPECT_NEAR(participation_ratio(s), 4.0, 1e-12);
  const T tiny = std::numeric_limits<T>::denorm_min() * 8;
  const Vector<T> t = Vector<T>::Constant(9, tiny);
  EXPECT_NEAR(stable_rank(t), 9.0, 1e-12);
  EXPECT_NEAR(frobenius_norm(t) / (3.0 * static_cast<double>(tiny)), 1.0, 1e-12);
}

TYPED_TEST(SpectralTest, StableRankClosedForm) {
  using T = TypeParam;
  EXPECT_DOUBLE_EQ(stable_rank(vec<T>({3, 4})), 25.0 / 16.0);
  EXPECT_DOUBLE_EQ(stable_rank(vec<T>({2, 2, 2})), 3.0);
  EXPECT_DOUBLE_EQ(stable_rank(vec<T>({0, 0})), 0.0);
}

TYPED_TEST(SpectralTest, EntropyRankClosedForm) {
  using T = TypeParam;
  EXPECT_NEAR(entropy_rank(Vector<T>(Vector<T>::Constant(7, T(2.5)))), 7.0, 1e-12);
  EXPECT_NEAR(entropy_rank(vec<T>({1, 0, 0})), 1.0, 1e-12);
  // p = (1/4, 3/4): exp(-(1/4 log 1/4 + 3/4 log 3/4)).
  const double h = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  EXPECT_NEAR(entropy_rank(vec<T>({1, 3})), std::exp(h), 1e-12);
  EXPECT_DOUBLE_EQ(entropy_rank(Vector<T>(Vector<T>::Zero(3))), 0.0);
}

TYPED_TEST(SpectralTest, ParticipationRatioClosedForm) {
  using T = TypeParam;
  EXPECT_NEAR(participation_ratio(Vector<T>(Vector<T>::Constant(5, T(3)))), 5.0, 1e-12);
  // sigma = (1, 1, 2): (1 + 1 + 4)^2 / (1 + 1 + 16) = 2.
  EXPECT_NEAR(participation_ratio(vec<T>({1, 1, 2})), 2.0, 1e-12);
}

TYPED_TEST(SpectralTest, NumericalRankDefaultAndExplicitTolerance) {
  using T = TypeParam;
  const T eps = std::numeric_limits<T>::epsilon();
  // Default tolerance: sigma_max * max(m, n) * eps = 10 * 10 * eps.
  const auto s = vec<T>({10, 1, 1000 * static_cast<double>(eps), 10 * static_cast<double>(eps)});
  EXPECT_EQ(numerical_rank(s, 10, 6), 3);
  EXPECT_EQ(numerical_rank(s, 10, 6, 0.5), 2);
  EXPECT_EQ(numerical_rank(s, 10, 6, 0.0), 4);
  EXPECT_EQ(numerical_rank(Vector<T>(Vector<T>::Zero(3)), 3, 3), 0);
  EXPECT_THROW(numerical_rank(s, 10, 6, std::nan("")), InvalidArgument);
}

TYPED_TEST(SpectralTest, EnergyRankAndBestRankKError) {
  using T = TypeParam;
  const auto s = vec<T>({1, 2, 3, 4});  // energies 16, 9, 4, 1 of 30
  EXPECT_EQ(energy_rank(s, 0.5), 1);    // 16/30 >= 0.5
  EXPECT_EQ(energy_rank(s, 0.8), 2);    // 25/30 = 0.833
  EXPECT_EQ(energy_rank(s, 0.9), 3);    // 29/30
  EXPECT_EQ(energy_rank(s, 1.0), 4);
  EXPECT_EQ(energy_rank(s, 0.0), 0);
  EXPECT_NEAR(best_rank_k_relative_error(s, 0), 1.0, 1e-12);
  EXPECT_NEAR(best_rank_k_relative_error(s, 1), std::sqrt(14.0 / 30.0), 1e-12);
  EXPECT_NEAR(best_rank_k_relative_error(s, 3), std::sqrt(1.0 / 30.0), 1e-12);
  EXPECT_DOUBLE_EQ(best_rank_k_relative_error(s, 4), 0.0);
  EXPECT_DOUBLE_EQ(best_rank_k_relative_error(s, 9), 0.0);
}

TYPED_TEST(SpectralTest, BestRankKErrorMatchesAnExplicitTruncation) {
  using T = TypeParam;
  // Eckart-Young on a planted matrix: ||A - U_k S_k V_k^T||_F / ||A||_F.
  const auto p = test::planted(30, 20, test::geometric(12, 0.7), 5);
  const Index k = 4;
  const MatrixXd ak = p.u.leftCols(k) * p.s.head(k).asDiagonal() * p.v.leftCols(k).transpose();
  const double direct = (p.a - ak).norm() / p.a.norm();
  EXPECT_NEAR(best_rank_k_relative_error<T>(p.s.cast<T>(), k), direct, test::tol<T>(1e-12, 1e-6));
}

TYPED_TEST(SpectralTest, EffectiveRanksBundle) {
  using T = TypeParam;
  const auto s = vec<T>({3, 4});
  const EffectiveRanks r = effective_ranks(s, 5, 2);
  EXPECT_EQ(r.numerical, 2);
  EXPECT_DOUBLE_EQ(r.stable, 25.0 / 16.0);
  EXPECT_NEAR(r.entropy, entropy_rank(s), 1e-15);
  EXPECT_NEAR(r.participation_ratio, 625.0 / 337.0, 1e-12);
  EXPECT_EQ(r.energy_90, 2);  // 16/25 < 0.9
  EXPECT_EQ(r.energy_99, 2);
  // Matrix overload: diag(3, 4) padded with zeros.
  Matrix<T> a = Matrix<T>::Zero(5, 2);
  a(0, 0) = 3;
  a(3, 1) = 4;
  const EffectiveRanks m = effective_ranks(a);
  EXPECT_EQ(m.numerical, 2);
  EXPECT_NEAR(m.stable, 25.0 / 16.0, test::tol<T>(1e-14, 1e-6));
  EXPECT_NEAR(schatten_norm(a, 1.0), 7.0, test::tol<T>(1e-14, 1e-5));
}

TYPED_TEST(SpectralTest, BadArgumentsThrow) {
  using T = TypeParam;
  const auto s = vec<T>({1, 2});
  EXPECT_THROW(schatten_norm(s, 0.0), InvalidArgument);
  EXPECT_THROW(schatten_norm(s, -1.0), InvalidArgument);
  EXPECT_THROW(schatten_norm(s, std::nan("")), InvalidArgument);
  EXPECT_THROW(schatten_p_sum(s, 0.0), InvalidArgument);
  EXPECT_THROW(schatten_p_sum(s, std::numeric_limits<double>::infinity()), InvalidArgument);
  EXPECT_THROW(energy_rank(s, 1.5), InvalidArgument);
  EXPECT_THROW(energy_rank(s, -0.1), InvalidArgument);
  EXPECT_THROW(best_rank_k_relative_error(s, -1), InvalidArgument);
  EXPECT_THROW(stable_rank(vec<T>({1, -2})), InvalidArgument);
  EXPECT_THROW(nuclear_norm(vec<T>({1, std::nan("")})), InvalidArgument);
  EXPECT_THROW(schatten_norm(Matrix<T>(Matrix<T>::Ones(2, 2)), 0.0), InvalidArgument);
}

TYPED_TEST(SpectralTest, EmptyAndZero) {
  using T = TypeParam;
  const Vector<T> empty;
  EXPECT_DOUBLE_EQ(nuclear_norm(empty), 0.0);
  EXPECT_DOUBLE_EQ(spectral_norm(empty), 0.0);
  EXPECT_DOUBLE_EQ(participation_ratio(Vector<T>(Vector<T>::Zero(4))), 0.0);
  EXPECT_DOUBLE_EQ(schatten_p_sum(Vector<T>(Vector<T>::Zero(4)), 0.5), 0.0);
  EXPECT_EQ(energy_rank(Vector<T>(Vector<T>::Zero(4)), 0.9), 0);
}

}  // namespace
}  // namespace lowrank
