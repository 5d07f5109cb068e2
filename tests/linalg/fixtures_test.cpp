// Cross-checks against numpy / scipy outputs stored in tests/data/linalg
// (written by tests/data/linalg/make_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>

#include "lowrank/linalg/spectral.hpp"
#include "lowrank/linalg/subspace.hpp"
#include "lowrank/linalg/svd.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

template <class T>
class FixtureTest : public ::testing::Test {};
TYPED_TEST_SUITE(FixtureTest, test::Scalars);

TYPED_TEST(FixtureTest, SingularValuesMatchNumpy) {
  using T = TypeParam;
  for (const char* name : {"svd_gaussian_9x6", "svd_gaussian_5x8", "svd_decaying_40x30", "svd_rank3_12x10"}) {
    SCOPED_TRACE(name);
    const auto f = test::read_fixture(name);
    const Matrix<T> a = f.at("A").cast<T>();
    const VectorXd ref = f.at("S").col(0);
    const Vector<T> s = singular_values(a);
    ASSERT_EQ(s.size(), ref.size());
    // Absolute error relative to sigma_max: that is what backward-stable SVDs promise.
    const double err = (s.template cast<double>() - ref).cwiseAbs().maxCoeff() / ref[0];
    EXPECT_LE(err, test::tol<T>(1e-14, 2e-6));
    // Truncated paths on the same input (rank 3 of svd_rank3, top 3 elsewhere).
    const Index k = 3;
    for (SvdMethod m : {SvdMethod::Full, SvdMethod::Lanczos, SvdMethod::Randomized}) {
      TruncatedSvdOptions o;
      o.method = m;
      o.power_iterations = 10;
      const auto r = truncated_svd(a, k, o);
      const double e = (r.S.template cast<double>() - ref.head(k)).cwiseAbs().maxCoeff() / ref[0];
      EXPECT_LE(e, test::tol<T>(1e-12, 2e-6)) << to_string(m);
    }
  }
}

TYPED_TEST(FixtureTest, PrincipalAnglesMatchScipy) {
  using T = TypeParam;
  for (const char* name : {"angles_generic_12", "angles_tiny_20", "angles_nearly_orthogonal_16"}) {
    SCOPED_TRACE(name);
    const auto f = test::read_fixture(name);
    VectorXd ref = f.at("THETA").col(0);
    std::sort(ref.data(), ref.data() + ref.size());  // scipy returns them decreasing
    const Vector<T> got = principal_angles<T>(f.at("A").cast<T>(), f.at("B").cast<T>());
    ASSERT_EQ(got.size(), ref.size());
    for (Index i = 0; i < ref.size(); ++i) {
      // Double: both sides are accurate to ~eps absolute, i.e. relative 1e-6
      // for the ~1e-10 angles (arccos alone would be off by ~1e-8). Float:
      // rounding A and B to float already moves the subspaces by
      // ~eps(float) cond(basis), a few 1e-6 rad.
      EXPECT_NEAR(static_cast<double>(got[i]), ref[i], test::tol<T>(1e-14 + 1e-5 * ref[i], 2e-5)) << i;
    }
  }
}

TYPED_TEST(FixtureTest, NormsAndRankMatchNumpy) {
  using T = TypeParam;
  const auto f = test::read_fixture("norms_15x11");
  const Matrix<T> a = f.at("A").cast<T>();
  const Vector<T> s = singular_values(a);
  const VectorXd norms = f.at("NORMS").col(0);
  EXPECT_NEAR(nuclear_norm(s), norms[0], test::tol<T>(1e-13, 1e-5) * norms[0]);
  EXPECT_NEAR(spectral_norm(s), norms[1], test::tol<T>(1e-13, 1e-5) * norms[1]);
  EXPECT_NEAR(frobenius_norm(s), norms[2], test::tol<T>(1e-13, 1e-5) * norms[2]);
  if constexpr (std::is_same_v<T, double>) {
    // numpy.linalg.matrix_rank uses the same default tolerance
    // (sigma_max max(m, n) eps ~ 1.7e-14); the 1e-13 noise sits above it, so
    // both count all 11 values.
    EXPECT_EQ(numerical_rank(s, a.rows(), a.cols()), static_cast<Index>(f.at("RANK")(0, 0)));
  }
  EXPECT_EQ(numerical_rank(s, a.rows(), a.cols(), 1e-6), 6);
}

}  // namespace
}  // namespace lowrank
