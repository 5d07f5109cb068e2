// Gpt::decode (inference at a position offset with a KV cache) against the
// full training forward: cached and uncached logits agree at every position,
// for every parameterization, token by token and in batched branches; and
// lowrank sample's cached sampler writes the same text as sampling from a
// full forward of the sliding window.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "lowrank/core/error.hpp"
#include "lowrank/core/random.hpp"
#include "lowrank/nn/model.hpp"
#include "lowrank/nn/train.hpp"

namespace lowrank::nn {
namespace {

template <class T>
Gpt<T> small_gpt(Parameterization kind, std::uint64_t seed, Index vocab = 11, Index context = 16) {
  GptConfig c;
  c.vocab = vocab;
  c.context = context;
  c.n_layer = 2;
  c.n_head = 2;
  c.width = 16;
  c.seed = seed;
  c.linear.kind = kind;
  if (kind != Parameterization::Dense) c.linear.rank = 4;
  Gpt<T> m(c);
  // LowRank / SLTrain may start with B = 0; give B values so every term matters.
  std::mt19937_64 rng(seed + 100);
  std::normal_distribution<double> nd(0, 0.3);
  for (auto* l : m.linears())
    for (Index i = 0; i < l->B.size(); ++i) l->B.data()[i] = static_cast<T>(nd(rng));
  return m;
}

std::vector<std::int32_t> random_tokens(Index n, Index vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> tok(0, static_cast<std::int32_t>(vocab - 1));
  std::vector<std::int32_t> out(static_cast<std::size_t>(n));
  for (auto& z : out) z = tok(rng);
  return out;
}

template <class T>
void check_decode_matches_forward(Parameterization kind, double tol) {
  auto m = small_gpt<T>(kind, 7);
  const auto seq = random_tokens(16, 11, 9);
  m.forward(seq, {}, 1, 16);
  const Act<T> ref = m.logits();
  auto cache = m.new_cache();
  const Act<T> first = m.decode(cache, std::vector<std::int32_t>(seq.begin(), seq.begin() + 5));
  ASSERT_EQ(first.rows(), 5);
  EXPECT_LT((first - ref.topRows(5)).cwiseAbs().maxCoeff(), tol) << to_string(kind);
  for (Index t = 5; t < 16; ++t) {
    const Act<T> row = m.decode(cache, {seq[static_cast<std::size_t>(t)]});
    EXPECT_LT((row.row(0) - ref.row(t)).cwiseAbs().maxCoeff(), tol) << to_string(kind) << " position " << t;
  }
  EXPECT_EQ(cache.length, 16);
  EXPECT_THROW(m.decode(cache, {0}), InvalidArgument);  // 16 + 1 > context 16

  // Three branches of 4 tokens after a 6-token prefix, in one pass, against a
  // full forward of prefix.branch for each.
  auto pcache = m.new_cache();
  const std::vector<std::int32_t> prefix(seq.begin(), seq.begin() + 6);
  m.decode(pcache, prefix);
  const auto conts = random_tokens(12, 11, 10);
  const Act<T> br = m.decode_branches(pcache, conts, 3, 4);
  EXPECT_EQ(pcache.length, 6);  // unchanged
  for (Index b = 0; b < 3; ++b) {
    auto full = prefix;
    full.insert(full.end(), conts.begin() + b * 4, conts.begin() + b * 4 + 4);
    m.forward(full, {}, 1, 10);
    EXPECT_LT((br.middleRows(b * 4, 4) - m.logits().bottomRows(4)).cwiseAbs().maxCoeff(), tol) << to_string(kind);
  }
}

TEST(NnDecode, CachedLogitsMatchTheFullForwardAtEveryPosition) {
  for (auto kind :
       {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain, Parameterization::GaLore}) {
    check_decode_matches_forward<double>(kind, 1e-11);
    check_decode_matches_forward<float>(kind, 2e-5);
  }
}

TEST(NnDecode, DecodingBetweenForwardAndBackwardLeavesTheGradientsAlone) {
  auto m = small_gpt<double>(Parameterization::LowRank, 3);
  const auto x = random_tokens(16, 11, 4), y = random_tokens(16, 11, 5);
  m.zero_grad();
  m.forward(x, y, 2, 8);
  m.backward();
  std::vector<Act<double>> ref;
  for (auto& p : m.parameters()) ref.push_back(*p.grad);
  m.zero_grad();
  m.forward(x, y, 2, 8);
  auto cache = m.new_cache();
  m.decode(cache, random_tokens(9, 11, 6));  // would clobber LowRank's x A^T if it shared forward's buffers
  m.backward();
  const auto ps = m.parameters();
  for (std::size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(*ps[i].grad, ref[i]) << ps[i].name;
}

TEST(NnDecode, BadCallsAreRefused) {
  auto m = small_gpt<double>(Parameterization::Dense, 1);
  auto cache = m.new_cache();
  EXPECT_THROW(m.decode(cache, {}), InvalidArgument);
  EXPECT_THROW(m.decode(cache, {0, 11}), InvalidArgument);  // token id = vocab
  EXPECT_THROW(m.decode(cache, std::vector<std::int32_t>(17, 0)), InvalidArgument);
  EXPECT_THROW(m.decode_branches(cache, {0, 1, 2}, 2, 2), InvalidArgument);  // not B*L tokens
  KvCache<double> foreign;
  EXPECT_THROW(m.decode(foreign, {0}), InvalidArgument);
  EXPECT_EQ(cache.length, 0);
}

// The sampler of lowrank sample before the KV cache: a full forward of the
// last min(|ids|, context) tokens for every new token, then the same draw.
std::string sample_full_recompute(Gpt<float>& model, const CharTokenizer& tok, const std::string& prompt, Index length,
                                  double temperature, std::uint64_t seed) {
  std::vector<std::int32_t> ids = tok.encode(prompt);
  const std::size_t start = ids.size();
  Rng rng(seed);
  const auto ctx = static_cast<std::size_t>(model.config().context);
  for (Index i = 0; i < length; ++i) {
    const std::size_t n = std::min(ids.size(), ctx);
    model.forward(std::vector<std::int32_t>(ids.end() - static_cast<std::ptrdiff_t>(n), ids.end()), {}, 1,
                  static_cast<Index>(n));
    const Eigen::VectorXd logits =
        model.logits().row(static_cast<Index>(n) - 1).cast<double>().transpose() / temperature;
    const double mx = logits.maxCoeff();
    std::vector<double> w(static_cast<std::size_t>(logits.size()));
    for (Index v = 0; v < logits.size(); ++v) w[static_cast<std::size_t>(v)] = std::exp(logits(v) - mx);
    ids.push_back(static_cast<std::int32_t>(rng.categorical(w.data(), w.size())));
  }
  return prompt + tok.decode(std::vector<std::int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end()));
}

TEST(NnDecode, CachedSamplingWritesTheFullRecomputeText) {
  const CharTokenizer tok("abcdefghijklmnopqrstuvwxyz ");
  // Context 16 with a 5-character prompt and 40 new characters: the window
  // fills after 11 tokens and slides for the remaining 29.
  auto m = small_gpt<float>(Parameterization::LowRank, 11, tok.size(), 16);
  for (std::uint64_t seed : {1, 2, 3}) {
    const std::string cached = sample_text(m, tok, "hello", 40, 1.0, 0, seed);
    EXPECT_EQ(cached, sample_full_recompute(m, tok, "hello", 40, 1.0, seed)) << seed;
    EXPECT_EQ(cached.size(), 45u);
  }
}

// The GPU engine's KV cache (GptOnDevice::decode), its own code run on the
// CPU ("cuda-emulated"), writes the same text as the CPU's cache, across the
// sliding window; "cuda" itself needs a CUDA build and device
// (tests/nn/gpu_test.cpp, CudaDecodeMatchesCpuDecode, skips without one).
TEST(NnDecode, SamplingOnTheGpuEngineWritesTheCpuText) {
  const CharTokenizer tok("abcdefghijklmnopqrstuvwxyz ");
  for (auto kind : {Parameterization::Dense, Parameterization::SLTrain}) {
    auto m = small_gpt<float>(kind, 12, tok.size(), 16);
    for (std::uint64_t seed : {1, 2}) {
      EXPECT_EQ(sample_text(m, tok, "hello", 40, 1.0, 0, seed, "cuda-emulated"),
                sample_text(m, tok, "hello", 40, 1.0, 0, seed))
          << to_string(kind) << " seed " << seed;
    }
  }
  auto m = small_gpt<float>(Parameterization::Dense, 12, tok.size(), 16);
  EXPECT_THROW(sample_text(m, tok, "hello", 4, 1.0, 0, 1, "tpu"), InvalidArgument);
}

}  // namespace
}  // namespace lowrank::nn
