// End-to-end tests of `lowrank inspect` (issue 8, part 1): --json agrees with
// the numpy fixture, --plot writes one SVG per layer, an engine checkpoint
// written by `lowrank train` is read as effective weights, and every bad
// input exits 2 with a message naming the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"
#include "lowrank/io/npy.hpp"
#include "test_paths.hpp"

namespace lowrank::test {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(LOWRANK_SOURCE_DIR) + "/tests/data/diagnostics";
const std::string kText = std::string(LOWRANK_SOURCE_DIR) + "/data/text/tinyshakespeare_head.txt";

void write_raw_safetensors(const std::string& path, const std::string& header, std::size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
}

TEST(CliInspect, HelpShowsAnExample) {
  const CliRun r = run_cli("inspect --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Example"), std::string::npos);
  EXPECT_NE(r.out.find("--plot"), std::string::npos);
}

TEST(CliInspect, JsonTableAndPlots) {
  TempDir dir;
  const std::string plots = dir / "plots";
  CliRun r = run_cli("inspect " + kFixtures + "/model.safetensors --reshape-conv --samples 1000 --plot " + plots +
                     " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::ifstream in(kFixtures + "/expected.json");
  const auto exp = nlohmann::json::parse(in);
  ASSERT_EQ(j["layers"].size(), 3u);
  for (const auto& l : j["layers"]) {
    const std::string name = l["name"];
    EXPECT_EQ(l["numerical_rank"], exp[name]["matrix_rank"]) << name;
    EXPECT_NEAR(l["stable_rank"].get<double>(), exp[name]["stable_rank"].get<double>(),
                1e-5 * exp[name]["stable_rank"].get<double>())
        << name;
    const std::string svg = slurp((fs::path(plots) / (name + ".svg")).string());
    EXPECT_EQ(svg.rfind("<svg", 0), 0u) << name;
    EXPECT_NE(svg.find("<polyline"), std::string::npos) << name;
  }
  // sqrt(L R^2 / N) with L = 3 layers and N = 1000.
  const double r2 = j["bound"]["r_squared"];
  EXPECT_NEAR(j["bound"]["bound"].get<double>(), std::sqrt(3 * r2 / 1000), 1e-12 * std::sqrt(r2));
  // The table names every layer and the bound.
  r = run_cli("inspect " + kFixtures + "/sharded --samples 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layer1.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layer2.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank-sparse"), std::string::npos) << r.out;
}

// Issue 35: every defaulted bound quantity is named on stderr; --inputs sets
// B to the largest input norm, and with B, gamma and N all given nothing warns.
TEST(CliInspect, BoundWarnsForDefaultsAndTakesBFromInputs) {
  TempDir dir;
  CliRun r = run_cli("inspect " + kFixtures + "/model.safetensors --reshape-conv --samples 1000 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("bound: input norm bound B not given"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bound: margin gamma not given"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--samples"), std::string::npos) << r.err;
  Matrix<double> x(3, 2);
  x << 3, 4, 1, 1, 0, -7;
  io::write_npy(dir / "x.npy", x);
  r = run_cli("inspect " + kFixtures + "/model.safetensors --reshape-conv --samples 1000 --margin 2 --inputs " +
              (dir / "x.npy") + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("not given"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bound"]["input_norm"].get<double>(), 7.0);
  EXPECT_EQ(j["bound"]["margin"].get<double>(), 2.0);
  EXPECT_EQ(j["bound"]["defaulted"]["input_norm"], false);
  r = run_cli("inspect " + kFixtures + "/model.safetensors --inputs " + (dir / "x.npy") + " --input-norm 3 -q");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
}

TEST(CliInspect, ReadsAnEngineCheckpoint) {
  TempDir dir;
  const std::string ck = dir / "ck";
  CliRun r = run_cli("train --data " + kText +
                     " --layers 1 --heads 2 --width 16 --context 16 --batch 4 --eval-batches 1 -q --parameterization "
                     "lowrank --rank 3 --steps 2 --checkpoint " +
                     ck);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("inspect " + ck + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> names;
  for (const auto& l : j["layers"]) {
    names.push_back(l["name"]);
    const std::string n = names.back();
    EXPECT_EQ(n.find("opt."), std::string::npos) << n;  // optimiser state is not a layer
    EXPECT_EQ(n.find("ln"), std::string::npos) << n;    // nor are norm gains
    // A rank-3 factored projection has at most rank 3.
    if (n.find(".attn.") != std::string::npos || n.find(".mlp.") != std::string::npos) {
      EXPECT_LE(l["numerical_rank"].get<int>(), 3) << n;
    }
  }
  // wte, lm_head.W and the seven projections of the one block.
  EXPECT_EQ(names.size(), 9u);
  EXPECT_NE(std::find(names.begin(), names.end(), "blocks.0.attn.q.W"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "lm_head.W"), names.end());
}

TEST(CliInspect, BadInputExitsTwo) {
  TempDir dir;
  auto usage = [](const std::string& args, const std::string& needle) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\nstderr: " << r.err;
  };
  // No 2-D tensor: the message lists what the file holds.
  write_raw_safetensors(dir / "bias.safetensors", R"({"bias":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  usage("inspect " + dir / "bias.safetensors", "no 2-D tensor");
  usage("inspect " + dir / "bias.safetensors", "bias [4]");
  // Unsupported dtype.
  write_raw_safetensors(dir / "int.safetensors", R"({"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}})", 4);
  usage("inspect " + dir / "int.safetensors", "I8");
  // NaN weights: the layer is named. F32 NaN = 0x7fc00000 at element (1, 0).
  {
    std::ofstream out(dir / "nan.safetensors", std::ios::binary);
    const std::string header = R"({"blocks.3.mlp.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    const std::uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header;
    const std::uint32_t bits[4] = {0x3f800000u, 0u, 0x7fc00000u, 0x3f800000u};
    out.write(reinterpret_cast<const char*>(bits), sizeof bits);
  }
  usage("inspect " + dir / "nan.safetensors", "blocks.3.mlp.weight");
  usage("inspect " + dir / "nan.safetensors", "finite");
  // Missing file, a filter matching nothing, p outside the allowed range.
  usage("inspect " + dir / "absent.safetensors", "no such file");
  usage("inspect " + kFixtures + "/model.safetensors --filter '*.attn.*'", "layer1.weight");
  usage("inspect " + kFixtures + "/model.safetensors --p-grid 0,1", "(0, 2]");
  usage("inspect " + kFixtures + "/model.safetensors --bound-p-grid 2.5", "(0, 2]");
  usage("inspect " + kFixtures + "/model.safetensors --input-norm 0", "--input-norm");
  usage("inspect " + kFixtures + "/model.safetensors --margin 0", "margin");
}

}  // namespace
}  // namespace lowrank::test
