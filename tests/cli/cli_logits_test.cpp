// End-to-end tests of `lowrank logit-rank` and `lowrank lingen` (issue 8,
// part 3) on a tiny checkpoint trained through the CLI: JSON shape and
// internal consistency, the cached and naive paths agreeing, and bad input
// (too many histories, a rank above the matrix size, windows beyond the
// context, text outside the vocabulary, a broken checkpoint) exiting 2 with a
// message naming the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"

namespace lowrank::test {
namespace {

namespace fs = std::filesystem;

class CliLogits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ck_ = *dir_ / "ck";
    const CliRun r =
        run_cli("train --data " + kShakespeareHead +
                " --layers 1 --heads 2 --width 16 --context 16 --batch 4 --eval-batches 1 --eval-interval 0"
                " --steps 3 -q --checkpoint " +
                ck_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string ck_;
};
TempDir* CliLogits::dir_ = nullptr;
std::string CliLogits::ck_;

const std::string kSmall = " --histories 12 --history-length 8 --futures 5 --future-length 3 --top-k 10 -q";

TEST_F(CliLogits, HelpShowsAnExample) {
  for (const char* cmd : {"logit-rank --help", "lingen --help"}) {
    const CliRun r = run_cli(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << cmd;
  }
}

TEST_F(CliLogits, LogitRankJsonIsConsistentAndMatchesTheNaivePath) {
  CliRun r = run_cli("logit-rank --checkpoint " + ck_ + kSmall + " --ranks 1,4,12 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "logit-rank");
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["rows"], 12);
  EXPECT_EQ(j["blocks"], 1 + 5 * 3);
  EXPECT_EQ(j["cols"], 16 * 10);
  EXPECT_TRUE(std::isfinite(j["alpha"].get<double>()));
  const auto& sv = j["singular_values"];
  ASSERT_EQ(sv.size(), 12u);
  const auto& rec = j["reconstruction"];
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_GT(rec[0]["relative_error"].get<double>(), rec[1]["relative_error"].get<double>());
  EXPECT_LT(rec[2]["relative_error"].get<double>(), 1e-10);  // full rank reproduces M
  EXPECT_LT(rec[2]["mean_kl"].get<double>(), 1e-10);
  r = run_cli("logit-rank --checkpoint " + ck_ + kSmall + " --naive --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto jn = nlohmann::json::parse(r.out);
  for (std::size_t i = 0; i < 12; ++i)
    EXPECT_NEAR(jn["singular_values"][i].get<double>(), sv[i].get<double>(), 1e-4 * sv[0].get<double>());
  // shuffled text and the human report
  r = run_cli("logit-rank --checkpoint " + ck_ + kSmall + " --shuffle");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("power law"), std::string::npos);
  EXPECT_NE(r.out.find("(shuffled)"), std::string::npos);
}

TEST_F(CliLogits, LingenJson) {
  const CliRun r = run_cli("lingen --checkpoint " + ck_ + kSmall + " --length 5 --samples 2 --target 'ROMEO: ' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "lingen");
  EXPECT_EQ(j["target"], "ROMEO: ");
  EXPECT_EQ(j["coefficients"].size(), 12u);
  ASSERT_EQ(j["samples"].size(), 2u);
  EXPECT_EQ(j["samples"][0].get<std::string>().size(), 5u);
  EXPECT_EQ(j["kl_lingen_by_step"].size(), 5u);
  EXPECT_GE(j["mean_kl_lingen"].get<double>(), 0.0);
  EXPECT_GE(j["mean_kl_baseline"].get<double>(), 0.0);
}

TEST_F(CliLogits, BadInputExitsTwoWithAMessage) {
  struct Case {
    std::string args, needle;
  };
  const std::string bad_text = *dir_ / "bad.txt";
  write_file(bad_text, "ROMEO:\x01 hello\n");
  const std::string broken = *dir_ / "broken";
  fs::create_directories(broken);
  write_file(broken + "/checkpoint.safetensors", "not a safetensors file");
  const std::vector<Case> cases = {
      {"logit-rank --checkpoint " + ck_ + " --histories 100000 --history-length 8 --future-length 3", "room for"},
      {"logit-rank --checkpoint " + ck_ + kSmall + " --ranks 13", "outside [1, 12]"},
      {"logit-rank --checkpoint " + ck_ + " --histories 4 --history-length 15 --future-length 3 -q", "context"},
      {"logit-rank --checkpoint " + ck_ + kSmall + " --text " + bad_text, "vocabulary"},
      {"logit-rank --checkpoint " + broken + kSmall, "broken"},
      {"logit-rank --checkpoint " + (*dir_ / "missing") + kSmall, "missing"},
      {"lingen --checkpoint " + ck_ + kSmall + " --target 'ROMEO: ' --length 12", "context"},
      {"lingen --checkpoint " + ck_ + kSmall + " --ridge -1", "ridge"},
      {"lingen --checkpoint " + ck_ + kSmall + " --target 'a~\x01'", "--target"},
  };
  for (const auto& c : cases) {
    const CliRun r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace lowrank::test
