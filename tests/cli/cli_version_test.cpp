// One version everywhere (issue 33): `lowrank --version`, the "version" of
// every --json output, and the lowrank_version / format version recorded in
// saved models and checkpoints, with files from a newer format refused
// (exit 2, naming the version).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/io/safetensors.hpp"
#include "test_paths.hpp"

namespace lowrank::test {
namespace {

const std::string kRatings = std::string(LOWRANK_SOURCE_DIR) + "/examples/cpp/ratings.tsv";

std::string version_file() {
  std::string v = slurp(std::string(LOWRANK_SOURCE_DIR) + "/VERSION");
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

TEST(CliVersion, VersionFlagAndHeaderAgreeWithTheVersionFile) {
  EXPECT_EQ(std::string(kVersion), version_file());
  EXPECT_EQ(std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor) + "." + std::to_string(kVersionPatch),
            version_file());
  const CliRun r = run_cli("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "lowrank " + version_file() + "\n");
}

TEST(CliVersion, JsonOutputsCarryTheVersion) {
  TempDir tmp;
  for (const std::string& args : {"info --json " + kMite, "info --json " + kRatings,
                                  "decompose --json -q --rank 2 --input " + kMite + " --out " + tmp / "svd",
                                  "complete --json -q --lambda 5 --train " + kRatings + " --out " + tmp / "m"}) {
    const CliRun r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.value("version", ""), kVersion) << args;
  }
  // ... and the saved model records the format and the lowrank that wrote it.
  const auto meta = nlohmann::json::parse(slurp(tmp / "m/model.json"));
  EXPECT_EQ(meta["version"], 2);
  EXPECT_EQ(meta["lowrank_version"], kVersion);
}

TEST(CliVersion, ModelOfANewerFormatIsRefusedNamingTheVersion) {
  TempDir tmp;
  ASSERT_EQ(run_cli("complete -q --lambda 5 --train " + kRatings + " --out " + tmp / "m").exit_code, 0);
  write_file(tmp / "pairs.tsv", "u1\tmovie2\n");
  const std::string predict = "predict --model " + tmp / "m" + " --pairs " + tmp / "pairs.tsv";
  ASSERT_EQ(run_cli(predict).exit_code, 0);
  auto meta = nlohmann::json::parse(slurp(tmp / "m/model.json"));
  meta["version"] = 7;
  meta["lowrank_version"] = "3.1.4";
  write_file(tmp / "m/model.json", meta.dump());
  CliRun r = run_cli(predict);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.json: completion model format version 7, written by lowrank 3.1.4, is newer than this "
                       "lowrank " +
                       std::string(kVersion) + " reads (format version 2): upgrade lowrank"),
            std::string::npos)
      << r.err;
  meta["version"] = "1.5";
  write_file(tmp / "m/model.json", meta.dump());
  r = run_cli(predict);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("format version '\"1.5\"' is not a whole number"), std::string::npos) << r.err;
}

TEST(CliVersion, CheckpointOfANewerFormatIsRefusedNamingTheVersion) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "ck");
  io::SafetensorsEntry e{"model.wte", io::TensorDType::F32, Matrix<double>::Ones(2, 2), false};
  io::write_safetensors(tmp / "ck/checkpoint.safetensors", {e},
                        {{"format", "lowrank-nn-checkpoint"},
                         {"version", "2"},
                         {"lowrank_version", "9.0.0"},
                         {"options", "{}"},
                         {"step", "0"},
                         {"optimizer_step", "0"},
                         {"rng", ""},
                         {"vocab_hex", ""}});
  const CliRun r = run_cli("sample --checkpoint " + tmp / "ck" + " --prompt a --length 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("checkpoint format version 2, written by lowrank 9.0.0, is newer than this lowrank " +
                       std::string(kVersion)),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace lowrank::test
