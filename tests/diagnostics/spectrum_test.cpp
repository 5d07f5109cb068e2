// Per-layer spectral diagnostics against closed forms, planted truths and
// numpy (tests/data/diagnostics, made by tests/diagnostics/make_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <Eigen/QR>
#include <nlohmann/json.hpp>

#include "lowrank/core/error.hpp"
#include "lowrank/diagnostics/spectrum.hpp"
#include "lowrank/io/npy.hpp"
#include "test_paths.hpp"

namespace lowrank::diagnostics {
namespace {

nlohmann::json reference_values() {
  std::ifstream in(std::string(LOWRANK_TEST_DATA_DIR) + "/diagnostics/expected.json");
  return nlohmann::json::parse(in);
}

TEST(Spectrum, DiagonalClosedForms) {
  // diag(3, 2, 1, 0) padded to 5 x 4: sigma = (3, 2, 1, 0).
  MatrixXd a = MatrixXd::Zero(5, 4);
  a(0, 0) = 3;
  a(1, 1) = -2;
  a(2, 2) = 1;
  const auto d = diagnose_matrix(a);
  ASSERT_EQ(d.singular_values.size(), 4);
  EXPECT_NEAR(d.singular_values[1], 2.0, 1e-14);
  EXPECT_EQ(d.numerical_rank, 3);
  EXPECT_NEAR(d.stable_rank, 14.0 / 9.0, 1e-14);
  const double p1 = 0.5, p2 = 1.0 / 3.0, p3 = 1.0 / 6.0;
  EXPECT_NEAR(d.entropy_rank, std::exp(-(p1 * std::log(p1) + p2 * std::log(p2) + p3 * std::log(p3))), 1e-13);
  EXPECT_NEAR(d.participation_ratio, 14.0 * 14.0 / (81 + 16 + 1), 1e-13);
  EXPECT_EQ(d.energy_rank_90, 2);  // 13/14 = 0.929 >= 0.9
  EXPECT_EQ(d.energy_rank_99, 3);
  EXPECT_NEAR(d.frobenius, std::sqrt(14.0), 1e-14);
  EXPECT_NEAR(d.spectral, 3.0, 1e-14);
  EXPECT_NEAR(d.nuclear, 6.0, 1e-14);
  for (const auto& pt : d.schatten) {
    const double sum = std::pow(3.0, pt.p) + std::pow(2.0, pt.p) + 1.0;
    EXPECT_NEAR(pt.sum, sum, 1e-13 * sum) << "p = " << pt.p;
    EXPECT_NEAR(pt.ratio, sum / std::pow(3.0, pt.p), 1e-13) << "p = " << pt.p;
  }
}

TEST(Spectrum, IdentityHasEveryRankEqualToN) {
  const auto d = diagnose_matrix(MatrixXd::Identity(17, 17).eval());
  EXPECT_EQ(d.numerical_rank, 17);
  EXPECT_NEAR(d.stable_rank, 17, 1e-12);
  EXPECT_NEAR(d.entropy_rank, 17, 1e-12);
  EXPECT_NEAR(d.participation_ratio, 17, 1e-12);
  EXPECT_EQ(d.energy_rank_90, 16);  // ceil(0.9 * 17)
  EXPECT_EQ(d.energy_rank_99, 17);
  for (const auto& pt : d.schatten) EXPECT_NEAR(pt.ratio, 17, 1e-12);
  EXPECT_NEAR(d.decay.alpha, 0, 1e-12);  // flat spectrum
}

TEST(Spectrum, SchattenRatioTendsToRankAsPGoesToZero) {
  // Planted rank 6 with sigma from 10 down to 0.5 inside a 40 x 30 matrix.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g;
  MatrixXd u(40, 6), v(30, 6);
  for (Index i = 0; i < u.size(); ++i) u.data()[i] = g(rng);
  for (Index i = 0; i < v.size(); ++i) v.data()[i] = g(rng);
  u = Eigen::HouseholderQR<MatrixXd>(u).householderQ() * MatrixXd::Identity(40, 6);
  v = Eigen::HouseholderQR<MatrixXd>(v).householderQ() * MatrixXd::Identity(30, 6);
  VectorXd s(6);
  s << 10, 5, 3, 2, 1, 0.5;
  const MatrixXd a = u * s.asDiagonal() * v.transpose();
  SpectrumOptions opts;
  opts.p_grid = {1e-4, 1e-2, 0.5};
  const auto d = diagnose_matrix(a, opts);
  EXPECT_EQ(d.numerical_rank, 6);
  // sum (s_i / s_1)^p = 6 + p sum log(s_i / s_1) + O(p^2).
  double log_sum = 0;
  for (Index i = 0; i < 6; ++i) log_sum += std::log(s[i] / 10);
  EXPECT_NEAR(d.schatten[0].ratio, 6 + 1e-4 * log_sum, 1e-6);
  EXPECT_NEAR(d.schatten[1].ratio, 6, 0.2);
  EXPECT_GT(std::abs(d.schatten[1].ratio - 6), std::abs(d.schatten[0].ratio - 6));
}

TEST(Spectrum, MatchesNumpy) {
  const auto exp = reference_values();
  for (const auto& arr : io::read_npz(std::string(LOWRANK_TEST_DATA_DIR) + "/diagnostics/weights.npz")) {
    SCOPED_TRACE(arr.name);
    const auto& e = exp.at(arr.name);
    const auto d = diagnose_matrix(arr.array.values);
    const auto sv = e.at("svdvals").get<std::vector<double>>();
    ASSERT_EQ(d.singular_values.size(), static_cast<Index>(sv.size()));
    for (std::size_t i = 0; i < sv.size(); ++i) EXPECT_NEAR(d.singular_values[i], sv[i], 1e-12 * sv[0]);
    EXPECT_EQ(d.numerical_rank, e.at("matrix_rank").get<Index>());
    const double rel = 1e-11;
    EXPECT_NEAR(d.frobenius, e.at("frobenius").get<double>(), rel * d.frobenius);
    EXPECT_NEAR(d.spectral, e.at("spectral").get<double>(), rel * d.spectral);
    EXPECT_NEAR(d.nuclear, e.at("nuclear").get<double>(), rel * d.nuclear);
    EXPECT_NEAR(d.stable_rank, e.at("stable_rank").get<double>(), rel * d.stable_rank);
    EXPECT_NEAR(d.entropy_rank, e.at("entropy_rank").get<double>(), 1e-6 * d.entropy_rank);
    EXPECT_NEAR(d.participation_ratio, e.at("participation_ratio").get<double>(), rel * d.participation_ratio);
    EXPECT_EQ(d.energy_rank_90, e.at("energy_rank_90").get<Index>());
    EXPECT_EQ(d.energy_rank_99, e.at("energy_rank_99").get<Index>());
    for (std::size_t k = 0; k < d.schatten.size(); ++k) {
      EXPECT_NEAR(d.schatten[k].p, e.at("schatten")[k].at("p").get<double>(), 0);
      // Both sum over sigma above numpy's matrix_rank tolerance.
      const double want = e.at("schatten")[k].at("sum").get<double>();
      EXPECT_NEAR(d.schatten[k].sum, want, 1e-10 * want) << "p = " << d.schatten[k].p;
    }
    EXPECT_NEAR(d.decay.alpha, e.at("decay").at("alpha").get<double>(), 1e-9);
    EXPECT_NEAR(d.decay.c, e.at("decay").at("c").get<double>(), 1e-9 * d.decay.c);
    EXPECT_EQ(d.decay.last, e.at("decay").at("last").get<Index>());
    const auto& t = e.at("esd_tail");
    EXPECT_NEAR(d.esd_tail.alpha, t.at("alpha").get<double>(), 1e-8);
    EXPECT_NEAR(d.esd_tail.xmin, t.at("xmin").get<double>(), 1e-10 * (1 + d.esd_tail.xmin));
    EXPECT_EQ(d.esd_tail.n_tail, t.at("n_tail").get<Index>());
    EXPECT_NEAR(d.esd_tail.ks, t.at("ks").get<double>(), 1e-9);
  }
}

TEST(Spectrum, PowerLawDecayRecoversPlantedExponent) {
  VectorXd s(200);
  for (Index i = 0; i < 200; ++i) s[i] = 5.0 * std::pow(double(i + 1), -1.3);
  const auto fit = fit_power_law_decay(s, 0.0);
  EXPECT_NEAR(fit.alpha, 1.3, 1e-12);
  EXPECT_NEAR(fit.c, 5.0, 1e-11);
  EXPECT_EQ(fit.first, 1);
  EXPECT_EQ(fit.last, 200);
  EXPECT_NEAR(fit.r_squared, 1.0, 1e-12);
  // A range: a kink at i = 50 does not affect a fit on 60..200.
  for (Index i = 0; i < 50; ++i) s[i] = 100;
  const auto tail = fit_power_law_decay(s, 0.0, {.first = 60, .last = 200});
  EXPECT_NEAR(tail.alpha, 1.3, 1e-12);
  EXPECT_THROW(fit_power_law_decay(s, 0.0, {.first = 0}), InvalidArgument);
  EXPECT_THROW(fit_power_law_decay(s, 0.0, {.first = 5, .last = 3}), InvalidArgument);
}

TEST(Spectrum, EsdTailRecoversPlantedParetoExponent) {
  // 3000 Pareto(alpha = 2.5, xmin = 2) samples above a uniform bulk on (0, 2).
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  VectorXd x(5000);
  for (Index i = 0; i < 3000; ++i) x[i] = 2.0 * std::pow(1.0 - u(rng), -1.0 / 1.5);
  for (Index i = 3000; i < 5000; ++i) x[i] = 2.0 * u(rng);
  const auto fit = fit_power_law_tail(x);
  // MLE standard error (alpha - 1) / sqrt(n) = 0.027 for n = 3000.
  EXPECT_NEAR(fit.alpha, 2.5, 0.12);
  // KS may cut above the true xmin = 2 (fewer, still Pareto, samples), never below it.
  EXPECT_GE(fit.xmin, 1.95);
  EXPECT_LT(fit.xmin, 4.0);
  EXPECT_GT(fit.n_tail, 1000);
  EXPECT_LT(fit.ks, 0.03);
  // Too few samples: no fit.
  EXPECT_EQ(fit_power_law_tail(x.head(5)).alpha, 0.0);
}

TEST(Spectrum, BadInput) {
  VectorXd s(2);
  s << 1, -1;
  EXPECT_THROW(diagnose_spectrum(s, 2, 2), InvalidArgument);
  SpectrumOptions bad;
  bad.p_grid = {0.5, 2.5};
  EXPECT_THROW(diagnose_spectrum(VectorXd::Ones(2), 2, 2, bad), InvalidArgument);
  bad.p_grid = {0.0};
  EXPECT_THROW(diagnose_spectrum(VectorXd::Ones(2), 2, 2, bad), InvalidArgument);
  MatrixXd w = MatrixXd::Ones(3, 3);
  w(1, 2) = std::nan("");
  try {
    diagnose_matrix(w, {}, "fc1.weight");
    FAIL() << "NaN accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fc1.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(1, 2)"), std::string::npos) << e.what();
  }
}

TEST(Spectrum, FloatUsesFloatEpsilonLikeNumpy) {
  // A rank-1 float matrix plus 1e-6 noise: rank 1 at float precision
  // (tol = 3 * 4 * 1.19e-7 = 1.4e-6 relative), full rank in double.
  MatrixXf a = (VectorXf::LinSpaced(4, 1, 4) * VectorXf::Ones(4).transpose()).eval();
  a(3, 0) += 1e-6f;
  EXPECT_EQ(diagnose_matrix(a).numerical_rank, 1);
  EXPECT_EQ(diagnose_matrix(a.cast<double>().eval()).numerical_rank, 2);
}

}  // namespace
}  // namespace lowrank::diagnostics
