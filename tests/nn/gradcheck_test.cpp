// Finite-difference gradient checks (double precision, central differences)
// for every layer and every linear parameterization of the nn engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/nn/layers.hpp"
#include "lowrank/nn/mlp_train.hpp"
#include "lowrank/nn/model.hpp"
#include "lowrank/nn/optim.hpp"
#include "nn/kernels.hpp"

using namespace lowrank;
using namespace lowrank::nn;
using Mat = Act<double>;

namespace {

Mat randn(Index r, Index c, std::mt19937_64& rng, double s = 1.0) {
  std::normal_distribution<double> nd(0.0, s);
  Mat m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = nd(rng);
  return m;
}

// Compares analytic gradient `g` of f with central differences in every entry
// of `x`; returns the worst relative error max|g - fd| / max(1, max|fd|).
// At most `max_entries` entries (evenly strided) are perturbed.
double check(Mat& x, const Mat& g, const std::function<double()>& f, double h = 1e-5, Index max_entries = 1 << 30) {
  double worst = 0, scale = 1;
  Mat fd = Mat::Zero(x.rows(), x.cols());
  const Index stride = std::max<Index>(1, x.size() / max_entries);
  std::vector<Index> idx;
  for (Index i = 0; i < x.size(); i += stride) idx.push_back(i);
  for (Index i : idx) {
    const double x0 = x.data()[i];
    x.data()[i] = x0 + h;
    const double fp = f();
    x.data()[i] = x0 - h;
    const double fm = f();
    x.data()[i] = x0;
    fd.data()[i] = (fp - fm) / (2 * h);
    scale = std::max(scale, std::abs(fd.data()[i]));
  }
  for (Index i : idx) worst = std::max(worst, std::abs(g.data()[i] - fd.data()[i]));
  return worst / scale;
}

constexpr double kTol = 1e-7;

}  // namespace

TEST(NnGradcheck, LinearWithBias) {
  std::mt19937_64 rng(1);
  Mat x = randn(5, 4, rng), w = randn(3, 4, rng), b = randn(1, 3, rng), R = randn(5, 3, rng);
  auto f = [&] {
    Mat y;
    linear_forward(x, w, &b, y);
    return y.cwiseProduct(R).sum();
  };
  Mat dx, dw = Mat::Zero(3, 4), db = Mat::Zero(1, 3);
  linear_backward(R, x, w, &dx, dw, &db);
  EXPECT_LT(check(x, dx, f), kTol);
  EXPECT_LT(check(w, dw, f), kTol);
  EXPECT_LT(check(b, db, f), kTol);
}

TEST(NnGradcheck, RmsNorm) {
  std::mt19937_64 rng(2);
  Mat x = randn(4, 6, rng), g = randn(1, 6, rng), R = randn(4, 6, rng);
  auto f = [&] {
    Mat y;
    Vector<double> r;
    rmsnorm_forward(x, g, 1e-5, y, r);
    return y.cwiseProduct(R).sum();
  };
  Mat y, dx, dg = Mat::Zero(1, 6);
  Vector<double> rstd;
  rmsnorm_forward(x, g, 1e-5, y, rstd);
  // closed form of one row against the definition
  const double rms = std::sqrt(x.row(0).squaredNorm() / 6 + 1e-5);
  EXPECT_NEAR(y(0, 2), x(0, 2) / rms * g(0, 2), 1e-14);
  rmsnorm_backward(R, x, g, rstd, dx, dg);
  EXPECT_LT(check(x, dx, f), kTol);
  EXPECT_LT(check(g, dg, f), kTol);
}

// The accumulate forms that Gpt uses for its residual adds and summed input
// gradients (BLAS with beta = 1) equal "compute into a temporary, then add",
// for every parameterization, with a bias, and for RMSNorm's backward.
TEST(NnGradcheck, AccumulatingForwardAndInputGradientEqualComputeThenAdd) {
  for (auto kind :
       {Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain, Parameterization::GaLore}) {
    std::mt19937_64 rng(11);
    LinearSpec spec;
    spec.kind = kind;
    spec.rank = 3;
    spec.delta = 0.2;
    spec.b_init = BInit::Random;
    spec.bias = true;
    Rng init(5);
    Linear<double> lin(7, 6, spec, init);
    const Mat x = randn(5, 7, rng), y0 = randn(5, 6, rng), dy = randn(5, 6, rng), dx0 = randn(5, 7, rng);
    Mat y, yacc = y0, dx, dxacc = dx0;
    lin.forward(x, y);
    lin.forward(x, yacc, true);
    EXPECT_LT((yacc - (y0 + y)).cwiseAbs().maxCoeff(), 1e-13) << to_string(kind);
    lin.backward(x, dy, &dx);
    lin.backward(x, dy, &dxacc, true);
    EXPECT_LT((dxacc - (dx0 + dx)).cwiseAbs().maxCoeff(), 1e-13) << to_string(kind);
    Mat wrong(4, 6);
    EXPECT_THROW(lin.forward(x, wrong, true), InvalidArgument);
    EXPECT_THROW(lin.backward(x, dy, &wrong, true), InvalidArgument);
  }
  std::mt19937_64 rng(12);
  const Mat x = randn(4, 6, rng), g = randn(1, 6, rng), dy = randn(4, 6, rng), dx0 = randn(4, 6, rng);
  Mat y, dx, dxacc = dx0, dg = Mat::Zero(1, 6), dg2 = Mat::Zero(1, 6);
  Vector<double> rstd;
  rmsnorm_forward(x, g, 1e-5, y, rstd);
  rmsnorm_backward(dy, x, g, rstd, dx, dg);
  rmsnorm_backward(dy, x, g, rstd, dxacc, dg2, true);
  EXPECT_LT((dxacc - (dx0 + dx)).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LT((dg2 - dg).cwiseAbs().maxCoeff(), 1e-15);
  Mat wrong(3, 6);
  EXPECT_THROW(rmsnorm_backward(dy, x, g, rstd, wrong, dg2, true), InvalidArgument);
}

TEST(NnGradcheck, RopeIsARotationAndItsInverseIsTheBackward) {
  std::mt19937_64 rng(3);
  const Index B = 2, T = 5, H = 2;
  Mat x = randn(B * T, 8, rng), x0 = x;
  rope_apply(x, B, T, H, 10000.0, false);
  // position 0 is untouched, norms per (row, pair) are kept
  EXPECT_LT((x.row(0) - x0.row(0)).norm(), 1e-15);
  EXPECT_NEAR(x.row(7).norm(), x0.row(7).norm(), 1e-12);
  // pair 0 of head 1 at position t rotates by angle t (freq 1)
  const double a = x0(3, 4), b = x0(3, 5);
  EXPECT_NEAR(x(3, 4), a * std::cos(3.0) - b * std::sin(3.0), 1e-12);
  rope_apply(x, B, T, H, 10000.0, true);
  EXPECT_LT((x - x0).norm(), 1e-12);
}

TEST(NnGradcheck, CausalAttention) {
  std::mt19937_64 rng(4);
  const Index B = 2, T = 4, H = 2, C = 6;
  Mat q = randn(B * T, C, rng), k = randn(B * T, C, rng), v = randn(B * T, C, rng), R = randn(B * T, C, rng);
  auto f = [&] {
    Mat out, P;
    attention_forward(q, k, v, B, T, H, out, P);
    return out.cwiseProduct(R).sum();
  };
  Mat out, P, dq, dk, dv;
  attention_forward(q, k, v, B, T, H, out, P);
  // causality: the first position attends only to itself
  EXPECT_LT((out.block(0, 0, 1, C) - v.block(0, 0, 1, C)).norm(), 1e-14);
  attention_backward(R, q, k, v, P, B, T, H, dq, dk, dv);
  EXPECT_LT(check(q, dq, f), kTol);
  EXPECT_LT(check(k, dk, f), kTol);
  EXPECT_LT(check(v, dv, f), kTol);
}

// The products run over row blocks of 32 queries and only the keys each block
// sees (layers.cpp): T = 75 gives blocks of 32, 32 and 11. Against the plain
// formula softmax(mask(Q K^T / sqrt(D))) V per head, and finite differences.
TEST(NnGradcheck, CausalAttentionOverSeveralQueryBlocks) {
  std::mt19937_64 rng(14);
  const Index B = 1, T = 75, H = 2, C = 6, D = C / H;
  Mat q = randn(B * T, C, rng), k = randn(B * T, C, rng), v = randn(B * T, C, rng), R = randn(B * T, C, rng);
  Mat out, P, dq, dk, dv;
  attention_forward(q, k, v, B, T, H, out, P);
  Mat ref(B * T, C);
  for (Index b = 0; b < B; ++b)
    for (Index h = 0; h < H; ++h) {
      const Mat Q = q.block(b * T, h * D, T, D), K = k.block(b * T, h * D, T, D), V = v.block(b * T, h * D, T, D);
      Mat S = (Q * K.transpose()) / std::sqrt(double(D));
      for (Index t = 0; t < T; ++t) {
        for (Index s = t + 1; s < T; ++s) S(t, s) = -std::numeric_limits<double>::infinity();
        S.row(t) = (S.row(t).array() - S.row(t).maxCoeff()).exp();
        S.row(t) /= S.row(t).sum();
      }
      ref.block(b * T, h * D, T, D) = S * V;
    }
  EXPECT_LT((out - ref).cwiseAbs().maxCoeff(), 1e-13);
  attention_backward(R, q, k, v, P, B, T, H, dq, dk, dv);
  auto f = [&] {
    Mat o, p;
    attention_forward(q, k, v, B, T, H, o, p);
    return o.cwiseProduct(R).sum();
  };
  // every other entry (stride 2 over 450 keeps every row): all three blocks
  EXPECT_LT(check(q, dq, f, 1e-5, 225), kTol);
  EXPECT_LT(check(k, dk, f, 1e-5, 225), kTol);
  EXPECT_LT(check(v, dv, f, 1e-5, 225), kTol);
}

TEST(NnGradcheck, SwiGluActivationsAndLosses) {
  std::mt19937_64 rng(5);
  Mat a = randn(3, 5, rng), b = randn(3, 5, rng), R = randn(3, 5, rng);
  auto f = [&] {
    Mat h;
    swiglu_forward(a, b, h);
    return h.cwiseProduct(R).sum();
  };
  Mat da, db;
  swiglu_backward(R, a, b, da, db);
  EXPECT_LT(check(a, da, f), kTol);
  EXPECT_LT(check(b, db, f), kTol);
  for (auto kind : {Activation::ReLU, Activation::GELU, Activation::Tanh, Activation::Identity}) {
    Mat x = randn(3, 5, rng);
    x = x.unaryExpr([](double v) { return std::abs(v) < 1e-3 ? 0.5 : v; });  // keep ReLU off its kink
    auto g = [&] {
      Mat y;
      activation_forward(kind, x, y);
      return y.cwiseProduct(R).sum();
    };
    Mat dx;
    activation_backward(kind, R, x, dx);
    EXPECT_LT(check(x, dx, g), kTol) << to_string(kind);
  }
  Mat logits = randn(4, 6, rng), probs, dl;
  const std::vector<std::int32_t> t{0, 5, 2, 2};
  auto ce = [&] {
    Mat p;
    return cross_entropy_forward(logits, t, p);
  };
  const double l = cross_entropy_forward(logits, t, probs);
  // closed form for row 1
  double lse = 0;
  for (Index j = 0; j < 6; ++j) lse += std::exp(logits(1, j));
  double want = 0;
  for (Index i = 0; i < 4; ++i) {
    double s = 0;
    for (Index j = 0; j < 6; ++j) s += std::exp(logits(i, j));
    want += std::log(s) - logits(i, t[static_cast<std::size_t>(i)]);
  }
  EXPECT_NEAR(l, want / 4, 1e-13);
  cross_entropy_backward(probs, t, dl);
  EXPECT_LT(check(logits, dl, ce), kTol);
  Mat pred = randn(4, 3, rng), target = randn(4, 3, rng), dp;
  mse_backward(pred, target, dp);
  EXPECT_LT(check(pred, dp, [&] { return mse_forward(pred, target); }), kTol);
}

class GptGradcheck : public ::testing::TestWithParam<Parameterization> {};

TEST_P(GptGradcheck, EveryParameterMatchesFiniteDifferences) {
  GptConfig c;
  c.vocab = 7;
  c.context = 5;
  c.n_layer = 2;
  c.n_head = 2;
  c.width = 8;
  c.hidden = 12;
  c.linear.kind = GetParam();
  c.linear.rank = 3;
  c.linear.alpha = 6.0;
  c.linear.delta = 0.25;
  c.seed = 11;
  Gpt<double> m(c);
  // B = 0 at init would hide the A-gradient: move every parameter off init.
  std::mt19937_64 rng(12);
  for (auto& p : m.parameters()) *p.value += randn(p.value->rows(), p.value->cols(), rng, 0.3);
  const Index B = 2, T = 5;
  std::vector<std::int32_t> tok(B * T), tgt(B * T);
  std::uniform_int_distribution<int> u(0, 6);
  for (auto& x : tok) x = u(rng);
  for (auto& x : tgt) x = u(rng);
  m.zero_grad();
  m.forward(tok, tgt, B, T);
  m.backward();
  auto f = [&] { return m.forward(tok, tgt, B, T); };
  for (auto& p : m.parameters()) {
    Mat g = *p.grad;
    // h = 2.5e-6: at h = 1e-5 the central difference's O(h^2) truncation
    // reached 1.1e-6 for a low-rank A at this point (16x smaller at h / 4, as
    // h^2 predicts), while rounding stays near eps / h = 4e-11.
    EXPECT_LT(check(*p.value, g, f, 2.5e-6, 17), 1e-6) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(All, GptGradcheck,
                         ::testing::Values(Parameterization::Dense, Parameterization::LowRank,
                                           Parameterization::SLTrain, Parameterization::GaLore),
                         [](const auto& info) { return std::string(to_string(info.param)); });

class MlpGradcheck : public ::testing::TestWithParam<std::tuple<Parameterization, Activation>> {};

TEST_P(MlpGradcheck, RegressionAndClassification) {
  MlpConfig c;
  c.sizes = {5, 6, 4, 3};
  c.linear.kind = std::get<0>(GetParam());
  c.linear.rank = 2;
  c.linear.alpha = 2.0;
  c.linear.delta = 0.3;
  c.activation = std::get<1>(GetParam());
  c.seed = 3;
  Mlp<double> m(c);
  std::mt19937_64 rng(4);
  for (auto& p : m.parameters()) *p.value += randn(p.value->rows(), p.value->cols(), rng, 0.3);
  Mat x = randn(7, 5, rng), y = randn(7, 3, rng);
  const std::vector<std::int32_t> cls{0, 1, 2, 2, 1, 0, 1};
  for (bool classify : {false, true}) {
    auto loss = [&] {
      const Mat& out = m.forward(x);
      if (!classify) return mse_forward(out, y);
      Mat p;
      return cross_entropy_forward(out, cls, p);
    };
    m.zero_grad();
    const Mat out = m.forward(x);
    Mat d;
    if (classify) {
      Mat p;
      cross_entropy_forward(out, cls, p);
      cross_entropy_backward(p, cls, d);
    } else {
      mse_backward(out, y, d);
    }
    m.backward(d);
    for (auto& p : m.parameters()) {
      Mat g = *p.grad;
      EXPECT_LT(check(*p.value, g, loss), 1e-6) << p.name << (classify ? " CE" : " MSE");
    }
    // The const inference pass and the input gradients (what the NFA's AGOP
    // uses) against the training forward and central differences in x; the
    // hidden layers' inputs against differences from layer 1 on.
    std::vector<Mat> pre;
    EXPECT_LT((m.apply(x, 0, &pre) - out).cwiseAbs().maxCoeff(), 1e-12);
    ASSERT_EQ(pre.size(), 2u);
    const auto dx = m.input_gradients(pre, d);
    ASSERT_EQ(dx.size(), 3u);
    EXPECT_LT(check(x, dx[0], loss), 1e-6) << "d/dx" << (classify ? " CE" : " MSE");
    Mat h1;
    activation_forward(c.activation, pre[0], h1);
    auto loss_from1 = [&] {
      const Mat o = m.apply(h1, 1);
      if (!classify) return mse_forward(o, y);
      Mat p;
      return cross_entropy_forward(o, cls, p);
    };
    EXPECT_LT(check(h1, dx[1], loss_from1), 1e-6) << "d/dh1" << (classify ? " CE" : " MSE");
    // A dense double copy of the effective weights computes the same function.
    EXPECT_LT((m.dense_copy<double>().apply(x) - out).cwiseAbs().maxCoeff(), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, MlpGradcheck,
    ::testing::Combine(::testing::Values(Parameterization::Dense, Parameterization::LowRank, Parameterization::SLTrain),
                       ::testing::Values(Activation::ReLU, Activation::GELU, Activation::Tanh, Activation::Identity)),
    [](const auto& info) {
      return std::string(to_string(std::get<0>(info.param))) + "_" + to_string(std::get<1>(info.param));
    });

// Identity activation without biases is a deep linear network: the output is
// x (W_2 W_1 W_0)^T exactly, and there are no bias parameters.
TEST(NnMlp, IdentityWithoutBiasIsTheProductOfTheWeights) {
  MlpConfig c;
  c.sizes = {4, 5, 3, 2};
  c.activation = Activation::Identity;
  c.bias = false;
  c.seed = 7;
  Mlp<double> m(c);
  for (const auto& p : m.parameters()) EXPECT_EQ(p.name.back(), 'W') << p.name;
  std::mt19937_64 rng(8);
  const Mat x = randn(6, 4, rng);
  const Mat prod = m.layers[2].W * m.layers[1].W * m.layers[0].W;
  EXPECT_LT((m.forward(x) - x * prod.transpose()).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_EQ(parse_activation("linear"), Activation::Identity);
  EXPECT_STREQ(to_string(Activation::Identity), "linear");
}

// from_weights builds the network it is given, and refuses inconsistent ones.
TEST(NnMlp, FromWeightsAndItsErrors) {
  std::mt19937_64 rng(12);
  const Matrix<double> w0 = randn(4, 3, rng), w1 = randn(2, 4, rng);
  const Vector<double> b0 = Mat(randn(1, 4, rng)).row(0).transpose();
  const auto m = Mlp<double>::from_weights({w0, w1}, {b0, Vector<double>()}, Activation::Tanh);
  EXPECT_EQ(m.depth(), 2);
  EXPECT_EQ(m.input_size(), 3);
  EXPECT_EQ(m.output_size(), 2);
  EXPECT_FALSE(m.layers[1].spec().bias);
  const Mat x = randn(5, 3, rng);
  const Matrix<double> hidden = ((x * w0.transpose()).rowwise() + b0.transpose()).array().tanh().matrix();
  EXPECT_LT((Matrix<double>(m.apply(x)) - hidden * w1.transpose()).cwiseAbs().maxCoeff(), 1e-13);
  auto throws_with = [](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no throw, expected " << needle;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  throws_with([&] { Mlp<double>::from_weights({}, {}, Activation::ReLU); }, "no layers");
  throws_with([&] { Mlp<double>::from_weights({w0, w0}, {b0, b0}, Activation::ReLU); }, "layers.1 takes 3 inputs");
  throws_with([&] { Mlp<double>::from_weights({w0, w1}, {b0, b0}, Activation::ReLU); }, "bias of length 4");
  throws_with([&] { Mlp<double>::from_weights({w0}, {}, Activation::ReLU); }, "1 weights but 0 biases");
  throws_with([&] { m.apply(randn(2, 4, rng)); }, "4 columns");
}

// SGD is w (1 - lr wd) - lr g on weights, no decay on biases; sgd excludes muon.
TEST(NnOptim, SgdStepIsTheClosedForm) {
  std::mt19937_64 rng(13);
  MlpConfig c;
  c.sizes = {3, 2};
  c.seed = 1;
  Mlp<double> m(c);
  m.layers[0].dW = randn(2, 3, rng);
  m.layers[0].db = randn(1, 2, rng);
  const Mat w = m.layers[0].W, b = m.layers[0].b, gw = m.layers[0].dW, gb = m.layers[0].db;
  OptimizerOptions o;
  o.sgd = true;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  o.warmup_steps = 0;
  o.min_lr_ratio = 1;
  o.grad_clip = 0;
  auto params = m.parameters();
  Optimizer<double> opt(o, params);
  EXPECT_EQ(opt.state_bytes(), 0u);
  opt.step(params);
  EXPECT_LT((m.layers[0].W - (w * (1 - 0.1 * 0.5) - 0.1 * gw)).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT((m.layers[0].b - (b - 0.1 * gb)).cwiseAbs().maxCoeff(), 1e-15);
  o.muon = true;
  EXPECT_THROW(o.validate(), InvalidArgument);
}

// Full-batch SGD through train_mlp on a one-layer linear model converges to
// the least-squares solution (normal equations, solved independently), and
// the deep linear product of a two-layer net fits a realisable target.
TEST(NnMlpTrain, FullBatchSgdReachesLeastSquares) {
  std::mt19937_64 rng(14);
  const Mat x = randn(40, 4, rng), y = randn(40, 2, rng);
  MlpConfig c;
  c.sizes = {4, 2};
  c.activation = Activation::Identity;
  c.bias = false;
  Mlp<double> m(c);
  MlpTrainOptions t;
  t.steps = 400;
  t.optim.sgd = true;
  t.optim.lr = 0.5;
  t.optim.warmup_steps = 0;
  t.optim.min_lr_ratio = 1;
  t.optim.grad_clip = 0;
  t.optim.weight_decay = 0;
  const auto r = train_mlp(m, x, y, t);
  EXPECT_EQ(r.status, Status::Success);
  EXPECT_EQ(r.steps_done, 400);
  const Matrix<double> xm = x, ym = y;
  const Matrix<double> ls = (xm.transpose() * xm).ldlt().solve(xm.transpose() * ym).transpose();  // [2, 4]
  EXPECT_LT((Matrix<double>(m.layers[0].W) - ls).norm(), 1e-8 * ls.norm());
  // Minibatches (seeded) and AdamW: the loss falls on a realisable linear target.
  c.sizes = {4, 6, 2};
  c.seed = 2;
  Mlp<double> deep(c);
  const Mat target = x * randn(2, 4, rng).transpose();
  MlpTrainOptions a;
  a.steps = 300;
  a.batch = 8;
  a.seed = 3;
  a.optim.lr = 0.01;
  a.optim.warmup_steps = 10;
  a.optim.total_steps = 300;
  a.optim.weight_decay = 0;
  const double before = mse_forward(deep.apply(x), target);
  const auto ra = train_mlp(deep, x, target, a);
  EXPECT_LT(mse_forward(deep.apply(x), target), 0.01 * before) << ra.last_loss;
  EXPECT_THROW(train_mlp(deep, randn(3, 5, rng), target, a), InvalidArgument);
}

TEST(NnLinear, SltrainSupportAndEffectiveWeight) {
  lowrank::Rng rng(7);
  std::mt19937_64 test_rng(7);  // test data only
  LinearSpec s;
  s.kind = Parameterization::SLTrain;
  s.rank = 2;
  s.alpha = 4;
  s.delta = 0.1;
  Linear<double> l(20, 10, s, rng);
  EXPECT_EQ(l.S.rows(), 20);  // round(0.1 * 200)
  EXPECT_TRUE(std::is_sorted(l.support.begin(), l.support.end()));
  EXPECT_EQ(std::adjacent_find(l.support.begin(), l.support.end()), l.support.end());
  EXPECT_EQ(l.B.norm(), 0.0);
  EXPECT_LE(l.S.cwiseAbs().maxCoeff(), 1 / std::sqrt(20.0));
  l.B = randn(10, 2, test_rng);
  Mat W = 2.0 * l.B * l.A;
  for (std::size_t k = 0; k < l.support.size(); ++k)
    W(l.support[k] / 20, l.support[k] % 20) += l.S(static_cast<Index>(k), 0);
  EXPECT_LT((l.effective_weight() - W).norm(), 1e-13);
}

TEST(NnLinear, BadSpecsAreRejected) {
  lowrank::Rng rng(1);
  LinearSpec s;
  s.kind = Parameterization::LowRank;
  s.rank = 9;
  EXPECT_THROW(Linear<double>(8, 16, s, rng), InvalidArgument);
  s.kind = Parameterization::SLTrain;
  s.rank = 2;
  s.delta = -0.1;
  EXPECT_THROW(Linear<double>(8, 16, s, rng), InvalidArgument);
  s.delta = 1.5;
  EXPECT_THROW(Linear<double>(8, 16, s, rng), InvalidArgument);
  EXPECT_THROW(parse_parameterization("lora"), InvalidArgument);
}

// ---- step kernels (src/nn/kernels.cpp): the float paths the training step
// runs (SIMD clone picked by the CPU, polynomial exp) against double
// references, since the finite-difference checks above run in double.

TEST(NnKernels, FloatSwiGluMatchesDoubleFormulaToAFewUlp) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd(0.0, 4.0);
  const Index n = 1003;  // not a multiple of the vector width: the tail runs too
  std::vector<float> a(n), b(n), dh(n), h(n), da(n), db(n);
  for (Index j = 0; j < n; ++j) {
    a[j] = static_cast<float>(nd(rng));
    b[j] = static_cast<float>(nd(rng));
    dh[j] = static_cast<float>(nd(rng));
  }
  a[0] = -100.f, a[1] = 100.f, a[2] = 0.f, a[3] = -88.5f, a[4] = 89.f;  // the exp clamp's edges
  kernels::swiglu_forward(a.data(), b.data(), h.data(), n);
  kernels::swiglu_backward(dh.data(), a.data(), b.data(), da.data(), db.data(), n);
  double worst = 0;
  for (Index j = 0; j < n; ++j) {
    const double x = a[j], s = 1.0 / (1.0 + std::exp(-x));
    const double ref_h = x * s * b[j], ref_db = x * s * dh[j], ref_da = s * (1 + x * (1 - s)) * b[j] * dh[j];
    // relative to the operands' size (a product of three factors)
    const double scale_h = std::abs(x * b[j]) + 1e-30,
                 scale_d = std::abs(x * b[j] * dh[j]) + std::abs(b[j] * dh[j]) + 1e-30;
    worst = std::max({worst, std::abs(h[j] - ref_h) / scale_h, std::abs(db[j] - ref_db) / (std::abs(x * dh[j]) + 1e-30),
                      std::abs(da[j] - ref_da) / scale_d});
  }
  EXPECT_LT(worst, 2e-6) << "SIMD level " << kernels::simd_level();
}

TEST(NnKernels, FloatAdamWMatchesDoubleAndSumOfSquaresIsExact) {
  std::mt19937_64 rng(6);
  std::normal_distribution<double> nd(0.0, 1.0);
  const Index n = 517;
  std::vector<float> w(n), g(n), m(n, 0.f), v(n, 0.f);
  std::vector<double> wd(n), gd(n), md(n, 0.0), vd(n, 0.0);
  for (Index j = 0; j < n; ++j) {
    w[j] = static_cast<float>(nd(rng));
    g[j] = static_cast<float>(nd(rng) * 1e-2);
    wd[j] = w[j];
    gd[j] = g[j];
  }
  const std::vector<double> w0 = wd;
  double ss = 0;
  for (Index j = 0; j < n; ++j) ss += static_cast<double>(g[j]) * g[j];
  EXPECT_NEAR(kernels::sum_squares(g.data(), n), ss, 1e-6 * ss);
  for (int t = 1; t <= 3; ++t) {
    kernels::AdamWStep s{};
    s.decay_factor = 1 - 1e-3 * 0.1;
    s.lr = 1e-3;
    s.beta1 = 0.9;
    s.beta2 = 0.99;
    s.bc1 = 1 - std::pow(0.9, t);
    s.bc2 = 1 - std::pow(0.99, t);
    s.eps = 1e-8;
    s.clip = 0.5;
    kernels::adamw(w.data(), g.data(), m.data(), v.data(), n, s);
    kernels::adamw(wd.data(), gd.data(), md.data(), vd.data(), n, s);
  }
  double worst = 0;
  for (Index j = 0; j < n; ++j) worst = std::max(worst, std::abs(w[j] - wd[j]));
  EXPECT_LT(worst, 1e-6);  // float rounding of |w| ~ 1 over three steps
  // Independent reference: with a constant gradient, m_t / bc1 = g' and
  // v_t / bc2 = g'^2 exactly, so w_t = w_{t-1} d - lr g' / (|g'| + eps).
  double worst_closed = 0;
  for (Index j = 0; j < n; ++j) {
    const double gp = 0.5 * static_cast<double>(g[j]);
    double wc = w0[j];
    for (int t = 1; t <= 3; ++t) wc = wc * (1 - 1e-3 * 0.1) - 1e-3 * gp / (std::abs(gp) + 1e-8);
    worst_closed = std::max(worst_closed, std::abs(wd[j] - wc));
  }
  EXPECT_LT(worst_closed, 1e-12);
}

TEST(NnKernels, GemmAllTransposesAndBetaZeroNeverReadsC) {
  std::mt19937_64 rng(7);
  const Index m = 37, n = 29, k = 19;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const Mat A = randn(ta ? k : m, ta ? m : k, rng), B = randn(tb ? n : k, tb ? k : n, rng);
      const Mat ref = (ta ? Mat(A.transpose()) : A) * (tb ? Mat(B.transpose()) : B);
      Mat C = Mat::Constant(m, n, std::numeric_limits<double>::quiet_NaN());
      kernels::gemm(ta, tb, m, n, k, 2.0, A.data(), A.cols(), B.data(), B.cols(), 0.0, C.data(), n);
      EXPECT_LT((C - 2.0 * ref).cwiseAbs().maxCoeff(), 1e-12) << ta << tb;
      kernels::gemm(ta, tb, m, n, k, 1.0, A.data(), A.cols(), B.data(), B.cols(), 1.0, C.data(), n);
      EXPECT_LT((C - 3.0 * ref).cwiseAbs().maxCoeff(), 1e-12) << ta << tb;
      // float path, the one training uses
      const Act<float> Af = A.cast<float>(), Bf = B.cast<float>();
      Act<float> Cf = Act<float>::Constant(m, n, std::numeric_limits<float>::quiet_NaN());
      kernels::gemm(ta, tb, m, n, k, 1.0f, Af.data(), Af.cols(), Bf.data(), Bf.cols(), 0.0f, Cf.data(), n);
      EXPECT_LT((Cf.cast<double>() - ref).cwiseAbs().maxCoeff(), 1e-4) << ta << tb;
    }
}
