// End-to-end tests of `lowrank nfa` (issue 8, part 2): the table and --json
// on a balanced deep linear network built in closed form (best alpha of the
// first layer = 1/L), the checkpoint's own inputs/init metadata, and bad input
// exiting 2 with a message naming the problem.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/cli_run.hpp"
#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::test {
namespace {

using diagnostics::Mlp;

Matrix<double> gaussian(Index r, Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = n(rng);
  return m;
}

Matrix<double> orthonormal(Index r, Index c, std::mt19937_64& rng) {
  Eigen::HouseholderQR<Matrix<double>> qr(gaussian(r, c, rng));
  return qr.householderQ() * Matrix<double>::Identity(r, c);
}

// Three-layer balanced linear network 6 -> 5 -> 5 -> 2 of rank 2.
Mlp balanced3(std::mt19937_64& rng) {
  const Matrix<double> p = orthonormal(2, 2, rng), q = orthonormal(6, 2, rng);
  const Matrix<double> r1 = orthonormal(5, 2, rng), r2 = orthonormal(5, 2, rng);
  Vector<double> s(2);
  s << 3.0, 0.5;
  const Vector<double> root = s.array().pow(1.0 / 3).matrix();
  return Mlp::from_weights({r1 * root.asDiagonal() * q.transpose(), r2 * root.asDiagonal() * r1.transpose(),
                            p * root.asDiagonal() * r2.transpose()},
                           {Vector<double>::Zero(5), Vector<double>::Zero(5), Vector<double>::Zero(2)},
                           diagnostics::MlpActivation::Identity);
}

struct Fixture {
  TempDir dir;
  std::string final_ck, init_ck, inputs;
  Fixture() {
    std::mt19937_64 rng(42);
    const Mlp net = balanced3(rng);
    Mlp init = net;
    for (auto& layer : init.layers) layer.W = 0.3 * gaussian(layer.W.rows(), layer.W.cols(), rng);
    inputs = dir / "x.npy";
    io::write_npy(inputs, gaussian(40, 6, rng));
    init_ck = dir / "init";
    final_ck = dir / "final";
    diagnostics::save_mlp_checkpoint(init_ck, init, 0);
    diagnostics::save_mlp_checkpoint(final_ck, net, 500, {{"inputs", "../x.npy"}, {"init", "../init"}});
  }
};

TEST(CliNfa, HelpShowsAnExample) {
  const CliRun r = run_cli("nfa --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Example"), std::string::npos);
}

TEST(CliNfa, DeepLinearJsonAndTable) {
  Fixture f;
  // --raw: the NFM of W itself, which for this balanced net follows the exact law.
  CliRun r = run_cli("nfa " + f.final_ck + " --inputs " + f.inputs + " --raw --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["subtract_init"], false);
  EXPECT_EQ(j["depth"], 3);
  EXPECT_EQ(j["inputs"], 40);
  EXPECT_EQ(j["step"], 500);
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_NEAR(j["layers"][0]["uncentred"]["best_alpha"].get<double>(), 1.0 / 3, 1e-6);
  EXPECT_NEAR(j["layers"][0]["uncentred"]["alpha_inv_depth"].get<double>(), 1.0, 1e-10);
  EXPECT_NEAR(j["layers"][1]["uncentred"]["best_alpha"].get<double>(), 0.5, 1e-6);
  EXPECT_NEAR(j["layers"][2]["uncentred"]["best_alpha"].get<double>(), 1.0, 1e-6);
  EXPECT_TRUE(j["layers"][0]["centred"]["alpha_1"].is_null());  // zero for a linear network
  // The checkpoint's metadata supplies inputs and the initial network, so the
  // primary NFM is that of W - W_init by default and the raw one is kept.
  r = run_cli("nfa " + f.final_ck + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto k = nlohmann::json::parse(r.out);
  EXPECT_EQ(k["subtract_init"], true);
  EXPECT_EQ(k["layers"][0]["raw"], j["layers"][0]["uncentred"]);
  EXPECT_NE(k["layers"][0]["uncentred"], j["layers"][0]["uncentred"]);
  EXPECT_TRUE(k["layers"][0]["pearson_half"].is_number());
  // Without an initial checkpoint the raw NFM is primary, with a warning.
  std::mt19937_64 rng(42);
  diagnostics::save_mlp_checkpoint(f.dir / "noinit", balanced3(rng), 500);
  r = run_cli("nfa " + f.dir / "noinit" + " --inputs " + f.inputs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("init floor"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("NFM of the raw W"), std::string::npos) << r.out;
  ASSERT_TRUE(k["layers"][0].contains("baseline"));
  EXPECT_LT(k["layers"][0]["baseline"]["alpha_1"].get<double>(), 0.999);
  r = run_cli("nfa " + f.final_ck + " --subtract-init -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layers.0"), std::string::npos);
  EXPECT_NE(r.out.find("W - W_init"), std::string::npos);
  EXPECT_NE(r.out.find("Baselines"), std::string::npos);
}

TEST(CliNfa, BadInputExitsTwoWithAMessage) {
  Fixture f;
  std::mt19937_64 rng(1);
  io::write_npy(f.dir / "narrow.npy", gaussian(5, 4, rng));
  Matrix<double> nan = gaussian(5, 6, rng);
  nan(2, 3) = std::nan("");
  io::write_npy(f.dir / "nan.npy", nan);
  write_file(f.dir / "junk.npy", "not an npy file");
  io::write_npy(f.dir / "ck.npy", gaussian(3, 3, rng));
  const Mlp other = Mlp::from_weights({gaussian(4, 6, rng), gaussian(2, 4, rng)}, {Vector<double>(), Vector<double>()},
                                      diagnostics::MlpActivation::Identity);
  diagnostics::save_mlp_checkpoint(f.dir / "other", other, 0);
  diagnostics::save_mlp_checkpoint(f.dir / "bare", other, 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nfa " + f.dir / "nowhere", "no such file"},
      {"nfa " + f.final_ck + " --inputs " + f.dir / "narrow.npy", "4 columns"},
      {"nfa " + f.final_ck + " --inputs " + f.dir / "nan.npy", "row 2"},
      {"nfa " + f.final_ck + " --inputs " + f.dir / "junk.npy", "junk.npy"},
      {"nfa " + f.final_ck + " --inputs " + f.dir / "missing.npy", "missing.npy"},
      {"nfa " + f.final_ck + " --init " + f.dir / "other", "layers"},
      {"nfa " + f.dir / "bare" + " --inputs " + f.inputs + " --subtract-init", "--init"},
      {"nfa " + f.dir / "bare", "--inputs"},
      {"nfa " + f.final_ck + " --alpha-grid 0.5,-1", "alpha"},
      {"nfa " + f.final_ck + " --chunk 0", "--chunk"},
      {"nfa " + f.final_ck + " --raw --subtract-init", "exclude"},
  };
  for (const auto& [args, needle] : cases) {
    const CliRun r = run_cli(args + " -q");
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace lowrank::test
