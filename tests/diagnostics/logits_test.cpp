// Extended logit matrix, its rank and LINGEN (issue 8, part 3), checked
// against independent references: the KV-cached, batched matrix equals the
// naive path through Gpt::forward; a model whose logits are exactly low rank
// gives that rank; a planted power law is recovered; the reconstruction
// curve matches an independent (Jacobi) SVD; LINGEN with the target among the
// other histories reproduces the model exactly.
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "lowrank/diagnostics/logits.hpp"

namespace lowrank::diagnostics {
namespace {

template <class T>
nn::Gpt<T> tiny_gpt(std::uint64_t seed, nn::Parameterization kind = nn::Parameterization::Dense) {
  nn::GptConfig c;
  c.vocab = 11;
  c.context = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.width = 16;
  c.seed = seed;
  c.linear.kind = kind;
  if (kind != nn::Parameterization::Dense) c.linear.rank = 4;
  nn::Gpt<T> m(c);
  // LowRank / SLTrain start with B = 0; give B values so every term matters.
  std::mt19937_64 rng(seed + 100);
  std::normal_distribution<double> nd(0, 0.3);
  for (auto* l : m.linears())
    for (Index i = 0; i < l->B.size(); ++i) l->B.data()[i] = static_cast<T>(nd(rng));
  return m;
}

std::vector<Tokens> random_seqs(Index count, Index len_min, Index len_max, Index vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<Index> len(len_min, len_max);
  std::uniform_int_distribution<std::int32_t> tok(0, static_cast<std::int32_t>(vocab - 1));
  std::vector<Tokens> out(static_cast<std::size_t>(count));
  for (auto& s : out) {
    s.resize(static_cast<std::size_t>(len(rng)));
    for (auto& z : s) z = tok(rng);
  }
  return out;
}

TEST(LogitMatrix, CachedBatchedEqualsNaiveRerun) {
  for (auto kind : {nn::Parameterization::Dense, nn::Parameterization::LowRank, nn::Parameterization::SLTrain}) {
    auto m = tiny_gpt<double>(3, kind);
    const auto hist = random_seqs(6, 1, 9, 11, 1);  // histories of different lengths
    const auto fut = random_seqs(5, 4, 4, 11, 2);
    LogitMatrixOptions o;
    o.top_k = 0;
    const auto cached = build_logit_matrix(m, hist, fut, o);
    o.naive = true;
    const auto naive = build_logit_matrix(m, hist, fut, o);
    ASSERT_EQ(cached.values.rows(), 6);
    ASSERT_EQ(cached.values.cols(), (1 + 5 * 4) * 11);
    EXPECT_EQ(cached.tokens, naive.tokens);
    EXPECT_LT((cached.values - naive.values).cwiseAbs().maxCoeff(), 1e-11) << nn::to_string(kind);
    // centred: every block of every row sums to zero over the vocabulary
    for (Index b = 0; b < cached.blocks; ++b)
      EXPECT_LT(cached.values.middleCols(b * 11, 11).rowwise().sum().cwiseAbs().maxCoeff(), 1e-12);
  }
  // float model, top-k columns: same tokens chosen, values to float accuracy
  auto mf = tiny_gpt<float>(5);
  const auto hist = random_seqs(5, 3, 8, 11, 3);
  const auto fut = random_seqs(4, 3, 3, 11, 4);
  LogitMatrixOptions o;
  o.top_k = 6;
  const auto cached = build_logit_matrix(mf, hist, fut, o);
  o.naive = true;
  const auto naive = build_logit_matrix(mf, hist, fut, o);
  EXPECT_EQ(cached.k, 6);
  EXPECT_EQ(cached.values.cols(), (1 + 4 * 3) * 6);
  EXPECT_EQ(cached.tokens, naive.tokens);
  EXPECT_LT((cached.values - naive.values).cwiseAbs().maxCoeff(), 2e-5);
  // The GPU engine's KV cache (its code on the CPU: "cuda-emulated") gives the
  // same matrix; a double model cannot go to the float32 GPU engine.
  o.naive = false;
  o.device = "cuda-emulated";
  const auto dev = build_logit_matrix(mf, hist, fut, o);
  EXPECT_EQ(dev.tokens, naive.tokens);
  EXPECT_LT((dev.values - naive.values).cwiseAbs().maxCoeff(), 2e-5);
  auto md = tiny_gpt<double>(5);
  EXPECT_THROW(build_logit_matrix(md, hist, fut, o), InvalidArgument);
  o.device = "tpu";
  EXPECT_THROW(build_logit_matrix(mf, hist, fut, o), InvalidArgument);
}

TEST(LogitMatrix, TopKKeepsTheMostProbableTokensOfEachBlock) {
  auto m = tiny_gpt<double>(8);
  const auto hist = random_seqs(4, 5, 5, 11, 5);
  const auto fut = random_seqs(2, 2, 2, 11, 6);
  LogitMatrixOptions all;
  all.top_k = 0;
  const auto full = build_logit_matrix(m, hist, fut, all);
  LogitMatrixOptions o;
  o.top_k = 3;
  const auto top = build_logit_matrix(m, hist, fut, o);
  for (Index b = 0; b < full.blocks; ++b) {
    Eigen::VectorXd mean_p = Eigen::VectorXd::Zero(11);
    for (Index i = 0; i < 4; ++i) {
      Eigen::VectorXd z = full.values.row(i).segment(b * 11, 11).transpose();
      z = (z.array() - z.maxCoeff()).exp();
      mean_p += z / z.sum();
    }
    std::set<std::int32_t> kept(top.tokens.begin() + b * 3, top.tokens.begin() + b * 3 + 3);
    double min_kept = 1, max_dropped = 0;
    for (std::int32_t z = 0; z < 11; ++z) {
      if (kept.count(z)) min_kept = std::min(min_kept, mean_p(z));
      else max_dropped = std::max(max_dropped, mean_p(z));
    }
    EXPECT_GE(min_kept, max_dropped) << "block " << b;
    for (Index c = 0; c < 3; ++c)
      EXPECT_EQ(top.values.col(b * 3 + c), full.values.col(b * 11 + top.tokens[static_cast<std::size_t>(b * 3 + c)]));
  }
}

// Issue 35: the paper's normalisation. Log-probabilities exponentiate to a
// distribution in every (history, prefix) block and differ from the centred
// logits by one constant per block; the model's own softmax is the reference.
TEST(LogitMatrix, LogProbsAreCentredLogitsShiftedPerBlock) {
  auto m = tiny_gpt<double>(9);
  const auto hist = random_seqs(3, 4, 6, 11, 7);
  const auto fut = random_seqs(2, 3, 3, 11, 8);
  LogitMatrixOptions c, lp;
  c.top_k = lp.top_k = 0;
  lp.log_probs = true;
  const auto a = build_logit_matrix(m, hist, fut, c), b = build_logit_matrix(m, hist, fut, lp);
  ASSERT_EQ(a.values.cols(), b.values.cols());
  for (Index i = 0; i < 3; ++i)
    for (Index k = 0; k < a.blocks; ++k) {
      const Eigen::VectorXd x = a.values.row(i).segment(k * 11, 11).transpose();
      const Eigen::VectorXd y = b.values.row(i).segment(k * 11, 11).transpose();
      EXPECT_NEAR(y.array().exp().sum(), 1.0, 1e-12);
      const Eigen::ArrayXd shift = x.array() - y.array();
      EXPECT_LT(shift.maxCoeff() - shift.minCoeff(), 1e-12);
      // log softmax of the centred logits (a softmax ignores the centring).
      const double lse = std::log((x.array() - x.maxCoeff()).exp().sum()) + x.maxCoeff();
      EXPECT_NEAR(y(4), x(4) - lse, 1e-12);
    }
}

// With every attention output and MLP down projection zero, the residual
// stream is the embedding of the last token, so logits depend on it alone.
// The empty-future block then spans at most rank(lm_head) = 2 dimensions and
// every other block is the same for all histories (rank 1): rank(M) <= 3.
TEST(LogitRank, ModelWithExactlyLowRankLogits) {
  auto m = tiny_gpt<double>(13);
  for (auto& bl : m.blocks) {
    bl.o.W.setZero();
    bl.down.W.setZero();
  }
  std::mt19937_64 rng(4);
  std::normal_distribution<double> nd;
  Matrix<double> u(11, 2), v(16, 2);
  for (Index i = 0; i < u.size(); ++i) u.data()[i] = nd(rng);
  for (Index i = 0; i < v.size(); ++i) v.data()[i] = nd(rng);
  m.lm_head.W = u * v.transpose();
  const auto hist = random_seqs(20, 4, 7, 11, 21);
  const auto fut = random_seqs(6, 3, 3, 11, 22);
  LogitMatrixOptions o;
  o.top_k = 0;
  const auto lm = build_logit_matrix(m, hist, fut, o);
  LogitRankOptions ro;
  ro.ranks = {1, 2, 3, 20};
  const auto r = analyze_logit_matrix(lm, ro);
  const double s0 = r.singular_values(0);
  EXPECT_GT(r.singular_values(2), 1e-3 * s0);
  EXPECT_LT(r.singular_values(3), 1e-12 * s0);
  EXPECT_GT(r.reconstruction[0].relative_error, 1e-3);
  EXPECT_GT(r.reconstruction[1].mean_kl, 1e-6);
  EXPECT_LT(r.reconstruction[2].relative_error, 1e-12);
  EXPECT_LT(r.reconstruction[2].mean_kl, 1e-13);  // round-off of sum p (log p - log q) is O(eps)
  EXPECT_LT(r.reconstruction[3].mean_kl, 1e-13);  // round-off of sum p (log p - log q) is O(eps)
}

LogitMatrix planted(Index rows, Index blocks, Index k, double alpha, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  const Index cols = blocks * k, r = std::min(rows, cols);
  Matrix<double> a(rows, r), b(cols, r);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = nd(rng);
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = nd(rng);
  const Matrix<double> qa = a.householderQr().householderQ() * Matrix<double>::Identity(rows, r);
  const Matrix<double> qb = b.householderQr().householderQ() * Matrix<double>::Identity(cols, r);
  VectorXd s(r);
  for (Index i = 0; i < r; ++i) s(i) = 7.0 * std::pow(static_cast<double>(i + 1), -alpha);
  LogitMatrix lm;
  lm.values = qa * s.asDiagonal() * qb.transpose();
  lm.k = k;
  lm.blocks = blocks;
  lm.vocab = k;
  return lm;
}

TEST(LogitRank, RecoversAPlantedPowerLawAndTheReconstructionCurve) {
  for (double alpha : {0.374, 0.536, 1.2}) {
    const auto lm = planted(40, 12, 9, alpha, 5);
    LogitRankOptions o;
    o.fit.first = 1;
    o.fit.last = 40;
    o.ranks = {1, 5, 17, 40};
    const auto r = analyze_logit_matrix(lm, o);
    EXPECT_NEAR(r.decay.alpha, alpha, 1e-9);
    EXPECT_NEAR(r.decay.c, 7.0, 1e-8);
    EXPECT_NEAR(r.decay.r_squared, 1.0, 1e-12);
    // independent reference: Eigen's Jacobi SVD, truncation and block KL by hand
    Eigen::JacobiSVD<Matrix<double>> js(lm.values, Eigen::ComputeThinU | Eigen::ComputeThinV);
    for (const auto& p : r.reconstruction) {
      const Index k = p.rank;
      const Matrix<double> mk =
          js.matrixU().leftCols(k) * js.singularValues().head(k).asDiagonal() * js.matrixV().leftCols(k).transpose();
      EXPECT_NEAR(p.relative_error, (lm.values - mk).norm() / lm.values.norm(), 1e-10);
      double kl = 0;
      for (Index i = 0; i < 40; ++i)
        for (Index b = 0; b < 12; ++b) {
          const VectorXd x = lm.values.row(i).segment(b * 9, 9).transpose();
          const VectorXd y = mk.row(i).segment(b * 9, 9).transpose();
          const VectorXd px = x.array().exp() / x.array().exp().sum();
          const VectorXd py = y.array().exp() / y.array().exp().sum();
          kl += (px.array() * (px.array() / py.array()).log()).sum();
        }
      EXPECT_NEAR(p.mean_kl, kl / (40 * 12), 1e-10 + 1e-8 * kl / 480);
    }
    EXPECT_LT(r.reconstruction.back().mean_kl, 1e-13);  // round-off of sum p (log p - log q) is O(eps)
  }
  // the default range stops at min(rows, cols) / 2
  const auto r = analyze_logit_matrix(planted(40, 12, 9, 0.6, 6));
  EXPECT_EQ(r.decay.first, 1);
  EXPECT_EQ(r.decay.last, 20);
  EXPECT_NEAR(r.decay.alpha, 0.6, 1e-9);
  EXPECT_EQ(r.reconstruction.front().rank, 1);
  EXPECT_EQ(r.reconstruction.back().rank, 40);
}

TEST(Lingen, CoefficientsSatisfyTheNormalEquations) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> nd;
  for (Index n : {5, 30}) {  // over- and under-determined (p = 20)
    Matrix<double> a(n, 20);
    VectorXd y(20);
    for (Index i = 0; i < a.size(); ++i) a.data()[i] = nd(rng);
    for (Index i = 0; i < 20; ++i) y(i) = nd(rng);
    for (double ridge : {0.0, 0.5}) {
      const VectorXd c = lingen_coefficients(a, y, ridge);
      // gradient of ||y - A^T c||^2 + ridge ||c||^2 vanishes
      EXPECT_LT((a * (y - a.transpose() * c) - ridge * c).norm(), 1e-10) << n << " " << ridge;
      if (ridge == 0) {  // minimum norm: agrees with the pseudo-inverse (Jacobi SVD)
        const Matrix<double> at = a.transpose();
        const VectorXd ref = at.jacobiSvd(Eigen::ComputeThinU | Eigen::ComputeThinV).solve(y);
        EXPECT_LT((c - ref).norm(), 1e-10);
      }
    }
  }
  EXPECT_THROW(lingen_coefficients(Matrix<double>(2, 3), VectorXd(3), -1.0), InvalidArgument);
}

// When the target history is one of the others, the regression puts weight 1
// on it and LINGEN is the model itself: KL = 0 at every step, while the
// baseline that averages the others is not.
TEST(Lingen, TargetAmongTheOthersIsReproducedExactly) {
  auto m = tiny_gpt<double>(17);
  auto others = random_seqs(5, 6, 6, 11, 31);
  const Tokens target = others[2];
  const auto fut = random_seqs(4, 3, 3, 11, 32);
  LingenOptions o;
  o.length = 8;
  o.samples = 3;
  o.matrix.top_k = 0;
  const auto r = lingen(m, target, others, fut, o);
  ASSERT_EQ(r.coefficients.size(), 5);
  VectorXd e = VectorXd::Zero(5);
  e(2) = 1;
  EXPECT_LT((r.coefficients - e).norm(), 1e-8);
  EXPECT_LT(r.fit_relative_residual, 1e-10);
  ASSERT_EQ(r.samples.size(), 3u);
  for (const auto& s : r.samples) {
    EXPECT_EQ(s.tokens.size(), 8u);
    for (double kl : s.kl_lingen) EXPECT_LT(kl, 1e-12);
  }
  EXPECT_GT(r.mean_kl_baseline, 1e-3);
  EXPECT_EQ(r.kl_lingen_by_step.size(), 8u);
  // same seed, same samples
  const auto r2 = lingen(m, target, others, fut, o);
  EXPECT_EQ(r2.samples[1].tokens, r.samples[1].tokens);
}

TEST(Lingen, GeneralisesFromADistinctTargetBetterThanTheBaseline) {
  // a generic target and many other histories of the same length: the fitted
  // combination tracks the target's next-token distributions more closely
  // than the unweighted mean of the others
  auto m = tiny_gpt<double>(19);
  const auto all = random_seqs(41, 5, 5, 11, 41);
  const std::vector<Tokens> others(all.begin() + 1, all.end());
  const auto fut = random_seqs(10, 3, 3, 11, 42);
  LingenOptions o;
  o.length = 6;
  o.samples = 2;
  o.matrix.top_k = 0;
  const auto r = lingen(m, all[0], others, fut, o);
  EXPECT_LT(r.fit_relative_residual, 0.5);
  EXPECT_LT(r.mean_kl_lingen, r.mean_kl_baseline);
}

TEST(LogitMatrix, InterruptReturnsTheRowsDone) {
  auto m = tiny_gpt<double>(23);
  const auto hist = random_seqs(6, 4, 4, 11, 51);
  const auto fut = random_seqs(2, 2, 2, 11, 52);
  LogitMatrixOptions o;
  o.top_k = 0;
  const auto lm = build_logit_matrix(m, hist, fut, o, [](const ProgressEvent& e) {
    if (e.iteration == 2) request_interrupt();
  });
  clear_interrupt();
  EXPECT_EQ(lm.status, Status::Interrupted);
  EXPECT_EQ(lm.values.rows(), 2);
  EXPECT_EQ(lm.values.cols(), 5 * 11);
}

TEST(LogitText, WindowsAreDisjointSeededAndBounded) {
  Tokens text(100);
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::int32_t>(i);
  const auto w = sample_windows(text, 10, 10, 3);
  ASSERT_EQ(w.size(), 10u);
  std::set<std::int32_t> seen;
  for (const auto& x : w) {
    ASSERT_EQ(x.size(), 10u);
    EXPECT_EQ(x.front() % 10, 0);
    for (auto z : x) EXPECT_TRUE(seen.insert(z).second);
  }
  EXPECT_EQ(sample_windows(text, 10, 10, 3), w);
  try {
    sample_windows(text, 11, 10, 3, "held-out text");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("room for 10"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("held-out text"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sample_windows(text, 0, 10, 3), InvalidArgument);
  Tokens s = shuffled(text, 1);
  EXPECT_NE(s, text);
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, text);
}

TEST(LogitMatrix, BadInputIsRefusedWithAClearMessage) {
  auto m = tiny_gpt<double>(29);
  const auto hist = random_seqs(3, 4, 4, 11, 61);
  const auto fut = random_seqs(2, 2, 2, 11, 62);
  auto expect_msg = [](auto&& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "expected InvalidArgument mentioning " << needle;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { build_logit_matrix(m, {Tokens(15, 1)}, fut); }, "context");
  expect_msg([&] { build_logit_matrix(m, hist, {Tokens{1, 2}, Tokens{1}}); }, "one length");
  expect_msg([&] { build_logit_matrix(m, {Tokens{1, 99}}, fut); }, "vocabulary");
  expect_msg([&] { build_logit_matrix(m, {}, fut); }, "no histories");
  expect_msg([&] { build_logit_matrix(m, hist, {}); }, "no futures");
  LogitMatrixOptions o;
  o.top_k = 0;
  const auto lm = build_logit_matrix(m, hist, fut, o);
  LogitRankOptions ro;
  ro.ranks = {4};  // 3 rows
  expect_msg([&] { analyze_logit_matrix(lm, ro); }, "outside [1, 3]");
  ro.ranks = {0};
  expect_msg([&] { analyze_logit_matrix(lm, ro); }, "outside");
  LingenOptions lo;
  lo.length = 12;  // 4 + 11 > 16 is fine, but 6 + 11 is not
  expect_msg([&] { lingen(m, Tokens(6, 1), hist, fut, lo); }, "context");
  lo.length = 2;
  lo.ridge = -1;
  expect_msg([&] { lingen(m, Tokens(4, 1), hist, fut, lo); }, "ridge");
  lo.ridge = 0;
  expect_msg([&] { lingen(m, Tokens(4, 1), {}, fut, lo); }, "other history");
}

}  // namespace
}  // namespace lowrank::diagnostics
