// Neural Feature Ansatz (issue 8, part 2): Jacobians against central finite
// differences, the AGOP against numpy (tests/diagnostics/make_nfa_fixture.py
// writes the closed-form chain rule of a tanh MLP), the exact law
// W_l^T W_l = G_l^(1/(L-l+1)) of balanced deep linear networks built in closed
// form, alpha scans against explicit matrix powers, checkpoints and bad input.
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <filesystem>
#include <random>

#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"
#include "test_paths.hpp"

namespace lowrank::diagnostics {
namespace {

namespace fs = std::filesystem;

Matrix<double> gaussian(Index r, Index c, std::mt19937_64& rng, double scale = 1.0) {
  std::normal_distribution<double> n(0.0, scale);
  Matrix<double> m(r, c);
  for (Index j = 0; j < c; ++j)
    for (Index i = 0; i < r; ++i) m(i, j) = n(rng);
  return m;
}

Mlp random_net(const std::vector<Index>& sizes, MlpActivation act, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Matrix<double>> w;
  std::vector<Vector<double>> b;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    w.push_back(gaussian(sizes[l + 1], sizes[l], rng, 1.0 / std::sqrt(static_cast<double>(sizes[l]))));
    b.push_back(gaussian(sizes[l + 1], 1, rng, 0.3).col(0));
  }
  return Mlp::from_weights(w, b, act);
}

// The network's W_l [out, in] and its forward pass from the input h of layer l (nn::Mlp::apply).
Matrix<double> weight(const Mlp& net, Index l) { return net.layers[static_cast<std::size_t>(l)].effective_weight(); }
Matrix<double> forward_from(const Mlp& net, const Matrix<double>& h, Index l = 0) {
  return net.apply(nn::Act<double>(h), l);
}
// Inputs of every layer for the rows of x: h_0 = x, h_{l+1} = s(pre_l).
std::vector<Matrix<double>> layer_inputs(const Mlp& net, const Matrix<double>& x) {
  std::vector<nn::Act<double>> pre;
  net.apply(nn::Act<double>(x), 0, &pre);
  std::vector<Matrix<double>> out{x};
  for (const auto& p : pre) {
    nn::Act<double> h;
    nn::activation_forward(net.activation(), p, h);
    out.emplace_back(h);
  }
  return out;
}

Matrix<double> orthonormal_columns(Index r, Index c, std::mt19937_64& rng) {
  Eigen::HouseholderQR<Matrix<double>> qr(gaussian(r, c, rng));
  return qr.householderQ() * Matrix<double>::Identity(r, c);
}

fs::path scratch(const std::string& name) {
  auto p = fs::temp_directory_path() / ("lowrank_nfa_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(NfaJacobian, MatchesCentralFiniteDifferences) {
  for (auto act : {MlpActivation::Tanh, MlpActivation::GELU, MlpActivation::Identity, MlpActivation::ReLU}) {
    const Mlp net = random_net({5, 7, 6, 3}, act, 11);
    std::mt19937_64 rng(3);
    const Vector<double> x = gaussian(5, 1, rng).col(0);
    const auto inputs = layer_inputs(net, x.transpose());
    for (Index l = 0; l < net.depth(); ++l) {
      const Matrix<double> jac = layer_input_jacobian(net, x, l);
      const Vector<double> h = inputs[static_cast<std::size_t>(l)].row(0).transpose();
      ASSERT_EQ(jac.rows(), 3);
      ASSERT_EQ(jac.cols(), h.size());
      const double eps = 1e-6;
      for (Index j = 0; j < h.size(); ++j) {
        Matrix<double> hp = h.transpose(), hm = h.transpose();
        hp(0, j) += eps;
        hm(0, j) -= eps;
        const Vector<double> fd =
            ((forward_from(net, hp, l) - forward_from(net, hm, l)) / (2 * eps)).row(0).transpose();
        for (Index k = 0; k < 3; ++k)
          EXPECT_NEAR(jac(k, j), fd(k), 1e-7 * (1 + std::abs(fd(k))))
              << to_string(act) << " layer " << l << " output " << k << " input " << j;
      }
    }
    // The forward pass from layer 0 equals the chained layer inputs.
    const Matrix<double> f = forward_from(net, x.transpose(), 0);
    const Matrix<double> last = forward_from(net, inputs.back(), net.depth() - 1);
    EXPECT_LT((f - last).norm(), 1e-13);
  }
}

TEST(NfaAgop, MatchesNumpyClosedFormChainRule) {
  const auto arrays = io::read_npz(std::string(LOWRANK_TEST_DATA_DIR) + "/nfa/tiny_tanh.npz");
  auto get = [&](const std::string& n) {
    for (const auto& a : arrays)
      if (a.name == n) return a.array.values;
    ADD_FAILURE() << "fixture lacks " << n;
    return Matrix<double>();
  };
  std::vector<Matrix<double>> w;
  std::vector<Vector<double>> b;
  for (int l = 0; l < 3; ++l) {
    w.push_back(get("W" + std::to_string(l)));
    b.push_back(get("b" + std::to_string(l)).col(0));
  }
  const Mlp net = Mlp::from_weights(w, b, MlpActivation::Tanh);
  const Matrix<double> x = get("X");
  for (Index chunk : {Index(256), Index(3), Index(1)}) {
    const auto r = compute_agop(net, x, AgopOptions{.chunk = chunk});
    EXPECT_EQ(r.status, Status::Success);
    EXPECT_EQ(r.inputs_used, 7);
    ASSERT_EQ(r.layers.size(), 3u);
    for (int l = 0; l < 3; ++l) {
      const Matrix<double> g = get("G" + std::to_string(l)), c = get("C" + std::to_string(l));
      EXPECT_LT((r.layers[l].uncentred - g).norm(), 1e-12 * g.norm()) << "layer " << l << " chunk " << chunk;
      // Relative to ||G||: the centred AGOP of the linear output layer is zero
      // up to the round-off of G - m m^T, in numpy as here.
      EXPECT_LT((r.layers[l].centred - c).norm(), 1e-12 * g.norm()) << "layer " << l << " chunk " << chunk;
    }
  }
}

TEST(NfaAgop, StopsAtTheChunkWhereAnInterruptArrives) {
  const Mlp net = random_net({4, 6, 2}, MlpActivation::Tanh, 5);
  std::mt19937_64 rng(9);
  const Matrix<double> x = gaussian(10, 4, rng);
  const auto r = compute_agop(net, x, AgopOptions{.chunk = 4}, [](const ProgressEvent&) { request_interrupt(); });
  clear_interrupt();
  EXPECT_EQ(r.status, Status::Interrupted);
  EXPECT_EQ(r.inputs_used, 4);
  const auto ref = compute_agop(net, x.topRows(4));
  EXPECT_LT((r.layers[0].uncentred - ref.layers[0].uncentred).norm(), 1e-13);
}

// Balanced deep linear network realising M = P S Q^T exactly:
// W_1 = R_1 S^(1/L) Q^T, W_l = R_l S^(1/L) R_{l-1}^T, W_L = P S^(1/L) R_{L-1}^T,
// so W_{l+1}^T W_{l+1} = R_l S^(2/L) R_l^T = W_l W_l^T.
Mlp balanced_linear(Index L, Index d, Index c, Index width, const Vector<double>& s, std::mt19937_64& rng,
                    Matrix<double>* product) {
  const Index k = s.size();
  const Matrix<double> p = orthonormal_columns(c, k, rng), q = orthonormal_columns(d, k, rng);
  const Vector<double> root = s.array().pow(1.0 / static_cast<double>(L)).matrix();
  std::vector<Matrix<double>> r;
  for (Index l = 0; l + 1 < L; ++l) r.push_back(orthonormal_columns(width, k, rng));
  std::vector<Matrix<double>> w;
  std::vector<Vector<double>> b;
  for (Index l = 0; l < L; ++l) {
    const Matrix<double> left = (l + 1 == L) ? p : r[static_cast<std::size_t>(l)];
    const Matrix<double> right = (l == 0) ? q : r[static_cast<std::size_t>(l - 1)];
    w.push_back(left * root.asDiagonal() * right.transpose());
    b.push_back(Vector<double>::Zero(left.rows()));
  }
  *product = p * s.asDiagonal() * q.transpose();
  return Mlp::from_weights(w, b, MlpActivation::Identity);
}

TEST(NfaDeepLinear, BalancedNetworkHasAlphaOneOverDepthExactly) {
  std::mt19937_64 rng(2026);
  for (Index L : {2, 3, 4}) {
    Vector<double> s(3);
    s << 4.0, 1.5, 0.3;
    Matrix<double> m;
    const Mlp net = balanced_linear(L, 8, 3, 6, s, rng, &m);
    const Matrix<double> x = gaussian(20, 8, rng);
    EXPECT_LT((forward_from(net, x) - x * m.transpose()).norm(), 1e-12 * (x * m.transpose()).norm());
    const auto agop = compute_agop(net, x);
    // For a linear network J = M^T at every input: G_1 = M^T M, centred G = 0.
    EXPECT_LT((agop.layers[0].uncentred - m.transpose() * m).norm(), 1e-12 * (m.transpose() * m).norm());
    EXPECT_LT(agop.layers[0].centred.norm(), 1e-12 * (m.transpose() * m).norm());

    const auto rep = analyze_nfa(net, x);
    ASSERT_EQ(rep.layers.size(), static_cast<std::size_t>(L));
    for (Index l = 0; l < L; ++l) {
      const auto& u = rep.layers[static_cast<std::size_t>(l)].uncentred;
      const double theory = 1.0 / static_cast<double>(L - l);  // 1/(L-l+1) with l 1-based
      EXPECT_NEAR(u.layer, 1.0, 1e-12) << "L=" << L << " layer " << l;
      EXPECT_NEAR(u.best_alpha, theory, 1e-6) << "L=" << L << " layer " << l;
      EXPECT_NEAR(u.best, 1.0, 1e-12);
      EXPECT_TRUE(std::isnan(rep.layers[static_cast<std::size_t>(l)].centred.one));
      // alpha = 1 is measurably worse whenever the theory says otherwise, so
      // the scan discriminates.
      if (theory < 1) EXPECT_LT(u.one, 0.99) << "L=" << L << " layer " << l;
    }
    EXPECT_NEAR(rep.layers[0].uncentred.inv_depth, 1.0, 1e-12);
    EXPECT_NEAR(rep.layers[0].uncentred.best_alpha, 1.0 / static_cast<double>(L), 1e-6);
  }
}

// Known answer for the init-subtracted NFM (issue 35). A linear net d -> h -> c
// whose first layer is W_1 = D + N: the update D = R S Q^T lives on input
// directions Q and hidden directions R, the initial weight N = W_1^0 on the
// orthogonal complements of both, and the second layer W_2 = P S R^T is
// balanced with D (W_2^T W_2 = D D^T) and blind to N's outputs (W_2 N = 0).
// Then G_1 = W_1^T W_2^T W_2 W_1 = D^T D D^T D = (D^T D)^2 exactly, so
// cos((W_1 - N)^T (W_1 - N), G_1^(1/2)) = 1 with best alpha 1/2, while the raw
// W_1^T W_1 = D^T D + N^T N carries the init term and scores below.
TEST(NfaSubtractInit, UpdateOfAKnownNetworkHasAlphaOneHalfExactly) {
  std::mt19937_64 rng(35);
  const Index d = 7, h = 6, c = 3, k = 2;
  const Matrix<double> qd = orthonormal_columns(d, d, rng), qh = orthonormal_columns(h, h, rng);
  const Matrix<double> q = qd.leftCols(k), r = qh.leftCols(k), p = orthonormal_columns(c, k, rng);
  Vector<double> s(k);
  s << 2.0, 0.7;
  const Matrix<double> upd = r * s.asDiagonal() * q.transpose();
  const Matrix<double> n0 = qh.rightCols(h - k) * gaussian(h - k, d - k, rng, 0.8) * qd.rightCols(d - k).transpose();
  const std::vector<Vector<double>> nobias{Vector<double>(), Vector<double>()};
  const Mlp trained =
      Mlp::from_weights({upd + n0, p * s.asDiagonal() * r.transpose()}, nobias, MlpActivation::Identity);
  const Mlp init = Mlp::from_weights({n0, 0.1 * gaussian(c, h, rng)}, nobias, MlpActivation::Identity);
  const Matrix<double> x = gaussian(25, d, rng);
  const auto g = compute_agop(trained, x);
  const Matrix<double> dtd = upd.transpose() * upd;
  ASSERT_LT((g.layers[0].uncentred - dtd * dtd).norm(), 1e-12 * (dtd * dtd).norm());

  const auto rep = analyze_nfa(trained, x, &init);  // default: subtract the init
  ASSERT_TRUE(rep.subtract_init);
  const auto& l1 = rep.layers[0];
  EXPECT_NEAR(l1.uncentred.half, 1.0, 1e-12);
  EXPECT_NEAR(l1.uncentred.best_alpha, 0.5, 1e-6);
  EXPECT_NEAR(l1.pearson_half, 1.0, 1e-12);
  // alpha = 1 is measurably off: cos(D^T D, (D^T D)^2) in closed form, 0.9943 here.
  EXPECT_NEAR(l1.uncentred.one, matrix_cosine(dtd, dtd * dtd), 1e-12);
  EXPECT_LT(l1.uncentred.one, 0.999);
  // The raw NFM's best cosine is its own closed form, below 1.
  const Matrix<double> raw = weight(trained, 0).transpose() * weight(trained, 0);
  EXPECT_NEAR(l1.raw.half, matrix_cosine(raw, dtd), 1e-12);
  EXPECT_LT(l1.raw.best, 0.95);
  // Pearson against an independent two-pass formula.
  const Matrix<double> a = (dtd.array() - dtd.mean()).matrix(), b = (raw.array() - raw.mean()).matrix();
  EXPECT_NEAR(matrix_pearson(dtd, raw), (a.array() * b.array()).sum() / (a.norm() * b.norm()), 1e-12);
  EXPECT_TRUE(std::isnan(matrix_pearson(Matrix<double>::Ones(3, 3), raw.topLeftCorner(3, 3))));
}

TEST(NfaAlpha, PowerCosineEqualsExplicitPowers) {
  std::mt19937_64 rng(7);
  const Matrix<double> b = gaussian(6, 6, rng), a0 = gaussian(6, 4, rng);
  const Matrix<double> g = b * b.transpose(), a = a0 * a0.transpose();
  const PowerCosine f(a, g);
  for (double alpha : {0.1, 1.0 / 3, 0.5, 1.0, 1.7}) {
    EXPECT_NEAR(f(alpha), matrix_cosine(a, psd_power(g, alpha)), 1e-12) << alpha;
  }
  // psd_power is a power: (G^(1/2))^2 = G; negative eigenvalues are clipped.
  const Matrix<double> r = psd_power(g, 0.5);
  EXPECT_LT((r * r - g).norm(), 1e-10 * g.norm());
  const Matrix<double> neg = -g;
  EXPECT_LT(psd_power(neg, 1.0).norm(), 1e-12 * g.norm());
  EXPECT_NEAR(matrix_cosine(a, 3.0 * a), 1.0, 1e-15);
  EXPECT_TRUE(std::isnan(matrix_cosine(a, Matrix<double>::Zero(6, 6))));
  // The best alpha of A = G^0.37 is 0.37, off the grid points.
  const auto c = alpha_correlations(psd_power(g, 0.37), g, 3, 1, default_alpha_grid());
  EXPECT_NEAR(c.best_alpha, 0.37, 1e-6);
  EXPECT_NEAR(c.best, 1.0, 1e-12);
  EXPECT_THROW(alpha_correlations(a, g, 3, 1, {}), InvalidArgument);
  EXPECT_THROW(alpha_correlations(a, g, 3, 1, {0.5, -1.0}), InvalidArgument);
  EXPECT_THROW(psd_power(g, 0.0), InvalidArgument);
}

TEST(NfaAnalyze, EngineMlpInitBaselineAndSubtraction) {
  nn::MlpConfig cfg;
  cfg.sizes = {6, 10, 8, 2};
  cfg.activation = nn::Activation::GELU;
  cfg.seed = 4;
  nn::Mlp<double> model(cfg);
  const Mlp init = model.dense_copy<double>();
  std::mt19937_64 rng(1);
  const Matrix<double> x = gaussian(30, 6, rng);
  // The inference pass (apply) reproduces the training forward pass.
  const nn::Act<double> xa = x;
  const Matrix<double> y = model.forward(xa);
  EXPECT_LT((forward_from(init, x) - y).norm(), 1e-12 * y.norm());

  Mlp trained = init;
  for (auto& layer : trained.layers)
    layer.W += 0.5 * gaussian(layer.W.rows(), layer.W.cols(), rng, 1.0 / std::sqrt(double(layer.W.cols())));
  NfaOptions opt;
  opt.subtract_init = false;  // raw NFM primary; the default (W - W_0) is checked below
  const auto rep = analyze_nfa(trained, x, &init, opt);
  ASSERT_EQ(rep.layers.size(), 3u);
  EXPECT_EQ(rep.inputs, 30);
  const auto g = compute_agop(trained, x), g0 = compute_agop(init, x);
  for (std::size_t l = 0; l < 3; ++l) {
    const auto& L = rep.layers[l];
    EXPECT_TRUE(L.has_init);
    const Matrix<double> nfm = weight(trained, l).transpose() * weight(trained, l);
    const Matrix<double> nfm0 = weight(init, l).transpose() * weight(init, l);
    EXPECT_NEAR(L.uncentred.one, matrix_cosine(nfm, g.layers[l].uncentred), 1e-12);
    EXPECT_NEAR(L.uncentred.half, matrix_cosine(nfm, psd_power(g.layers[l].uncentred, 0.5)), 1e-12);
    // The last layer's Jacobian is its weight at every input, so its centred
    // AGOP is zero and both cosines are undefined (NaN).
    const double centred_ref = matrix_cosine(nfm, g.layers[l].centred);
    if (std::isnan(centred_ref)) EXPECT_TRUE(std::isnan(L.centred.one)) << "layer " << l;
    else EXPECT_NEAR(L.centred.one, centred_ref, 1e-12);
    EXPECT_NEAR(L.init.one, matrix_cosine(nfm0, g0.layers[l].uncentred), 1e-12);
    EXPECT_NEAR(L.baseline.one, matrix_cosine(nfm0, g.layers[l].uncentred), 1e-12);
    EXPECT_GE(L.uncentred.best, L.uncentred.one - 1e-15);
    EXPECT_NEAR(L.agop_trace, g.layers[l].uncentred.trace(), 1e-10 * L.agop_trace);
  }
  EXPECT_FALSE(rep.subtract_init);
  const auto sub = analyze_nfa(trained, x, &init, NfaOptions{});
  EXPECT_TRUE(sub.subtract_init);
  const Matrix<double> dw = weight(trained, 1) - weight(init, 1);
  EXPECT_NEAR(sub.layers[1].uncentred.one, matrix_cosine(dw.transpose() * dw, g.layers[1].uncentred), 1e-12);
  EXPECT_EQ(sub.layers[1].raw.one, rep.layers[1].uncentred.one);
  // Without an initial network the default falls back to the raw NFM.
  const auto noinit = analyze_nfa(trained, x, nullptr, NfaOptions{});
  EXPECT_FALSE(noinit.subtract_init);
  EXPECT_EQ(noinit.layers[1].uncentred.one, rep.layers[1].uncentred.one);
  // Bad input: another architecture, wrong input width, NaN input.
  const Mlp other = random_net({6, 9, 8, 2}, MlpActivation::GELU, 2);
  try {
    analyze_nfa(trained, x, &other, NfaOptions{});
    ADD_FAILURE() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("layers.0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[9, 6]"), std::string::npos) << e.what();
  }
  try {
    analyze_nfa(trained, x.leftCols(5));
    ADD_FAILURE() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("5 columns"), std::string::npos) << e.what();
  }
  Matrix<double> bad = x;
  bad(17, 2) = std::nan("");
  try {
    analyze_nfa(trained, bad);
    ADD_FAILURE() << "no throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 17"), std::string::npos) << e.what();
  }
}

TEST(NfaCheckpoint, RoundTripAndBadFiles) {
  const auto dir = scratch("ck");
  const Mlp full = random_net({4, 5, 1}, MlpActivation::ReLU, 8);
  // No bias on the last layer.
  const Mlp net = Mlp::from_weights({weight(full, 0), weight(full, 1)},
                                    {full.layers[0].b.row(0).transpose(), Vector<double>()}, MlpActivation::ReLU);
  save_mlp_checkpoint((dir / "final").string(), net, 120, {{"inputs", "../x.npy"}, {"init", "../init"}});
  const auto ck = load_mlp_checkpoint((dir / "final").string());
  EXPECT_EQ(ck.step, 120);
  EXPECT_EQ(ck.net.activation(), MlpActivation::ReLU);
  ASSERT_EQ(ck.net.depth(), 2);
  EXPECT_EQ((weight(ck.net, 0) - weight(net, 0)).norm(), 0.0);
  EXPECT_EQ((ck.net.layers[0].b - net.layers[0].b).norm(), 0.0);
  EXPECT_FALSE(ck.net.layers[1].spec().bias);
  EXPECT_EQ(fs::path(ck.inputs), (dir / "x.npy").lexically_normal());
  EXPECT_EQ(fs::path(ck.init), (dir / "init").lexically_normal());
  // F32 rounds; the file itself can also be named.
  save_mlp_checkpoint((dir / "f32").string(), net, 0, {}, false);
  const auto c32 = load_mlp_checkpoint((dir / "f32" / "checkpoint.safetensors").string());
  EXPECT_LT((weight(c32.net, 1) - weight(net, 1)).norm(), 1e-6 * weight(net, 1).norm());
  EXPECT_TRUE(c32.inputs.empty());
  EXPECT_THROW(save_mlp_checkpoint((dir / "r").string(), net, 0, {{"sizes", "1,2"}}), InvalidArgument);

  auto expect_input_error = [](const std::string& path, const std::string& needle) {
    try {
      load_mlp_checkpoint(path);
      ADD_FAILURE() << "no throw for " << path;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input_error((dir / "missing").string(), "no such file");
  // A GPT checkpoint of the engine is named as such.
  io::SafetensorsEntry e{"model.wte", io::TensorDType::F32, Matrix<double>::Ones(2, 2), false};
  io::write_safetensors((dir / "gpt.safetensors").string(), {e}, {{"format", "lowrank-nn-checkpoint"}});
  expect_input_error((dir / "gpt.safetensors").string(), "GPT checkpoint");
  io::write_safetensors((dir / "plain.safetensors").string(), {e});
  expect_input_error((dir / "plain.safetensors").string(), "no \"format\"");
  // Wrong shape for the sizes, and a NaN weight named by layer.
  std::map<std::string, std::string> meta{{"format", "lowrank-nn-mlp-checkpoint"},
                                          {"version", "1"},
                                          {"activation", "relu"},
                                          {"sizes", "2,3,1"},
                                          {"step", "0"}};
  io::SafetensorsEntry w0{"model.layers.0.W", io::TensorDType::F64, Matrix<double>::Ones(3, 2), false};
  io::SafetensorsEntry w1{"model.layers.1.W", io::TensorDType::F64, Matrix<double>::Ones(2, 3), false};
  io::write_safetensors((dir / "shape.safetensors").string(), {w0, w1}, meta);
  expect_input_error((dir / "shape.safetensors").string(), "\"model.layers.1.W\" has shape [2, 3]");
  w1.values = Matrix<double>::Ones(1, 3);
  w1.values(0, 2) = std::nan("");
  io::write_safetensors((dir / "nan.safetensors").string(), {w0, w1}, meta);
  expect_input_error((dir / "nan.safetensors").string(), "layer layers.1: weight W[0, 2] is NaN");
  meta["activation"] = "softplus";
  io::write_safetensors((dir / "act.safetensors").string(), {w0, w1}, meta);
  expect_input_error((dir / "act.safetensors").string(), "softplus");

  // Inputs: NaN rows are named, empty and missing files are refused.
  Matrix<double> x = Matrix<double>::Ones(5, 2);
  x(3, 1) = std::numeric_limits<double>::infinity();
  io::write_npy((dir / "x.npy").string(), x);
  try {
    load_nfa_inputs((dir / "x.npy").string());
    ADD_FAILURE() << "no throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_nfa_inputs((dir / "none.npy").string()), InputError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowrank::diagnostics
