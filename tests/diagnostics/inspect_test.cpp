// Loading weights (safetensors, sharded directories, npy/npz), filters,
// references and the errors on bad checkpoints.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <Eigen/SVD>

#include <nlohmann/json.hpp>

#include "lowrank/core/error.hpp"
#include "lowrank/diagnostics/inspect.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"
#include "report_json.hpp"
#include "test_paths.hpp"

namespace lowrank::diagnostics {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(LOWRANK_TEST_DATA_DIR) + "/diagnostics";

nlohmann::json expected() {
  std::ifstream in(kDir + "/expected.json");
  return nlohmann::json::parse(in);
}

struct Tmp {
  fs::path dir;
  Tmp() {
    static int n = 0;
    dir = fs::temp_directory_path() / ("lowrank_diag_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(dir);
  }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& f) const { return (dir / f).string(); }
};

// A safetensors file from a raw JSON header and data bytes.
void write_raw_safetensors(const std::string& path, const std::string& header, std::size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return std::string("InputError: ") + e.what();
  } catch (const InvalidArgument& e) {
    return std::string("InvalidArgument: ") + e.what();
  }
  return "no error";
}

TEST(Inspect, ListsTwoDimensionalTensorsOnly) {
  const auto layers = list_weight_tensors(kDir + "/model.safetensors");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].name, "layer1.weight");
  EXPECT_EQ(layers[0].rows, 16);
  EXPECT_EQ(layers[0].cols, 24);
  EXPECT_EQ(layers[1].name, "layer2.weight");
  const auto with_conv = list_weight_tensors(kDir + "/model.safetensors", {.reshape_conv = true});
  ASSERT_EQ(with_conv.size(), 3u);
  EXPECT_EQ(with_conv[2].name, "conv.weight");
  EXPECT_EQ(with_conv[2].rows, 6);
  EXPECT_EQ(with_conv[2].cols, 12);
}

TEST(Inspect, SafetensorsFloat32MatchesNumpy) {
  const auto exp = expected();
  InspectOptions opts;
  opts.selection.reshape_conv = true;
  const auto r = inspect_weights(kDir + "/model.safetensors", opts);
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.status, Status::Success);
  for (const auto& l : r.layers) {
    SCOPED_TRACE(l.tensor.name);
    const auto& e = exp.at(l.tensor.name);
    const auto sv = e.at("svdvals").get<std::vector<double>>();
    ASSERT_EQ(l.spectrum.singular_values.size(), static_cast<Index>(sv.size()));
    for (std::size_t i = 0; i < sv.size(); ++i) EXPECT_NEAR(l.spectrum.singular_values[i], sv[i], 2e-6 * sv[0]);
    // numpy.linalg.matrix_rank on the float32 array: float32 eps.
    EXPECT_EQ(l.spectrum.numerical_rank, e.at("matrix_rank").get<Index>());
    EXPECT_NEAR(l.spectrum.stable_rank, e.at("stable_rank").get<double>(), 1e-5 * l.spectrum.stable_rank);
  }
  // The conv kernel [6, 3, 2, 2] is reshaped row-major to 6 x 12, as numpy's reshape(6, -1).
  EXPECT_EQ(r.layers[2].tensor.name, "conv.weight");
  ASSERT_EQ(r.bound.layers.size(), 3u);
  EXPECT_EQ(r.bound.layers[0].rank, exp.at("layer1.weight").at("matrix_rank").get<Index>());
}

TEST(Inspect, ShardedDirectoryAndNpzGiveTheSameAnswers) {
  const auto single = inspect_weights(kDir + "/model.safetensors");
  const auto sharded = inspect_weights(kDir + "/sharded");
  ASSERT_EQ(sharded.layers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(sharded.layers[i].tensor.name, single.layers[i].tensor.name);
    EXPECT_TRUE(sharded.layers[i].spectrum.singular_values.isApprox(single.layers[i].spectrum.singular_values, 0));
  }
  const auto exp = expected();
  const auto npz = inspect_weights(kDir + "/weights.npz");
  ASSERT_EQ(npz.layers.size(), 3u);
  for (const auto& l : npz.layers) {
    EXPECT_EQ(l.spectrum.numerical_rank, exp.at(l.tensor.name).at("matrix_rank").get<Index>()) << l.tensor.name;
  }
  // One .npy file is one layer named after the file.
  Tmp tmp;
  io::write_npy(tmp / "w.npy", MatrixXd::Identity(4, 3).eval());
  const auto npy = inspect_weights(tmp / "w.npy");
  ASSERT_EQ(npy.layers.size(), 1u);
  EXPECT_EQ(npy.layers[0].tensor.name, "w");
  EXPECT_EQ(npy.layers[0].spectrum.numerical_rank, 3);
}

TEST(Inspect, FiltersByGlobAndRegex) {
  EXPECT_TRUE(name_matches("model.layers.3.mlp.up_proj.weight", "*.mlp.*"));
  EXPECT_FALSE(name_matches("model.layers.3.attn.q.weight", "*.mlp.*"));
  EXPECT_TRUE(name_matches("layer12", "layer1?"));
  EXPECT_TRUE(name_matches("layers.12.attn", "re:layers\\.(1[0-9])\\.attn"));
  EXPECT_FALSE(name_matches("layers.2.attn", "re:^layers\\.1"));
  EXPECT_THROW(name_matches("x", "re:(unclosed"), InvalidArgument);
  const auto l2 = list_weight_tensors(kDir + "/model.safetensors", {.filter = "layer2.*"});
  ASSERT_EQ(l2.size(), 1u);
  EXPECT_EQ(l2[0].name, "layer2.weight");
  const auto l1 = list_weight_tensors(kDir + "/model.safetensors", {.filter = "re:^layer1"});
  ASSERT_EQ(l1.size(), 1u);
  const std::string err = error_of([] { list_weight_tensors(kDir + "/model.safetensors", {.filter = "*.mlp.*"}); });
  EXPECT_NE(err.find("InvalidArgument"), std::string::npos) << err;
  EXPECT_NE(err.find("layer1.weight"), std::string::npos) << err;  // lists what there is
}

TEST(Inspect, ParallelEqualsSerial) {
  InspectOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const auto a = inspect_weights(kDir + "/weights.npz", one);
  const auto b = inspect_weights(kDir + "/weights.npz", two);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_EQ(a.layers[i].tensor.name, b.layers[i].tensor.name);
    EXPECT_TRUE(a.layers[i].spectrum.singular_values.isApprox(b.layers[i].spectrum.singular_values, 1e-14));
  }
  EXPECT_NEAR(a.bound.r_squared, b.bound.r_squared, 1e-12 * a.bound.r_squared);
}

TEST(Inspect, ReferenceWeightsEnterTheBound) {
  Tmp tmp;
  MatrixXd w = MatrixXd::Identity(6, 5), w0 = MatrixXd::Identity(6, 5);
  w(0, 4) = 3;  // w - w0 has rank 1
  io::write_safetensors(tmp / "w.safetensors", {{"fc", io::TensorDType::F64, w, false}});
  io::write_safetensors(tmp / "w0.safetensors", {{"fc", io::TensorDType::F64, w0, false}});
  InspectOptions opts;
  opts.reference = tmp / "w0.safetensors";
  const auto r = inspect_weights(tmp / "w.safetensors", opts);
  ASSERT_EQ(r.bound.layers.size(), 1u);
  EXPECT_EQ(r.bound.layers[0].rank, 1);
  EXPECT_EQ(r.layers[0].spectrum.numerical_rank, 5);
  EXPECT_NEAR(r.bound.r_squared_limit, 1.0 * (6 + 5), 0);
  // Same weights as reference: distance zero, every term zero.
  opts.reference = tmp / "w.safetensors";
  EXPECT_EQ(inspect_weights(tmp / "w.safetensors", opts).bound.r_squared, 0.0);
  // A reference with another shape or without the layer.
  io::write_safetensors(tmp / "bad.safetensors", {{"fc", io::TensorDType::F64, MatrixXd::Ones(5, 6), false}});
  opts.reference = tmp / "bad.safetensors";
  std::string err = error_of([&] { inspect_weights(tmp / "w.safetensors", opts); });
  EXPECT_NE(err.find("InputError"), std::string::npos) << err;
  EXPECT_NE(err.find("'fc'"), std::string::npos) << err;
  io::write_safetensors(tmp / "other.safetensors", {{"fc2", io::TensorDType::F64, w, false}});
  opts.reference = tmp / "other.safetensors";
  err = error_of([&] { inspect_weights(tmp / "w.safetensors", opts); });
  EXPECT_NE(err.find("lack layer 'fc'"), std::string::npos) << err;
}

TEST(Inspect, BadCheckpoints) {
  Tmp tmp;
  // NaN weights: the layer is named.
  MatrixXd w = MatrixXd::Ones(4, 4);
  w(2, 1) = std::nan("");
  io::write_safetensors(tmp / "nan.safetensors", {{"ok", io::TensorDType::F32, MatrixXd::Ones(3, 3), false},
                                                  {"blocks.0.attn.weight", io::TensorDType::F32, w, false}});
  std::string err = error_of([&] { inspect_weights(tmp / "nan.safetensors"); });
  EXPECT_NE(err.find("InputError"), std::string::npos) << err;
  EXPECT_NE(err.find("blocks.0.attn.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("nan"), std::string::npos) << err;
  // No 2-D tensor: the message lists what is there.
  io::write_safetensors(tmp / "bias.safetensors", {{"bias", io::TensorDType::F32, MatrixXd::Ones(5, 1), true}});
  err = error_of([&] { inspect_weights(tmp / "bias.safetensors"); });
  EXPECT_NE(err.find("no 2-D tensor"), std::string::npos) << err;
  EXPECT_NE(err.find("bias [5]"), std::string::npos) << err;
  // Unsupported dtype.
  write_raw_safetensors(tmp / "int.safetensors", R"({"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}})", 4);
  err = error_of([&] { inspect_weights(tmp / "int.safetensors"); });
  EXPECT_NE(err.find("InputError"), std::string::npos) << err;
  EXPECT_NE(err.find("I8"), std::string::npos) << err;
  // Shape that disagrees with the data size.
  write_raw_safetensors(tmp / "shape.safetensors", R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", 16);
  err = error_of([&] { inspect_weights(tmp / "shape.safetensors"); });
  EXPECT_NE(err.find("InputError"), std::string::npos) << err;
  // Missing file, empty directory, index naming a missing shard.
  EXPECT_NE(error_of([&] { inspect_weights(tmp / "absent.safetensors"); }).find("no such file"), std::string::npos);
  fs::create_directories(tmp.dir / "empty");
  EXPECT_NE(error_of([&] { inspect_weights(tmp / "empty"); }).find("index.json"), std::string::npos);
  fs::create_directories(tmp.dir / "shards");
  std::ofstream(tmp / "shards/model.safetensors.index.json") << R"({"weight_map":{"w":"gone.safetensors"}})";
  err = error_of([&] { inspect_weights(tmp / "shards"); });
  EXPECT_NE(err.find("gone.safetensors"), std::string::npos) << err;
  std::ofstream(tmp / "shards/model.safetensors.index.json") << "{not json";
  EXPECT_NE(error_of([&] { inspect_weights(tmp / "shards"); }).find("InputError"), std::string::npos);
}

// An nn-engine checkpoint written by hand (independent of the nn library):
// only model weights are layers, and a factored SLTrain layer is one layer
// holding (alpha / r) B A + S, whose singular values are checked against an
// Eigen SVD of that matrix built here.
TEST(Inspect, EngineCheckpointGivesEffectiveWeights) {
  Tmp tmp;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g;
  auto rnd = [&](Index m, Index n) {
    MatrixXd a(m, n);
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < m; ++i) a(i, j) = static_cast<float>(g(rng));  // exact in F32
    return a;
  };
  const MatrixXd wte = rnd(10, 6), head = rnd(10, 6), a = rnd(2, 6), b = rnd(5, 2);
  MatrixXd s_vals(3, 1), support(3, 1);
  s_vals << 0.5, -1.25, 2.0;
  support << 0, 7, 29;  // flat row * 6 + col in a 5 x 6 weight
  const std::map<std::string, std::string> meta = {{"format", "lowrank-nn-checkpoint"},
                                                   {"options", R"({"model": {"alpha": 8, "rank": 2}})"}};
  auto write = [&](const std::string& path, const MatrixXd& sup) {
    io::write_safetensors(path,
                          {{"model.wte", io::TensorDType::F32, wte, false},
                           {"model.blocks.0.ln1", io::TensorDType::F32, MatrixXd::Ones(1, 6), false},
                           {"model.blocks.0.attn.q.A", io::TensorDType::F32, a, false},
                           {"model.blocks.0.attn.q.B", io::TensorDType::F32, b, false},
                           {"model.blocks.0.attn.q.S", io::TensorDType::F32, s_vals, false},
                           {"opt.m.blocks.0.attn.q.A", io::TensorDType::F32, rnd(2, 6), false},
                           {"model.lm_head.W", io::TensorDType::F32, head, false},
                           {"sltrain.blocks.0.attn.q.S.support", io::TensorDType::F64, sup, true}},
                          meta);
  };
  write(tmp / "checkpoint.safetensors", support);
  const auto r = inspect_weights(tmp.dir.string());
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.layers[0].tensor.name, "wte");
  EXPECT_EQ(r.layers[1].tensor.name, "blocks.0.attn.q.W");
  EXPECT_EQ(r.layers[2].tensor.name, "lm_head.W");
  MatrixXd w = (8.0 / 2.0) * b * a;
  w(0, 0) += 0.5;
  w(1, 1) += -1.25;
  w(4, 5) += 2.0;
  const VectorXd expect = Eigen::JacobiSVD<MatrixXd>(w).singularValues();
  const auto& got = r.layers[1].spectrum.singular_values;
  ASSERT_EQ(got.size(), expect.size());
  for (Index i = 0; i < expect.size(); ++i) EXPECT_NEAR(got[i], expect[i], 1e-5 * expect[0]) << i;
  EXPECT_EQ(r.layers[1].spectrum.rows, 5);
  EXPECT_EQ(r.layers[1].spectrum.cols, 6);
  // A support index outside the weight is an error naming the tensor.
  MatrixXd bad = support;
  bad(2, 0) = 30;
  write(tmp / "checkpoint.safetensors", bad);
  const std::string err = error_of([&] { inspect_weights(tmp.dir.string()); });
  EXPECT_NE(err.find("InputError"), std::string::npos) << err;
  EXPECT_NE(err.find("sltrain.blocks.0.attn.q.S.support[2]"), std::string::npos) << err;
  // A factor A without its B.
  io::write_safetensors(tmp / "checkpoint.safetensors", {{"model.blocks.0.attn.q.A", io::TensorDType::F32, a, false}},
                        meta);
  const std::string err2 = error_of([&] { inspect_weights(tmp.dir.string()); });
  EXPECT_NE(err2.find("model.blocks.0.attn.q.B"), std::string::npos) << err2;
}

// The p -> 0 limit end to end: planted ranks 3 and 5 in F64 files, the bound
// evaluated at p_l = 1e-6 gives R^2 = sum_l r_l (fan_in_l + fan_out_l) (the
// parameter count of the rank-r network), and the Schatten ratio at a small
// p is the rank.
TEST(Inspect, SmallPLimitIsRankTimesWidth) {
  Tmp tmp;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g;
  auto planted = [&](Index m, Index n, Index r) {
    MatrixXd u(m, r), v(n, r);
    for (Index j = 0; j < r; ++j) {
      for (Index i = 0; i < m; ++i) u(i, j) = g(rng);
      for (Index i = 0; i < n; ++i) v(i, j) = g(rng);
    }
    return (u * v.transpose()).eval();
  };
  io::write_safetensors(tmp / "w.safetensors", {{"l1", io::TensorDType::F64, planted(50, 40, 3), false},
                                                {"l2", io::TensorDType::F64, planted(40, 30, 5), false}});
  InspectOptions opts;
  opts.bound.p_grid = {1e-6};
  opts.spectrum.p_grid = {1e-6, 2.0};
  const auto r = inspect_weights(tmp / "w.safetensors", opts);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].spectrum.numerical_rank, 3);
  EXPECT_EQ(r.layers[1].spectrum.numerical_rank, 5);
  EXPECT_NEAR(r.layers[0].spectrum.schatten[0].ratio, 3.0, 1e-4);
  EXPECT_NEAR(r.layers[1].spectrum.schatten[0].ratio, 5.0, 1e-4);
  const double limit = 3.0 * (50 + 40) + 5.0 * (40 + 30);
  EXPECT_EQ(r.bound.r_squared_limit, limit);
  EXPECT_NEAR(r.bound.r_squared, limit, 1e-3 * limit);
  // At p = 2 each term is Gamma ||A_l||_F / ||A_l||_2 sqrt(W_l) (closed form).
  double spectral = 0;
  for (const auto& l : r.layers) {
    spectral += std::exp(r.bound.log_gamma) * l.spectrum.frobenius / l.spectrum.spectral *
                std::sqrt(static_cast<double>(l.spectrum.rows + l.spectrum.cols));
  }
  EXPECT_NEAR(r.bound.r_squared_spectral, spectral, 1e-10 * spectral);
}

TEST(Inspect, JsonAndSvg) {
  const auto r = inspect_weights(kDir + "/weights.npz");
  const auto j = frontend::to_json(r, true);
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_TRUE(j["layers"][0].contains("singular_values"));
  EXPECT_TRUE(j["bound"].contains("r_squared_limit"));
  const std::string svg = singular_value_svg("decay <test>", r.layers[0].spectrum);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("&lt;test&gt;"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace lowrank::diagnostics
