// GAME's Latent variant without dense blocks (GameStorage::Factored, issue
// 32): the factored solver must follow the dense one (same iterations,
// objective and estimate to rounding), on observed and held-out cells, and
// everything built on it (lambda_max, KKT, the SVD-form model, the CV path)
// must agree with the dense results.
#include <gtest/gtest.h>

#include <random>

#include "game/game_test_util.hpp"
#include "lowrank/game/game.hpp"
#include "lowrank/game/path.hpp"

namespace {

using namespace game_test;
using lowrank::GameOptions;
using lowrank::GameSolver;
using lowrank::GameStorage;
using lowrank::GameVariant;

struct FactoredCase {
  lowrank::ObservedEntries<double> train, test;
  lowrank::RowGroups groups;
};

// Shared rank-2 part plus a rank-1 effect per level of two categories (the
// Latent model), observed at 35 %; the held-out cells are the other 65 %.
// n = 70 > full_svd_max_dim, so the global group goes through the subspace
// iteration on the sparse + low-rank operator and the small levels through
// the full route.
FactoredCase factored_case(Index m, Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  FactoredCase p;
  add_category(p.groups, "a", assign_levels(m, 3, rng), 3);
  add_category(p.groups, "b", assign_levels(m, 2, rng), 2);
  Matrix<double> truth = gaussian<double>(m, 2, rng) * gaussian<double>(2, n, rng);
  for (std::size_t k = 0; k < p.groups.size(); ++k) {
    const Matrix<double> v = gaussian<double>(1, n, rng);
    for (auto i : p.groups.rows[k]) truth.row(i) += gaussian<double>(1, 1, rng)(0, 0) * v;
  }
  const Matrix<double> noisy = truth + gaussian<double>(m, n, rng, 0.1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  p.train.rows = p.test.rows = m;
  p.train.cols = p.test.cols = n;
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j)
      (u(rng) < 0.35 ? p.train : p.test)
          .push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), noisy(i, j));
  return p;
}

double factored_prediction_gap(const lowrank::GameResult<double>& a, const lowrank::GameResult<double>& b,
                               const lowrank::ObservedEntries<double>& e) {
  double diff2 = 0, norm2 = 0;
  for (std::size_t t = 0; t < e.nnz(); ++t) {
    const double za = lowrank::predict(a, e.row[t], e.col[t]), zb = lowrank::predict(b, e.row[t], e.col[t]);
    diff2 += (za - zb) * (za - zb);
    norm2 += zb * zb;
  }
  return std::sqrt(diff2 / std::max(norm2, 1e-300));
}

TEST(GameFactored, FollowsTheDenseLatentSolver) {
  const FactoredCase p = factored_case(90, 70, 31);
  GameOptions o;
  o.variant = GameVariant::Latent;
  o.lambda = 0.15 * lowrank::game_lambda_max(p.train, p.groups, o);
  o.cold_start_ratio = 0;  // from zero, the dense solver's iterate path
  o.tolerance = 1e-8;
  o.max_iterations = 5000;
  o.keep_certificates = true;
  const auto dense = lowrank::fit_game(p.train, p.groups, o);
  o.storage = GameStorage::Factored;
  const auto fact = lowrank::fit_game(p.train, p.groups, o);
  ASSERT_EQ(dense.status, lowrank::Status::Success);
  ASSERT_EQ(fact.status, lowrank::Status::Success);
  EXPECT_TRUE(fact.factored());
  EXPECT_EQ(fact.estimate.size(), 0);
  // The same iterate path: the SVTs differ only in how the products are
  // rounded. Near the optimum the function-value restart (objective >
  // previous) is decided by that rounding, so the iteration counts of the
  // tail may differ; the first iterations agree to rounding, the optimum to
  // the tolerance.
  const std::size_t head = std::min<std::size_t>({30, dense.objective_trace.size(), fact.objective_trace.size()});
  for (std::size_t i = 0; i < head; ++i)
    EXPECT_LT(std::abs(fact.objective_trace[i] - dense.objective_trace[i]) / dense.objective_trace[i], 1e-9) << i;
  EXPECT_LT(std::abs(fact.objective - dense.objective) / dense.objective, 1e-8)
      << "factored " << fact.objective << " dense " << dense.objective;
  EXPECT_LT(factored_prediction_gap(fact, dense, p.train), 1e-5);
  EXPECT_LT(factored_prediction_gap(fact, dense, p.test), 1e-5);
  for (std::size_t k = 0; k < dense.groups.size(); ++k) EXPECT_EQ(fact.groups[k].observed, dense.groups[k].observed);
  // the fit is not trivial: several groups carry a component
  int nonzero = 0;
  for (const auto& g : fact.groups) nonzero += g.rank() > 0;
  EXPECT_GE(nonzero, 3);
  // optimality from the sparse certificates, and against the library's own
  // dense recomputation (game_kkt, game_objective from the factors)
  EXPECT_TRUE(fact.kkt.computed);
  EXPECT_LT(fact.kkt.max(), 1e-4);
  EXPECT_NEAR(fact.kkt.dual_feasibility, dense.kkt.dual_feasibility, 1e-5);
  EXPECT_NEAR(fact.kkt.complementarity, dense.kkt.complementarity, 1e-5);
  // the library's dense recomputation from the factors agrees with the
  // sparse certificates
  const lowrank::GameKkt recomputed = lowrank::game_kkt(p.train, p.groups, o, fact);
  EXPECT_NEAR(recomputed.dual_feasibility, fact.kkt.dual_feasibility, 1e-10);
  EXPECT_NEAR(recomputed.complementarity, fact.kkt.complementarity, 1e-10);
  EXPECT_LT(std::abs(lowrank::game_objective(p.train, p.groups, o, fact) - fact.objective) / fact.objective, 1e-10);
  ASSERT_EQ(fact.subgradients.size(), dense.subgradients.size());
  for (std::size_t k = 0; k < dense.subgradients.size(); ++k)
    EXPECT_LT((fact.subgradients[k] - dense.subgradients[k]).norm(), 1e-4 * (1 + dense.subgradients[k].norm()));
  // the dense estimate rebuilt from the factors, and the SVD-form model
  const Matrix<double> zf = lowrank::game_dense_estimate(fact);
  EXPECT_LT((zf - dense.estimate).norm() / dense.estimate.norm(), 1e-5);
  const auto model = lowrank::game_completion_model(fact);
  const Matrix<double> zm = model.U * model.d.asDiagonal() * model.V.transpose();
  EXPECT_LT((zm - zf).norm() / zf.norm(), 1e-12);
  EXPECT_LT((model.U.transpose() * model.U - Matrix<double>::Identity(model.rank(), model.rank())).norm(), 1e-10);
}

TEST(GameFactored, WarmStartsAndFloatAndSubspaceRouteAgree) {
  const FactoredCase p = factored_case(80, 64, 32);
  GameOptions o;
  o.variant = GameVariant::Latent;
  const double lmax = lowrank::game_lambda_max(p.train, p.groups, o);
  o.storage = GameStorage::Factored;
  // lambda_max from sparse blocks: the same closed form
  EXPECT_NEAR(lowrank::game_lambda_max(p.train, p.groups, o), lmax, 1e-10 * lmax);
  o.tolerance = 1e-8;
  o.max_iterations = 5000;
  o.svd_method = lowrank::GameSvdMethod::Randomized;  // every block through the operator
  o.storage = GameStorage::Dense;
  o.lambda = 0.3 * lmax;
  const auto d1 = lowrank::fit_game(p.train, p.groups, o);
  o.lambda = 0.2 * lmax;
  const auto d2 = lowrank::fit_game(p.train, p.groups, o, &d1);
  o.storage = GameStorage::Factored;
  o.lambda = 0.3 * lmax;
  const auto f1 = lowrank::fit_game(p.train, p.groups, o);
  o.lambda = 0.2 * lmax;
  const auto f2 = lowrank::fit_game(p.train, p.groups, o, &f1);
  EXPECT_LT(std::abs(f2.objective - d2.objective) / d2.objective, 1e-8);
  EXPECT_LT(factored_prediction_gap(f2, d2, p.test), 1e-5);
  // a warm-started fit converges faster than one from zero
  GameOptions zero = o;
  zero.cold_start_ratio = 0;
  const auto cold = lowrank::fit_game(p.train, p.groups, zero);
  EXPECT_LT(f2.iterations, cold.iterations);
  EXPECT_LT(std::abs(cold.objective - f2.objective) / f2.objective, 1e-6);
  // from zero through the continuation (lambda_max / 2 and / 4, then 0.2 lambda_max):
  // the same optimum
  const auto staged = lowrank::fit_game(p.train, p.groups, o);
  EXPECT_LT(std::abs(staged.objective - f2.objective) / f2.objective, 1e-8);
  EXPECT_LT(factored_prediction_gap(staged, d2, p.test), 1e-5);
  // float follows double
  const auto ff = lowrank::fit_game(p.train.cast<float>(), p.groups, [&] {
    GameOptions of = o;
    of.tolerance = 1e-5;
    return of;
  }());
  EXPECT_LT(std::abs(ff.objective - cold.objective) / cold.objective, 1e-3);
}

TEST(GameFactored, RefusesTheSumVariantAndAdmm) {
  const FactoredCase p = factored_case(30, 20, 33);
  GameOptions o;
  o.storage = GameStorage::Factored;
  EXPECT_THROW(lowrank::fit_game(p.train, p.groups, o), lowrank::InvalidArgument);  // Sum
  o.variant = GameVariant::Latent;
  o.solver = GameSolver::Admm;
  EXPECT_THROW(lowrank::fit_game(p.train, p.groups, o), lowrank::InvalidArgument);
  // the entry checks are the dense path's
  o.solver = GameSolver::ProximalGradient;
  auto bad = p.train;
  bad.push_back(bad.row[0], bad.col[0], 1.0);
  EXPECT_THROW(lowrank::fit_game(bad, p.groups, o), lowrank::InvalidArgument);
  EXPECT_EQ(lowrank::parse_game_storage("factored"), GameStorage::Factored);
  EXPECT_THROW(lowrank::parse_game_storage("sparse"), lowrank::InvalidArgument);
}

// Auto (issue 35): factored exactly where the formulation allows it, so the
// path's default (Latent, Auto) keeps `variant = Sum` and ADMM usable.
TEST(GameFactored, AutoStorageIsFactoredForLatentProximalGradientAndDenseOtherwise) {
  const FactoredCase p = factored_case(30, 20, 35);
  GameOptions o;
  o.storage = GameStorage::Auto;
  o.tolerance = 1e-6;
  o.max_iterations = 5000;
  EXPECT_EQ(lowrank::parse_game_storage("auto"), GameStorage::Auto);
  EXPECT_STREQ(lowrank::to_string(GameStorage::Auto), "auto");
  EXPECT_EQ(lowrank::resolved_game_storage(o), GameStorage::Dense);  // Sum
  o.lambda = 0.2 * lowrank::game_lambda_max(p.train, p.groups, o);
  const auto sum_auto = lowrank::fit_game(p.train, p.groups, o);
  o.storage = GameStorage::Dense;
  const auto sum_dense = lowrank::fit_game(p.train, p.groups, o);
  EXPECT_FALSE(sum_auto.factored());
  EXPECT_EQ((sum_auto.estimate - sum_dense.estimate).norm(), 0.0);  // the same dense solver
  o.storage = GameStorage::Auto;
  o.variant = GameVariant::Latent;
  EXPECT_EQ(lowrank::resolved_game_storage(o), GameStorage::Factored);
  const auto latent_auto = lowrank::fit_game(p.train, p.groups, o);
  EXPECT_TRUE(latent_auto.factored());
  o.storage = GameStorage::Dense;
  const auto latent_dense = lowrank::fit_game(p.train, p.groups, o);
  EXPECT_LT(factored_prediction_gap(latent_auto, latent_dense, p.test), 1e-4);
  o.storage = GameStorage::Auto;
  o.solver = GameSolver::Admm;
  EXPECT_EQ(lowrank::resolved_game_storage(o), GameStorage::Dense);
  EXPECT_FALSE(lowrank::fit_game(p.train, p.groups, o).factored());
  // the path's defaults: the Latent variant, factored through Auto
  const lowrank::GamePathOptions po;
  EXPECT_EQ(po.game.variant, GameVariant::Latent);
  EXPECT_EQ(po.game.storage, GameStorage::Auto);
  EXPECT_EQ(lowrank::resolved_game_storage(po.game), GameStorage::Factored);
  EXPECT_EQ(GameOptions{}.storage, GameStorage::Dense);  // a single fit keeps the paper's dense Sum
  EXPECT_EQ(GameOptions{}.variant, GameVariant::Sum);
}

TEST(GameFactored, CrossValidatedPathMatchesTheDensePath) {
  const FactoredCase p = factored_case(60, 50, 34);
  lowrank::GamePathOptions po;
  po.game = lowrank::GameOptions{};  // the GameOptions defaults this test was written with
  po.game.variant = GameVariant::Latent;
  po.game.tolerance = 1e-7;
  po.lambdas = 5;
  po.folds = 3;
  po.centering = lowrank::Centering::None;
  // Fold fits in double to 1e-5, so the two storages are
  // compared at solver accuracy (with the defaults, float fold fits stopped
  // at 1e-3, the CV errors differ by up to ~1e-3 depending on the folds).
  po.cv_tolerance = 1e-5;
  po.cv_float = false;
  const auto dense = lowrank::fit_game_path(p.train, p.groups, po);
  po.game.storage = GameStorage::Factored;
  const auto fact = lowrank::fit_game_path(p.train, p.groups, po);
  ASSERT_EQ(dense.cv.size(), fact.cv.size());
  EXPECT_EQ(dense.best_index, fact.best_index);
  for (std::size_t i = 0; i < dense.cv.size(); ++i)
    EXPECT_NEAR(dense.cv[i].mean_rmse, fact.cv[i].mean_rmse, 1e-5 * dense.cv[i].mean_rmse) << i;
  // The fold fits and the refit's first stage run in float to 1e-3 (the
  // path's defaults), so the refits start from points that differ at float
  // rounding and the polished fits agree to about 1e-4 (measured 3.4e-5).
  EXPECT_TRUE(fact.result.factored());
  EXPECT_LT(factored_prediction_gap(fact.result, dense.result, p.test), 1e-4);
  const auto ed = lowrank::game_group_errors(dense, p.groups, p.test);
  const auto ef = lowrank::game_group_errors(fact, p.groups, p.test);
  EXPECT_NEAR(ef.overall.rmse, ed.overall.rmse, 1e-4 * ed.overall.rmse);
}

}  // namespace
