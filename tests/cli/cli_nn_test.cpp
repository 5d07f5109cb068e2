// End-to-end tests of `lowrank train` and `lowrank sample` (issue 7): a tiny
// run whose --json summary agrees with the CSV log, resume through the CLI,
// sampling from the checkpoint, and bad input exiting 2 with a clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_run.hpp"
#include "lowrank/cuda/device.hpp"

namespace lowrank::test {
namespace {

namespace fs = std::filesystem;

const std::string kTiny = " --layers 1 --heads 2 --width 16 --context 16 --batch 4 --eval-batches 2 -q";

fs::path scratch(const std::string& name) {
  auto p = fs::temp_directory_path() / ("lowrank_cli_nn_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(CliNn, HelpShowsAnExample) {
  for (const char* cmd : {"train --help", "sample --help"}) {
    const CliRun r = run_cli(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << cmd;
  }
}

// Progress with totals and time left (issue 34): "step k/N ... ~Ts left".
TEST(CliNn, TrainProgressShowsStepOfTotalAndTimeLeft) {
  const CliRun r = run_cli("train --data " + kShakespeareHead +
                           " --layers 1 --heads 2 --width 16 --context 16 --batch 4 --eval-batches 2 --steps 6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("step      1/6 loss"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("s left"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step      6/6 loss"), std::string::npos) << r.err;
}

TEST(CliNn, TrainResumeAndSample) {
  const auto dir = scratch("run");
  const std::string ck = (dir / "ck").string(), csv = (dir / "log.csv").string();
  CliRun r = run_cli("train --data " + kShakespeareHead + kTiny +
                     " --parameterization sltrain --rank 4 --steps 6 --eval-interval 3 --checkpoint " + ck + " --log " +
                     csv + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "train");
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["step"], 6);
  EXPECT_EQ(j["parameterization"], "sltrain");
  EXPECT_EQ(j["memory"]["param_count"], j["memory"]["param_count_analytic"]);
  // the analytic-vs-RSS comparison itself is tests/nn NnMemory.AnalyticTotalIsWithinTenPercentOfPeakRssGrowth
  EXPECT_GT(j["memory"]["total_analytic_bytes"].get<double>(), 0.0);
  EXPECT_EQ(j["memory"]["rss_growth_bytes"].get<double>(),
            j["memory"]["peak_rss_bytes"].get<double>() - j["memory"]["baseline_rss_bytes"].get<double>());
  EXPECT_EQ(j["memory"]["weight_cache_bytes"], j["memory"]["weight_cache_bytes_analytic"]);  // sltrain: > 0
  EXPECT_GT(j["memory"]["weight_cache_bytes"].get<double>(), 0.0);
  EXPECT_LT(j["memory"]["param_count"].get<long>(), j["memory"]["dense_equivalent_params"].get<long>());
  std::ifstream in(csv);
  std::string line, last;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    last = line;
  }
  EXPECT_EQ(lines, 7);  // header + 6 steps
  EXPECT_EQ(last.rfind("6,", 0), 0u);
  EXPECT_TRUE(fs::exists(fs::path(ck) / "checkpoint.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(ck) / "config.json"));
  // resume to step 9 through the CLI: the 6 updates already followed the
  // 6-step cosine (warm-up 10% of the steps), so extending needs --keep-schedule
  r = run_cli("train --resume " + ck + " --steps 9 --keep-schedule -q --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["step"], 9);
  // a resume whose model flags disagree with the checkpoint is refused
  r = run_cli("train --resume " + ck + " --parameterization dense --width 16 --layers 1 --heads 2 --context 16 -q");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("differs"), std::string::npos) << r.err;
  r = run_cli("sample --checkpoint " + ck + " --prompt ROMEO: --length 20 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ROMEO:", 0), 0u);
  EXPECT_EQ(r.out.size(), 6u + 20u + 1u);
  fs::remove_all(dir);
}

TEST(CliNn, BadInputExitsTwo) {
  const auto dir = scratch("bad");
  auto usage = [](const std::string& args, const std::string& needle) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\nstderr: " << r.err;
  };
  usage("train --data " + kShakespeareHead + kTiny + " --parameterization lowrank --rank 40 --steps 1", "rank 40");
  usage("train --data " + kShakespeareHead + kTiny + " --parameterization sltrain --delta 1.5 --steps 1", "delta");
  usage("train --data " + kShakespeareHead + kTiny + " --parameterization lora --steps 1", "parameterization");
  const auto empty = (dir / "empty.txt").string();
  std::ofstream(empty).close();
  usage("train --data " + empty + kTiny + " --steps 1", "empty");
  const auto cfg = (dir / "cfg.json").string();
  std::ofstream(cfg) << "{\"model\": {\"width\": 16, \"depth\": 2}}";
  usage("train --config " + cfg + " --data " + kShakespeareHead, "model.depth");
  usage("sample --checkpoint " + (dir / "none").string(), "checkpoint");
  usage("train --data " + kShakespeareHead + kTiny + " --steps 1 --device gpu", "--device");
  if (!cuda::built_with_cuda())
    usage("train --data " + kShakespeareHead + kTiny + " --steps 1 --device cuda", "built without CUDA");
  else if (cuda::device_count() == 0)
    usage("train --data " + kShakespeareHead + kTiny + " --steps 1 --device cuda", "no CUDA device");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowrank::test
