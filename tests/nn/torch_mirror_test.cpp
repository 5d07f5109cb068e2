// Issue 30: PyTorch as the independent reference for the whole model. The
// engine's Gpt (dense, low rank, SLTrain) runs forward and backward on a fixed
// batch; its weights, batch, loss and every parameter gradient go to a JSON
// file, and bench/torch_mirror.py (the same model written with torch ops and
// autograd) loads the same weights and must reproduce the loss to 1e-5 and
// each gradient tensor to 1e-4 of its largest entry (float32 against float32,
// different summation orders; measured: loss within 2e-7, gradients within
// 6e-7 of their largest entry). Skips when python3 has no torch.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lowrank/nn/model.hpp"
#include "test_paths.hpp"

using namespace lowrank;
using namespace lowrank::nn;
namespace fs = std::filesystem;

namespace {

nlohmann::json tensor_json(const Act<float>& t) {
  return {{"shape", {t.rows(), t.cols()}}, {"data", std::vector<float>(t.data(), t.data() + t.size())}};
}

// Writes DIR/case.json for one parameterization.
void write_case(const fs::path& dir, Parameterization kind) {
  GptConfig c;
  c.vocab = 13;
  c.context = 12;
  c.n_layer = 2;
  c.n_head = 2;
  c.width = 16;
  c.linear.kind = kind;
  c.linear.rank = 4;
  c.linear.alpha = 8;
  c.linear.delta = 0.2;
  c.linear.b_init = BInit::Random;  // B != 0, so every factor's gradient is exercised
  c.seed = 7;
  Gpt<float> g(c);
  const Index B = 3, T = 12;
  std::vector<std::int32_t> x(static_cast<std::size_t>(B * T)), y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<std::int32_t>((7 * i + 3) % 13);
    y[i] = static_cast<std::int32_t>((5 * i + 1) % 13);
  }
  g.zero_grad();
  const double loss = g.forward(x, y, B, T);
  g.backward();
  nlohmann::json j;
  j["config"] = {{"vocab", c.vocab},
                 {"context", c.context},
                 {"n_layer", c.n_layer},
                 {"n_head", c.n_head},
                 {"width", c.width},
                 {"hidden", c.hidden},
                 {"parameterization", to_string(kind)},
                 {"rank", c.linear.rank},
                 {"alpha", c.linear.alpha},
                 {"delta", c.linear.delta},
                 {"b_init", to_string(c.linear.b_init)},
                 {"rope_theta", c.rope_theta},
                 {"norm_eps", c.norm_eps}};
  j["batch"] = B;
  j["context"] = T;
  j["tokens"] = x;
  j["targets"] = y;
  j["loss"] = loss;
  for (const auto& p : g.parameters()) {
    j["params"][p.name] = tensor_json(*p.value);
    j["grads"][p.name] = tensor_json(*p.grad);
  }
  for (auto& bl : g.blocks) {
    const std::pair<const char*, Linear<float>*> named[] = {{"attn.q", &bl.q},      {"attn.k", &bl.k},
                                                            {"attn.v", &bl.v},      {"attn.o", &bl.o},
                                                            {"mlp.gate", &bl.gate}, {"mlp.up", &bl.up},
                                                            {"mlp.down", &bl.down}};
    const std::string pre = "blocks." + std::to_string(&bl - g.blocks.data()) + ".";
    for (const auto& [n, l] : named)
      if (!l->support.empty()) j["supports"][pre + n] = l->support;
  }
  fs::create_directories(dir);
  std::ofstream(dir / "case.json") << j.dump();
}

}  // namespace

TEST(NnTorchMirror, FirstStepLossAndGradientsMatchPyTorch) {
  const fs::path root = fs::temp_directory_path() / ("lowrank_torch_mirror_" + std::to_string(::getpid()));
  fs::remove_all(root);
  std::string dirs;
  for (auto kind : {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain}) {
    write_case(root / to_string(kind), kind);
    dirs += " '" + (root / to_string(kind)).string() + "'";
  }
  const std::string py = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";  // Debian's torch lives there
  const std::string cmd = py + " '" + std::string(LOWRANK_SOURCE_DIR) + "/bench/torch_mirror.py' check" + dirs +
                          " > '" + (root / "out.txt").string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  std::ifstream in(root / "out.txt");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove_all(root);
  ASSERT_TRUE(WIFEXITED(st)) << cmd;
  if (WEXITSTATUS(st) == 77) GTEST_SKIP() << "python3 has no torch (apt-get install python3-torch): " << out;
  EXPECT_EQ(WEXITSTATUS(st), 0) << out;
}
