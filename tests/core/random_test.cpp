// lowrank::Rng: the one generator and its distributions. Every distribution
// gets a goodness-of-fit test (chi-square at p = 0.001 or Kolmogorov-Smirnov
// at p = 0.001) plus moments, with fixed seeds and sample sizes where a wrong
// method (modulo bias, a wrong constant in Marsaglia-Tsang, a wrong branch of
// Knuth's binomial split) fails by many standard errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/random.hpp"

using lowrank::Rng;

namespace {

// Chi-square critical value at p = 0.001 for `dof` degrees of freedom
// (Wilson-Hilferty; within 1% of the table for dof >= 3).
double chi2_crit(int dof) {
  const double d = dof, z = 3.090;
  const double t = 1.0 - 2.0 / (9.0 * d) + z * std::sqrt(2.0 / (9.0 * d));
  return d * t * t * t;
}

// Pearson chi-square of counts against expected probabilities; bins with an
// expected count below 5 are merged into their neighbour first.
double chi2(const std::vector<double>& observed, const std::vector<double>& prob, double n, int* dof) {
  std::vector<double> o, e;
  double co = 0, ce = 0;
  for (std::size_t i = 0; i < prob.size(); ++i) {
    co += observed[i];
    ce += prob[i] * n;
    if (ce >= 5.0) {
      o.push_back(co);
      e.push_back(ce);
      co = ce = 0;
    }
  }
  if (ce > 0 || co > 0) {
    o.back() += co;
    e.back() += ce;
  }
  double x = 0;
  for (std::size_t i = 0; i < o.size(); ++i) x += (o[i] - e[i]) * (o[i] - e[i]) / e[i];
  *dof = static_cast<int>(o.size()) - 1;
  return x;
}

// sqrt(n) * sup |F_n - F|; the p = 0.001 critical value is 1.95.
template <class Cdf>
double ks_stat(std::vector<double> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, (static_cast<double>(i) + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d * std::sqrt(n);
}
constexpr double kKs = 1.95;

double log_binom_pmf(std::int64_t n, std::int64_t k, double p) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(p) +
         (n - k) * std::log1p(-p);
}

}  // namespace

// Reference: an independent Python transcription of Vigna's xoshiro256**.c and
// splitmix64.c (state words = the first four splitmix64 outputs from the seed),
// with uniform = (x >> 11) 2^-53 and Lemire's bounded integer; a change here
// changes every seeded result in lowrank.
TEST(Rng, SeedGivesTheReferenceStream) {
  Rng r(42);
  EXPECT_EQ(r.next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(r.next(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(r.next(), 0xae17533239e499a1ULL);
  EXPECT_DOUBLE_EQ(r.uniform(), 0.9246929453253876);
  const std::array<std::uint64_t, 8> idx{9, 7, 7, 8, 7, 5, 6, 2};
  for (auto want : idx) EXPECT_EQ(r.index(10), want);
}

TEST(Rng, StateRoundTripsIncludingTheCachedNormal) {
  Rng a(5);
  a.normal();  // leaves the second polar value cached
  Rng b(99);
  b.set_state(a.state());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.normal(), b.normal());
  EXPECT_THROW(b.set_state("mt19937 1 2 3"), lowrank::InvalidArgument);
  EXPECT_THROW(b.set_state("xoshiro256** 0 0 0 0 0 0"), lowrank::InvalidArgument);
  EXPECT_THROW(b.set_state("xoshiro256** 1 2 3 4 0 0 extra"), lowrank::InvalidArgument);
}

TEST(Rng, UniformPassesKolmogorovSmirnov) {
  Rng r(1);
  std::vector<double> x(20000);
  for (auto& v : x) v = r.uniform();
  EXPECT_LT(ks_stat(x, [](double u) { return u; }), kKs);
  EXPECT_GE(*std::min_element(x.begin(), x.end()), 0.0);
  EXPECT_LT(*std::max_element(x.begin(), x.end()), 1.0);
}

TEST(Rng, BoundedIntegerHasNoModuloBias) {
  // n = 3 * 2^62: x mod n would put [0, 2^62) twice as often (P = 1/2, not 1/3).
  Rng r(2);
  const std::uint64_t n = 3ULL << 62;
  int low = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const auto v = r.index(n);
    ASSERT_LT(v, n);
    low += v < (1ULL << 62);
  }
  EXPECT_NEAR(low / static_cast<double>(draws), 1.0 / 3.0, 5 * std::sqrt(2.0 / 9.0 / draws));
  // Chi-square over 13 values of integer(-6, 6).
  std::vector<double> counts(13, 0.0);
  for (int i = 0; i < 26000; ++i) {
    const auto v = r.integer(-6, 6);
    ASSERT_GE(v, -6);
    ASSERT_LE(v, 6);
    counts[static_cast<std::size_t>(v + 6)] += 1;
  }
  int dof;
  const double x = chi2(counts, std::vector<double>(13, 1.0 / 13), 26000, &dof);
  EXPECT_LT(x, chi2_crit(dof));
}

TEST(Rng, NormalPassesKolmogorovSmirnovAndMoments) {
  Rng r(3);
  std::vector<double> x(20000);
  for (auto& v : x) v = r.normal(1.5, 2.0);
  EXPECT_LT(ks_stat(x, [](double v) { return 0.5 * std::erfc(-(v - 1.5) / (2.0 * std::sqrt(2.0))); }), kKs);
  double m = 0, m2 = 0, m4 = 0;
  for (double v : x) {
    const double z = (v - 1.5) / 2.0;
    m += z;
    m2 += z * z;
    m4 += z * z * z * z;
  }
  const double n = static_cast<double>(x.size());
  EXPECT_NEAR(m / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(m2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m4 / n, 3.0, 5 * std::sqrt(96.0 / n));
}

TEST(Rng, BernoulliMean) {
  Rng r(4);
  const int n = 40000;
  int hits = 0;
  for (int i = 0; i < n; ++i) hits += r.bernoulli(0.3);
  EXPECT_NEAR(hits / static_cast<double>(n), 0.3, 5 * std::sqrt(0.21 / n));
  EXPECT_FALSE(Rng(1).bernoulli(0.0));
  EXPECT_TRUE(Rng(1).bernoulli(1.0));
}

TEST(Rng, GammaAndBetaFitTheirDistributions) {
  Rng r(5);
  const int n = 20000;
  // Gamma(1) is Exponential(1): KS against 1 - e^-x. Shapes 0.5 and 4.5:
  // mean and variance both equal the shape.
  std::vector<double> g1(n);
  for (auto& v : g1) v = r.gamma(1.0);
  EXPECT_LT(ks_stat(g1, [](double v) { return -std::expm1(-v); }), kKs);
  for (double k : {0.5, 4.5}) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double v = r.gamma(k);
      s += v;
      s2 += v * v;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, k, 5 * std::sqrt(k / n)) << "shape " << k;
    EXPECT_NEAR(var, k, 0.06 * k) << "shape " << k;
  }
  // Beta(2, 5): CDF = P(Binomial(6, x) >= 2) = 1 - (1-x)^6 - 6 x (1-x)^5.
  std::vector<double> b(n);
  for (auto& v : b) v = r.beta(2.0, 5.0);
  EXPECT_LT(ks_stat(b, [](double x) { return 1 - std::pow(1 - x, 6) - 6 * x * std::pow(1 - x, 5); }), kKs);
  EXPECT_THROW(r.gamma(0.0), lowrank::InvalidArgument);
}

// Exact pmf chi-square at small n (inversion), at n = 1000 (Knuth's split,
// n p = 300 >= 16) and with p > 1/2; mean and variance at n = 1e9.
TEST(Rng, BinomialMatchesTheExactPmf) {
  Rng r(6);
  struct Case {
    std::int64_t n;
    double p;
  };
  for (const Case c : {Case{10, 0.3}, Case{1000, 0.3}, Case{60, 0.9}, Case{200, 0.5}}) {
    const int draws = 20000;
    std::vector<double> counts(static_cast<std::size_t>(c.n + 1), 0.0), prob(counts.size());
    for (int i = 0; i < draws; ++i) {
      const auto k = r.binomial(c.n, c.p);
      ASSERT_GE(k, 0);
      ASSERT_LE(k, c.n);
      counts[static_cast<std::size_t>(k)] += 1;
    }
    for (std::int64_t k = 0; k <= c.n; ++k) prob[static_cast<std::size_t>(k)] = std::exp(log_binom_pmf(c.n, k, c.p));
    int dof;
    const double x = chi2(counts, prob, draws, &dof);
    EXPECT_LT(x, chi2_crit(dof)) << "n " << c.n << " p " << c.p << " dof " << dof;
  }
  for (const Case c : {Case{1000000000, 0.37}, Case{1000000000000, 1e-11}, Case{5000, 0.999}}) {
    const int draws = 4000;
    double s = 0, s2 = 0;
    for (int i = 0; i < draws; ++i) {
      const double k = static_cast<double>(r.binomial(c.n, c.p));
      s += k;
      s2 += k * k;
    }
    const double mean = s / draws, var = s2 / draws - mean * mean;
    const double mu = c.n * c.p, sigma2 = c.n * c.p * (1 - c.p);
    EXPECT_NEAR(mean, mu, 5 * std::sqrt(sigma2 / draws)) << "n " << c.n;
    EXPECT_NEAR(var / sigma2, 1.0, 5 * std::sqrt(2.0 / draws)) << "n " << c.n;
  }
  EXPECT_EQ(r.binomial(0, 0.5), 0);
  EXPECT_EQ(r.binomial(7, 0.0), 0);
  EXPECT_EQ(r.binomial(7, 1.0), 7);
  EXPECT_THROW(r.binomial(-1, 0.5), lowrank::InvalidArgument);
  EXPECT_THROW(r.binomial(3, 1.5), lowrank::InvalidArgument);
}

TEST(Rng, MultinomialSumsToNWithTheRightMeansAndCovariance) {
  Rng r(7);
  const std::array<double, 4> w{2.0, 0.0, 5.0, 3.0};  // unnormalised; one empty category
  const std::int64_t n = 100000;
  const int draws = 4000;
  std::array<double, 4> s{}, s2{};
  double s02 = 0;
  for (int i = 0; i < draws; ++i) {
    std::array<std::int64_t, 4> out{};
    r.multinomial(n, w.data(), w.size(), out.data());
    ASSERT_EQ(std::accumulate(out.begin(), out.end(), std::int64_t{0}), n);
    ASSERT_EQ(out[1], 0);
    for (std::size_t j = 0; j < 4; ++j) {
      s[j] += static_cast<double>(out[j]);
      s2[j] += static_cast<double>(out[j]) * static_cast<double>(out[j]);
    }
    s02 += static_cast<double>(out[0]) * static_cast<double>(out[2]);
  }
  for (std::size_t j : {0u, 2u, 3u}) {
    const double p = w[j] / 10.0, mean = s[j] / draws, var = s2[j] / draws - mean * mean;
    EXPECT_NEAR(mean, n * p, 5 * std::sqrt(n * p * (1 - p) / draws)) << j;
    EXPECT_NEAR(var / (n * p * (1 - p)), 1.0, 5 * std::sqrt(2.0 / draws)) << j;
  }
  // cov(X0, X2) = -n p0 p2: conditional binomials must reproduce it.
  const double cov = s02 / draws - (s[0] / draws) * (s[2] / draws);
  EXPECT_NEAR(cov / (-n * 0.2 * 0.5), 1.0, 0.15);
}

TEST(Rng, CategoricalFrequencies) {
  Rng r(8);
  const std::vector<double> w{1, 2, 0, 3, 4};
  std::vector<double> counts(w.size(), 0.0);
  const int draws = 30000;
  for (int i = 0; i < draws; ++i) counts[r.categorical(w.data(), w.size())] += 1;
  EXPECT_EQ(counts[2], 0.0);
  counts.erase(counts.begin() + 2);
  int dof;
  const double x = chi2(counts, {0.1, 0.2, 0.3, 0.4}, draws, &dof);
  EXPECT_LT(x, chi2_crit(dof));
  const std::vector<double> zero{0, 0};
  EXPECT_THROW(r.categorical(zero.data(), zero.size()), lowrank::InvalidArgument);
}

TEST(Rng, ShuffleGivesEveryPermutationEqually) {
  Rng r(9);
  std::map<std::array<int, 4>, double> seen;
  const int draws = 48000;
  for (int i = 0; i < draws; ++i) {
    std::array<int, 4> a{0, 1, 2, 3};
    r.shuffle(a.begin(), a.end());
    seen[a] += 1;
  }
  ASSERT_EQ(seen.size(), 24u);
  std::vector<double> counts;
  for (const auto& [perm, c] : seen) counts.push_back(c);
  int dof;
  const double x = chi2(counts, std::vector<double>(24, 1.0 / 24), draws, &dof);
  EXPECT_LT(x, chi2_crit(dof));
  // A prefix of 2 out of 10: slot 1 is uniform over all 10 values.
  std::vector<double> slot(10, 0.0);
  for (int i = 0; i < 20000; ++i) {
    std::vector<int> v(10);
    std::iota(v.begin(), v.end(), 0);
    r.shuffle_prefix(v.begin(), v.end(), 2);
    slot[static_cast<std::size_t>(v[1])] += 1;
  }
  const double y = chi2(slot, std::vector<double>(10, 0.1), 20000, &dof);
  EXPECT_LT(y, chi2_crit(dof));
}
