// Baselines: per-entry means and soft-impute on them.
#include <gtest/gtest.h>

#include "lowrank/core/error.hpp"
#include "lowrank/rl/bandit.hpp"
#include "lowrank/rl/baselines.hpp"
#include "lowrank/rl/metrics.hpp"
#include "lowrank/rl/planted.hpp"

using namespace lowrank;
using namespace lowrank::rl;

TEST(RlBaselines, EntryMeansAggregateRepeats) {
  ObservedEntries<double> s;
  s.rows = 3;
  s.cols = 2;
  s.push_back(2, 1, 4.0);
  s.push_back(0, 0, 1.0);
  s.push_back(2, 1, 6.0);
  std::vector<std::int64_t> counts;
  const auto m = aggregate_entry_means(s, &counts);
  ASSERT_EQ(m.nnz(), 2u);
  EXPECT_EQ(m.row[0], 0);
  EXPECT_DOUBLE_EQ(m.value[0], 1.0);
  EXPECT_EQ(m.row[1], 2);
  EXPECT_EQ(m.col[1], 1);
  EXPECT_DOUBLE_EQ(m.value[1], 5.0);
  EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 2}));
  ObservedEntries<double> bad = s;
  bad.col[0] = 2;
  EXPECT_THROW(aggregate_entry_means(bad), InvalidArgument);
  ObservedEntries<double> none;
  none.rows = 2;
  none.cols = 2;
  EXPECT_THROW(aggregate_entry_means(none), InvalidArgument);
}

TEST(RlBaselines, SoftImputeRecoversAPlantedMatrix) {
  PlantedMatrixOptions po;
  po.rows = 80;
  po.cols = 70;
  po.rank = 2;
  po.seed = 3;
  const auto M = planted_low_rank<double>(po);
  const auto data = sample_uniform(M, 8000, 0.3, 4);  // 1.4 samples per entry
  SoftImputeBaselineOptions so;
  so.rank = 2;
  so.noise_sd = 0.3;
  const auto fit = soft_impute_baseline(data, so);
  const auto e = estimation_errors(M, fit);
  EXPECT_LT(e.relative_frobenius, 0.15);
  const auto mean = estimation_errors(M, entry_mean_estimate(data));
  EXPECT_LT(e.frobenius, 0.5 * mean.frobenius);
  so.noise_sd = -1;
  EXPECT_THROW(soft_impute_baseline(data, so), InvalidArgument);
}

TEST(RlBaselines, EtcWithSoftImputeFindsTheBestArm) {
  BanditInstanceOptions io;
  io.rows = 15;
  io.cols = 12;
  io.rank = 2;
  io.gap = 0.3;
  io.noise_sd = 0.3;
  const auto inst = make_low_rank_bandit(io);
  BanditRunOptions ro;
  ro.algorithm = BanditAlgorithm::ExploreThenCommit;
  ro.etc_estimator = EtcEstimator::SoftImpute;
  ro.horizon = 100000;
  const auto res = run_bandit(inst, ro);
  EXPECT_TRUE(res.found_best);
  EXPECT_EQ(parse_etc_estimator("soft-impute"), EtcEstimator::SoftImpute);
  EXPECT_THROW(parse_etc_estimator("als"), InvalidArgument);
}
