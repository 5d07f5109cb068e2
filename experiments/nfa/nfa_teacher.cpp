// One NFA run for docs/nfa.md: train an engine MLP (nn::Mlp<float>, AdamW,
// MSE) on a low-rank teacher y = g(U^T x), save the initial and final
// checkpoints, then measure the Neural Feature Ansatz with
// diagnostics::analyze_nfa and print one JSON line.
//
// Teacher: x ~ N(0, I_d), U [d, r] with orthonormal columns, z = U^T x and
//   g(z) = sum_{i=1}^{r-1} z_i z_{i+1}            (r >= 2, "chain")
// so y depends on x only through an r-dimensional subspace, and the AGOP of
// the teacher itself is E[grad grad^T] = U E[dg dg^T] U^T, of rank r.
//
// Usage: nfa_teacher key=value ...   (defaults in brackets)
//   depth [3] rank [2] d [20] width [64] n [1000] test [2000] steps [4000]
//   batch [128] lr [0.003] wd [0] seed [0] activation [relu] out [nfa_run]
//   init_scale [1]  (multiplies the engine's initial weights)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include <Eigen/QR>
#include <nlohmann/json.hpp>

#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/nn/optim.hpp"

using namespace lowrank;

namespace {

double chain(const Eigen::VectorXd& z) {
  double y = 0;
  for (Index i = 0; i + 1 < z.size(); ++i) y += z(i) * z(i + 1);
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a{{"depth", "3"}, {"rank", "2"},   {"d", "20"},       {"width", "64"},
                                       {"n", "1000"},  {"test", "2000"}, {"steps", "4000"}, {"batch", "128"},
                                       {"lr", "0.003"}, {"wd", "0"},     {"seed", "0"},     {"activation", "relu"},
                                       {"out", "nfa_run"}, {"init_scale", "1"}};
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const auto eq = s.find('=');
    if (eq == std::string::npos || !a.count(s.substr(0, eq))) {
      std::fprintf(stderr, "nfa_teacher: unknown argument '%s'\n", argv[i]);
      return 2;
    }
    a[s.substr(0, eq)] = s.substr(eq + 1);
  }
  const Index depth = std::stol(a["depth"]), r = std::stol(a["rank"]), d = std::stol(a["d"]);
  const Index width = std::stol(a["width"]), n = std::stol(a["n"]), n_test = std::stol(a["test"]);
  const long steps = std::stol(a["steps"]), batch = std::stol(a["batch"]);
  const std::uint64_t seed = std::stoull(a["seed"]);
  const std::string out = a["out"];
  if (r < 2 || r > d || depth < 2) {
    std::fprintf(stderr, "nfa_teacher: need 2 <= rank <= d and depth >= 2\n");
    return 2;
  }

  // ---- data ----
  std::mt19937_64 rng(seed * 7919 + 17);
  std::normal_distribution<double> normal;
  auto gaussian = [&](Index rows, Index cols) {
    Matrix<double> m(rows, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) m(i, j) = normal(rng);
    return m;
  };
  Eigen::HouseholderQR<Matrix<double>> qr(gaussian(d, r));
  const Matrix<double> u = qr.householderQ() * Matrix<double>::Identity(d, r);
  const Matrix<double> x = gaussian(n, d), xt = gaussian(n_test, d);
  auto labels = [&](const Matrix<double>& xs) {
    Matrix<double> y(xs.rows(), 1);
    const Matrix<double> z = xs * u;
    for (Index i = 0; i < xs.rows(); ++i) y(i, 0) = chain(z.row(i).transpose());
    return y;
  };
  const Matrix<double> y = labels(x), yt = labels(xt);
  const double var_t = (yt.array() - yt.mean()).square().mean();

  // ---- model ----
  nn::MlpConfig cfg;
  cfg.sizes.push_back(d);
  for (Index l = 0; l + 1 < depth; ++l) cfg.sizes.push_back(width);
  cfg.sizes.push_back(1);
  cfg.activation = nn::parse_activation(a["activation"]);
  cfg.seed = seed;
  nn::Mlp<float> model(cfg);
  const float init_scale = std::stof(a["init_scale"]);
  for (auto& layer : model.layers) layer.W *= init_scale;
  const diagnostics::DenseMlp init = diagnostics::dense_mlp(model, cfg.activation);
  std::filesystem::create_directories(out);
  io::write_npy(out + "/inputs.npy", x);
  diagnostics::save_mlp_checkpoint(out + "/init", init, 0);

  nn::OptimizerOptions oo;
  oo.lr = std::stod(a["lr"]);
  oo.weight_decay = std::stod(a["wd"]);
  oo.warmup_steps = std::min<long>(100, steps / 10);
  oo.total_steps = steps;
  oo.grad_clip = 1.0;
  auto params = model.parameters();
  nn::Optimizer<float> opt(oo, params);
  std::uniform_int_distribution<Index> pick(0, n - 1);
  nn::Act<float> xb(batch, d), yb(batch, 1), dout;
  for (long s = 0; s < steps; ++s) {
    for (long i = 0; i < batch; ++i) {
      const Index k = pick(rng);
      xb.row(i) = x.row(k).cast<float>();
      yb(i, 0) = static_cast<float>(y(k, 0));
    }
    const auto& pred = model.forward(xb);
    nn::mse_backward(pred, yb, dout);
    model.zero_grad();
    model.backward(dout);
    opt.step(params);
  }
  auto rel_mse = [&](const Matrix<double>& xs, const Matrix<double>& ys, double var) {
    const nn::Act<float> xf = xs.cast<float>();
    const Matrix<double> p = model.forward(xf).cast<double>();
    return (p - ys).squaredNorm() / static_cast<double>(ys.rows()) / var;
  };
  const double var_y = (y.array() - y.mean()).square().mean();
  const double train_rel = rel_mse(x, y, var_y), test_rel = rel_mse(xt, yt, var_t);
  const diagnostics::DenseMlp trained = diagnostics::dense_mlp(model, cfg.activation);
  diagnostics::save_mlp_checkpoint(out + "/final", trained, steps,
                                   {{"inputs", "../inputs.npy"}, {"init", "../init"},
                                    {"task", "chain teacher d=" + a["d"] + " r=" + a["rank"]}});

  // ---- NFA ----
  diagnostics::NfaOptions no;
  const auto rep = diagnostics::analyze_nfa(trained, x, &init, no);
  no.subtract_init = true;
  const auto rep_sub = diagnostics::analyze_nfa(trained, x, &init, no);
  // How well the first layer's features and the AGOP see the teacher subspace.
  const Matrix<double> proj = u * u.transpose();
  const Matrix<double> w1 = trained.weights[0];
  const auto g = diagnostics::compute_agop(trained, x);
  nlohmann::json j;
  j["config"] = a;
  j["train_rel_mse"] = train_rel;
  j["test_rel_mse"] = test_rel;
  j["cos_nfm1_teacher_projector"] = diagnostics::matrix_cosine(w1.transpose() * w1, proj);
  j["cos_agop1_teacher_projector"] = diagnostics::matrix_cosine(g.layers[0].uncentred, proj);
  j["nfa"] = diagnostics::to_json(rep);
  j["nfa_subtract_init"] = diagnostics::to_json(rep_sub);
  std::cout << j.dump() << std::endl;
  return 0;
}
