// Training engine: data, loss decrease, exact resume, memory accounting and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lowrank/nn/train.hpp"

using namespace lowrank;
using namespace lowrank::nn;
namespace fs = std::filesystem;

namespace {

std::string shakespeare() { return std::string(LOWRANK_SOURCE_DIR) + "/data/text/tinyshakespeare_head.txt"; }

fs::path tmpdir(const std::string& name) {
  auto p = fs::temp_directory_path() / ("lowrank_nn_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TrainOptions tiny(Parameterization kind) {
  TrainOptions o;
  o.data_path = shakespeare();
  o.model.context = 16;
  o.model.n_layer = 1;
  o.model.n_head = 2;
  o.model.width = 16;
  o.model.linear.kind = kind;
  o.model.linear.rank = 4;
  o.model.linear.alpha = 8;
  o.model.linear.delta = 0.1;
  o.model.seed = 1;
  o.optim.lr = 3e-3;
  o.optim.warmup_steps = 2;
  o.optim.total_steps = 12;
  o.optim.galore_update_interval = 4;
  o.batch = 4;
  o.steps = 12;
  o.eval_interval = 4;
  o.eval_batches = 2;
  o.seed = 5;
  return o;
}

}  // namespace

TEST(NnData, TokenizerRoundTripAndSplit) {
  const auto d = load_text(shakespeare(), 0.1, 8);
  EXPECT_EQ(d.tokenizer.size(), 62);  // python: len(set(text))
  const std::string s = "First Citizen:";
  EXPECT_EQ(d.tokenizer.decode(d.tokenizer.encode(s)), s);
  const double frac = static_cast<double>(d.val.size()) / static_cast<double>(d.train.size() + d.val.size());
  EXPECT_NEAR(frac, 0.1, 1e-4);
  std::mt19937_64 rng(3);
  std::vector<std::int32_t> x, y;
  sample_batch(d.train, 3, 8, rng, x, y);
  for (std::size_t i = 0; i + 1 < 8; ++i) EXPECT_EQ(x[i + 1], y[i]);  // targets are inputs shifted by one
}

TEST(NnData, BadTextIsRejected) {
  auto dir = tmpdir("bad");
  const auto empty = (dir / "empty.txt").string();
  std::ofstream(empty).close();
  EXPECT_THROW(load_text(empty), InputError);
  const auto bin = (dir / "bin.txt").string();
  std::ofstream(bin, std::ios::binary) << "hello\xff\xfe world";
  try {
    load_text(bin);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.position(), 5u);
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos);
  }
  EXPECT_THROW(load_text((dir / "missing.txt").string()), InputError);
  EXPECT_EQ(find_invalid_utf8("caf\xc3\xa9"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);  // overlong
  fs::remove_all(dir);
}

TEST(NnTrain, LossDecreasesForEveryParameterization) {
  for (auto kind : {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain,
                    Parameterization::GaLore}) {
    auto o = tiny(kind);
    o.steps = 30;
    o.optim.total_steps = 30;
    o.optim.lr = 1e-2;
    Trainer t(o);
    const double before = t.evaluate();
    EXPECT_NEAR(before, std::log(62.0), 1.5) << to_string(kind);
    const auto r = t.run();
    EXPECT_EQ(r.status, Status::Success);
    EXPECT_LT(r.final_val_loss, before - 0.3) << to_string(kind);
  }
}

TEST(NnTrain, ResumeReproducesTheUninterruptedCurveExactly) {
  for (auto kind : {Parameterization::Dense, Parameterization::SLTrain, Parameterization::GaLore}) {
    auto dir = tmpdir(std::string("resume_") + to_string(kind));
    auto o = tiny(kind);
    Trainer full(o);
    const auto a = full.run();
    auto o2 = o;
    o2.steps = 6;
    o2.checkpoint_dir = dir.string();
    Trainer first(o2);
    first.run();
    auto o3 = o;
    Trainer resumed = load_checkpoint(dir.string(), &o3);
    EXPECT_EQ(resumed.step, 6);
    const auto b = resumed.run();
    ASSERT_EQ(b.log.size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) {
      EXPECT_EQ(b.log[i].train_loss, a.log[i + 6].train_loss) << to_string(kind) << " step " << i + 7;
    }
    EXPECT_EQ(b.final_val_loss, a.final_val_loss);
    fs::remove_all(dir);
  }
}

TEST(NnTrain, MismatchedOrCorruptCheckpointsAreRejected) {
  auto dir = tmpdir("mismatch");
  auto o = tiny(Parameterization::SLTrain);
  o.steps = 2;
  o.checkpoint_dir = dir.string();
  Trainer(o).run();
  auto other = o;
  other.model.linear.kind = Parameterization::Dense;
  try {
    load_checkpoint(dir.string(), &other);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("differs"), std::string::npos) << e.what();
  }
  // truncate the file: the safetensors reader reports it
  const auto f = (dir / "checkpoint.safetensors").string();
  fs::resize_file(f, fs::file_size(f) / 2);
  EXPECT_THROW(load_checkpoint(dir.string()), InputError);
  EXPECT_THROW(load_checkpoint((dir / "nowhere").string()), InputError);
  fs::remove_all(dir);
}

TEST(NnTrain, BadOptionsAreRejected) {
  auto o = tiny(Parameterization::LowRank);
  o.model.linear.rank = 17;  // > width 16
  EXPECT_THROW(Trainer{o}, InvalidArgument);
  o = tiny(Parameterization::SLTrain);
  o.model.linear.delta = 1.5;
  EXPECT_THROW(Trainer{o}, InvalidArgument);
  EXPECT_THROW(options_from_json("{\"model\": {\"widht\": 3}}", "cfg.json"), InputError);
  EXPECT_THROW(options_from_json("{\"batch\": \"many\"}", "cfg.json"), InputError);
  EXPECT_THROW(options_from_json("{\"batch\": ", "cfg.json"), InputError);
}

TEST(NnTrain, NanLossStopsAndKeepsTheLastCheckpoint) {
  auto dir = tmpdir("nan");
  auto o = tiny(Parameterization::Dense);
  o.steps = 2;
  o.checkpoint_dir = dir.string();
  Trainer t(o);
  t.run();
  const auto before = fs::last_write_time(dir / "checkpoint.safetensors");
  t.mutable_options().steps = 4;
  t.model.wte.setConstant(std::numeric_limits<float>::quiet_NaN());
  const auto r = t.run();
  EXPECT_EQ(r.status, Status::NumericalIssue);
  EXPECT_NE(r.message.find("NaN"), std::string::npos);
  EXPECT_EQ(t.step, 2);
  EXPECT_EQ(fs::last_write_time(dir / "checkpoint.safetensors"), before);
  fs::remove_all(dir);
}

TEST(NnMemory, AnalyticCountsMatchTheAllocatedBuffers) {
  for (auto kind : {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain,
                    Parameterization::GaLore}) {
    auto o = tiny(kind);
    o.steps = 1;
    Trainer t(o);
    t.run();
    const auto m = t.memory();
    EXPECT_EQ(m.param_count, m.param_count_analytic) << to_string(kind);
    EXPECT_EQ(m.optimizer_bytes, m.optimizer_bytes_analytic) << to_string(kind);
    // the last forward was an evaluation at the same batch size
    EXPECT_EQ(m.activation_bytes, m.activation_bytes_analytic) << to_string(kind);
    if (kind != Parameterization::Dense && kind != Parameterization::GaLore) {
      EXPECT_LT(m.param_count, m.dense_equivalent_params);
    }
    if (kind == Parameterization::GaLore) {
      EXPECT_EQ(m.param_count, m.dense_equivalent_params);
      EXPECT_LT(m.optimizer_bytes, 2 * sizeof(float) * static_cast<std::size_t>(m.param_count));
    }
    EXPECT_GT(m.peak_rss_bytes, 0u);
  }
}
