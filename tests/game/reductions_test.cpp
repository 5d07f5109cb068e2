// Exact reductions of GAME: one group holding every row is soft-impute; groups
// that partition the rows decouple into one soft-impute per group; lambda_max.
#include <gtest/gtest.h>

#include "game/game_test_util.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/game/game.hpp"

namespace {

using namespace game_test;
using lowrank::GameOptions;
using lowrank::GameSolver;
using lowrank::GameVariant;

struct LowRankData {
  lowrank::ObservedEntries<double> entries;
  Matrix<double> x, mask;
};

LowRankData make_low_rank(Index m, Index n, Index r, double p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Matrix<double> full =
      gaussian<double>(m, r, rng) * gaussian<double>(r, n, rng) + gaussian<double>(m, n, rng, 0.2);
  LowRankData d;
  d.entries = sample<double>(full, p, rng);
  d.x = dense_x(d.entries);
  d.mask = dense_mask(d.entries);
  return d;
}

class GameReduction : public ::testing::TestWithParam<std::tuple<GameSolver, GameVariant>> {};

TEST_P(GameReduction, OneGroupWithAllRowsIsSoftImpute) {
  const auto [solver, variant] = GetParam();
  const auto d = make_low_rank(30, 24, 3, 0.5, 21);
  const double lambda = 0.15 * svals<double>(d.x)(0);
  const Matrix<double> ref = reference_soft_impute<double>(d.x, d.mask, lambda);
  const double ref_obj = soft_impute_objective(d.x, d.mask, lambda, ref);

  GameOptions o;
  o.lambda = lambda;
  o.solver = solver;
  o.variant = variant;
  o.tolerance = 1e-11;
  o.max_iterations = 50000;
  // (a) no user group, the global group only (its default weight is 1)
  const lowrank::RowGroups none;
  const auto r = lowrank::fit_game(d.entries, none, o);
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_DOUBLE_EQ(r.groups[0].weight, 1.0);
  EXPECT_LT(std::abs(r.objective - ref_obj) / ref_obj, 1e-8);
  EXPECT_LT((r.estimate - ref).norm() / ref.norm(), 1e-5);
  EXPECT_EQ(r.groups[0].rank(), static_cast<Index>((svals<double>(ref).array() > 1e-6).count()));

  // (b) one user group of all rows with weight 2, no global group: lambda doubles
  lowrank::RowGroups all;
  all.names = {"everyone"};
  all.rows.resize(1);
  for (int i = 0; i < 30; ++i) all.rows[0].push_back(i);
  o.include_global_group = false;
  o.weights = {2.0};
  o.lambda = lambda / 2;
  const auto r2 = lowrank::fit_game(d.entries, all, o);
  EXPECT_LT((r2.estimate - ref).norm() / ref.norm(), 1e-5);
}

TEST_P(GameReduction, PartitionGivesOneSoftImputePerGroup) {
  const auto [solver, variant] = GetParam();
  const auto d = make_low_rank(36, 20, 2, 0.5, 22);
  std::mt19937_64 rng(5);
  lowrank::RowGroups groups;
  add_category(groups, "level", assign_levels(36, 3, rng), 3);
  GameOptions o;
  o.include_global_group = false;
  o.solver = solver;
  o.variant = variant;
  o.lambda = 0.1 * svals<double>(d.x)(0);
  o.tolerance = 1e-11;
  o.max_iterations = 50000;
  const auto r = lowrank::fit_game(d.entries, groups, o);
  ASSERT_EQ(r.status, lowrank::Status::Success);
  const auto w = lowrank::game_weights(36, 20, groups, o);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    EXPECT_NEAR(w[k], (std::sqrt(double(groups.rows[k].size())) + std::sqrt(20.0)) / (6.0 + std::sqrt(20.0)), 1e-15);
    const Matrix<double> xk = rows_of(d.x, groups.rows[k]), mk = rows_of(d.mask, groups.rows[k]);
    const Matrix<double> ref = reference_soft_impute<double>(xk, mk, o.lambda * w[k]);
    const Matrix<double> got = rows_of(r.estimate, groups.rows[k]);
    EXPECT_LT((got - ref).norm() / ref.norm(), 1e-5) << groups.names[k];
    const auto& g = r.groups[k];
    const Matrix<double> factors = g.U * g.d.asDiagonal() * g.V.transpose();
    EXPECT_LT((factors - ref).norm() / ref.norm(), 1e-5) << groups.names[k];
  }
}

INSTANTIATE_TEST_SUITE_P(AllSolvers, GameReduction,
                         ::testing::Combine(::testing::Values(GameSolver::Admm, GameSolver::ProximalGradient),
                                            ::testing::Values(GameVariant::Sum, GameVariant::Latent)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == GameSolver::Admm ? "Admm" : "Fista") +
                                  (std::get<1>(info.param) == GameVariant::Sum ? "Sum" : "Latent");
                         });

TEST(GameReductionLibrary, GlobalGroupMatchesTheLibrarysSoftImpute) {
  const auto d = make_low_rank(40, 30, 3, 0.5, 23);
  const double lambda = 0.2 * svals<double>(d.x)(0);
  lowrank::SoftImputeOptions so;
  so.lambda = lambda;
  so.max_rank = 30;
  so.variant = lowrank::SoftImputeVariant::Svd;
  so.svd.method = lowrank::SvdMethod::Full;
  so.tolerance = 1e-14;
  so.max_iterations = 20000;
  const auto si = lowrank::soft_impute(d.entries, so);
  const Matrix<double> zs = si.model.to_dense();
  GameOptions o;
  o.lambda = lambda;
  o.tolerance = 1e-11;
  o.max_iterations = 50000;
  const auto r = lowrank::fit_game(d.entries, lowrank::RowGroups{}, o);
  const double fs = soft_impute_objective(d.x, d.mask, lambda, zs);
  EXPECT_LT(std::abs(r.objective - fs) / fs, 1e-7) << "game " << r.objective << " soft-impute " << fs;
  EXPECT_LT((r.estimate - zs).norm() / zs.norm(), 1e-4);
  // lambda_max agrees with soft-impute's for the single global group
  EXPECT_NEAR(lowrank::game_lambda_max(d.entries, lowrank::RowGroups{}, o), lowrank::lambda_max(d.entries), 1e-8);
}

TEST(GameLambdaMax, ZeroAtLambdaMaxAndNotBelowIt) {
  std::mt19937_64 rng(24);
  const auto d = make_low_rank(36, 20, 2, 0.5, 24);
  lowrank::RowGroups groups;
  add_category(groups, "a", assign_levels(36, 3, rng), 3);
  add_category(groups, "b", assign_levels(36, 2, rng), 2);
  for (auto variant : {GameVariant::Sum, GameVariant::Latent}) {
    GameOptions o;
    o.variant = variant;
    o.tolerance = 1e-10;
    o.max_iterations = 20000;
    const double lmax = lowrank::game_lambda_max(d.entries, groups, o);
    o.lambda = lmax * (1 + 1e-9);
    const auto at = lowrank::fit_game(d.entries, groups, o);
    EXPECT_LT(at.estimate.norm(), 1e-6 * d.x.norm()) << lowrank::to_string(variant);
    for (const auto& g : at.groups) EXPECT_TRUE(g.rank() == 0 || g.d(0) < 1e-6 * d.x.norm()) << g.name;
    // Latent: exact, so just below it the fit is non-zero. Sum: an upper
    // bound, the fit becomes non-zero somewhere below it.
    o.lambda = lmax * (variant == GameVariant::Latent ? 0.99 : 0.5);
    const auto below = lowrank::fit_game(d.entries, groups, o);
    EXPECT_GT(below.estimate.norm(), 1e-4 * d.x.norm()) << lowrank::to_string(variant);
  }
  // Latent bound by hand: max_k ||E_k^T P_Omega X||_2 / w_k.
  GameOptions o;
  o.variant = GameVariant::Latent;
  const auto w = lowrank::game_weights(36, 20, groups, o);
  double expect = svals<double>(d.x)(0) / w.back();
  for (std::size_t k = 0; k < groups.size(); ++k)
    expect = std::max(expect, svals<double>(rows_of(d.x, groups.rows[k]))(0) / w[k]);
  EXPECT_NEAR(lowrank::game_lambda_max(d.entries, groups, o), expect, 1e-10 * expect);
}

}  // namespace
