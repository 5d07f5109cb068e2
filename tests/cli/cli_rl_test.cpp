// End-to-end tests of `lowrank bandit` and `lowrank mdp`: --json output that
// parses and agrees with itself and with the instance, reproducibility, and
// every bad input of issue 6 exiting 2 with a message that names the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"

namespace lowrank::test {
namespace {

nlohmann::json run_json(const std::string& args) {
  const CliRun r = run_cli(args + " --json");
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return nlohmann::json::parse(r.out);
}

void expect_usage_error(const std::string& args, const std::string& needle) {
  const CliRun r = run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << args << "\nstdout: " << r.out;
}

TEST(CliRl, HelpShowsAnExample) {
  for (const char* cmd : {"bandit --help", "mdp --help"}) {
    const CliRun r = run_cli(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << cmd;
  }
}

TEST(CliRl, BanditJsonIsSaneAndReproducible) {
  // 10 x 10 rank 2, gap 0.3, low noise: spectral elimination on the active
  // submatrix commits to the best arm before the horizon on both seeds.
  const std::string args =
      "bandit -q --rows 10 --cols 10 --rank 2 --gap 0.3 --noise 0.1 --horizon 20000 --algorithm elimination "
      "--sampling active --seeds 2 --seed 5 --curve --checkpoints 20";
  const auto j = run_json(args);
  EXPECT_EQ(j["command"], "bandit");
  EXPECT_EQ(j["algorithm"], "elimination");
  EXPECT_EQ(j["sampling"], "active");
  EXPECT_EQ(j["seeds"], 2);
  EXPECT_EQ(j["first_seed"], 5);
  EXPECT_EQ(j["status"], "success");
  ASSERT_EQ(j["runs"].size(), 2u);
  double mean = 0;
  for (const auto& r : j["runs"]) {
    const double regret = r["final_regret"].get<double>();
    // Pseudo-regret is >= 0, and the arm committed to at commit_time < T is
    // the best one, so less than 1 per pull (these means lie in [0, ~1]) is lost.
    EXPECT_GE(regret, 0.0);
    EXPECT_LT(regret, 20000.0);
    EXPECT_TRUE(r["found_best"].get<bool>());
    EXPECT_GT(r["commit_time"].get<std::int64_t>(), 0);
    EXPECT_LT(r["commit_time"].get<std::int64_t>(), 20000);
    EXPECT_FALSE(r["phases"].empty());
    EXPECT_TRUE(r["committed"].get<bool>());
    EXPECT_EQ(r["summary"].get<std::string>().rfind("committed to (", 0), 0u) << r["summary"];
    mean += regret / 2.0;
  }
  EXPECT_NEAR(j["mean_final_regret"].get<double>(), mean, 1e-9 * (1.0 + mean));
  EXPECT_DOUBLE_EQ(j["found_best_fraction"].get<double>(), 1.0);
  // The curve: 20 checkpoints ending at the horizon, non-decreasing means.
  ASSERT_EQ(j["times"].size(), 20u);
  EXPECT_EQ(j["times"].back(), 20000);
  for (std::size_t k = 1; k < j["mean_regret"].size(); ++k) {
    EXPECT_GE(j["mean_regret"][k].get<double>(), j["mean_regret"][k - 1].get<double>());
  }
  EXPECT_NEAR(j["mean_regret"].back().get<double>(), mean, 1e-9 * (1.0 + mean));
  // Same seeds, same numbers.
  const auto again = run_json(args);
  EXPECT_EQ(again["runs"][0]["final_regret"], j["runs"][0]["final_regret"]);
  EXPECT_EQ(again["runs"][1]["committed_arm"], j["runs"][1]["committed_arm"]);
}

TEST(CliRl, BanditSummaryLinesAreHonest) {
  // Committed runs say where and when; runs that never commit (UCB) name the
  // most-pulled arm and its share of pulls, never "at t = -1".
  const std::string base = "bandit --rows 8 --cols 8 --rank 2 --gap 0.3 --noise 0.1 --horizon 20000 --seeds 2 ";
  const CliRun u = run_cli(base + "--algorithm ucb");
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_NE(u.out.find("not committed; most-pulled arm ("), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("% of pulls"), std::string::npos) << u.out;
  EXPECT_EQ(u.out.find("t = -1"), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("best arm   committed to in 0 of 2 runs (0 committed)"), std::string::npos) << u.out;
  const CliRun e = run_cli(base + "--algorithm etc");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("committed to ("), std::string::npos) << e.out;
  EXPECT_NE(e.out.find(" at t = "), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("not committed;"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("best arm   committed to in 2 of 2 runs (2 committed)"), std::string::npos) << e.out;
}

TEST(CliRl, BanditBaselinesRunOnTheSameInstances) {
  for (const std::string alg : {"spectral", "elimination", "ucb", "se", "etc"}) {
    const auto j =
        run_json("bandit -q --rows 6 --cols 6 --rank 1 --gap 0.3 --noise 0.1 --horizon 5000 --algorithm " + alg);
    EXPECT_EQ(j["algorithm"], alg);
    const double regret = j["mean_final_regret"].get<double>();
    EXPECT_GE(regret, 0.0) << alg;
    EXPECT_TRUE(std::isfinite(regret)) << alg;
  }
  const auto j = run_json(
      "bandit -q --rows 6 --cols 6 --rank 1 --gap 0.3 --noise 0.1 --horizon 5000 --algorithm etc "
      "--etc-estimator soft-impute");
  EXPECT_EQ(j["etc_estimator"], "soft-impute");
}

TEST(CliRl, BanditBadInputExitsTwo) {
  const std::string base = "bandit -q --rows 10 --cols 8 --horizon 1000 ";
  expect_usage_error(base + "--rank 9", "rank 9 is outside [1, min(rows, cols)] = [1, 8]");
  expect_usage_error(base + "--rank 0", "rank 0 is outside");
  expect_usage_error("bandit -q --rows 10 --cols 8 --horizon 0", "horizon");
  expect_usage_error("bandit -q --rows 10 --cols 8 --horizon -5", "horizon");
  expect_usage_error(base + "--gap 0", "gap must be a finite number > 0");
  expect_usage_error(base + "--gap -0.1", "gap must be a finite number > 0");
  expect_usage_error(base + "--seeds 0", "seeds");
  expect_usage_error(base + "--algorithm thompson", "unknown bandit algorithm 'thompson'");
  expect_usage_error("bandit -q --rows 0 --cols 8 --horizon 1000", "rows and cols must be > 0");
  expect_usage_error(base + "--rows abc", "--rows");  // CLI11 parse error
}

TEST(CliRl, MdpJsonIsSane) {
  const auto j = run_json(
      "mdp -q --model random --states 20 --actions 3 --rank 2 --samples 12000 --method spectral --seeds 2 --seed 3");
  EXPECT_EQ(j["command"], "mdp");
  EXPECT_EQ(j["states"], 20);
  EXPECT_EQ(j["actions"], 3);
  EXPECT_EQ(j["collection"], "generative");
  EXPECT_EQ(j["method"], "spectral");
  ASSERT_EQ(j["runs"].size(), 2u);
  for (const auto& r : j["runs"]) {
    EXPECT_GE(r["value_gap"].get<double>(), 0.0);
    // Rewards in [0, 1], gamma = 0.9: any policy's gap is below 1 / (1 - gamma).
    EXPECT_LT(r["value_gap"].get<double>(), 10.0);
    EXPECT_EQ(r["rank"], 2);
    EXPECT_EQ(r["unvisited_rows"], 0);
    // Rows on the simplex: the l1 error of a row is at most 2.
    EXPECT_LE(r["kernel_row_l1_error"].get<double>(), 2.0 + 1e-12);
    EXPECT_GE(r["kernel_max_error"].get<double>(), 0.0);
  }
  const auto e = run_json(
      "mdp -q --model random --states 20 --actions 3 --rank 2 --samples 12000 --method empirical --seeds 2 --seed 3");
  EXPECT_EQ(e["method"], "empirical");
  EXPECT_EQ(e["runs"][0]["rank"], 0);
}

TEST(CliRl, MdpTrajectoryReportsUnvisitedPairs) {
  // A 12 x 12 gridworld and a trajectory far too short to visit every cell:
  // the run succeeds, the JSON counts the unvisited pairs and stderr says
  // their rows were filled with the uniform distribution.
  const CliRun r = run_cli(
      "mdp --model gridworld --width 12 --height 12 --blocks-x 2 --blocks-y 2 --collection trajectory "
      "--samples 300 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["collection"], "trajectory");
  EXPECT_GT(j["runs"][0]["unvisited_rows"].get<int>(), 0);
  EXPECT_GT(j["runs"][0]["unvisited_states"].get<int>(), 0);
  EXPECT_TRUE(std::isfinite(j["runs"][0]["value_gap"].get<double>()));
  EXPECT_NE(r.err.find("never visited"), std::string::npos) << r.err;
}

TEST(CliRl, MdpBadInputExitsTwo) {
  expect_usage_error("mdp -q --states 0 --samples 1000", "S = 0");
  expect_usage_error("mdp -q --actions 0 --samples 1000", "A = 0");
  expect_usage_error("mdp -q --states 10 --actions 2 --rank 11 --samples 1000", "rank");
  expect_usage_error("mdp -q --states 10 --actions 2 --rank 2 --samples 0", "sample count must be > 0, got 0");
  expect_usage_error("mdp -q --states 10 --actions 2 --rank 2 --samples -3", "sample count must be > 0, got -3");
  // Generative: fewer samples than (s, a) pairs.
  expect_usage_error("mdp -q --states 10 --actions 2 --rank 2 --samples 5", "samples");
  expect_usage_error("mdp -q --states 10 --actions 2 --rank 2 --samples 1000 --estimator-rank 11", "rank");
  expect_usage_error("mdp -q --discount 1 --samples 1000", "discount must be in [0, 1)");
  expect_usage_error("mdp -q --model maze --samples 1000", "maze");
  expect_usage_error("mdp -q --collection offline --samples 1000", "offline");
  expect_usage_error("mdp -q --seeds 0 --samples 1000", "seeds");
  expect_usage_error("mdp -q --model gridworld --width 0 --samples 1000", "width and height must be >= 1");
}

TEST(CliRl, MdpRewardFreeCertifiesAndRefusesBadOptions) {
  const auto j = run_json(
      "mdp -q --reward-free --states 20 --actions 2 --rank 2 --discount 0.5 --epsilon 0.5 "
      "--seeds 2 --rewards 2 --method empirical");
  EXPECT_EQ(j["mode"], "reward-free");
  EXPECT_EQ(j["bound"], "weissman");  // the proved bound is the counts default
  ASSERT_EQ(j["runs"].size(), 2u);
  for (const auto& r : j["runs"]) {
    EXPECT_TRUE(r["certified"].get<bool>());
    EXPECT_LE(r["certified_epsilon"].get<double>(), 0.5);
    EXPECT_LE(r["max_value_gap"].get<double>(), 0.5);
    const auto& rounds = r["rounds"];
    for (std::size_t k = 0; k + 1 < rounds.size(); ++k) EXPECT_GT(rounds[k]["certified_epsilon"].get<double>(), 0.5);
    EXPECT_EQ(rounds.back()["samples"], r["samples"]);
    // The value certificate (the default) is never above the max-row one.
    for (const auto& k : rounds) {
      EXPECT_LE(k["certified_epsilon"].get<double>(), k["max_row_certified_epsilon"].get<double>() * (1 + 1e-12));
    }
  }
  EXPECT_EQ(j["certificate"], "value");
  expect_usage_error("mdp -q --reward-free --states 10 --certificate mean", "unknown certificate 'mean'");
  expect_usage_error("mdp -q --reward-free --states 10 --bound weissman", "empirical-counts estimate only");
  expect_usage_error("mdp -q --reward-free --states 10 --epsilon 0", "epsilon must be > 0");
  expect_usage_error("mdp -q --reward-free --states 10 --delta 1", "delta must be in (0, 1)");
  expect_usage_error("mdp -q --reward-free --states 10 --bound hoeffding", "hoeffding");
}

}  // namespace
}  // namespace lowrank::test
