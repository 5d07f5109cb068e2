// One run of the bottleneck-rank / bound experiment (docs/diagnostics.md):
// a ReLU MLP of `depth` linear layers trained full-batch with AdamW on a
// planted low-rank teacher, then per layer the weight spectrum, the rank of
// the hidden representations on the training set, the generalization gap and
// the rank-sparse bound (Ledent, Alves, Lei 2025) next to the spectral (p = 2)
// one. Prints one JSON object on stdout.
//
// Teacher: x ~ N(0, I_d), label = argmax_k (C tanh(2 P x))_k with P [3, d]
// and C [k, 3] Gaussian, so the Bayes classifier depends on x only through a
// rank-3 projection.
//
//   bounds_mlp --depth 4 --wd 1.0 --seed 0 [--steps 3000 --width 64 --train 512]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lowrank/diagnostics/bound.hpp"
#include "lowrank/diagnostics/spectrum.hpp"
#include "lowrank/nn/model.hpp"
#include "lowrank/nn/optim.hpp"

using namespace lowrank;
using nn::Act;

namespace {

struct Args {
  int depth = 4;
  double wd = 0.0;
  int seed = 0;
  int steps = 3000;
  Index width = 64;
  Index dim = 32;
  Index classes = 6;
  Index n_train = 512;
  Index n_test = 4096;
  double lr = 2e-3;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--depth") a.depth = std::stoi(v);
    else if (k == "--wd") a.wd = std::stod(v);
    else if (k == "--seed") a.seed = std::stoi(v);
    else if (k == "--steps") a.steps = std::stoi(v);
    else if (k == "--width") a.width = std::stol(v);
    else if (k == "--train") a.n_train = std::stol(v);
    else if (k == "--lr") a.lr = std::stod(v);
    else {
      std::cerr << "unknown flag " << k << "\n";
      std::exit(2);
    }
  }
  return a;
}

struct Data {
  Act<float> x;
  std::vector<std::int32_t> y;
};

// Teacher drawn from seed 1000 (the same task for every run); samples from `rng`.
Data sample(Index n, const Args& a, const Eigen::MatrixXd& P, const Eigen::MatrixXd& C, std::mt19937_64& rng) {
  std::normal_distribution<double> g;
  Data d;
  d.x.resize(n, a.dim);
  d.y.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    Eigen::VectorXd x(a.dim);
    for (Index j = 0; j < a.dim; ++j) x[j] = g(rng);
    const Eigen::VectorXd z = C * (2.0 * (P * x)).array().tanh().matrix();
    Index best = 0;
    z.maxCoeff(&best);
    d.y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
    d.x.row(i) = x.cast<float>().transpose();
  }
  return d;
}

struct Eval {
  double loss = 0, error = 0;
  std::vector<double> margins;  // f(x)_y - max_{j != y} f(x)_j
};

Eval evaluate(nn::Mlp<float>& model, const Data& d) {
  const Act<float>& out = model.forward(d.x);
  Act<float> probs;
  Eval e;
  e.loss = nn::cross_entropy_forward(out, d.y, probs);
  Index wrong = 0;
  for (Index i = 0; i < out.rows(); ++i) {
    const int y = d.y[static_cast<std::size_t>(i)];
    float other = -std::numeric_limits<float>::infinity();
    for (Index j = 0; j < out.cols(); ++j)
      if (j != y) other = std::max(other, out(i, j));
    const double m = static_cast<double>(out(i, y)) - other;
    e.margins.push_back(m);
    if (m <= 0) ++wrong;
  }
  e.error = static_cast<double>(wrong) / static_cast<double>(out.rows());
  return e;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  return v[k];
}

// Rank at a relative threshold: #{sigma_i > tol * sigma_1}.
Index relative_rank(const VectorXd& s, double tol) {
  Index r = 0;
  for (Index i = 0; i < s.size(); ++i) r += s[i] > tol * s[0] ? 1 : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 teacher_rng(1000);
  std::normal_distribution<double> g;
  Eigen::MatrixXd P(3, a.dim), C(a.classes, 3);
  for (Index i = 0; i < P.size(); ++i) P.data()[i] = g(teacher_rng) / std::sqrt(static_cast<double>(a.dim));
  for (Index i = 0; i < C.size(); ++i) C.data()[i] = g(teacher_rng);
  std::mt19937_64 data_rng(static_cast<std::uint64_t>(a.seed) * 7919 + 1);
  const Data train = sample(a.n_train, a, P, C, data_rng);
  const Data test = sample(a.n_test, a, P, C, data_rng);

  nn::MlpConfig cfg;
  cfg.sizes.push_back(a.dim);
  for (int l = 0; l + 1 < a.depth; ++l) cfg.sizes.push_back(a.width);
  cfg.sizes.push_back(a.classes);
  cfg.activation = nn::Activation::ReLU;
  cfg.seed = static_cast<std::uint64_t>(a.seed) + 1;
  nn::Mlp<float> model(cfg);
  std::vector<Matrix<float>> init;
  for (auto& l : model.layers) init.push_back(Matrix<float>(l.effective_weight()));

  nn::OptimizerOptions o;
  o.lr = a.lr;
  o.weight_decay = a.wd;
  o.warmup_steps = 100;
  o.total_steps = a.steps;
  o.min_lr_ratio = 0.05;
  o.grad_clip = 0;
  auto params = model.parameters();
  nn::Optimizer<float> opt(o, params);
  Act<float> probs, dlogits;
  for (int step = 0; step < a.steps; ++step) {
    model.zero_grad();
    const Act<float>& out = model.forward(train.x);
    nn::cross_entropy_forward(out, train.y, probs);
    nn::cross_entropy_backward(probs, train.y, dlogits);
    model.backward(dlogits);
    opt.step(params);
  }

  const Eval tr = evaluate(model, train), te = evaluate(model, test);
  nlohmann::json j;
  j["depth"] = a.depth;
  j["weight_decay"] = a.wd;
  j["seed"] = a.seed;
  j["steps"] = a.steps;
  j["width"] = a.width;
  j["n_train"] = a.n_train;
  j["train_loss"] = tr.loss;
  j["test_loss"] = te.loss;
  j["train_error"] = tr.error;
  j["test_error"] = te.error;
  j["gap_error"] = te.error - tr.error;
  j["gap_loss"] = te.loss - tr.loss;

  // Hidden representations on the training set: reps[l] = ReLU output of
  // layer l (the input of layer l + 1), reported as act_* on layer l.
  std::vector<Act<float>> reps;
  {
    Act<float> h = train.x, pre, post;
    for (std::size_t l = 0; l + 1 < model.layers.size(); ++l) {
      model.layers[l].forward(h, pre);
      nn::activation_forward(nn::Activation::ReLU, pre, post);
      reps.push_back(post);
      h = post;
    }
  }
  std::vector<diagnostics::BoundLayer> bl, bl_zero;
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    const Matrix<float> w = model.layers[l].effective_weight();
    const auto d = diagnostics::diagnose_matrix(w);
    const auto dd = diagnostics::diagnose_matrix(Matrix<float>(w - init[l]));
    nlohmann::json lj;
    lj["layer"] = l;
    lj["shape"] = {w.rows(), w.cols()};
    lj["stable_rank"] = d.stable_rank;
    lj["rank_1e-3"] = relative_rank(d.singular_values, 1e-3);
    lj["rank_1e-2"] = relative_rank(d.singular_values, 1e-2);
    lj["energy_rank_99"] = d.energy_rank_99;
    lj["spectral"] = d.spectral;
    lj["frobenius"] = d.frobenius;
    lj["stable_rank_delta"] = dd.stable_rank;
    if (l < reps.size()) {
      const auto da = diagnostics::diagnose_matrix(Matrix<float>(reps[l]));
      lj["act_stable_rank"] = da.stable_rank;
      lj["act_rank_1e-3"] = relative_rank(da.singular_values, 1e-3);
      lj["act_rank_1e-2"] = relative_rank(da.singular_values, 1e-2);
    }
    layers.push_back(lj);
    diagnostics::BoundLayer b;
    b.name = "layers." + std::to_string(l);
    b.fan_out = w.rows();
    b.fan_in = w.cols();
    b.spectral = d.spectral;
    b.delta_sv = dd.singular_values;
    b.rank_tol = dd.rank_tolerance;
    bl.push_back(b);
    b.delta_sv = d.singular_values;
    b.rank_tol = d.rank_tolerance;
    bl_zero.push_back(b);
  }
  j["layers"] = layers;
  // Margin: the 10th percentile of the training margins (>= a floor so that
  // a run fitting < 90% of the data still gets a finite number).
  double input_norm = 0;
  for (Index i = 0; i < train.x.rows(); ++i)
    input_norm = std::max(input_norm, static_cast<double>(train.x.row(i).norm()));
  const double gamma = std::max(quantile(tr.margins, 0.10), 1e-3);
  double margin_error = 0;
  for (double m : tr.margins) margin_error += m < gamma ? 1.0 : 0.0;
  margin_error /= static_cast<double>(tr.margins.size());
  diagnostics::RankSparseBoundOptions bo;
  bo.input_norm = input_norm;
  bo.margin = gamma;
  bo.samples = static_cast<double>(a.n_train);
  const auto b = diagnostics::rank_sparse_bound(bl, bo);
  const auto bz = diagnostics::rank_sparse_bound(bl_zero, bo);
  j["margin"] = gamma;
  j["margin_error"] = margin_error;
  j["input_norm"] = input_norm;
  j["log_gamma"] = b.log_gamma;
  j["bound"] = b.bound;
  j["bound_spectral"] = b.bound_spectral;
  j["r_squared"] = b.r_squared;
  j["r_squared_spectral"] = b.r_squared_spectral;
  j["r_squared_limit"] = b.r_squared_limit;
  j["bound_from_zero"] = bz.bound;
  j["bound_spectral_from_zero"] = bz.bound_spectral;
  j["p_chosen"] = nlohmann::json::array();
  for (const auto& t : b.layers) j["p_chosen"].push_back(t.p);
  // Parameter counting for comparison: sqrt(L * sum_l fan_in*fan_out / N).
  double params_count = 0;
  for (const auto& x : bl) params_count += static_cast<double>(x.fan_in * x.fan_out);
  j["bound_param_count"] = std::sqrt(static_cast<double>(bl.size()) * params_count / static_cast<double>(a.n_train));
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << j.dump() << std::endl;
  return 0;
}
