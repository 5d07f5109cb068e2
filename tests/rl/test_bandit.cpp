// Low-rank bandit: planted instances, each algorithm on a small instance,
// reproducibility and rejected input.
#include <gtest/gtest.h>

#include <Eigen/SVD>

#include "lowrank/rl/bandit.hpp"

using namespace lowrank;
using namespace lowrank::rl;

namespace {

BanditInstance small_instance(std::uint64_t seed = 0, double gap = 0.2) {
  BanditInstanceOptions io;
  io.rows = 12;
  io.cols = 10;
  io.rank = 2;
  io.gap = gap;
  io.noise_sd = 0.3;
  io.seed = seed;
  return make_low_rank_bandit(io);
}

}  // namespace

TEST(RlBandit, InstanceHasTheRequestedGapAndRank) {
  for (double gap : {0.01, 0.2, 1.5}) {
    BanditInstanceOptions io;
    io.rows = 30;
    io.cols = 20;
    io.rank = 3;
    io.gap = gap;
    io.seed = 4;
    const auto inst = make_low_rank_bandit(io);
    // Second-largest entry, independently of the generator's bookkeeping.
    std::vector<double> v(inst.means.data(), inst.means.data() + inst.means.size());
    std::sort(v.begin(), v.end(), std::greater<double>());
    EXPECT_NEAR(v[0] - v[1], gap, 1e-9);
    EXPECT_NEAR(inst.gap, gap, 1e-9);
    EXPECT_DOUBLE_EQ(inst.means(inst.best_row, inst.best_col), v[0]);
    Eigen::JacobiSVD<Matrix<double>> svd(inst.means);
    const auto& s = svd.singularValues();
    EXPECT_GT(s(2), 1e-6 * s(0));
    EXPECT_LT(s(3), 1e-10 * s(0));  // rank 3 exactly
    EXPECT_LT((inst.factors.dense() - inst.means).cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_GE(inst.means.minCoeff(), 0.0);
  }
}

TEST(RlBandit, SpectralEliminationFindsTheBestArm) {
  const auto inst = small_instance();
  BanditRunOptions ro;
  ro.algorithm = BanditAlgorithm::SpectralElimination;
  ro.horizon = 400000;
  ro.seed = 1;
  for (auto sampling : {SpectralSampling::AllEntries, SpectralSampling::ActiveSubmatrix}) {
    ro.spectral_sampling = sampling;
    const auto res = run_bandit(inst, ro);
    EXPECT_TRUE(res.found_best) << to_string(sampling);
    EXPECT_GT(res.commit_time, 0) << "never committed";
    EXPECT_LT(res.commit_time, ro.horizon / 2);
    ASSERT_FALSE(res.phases.empty());
    // Once committed to the best arm, regret stops growing.
    EXPECT_DOUBLE_EQ(res.cumulative_regret.back(), res.final_regret);
    const double mean_gap = inst.best_mean - inst.means.mean();
    EXPECT_LT(res.final_regret, 0.5 * mean_gap * static_cast<double>(ro.horizon));
    for (std::size_t k = 1; k < res.cumulative_regret.size(); ++k)
      EXPECT_GE(res.cumulative_regret[k], res.cumulative_regret[k - 1]);
  }
}

TEST(RlBandit, BaselinesFindTheBestArm) {
  const auto inst = small_instance(2, 0.3);
  BanditRunOptions ro;
  ro.horizon = 200000;
  ro.seed = 3;
  for (auto alg : {BanditAlgorithm::Ucb, BanditAlgorithm::SuccessiveElimination, BanditAlgorithm::ExploreThenCommit}) {
    ro.algorithm = alg;
    const auto res = run_bandit(inst, ro);
    EXPECT_TRUE(res.found_best) << to_string(alg);
    EXPECT_EQ(res.times.back(), ro.horizon);
    EXPECT_EQ(res.times.size(), 100u);
  }
}

TEST(RlBandit, UcbRegretIsLogarithmicOnTwoArms) {
  // 1 x 2 instance with gap 0.5: UCB(delta = 1/T^2) pulls the bad arm about
  // 8 sigma^2 log T / gap^2 times, so regret ~ 8 * 0.09 * log(T) / 0.5.
  BanditInstanceOptions io;
  io.rows = 1;
  io.cols = 2;
  io.rank = 1;
  io.gap = 0.5;
  io.noise_sd = 0.3;
  const auto inst = make_low_rank_bandit(io);
  BanditRunOptions ro;
  ro.algorithm = BanditAlgorithm::Ucb;
  ro.horizon = 100000;
  const auto res = run_bandit(inst, ro);
  const double bound = 8.0 * 0.09 * std::log(1e5) / 0.5 + 1.0;
  EXPECT_LT(res.final_regret, 1.5 * bound);
  EXPECT_GT(res.final_regret, 0.1 * bound);
}

TEST(RlBandit, SameSeedSameRun) {
  BanditExperimentOptions eo;
  eo.instance.rows = 10;
  eo.instance.cols = 10;
  eo.instance.rank = 2;
  eo.instance.gap = 0.2;
  eo.run.horizon = 50000;
  eo.seeds = 3;
  const auto a = run_bandit_experiment(eo), b = run_bandit_experiment(eo);
  EXPECT_EQ(a.mean_regret, b.mean_regret);
  EXPECT_EQ(a.runs.size(), 3u);
  EXPECT_GT(a.sd_final_regret, 0.0);
  eo.first_seed = 1;
  const auto c = run_bandit_experiment(eo);
  EXPECT_NE(a.mean_regret, c.mean_regret);
}

TEST(RlBandit, RejectsBadInput) {
  BanditInstanceOptions io;
  io.gap = 0.0;
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);
  io.gap = -0.1;
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);
  io.gap = 0.1;
  io.rank = 21;  // above min(20, 20)
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);
  io.rank = 2;
  io.rows = 0;
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);
  io.rows = 1;
  io.cols = 1;
  io.rank = 1;
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);  // one arm has no gap
  io = {};
  io.noise_sd = -1;
  EXPECT_THROW(make_low_rank_bandit(io), InvalidArgument);

  const auto inst = small_instance();
  BanditRunOptions ro;
  ro.horizon = 0;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  ro.horizon = -5;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  ro.horizon = 100;
  ro.phase_growth = 1.0;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  ro.phase_growth = 2.0;
  ro.rank = 11;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  ro.rank = 0;
  ro.delta = 1.0;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  ro.delta = 0;
  ro.checkpoints = 0;
  EXPECT_THROW(run_bandit(inst, ro), InvalidArgument);
  BanditExperimentOptions eo;
  eo.seeds = 0;
  EXPECT_THROW(run_bandit_experiment(eo), InvalidArgument);
  EXPECT_THROW(parse_bandit_algorithm("thompson"), InvalidArgument);
  EXPECT_EQ(parse_bandit_algorithm("se"), BanditAlgorithm::SuccessiveElimination);
  EXPECT_THROW(parse_spectral_sampling("some"), InvalidArgument);
}

TEST(RlBandit, HorizonShorterThanTheArmCount) {
  const auto inst = small_instance();  // 120 arms
  BanditRunOptions ro;
  ro.horizon = 50;
  for (auto alg : {BanditAlgorithm::SpectralElimination, BanditAlgorithm::Ucb, BanditAlgorithm::SuccessiveElimination,
                   BanditAlgorithm::ExploreThenCommit}) {
    ro.algorithm = alg;
    const auto res = run_bandit(inst, ro);
    EXPECT_EQ(res.times.back(), 50) << to_string(alg);
    EXPECT_EQ(res.times.size(), 50u);
  }
}
