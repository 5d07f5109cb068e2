// Low-rank bandit: planted instances, each algorithm on a small instance,
// reproducibility and rejected input.
#include <gtest/gtest.h>

#include <Eigen/SVD>

#include "lowrank/rl/bandit.hpp"
#include "lowrank/rl/estimator.hpp"
#include "lowrank/rl/planted.hpp"

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

// A square rank-2 instance with noise sd 0.5 (issue 28's sweep settings),
// spectral UCB against UCB over the same seeds.
struct SpectralAgainstUcb {
  BanditExperimentResult spectral, ucb;
};
SpectralAgainstUcb spectral_against_ucb(Index side, double gap, std::int64_t horizon, int seeds) {
  BanditExperimentOptions eo;
  eo.instance.rows = side;
  eo.instance.cols = side;
  eo.instance.rank = 2;
  eo.instance.gap = gap;
  eo.instance.noise_sd = 0.5;
  eo.run.horizon = horizon;
  eo.seeds = seeds;
  eo.run.algorithm = BanditAlgorithm::SpectralUcb;
  SpectralAgainstUcb r;
  r.spectral = run_bandit_experiment(eo);
  eo.run.algorithm = BanditAlgorithm::Ucb;
  r.ucb = run_bandit_experiment(eo);
  return r;
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
    EXPECT_LT((inst.factors.to_dense() - inst.means).cwiseAbs().maxCoeff(), 1e-12);
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
  EXPECT_EQ(parse_bandit_algorithm("spectral"), BanditAlgorithm::SpectralUcb);
  EXPECT_EQ(parse_bandit_algorithm("elimination"), BanditAlgorithm::SpectralElimination);
  EXPECT_THROW(parse_spectral_sampling("some"), InvalidArgument);
}

TEST(RlBandit, HorizonShorterThanTheArmCount) {
  const auto inst = small_instance();  // 120 arms
  BanditRunOptions ro;
  ro.horizon = 50;
  for (auto alg : {BanditAlgorithm::SpectralUcb, BanditAlgorithm::SpectralElimination, BanditAlgorithm::Ucb,
                   BanditAlgorithm::SuccessiveElimination, BanditAlgorithm::ExploreThenCommit}) {
    ro.algorithm = alg;
    const auto res = run_bandit(inst, ro);
    EXPECT_EQ(res.times.back(), 50) << to_string(alg);
    EXPECT_EQ(res.times.size(), 50u);
  }
}

TEST(RlBandit, EntryWidthsCoverTheTruthAtTheStatedRate) {
  // The widths the bandit algorithms use: z * entry_sd, entry_sd the
  // first-order sd of M^_ij - M_ij. Over 40 planted instances and sample
  // draws, measure (a) the share of entries inside z = 1.96 sd (a 95 %
  // interval if the first-order Gaussian picture holds) and (b) how often
  // the union-bound width sqrt(2 log(4 K / delta)) sd, delta = 0.05, covers
  // every entry at once (the event the elimination rule needs; stated
  // rate >= 95 %).
  const int seeds = 40;
  double covered = 0.0, total = 0.0;
  int all_covered = 0, best_covered = 0;
  for (int s = 0; s < seeds; ++s) {
    BanditInstanceOptions io;
    io.rows = 30;
    io.cols = 30;
    io.rank = 2;
    io.gap = 0.1;
    io.noise_sd = 0.5;
    io.seed = static_cast<std::uint64_t>(s);
    const auto inst = make_low_rank_bandit(io);
    const auto data = sample_uniform(inst.factors, 30000, 0.5, 1000 + static_cast<std::uint64_t>(s));
    SpectralEstimatorOptions eo;
    eo.rank = 2;
    eo.svd.seed = static_cast<std::uint64_t>(s);
    const auto est = estimate_spectral(data, eo);
    const Matrix<double> fit = est.fit.to_dense();
    const double k = 900.0, delta = 0.05;
    const Matrix<double> sdm = plugin_entry_sd(est, 0.5);
    const double z_union = std::sqrt(2.0 * std::log(4.0 * k / delta));
    bool all = true;
    for (Index j = 0; j < 30; ++j)
      for (Index i = 0; i < 30; ++i) {
        const double e = std::abs(fit(i, j) - inst.means(i, j)), sd = sdm(i, j);
        covered += e <= 1.96 * sd ? 1.0 : 0.0;
        total += 1.0;
        all = all && e <= z_union * sd;
      }
    all_covered += all ? 1 : 0;
    best_covered +=
        std::abs(fit(inst.best_row, inst.best_col) - inst.best_mean) <= 1.96 * sdm(inst.best_row, inst.best_col);
  }
  const double rate = covered / total;
  // Measured: 0.927 pointwise, 37 / 40 for the union bound, 35 / 40 for
  // the best arm alone (its row and column hold the largest entries, the
  // hardest case). For Gaussian errors, widths half as large would cover
  // 68 % and twice as large 99.99 %, so both bounds below would fail.
  EXPECT_GT(rate, 0.90);
  EXPECT_LT(rate, 0.985);
  EXPECT_GE(all_covered, 34);
  EXPECT_GE(best_covered, 32);
}

TEST(RlBandit, EliminationNeverRemovesTheBestArmOnALargeGap) {
  // Gap 0.5 against noise sd 0.3: with honest widths the best arm survives
  // every phase, so each run ends committed to it (or still holding it).
  for (int s = 0; s < 10; ++s) {
    const auto inst = small_instance(static_cast<std::uint64_t>(s), 0.5);
    for (auto alg : {BanditAlgorithm::SpectralElimination, BanditAlgorithm::SpectralUcb}) {
      BanditRunOptions ro;
      ro.algorithm = alg;
      ro.spectral_sampling = SpectralSampling::AllEntries;
      ro.horizon = 30000;
      ro.seed = static_cast<std::uint64_t>(100 + s);
      const auto res = run_bandit(inst, ro);
      ASSERT_FALSE(res.phases.empty());
      for (const auto& ph : res.phases)
        EXPECT_TRUE(ph.best_active) << to_string(alg) << " seed " << s
                                    << " eliminated the best arm at t = " << ph.end_time;
      if (res.commit_time >= 0) {
        EXPECT_TRUE(res.found_best) << to_string(alg) << " seed " << s;
      }
      if (alg == BanditAlgorithm::SpectralUcb) {
        EXPECT_TRUE(res.found_best) << describe_run(res);
        EXPECT_GT(res.best_pull_fraction, 0.5) << describe_run(res);
      }
    }
  }
}

TEST(RlBandit, SummaryLineSaysWhetherTheRunCommitted) {
  BanditRunResult r;
  r.committed_row = 3;
  r.committed_col = 7;
  r.commit_time = 1234;
  r.found_best = true;
  r.arm_pull_fraction = 0.95;
  EXPECT_EQ(describe_run(r), "committed to (3, 7) best at t = 1234");
  r.commit_time = -1;
  r.found_best = false;
  r.arm_pull_fraction = 0.125;
  EXPECT_EQ(describe_run(r), "not committed; most-pulled arm (3, 7) with 12.5% of pulls");

  // A real run that cannot commit: UCB never does, and the arm it reports is
  // the one it pulled most, with that arm's true share of the pulls.
  const auto inst = small_instance(1, 0.3);
  BanditRunOptions ro;
  ro.algorithm = BanditAlgorithm::Ucb;
  ro.horizon = 20000;
  const auto u = run_bandit(inst, ro);
  EXPECT_EQ(u.commit_time, -1);
  EXPECT_EQ(describe_run(u).rfind("not committed; most-pulled arm", 0), 0u);
  EXPECT_GT(u.arm_pull_fraction, 1.0 / 120.0);
  EXPECT_LE(u.arm_pull_fraction, 1.0);
  // A committed run: explore-then-commit.
  ro.algorithm = BanditAlgorithm::ExploreThenCommit;
  const auto e = run_bandit(inst, ro);
  ASSERT_GE(e.commit_time, 0);
  EXPECT_EQ(describe_run(e).rfind("committed to (", 0), 0u);
  // Everything after the commit went to the committed arm.
  EXPECT_GE(e.arm_pull_fraction, static_cast<double>(ro.horizon - e.commit_time) / static_cast<double>(ro.horizon));
  // The elimination algorithm with a horizon far too short to commit
  // reports the most-pulled arm, never "at t = -1".
  ro.algorithm = BanditAlgorithm::SpectralElimination;
  ro.horizon = 500;
  const auto x = run_bandit(inst, ro);
  EXPECT_EQ(x.commit_time, -1);
  EXPECT_EQ(describe_run(x).find("t = -1"), std::string::npos);
}

TEST(RlBandit, SpectralUcbBeatsUcbOnASmallPlantedInstance) {
  // 40 x 40 rank 2, gap 0.2, noise sd 0.5, T = 2e5, 3 seeds (well under a
  // second). Measured: 4,815 against UCB's 24,261 (0.20x); with the nominal
  // width scale 1 it was 13.4k (0.55x).
  const auto [lr, ucb] = spectral_against_ucb(40, 0.2, 200000, 3);
  EXPECT_LE(lr.mean_final_regret, 0.5 * ucb.mean_final_regret);
  EXPECT_DOUBLE_EQ(lr.found_best_fraction, 1.0);
  for (const auto& r : lr.runs) {
    EXPECT_GT(r.explore_end, 0);
    EXPECT_LT(r.candidate_arms, 1600);
    EXPECT_GT(r.best_pull_fraction, 0.5);
  }
}

TEST(RlBandit, SpectralUcbStopsExploringEarlyWhenTheHorizonIsShortForTheArms) {
  // 200 x 200 (40,000 arms), gap 0.1, T = 1e5, seed 0 (issue 28's tightest
  // cell): phase B cannot give 1,000+ candidates the pulls UCB needs, so
  // its predicted cost is about uniform play, and phase A must stop by the
  // third round (33,558 pulls). The old lookahead, which credited every
  // dropped arm with its full UCB cost, explored to 71,910 on this seed
  // (regret 62.9k); now 33,558, regret 38.5k against UCB's 81.3k (0.47x;
  // the bound leaves room for a change of noise stream).
  const auto [lr, ucb] = spectral_against_ucb(200, 0.1, 100000, 1);
  ASSERT_EQ(lr.runs.size(), 1u);
  EXPECT_LE(lr.runs[0].explore_end, 33558);
  EXPECT_LE(lr.mean_final_regret, 0.55 * ucb.mean_final_regret);
  EXPECT_DOUBLE_EQ(lr.found_best_fraction, 1.0);
}
