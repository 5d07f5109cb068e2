// One NFA run for docs/nfa.md: train an engine MLP (nn::Mlp, nn::train_mlp,
// MSE) on a low-rank teacher y = g(U^T x), save the initial and final
// checkpoints, then measure the Neural Feature Ansatz with
// diagnostics::analyze_nfa and print one JSON line. Both branches train
// through the engine (one MLP, one optimiser): AdamW on minibatches for the
// ReLU/GELU/tanh teacher, full-batch SGD for deep linear networks.
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
//
// activation=linear trains a deep linear network instead (nn::Mlp<double> with
// the identity activation and no biases, full-batch gradient descent through
// nn::train_mlp with OptimizerOptions::sgd): teacher y = A x with A [outputs, d]
// of rank `rank` (singular values rank, rank-1, ..., 1), no biases, loss
// (1/2n) ||f(X) - Y||_F^2. init=balanced builds W_l = Q_{l+1} (s I_k) Q_l^T
// with orthonormal Q_l [d_l, k], k = min(d, width, outputs), s = init_scale,
// so W_{l+1}^T W_{l+1} = W_l W_l^T exactly (gradient flow conserves
// W_{l+1}^T W_{l+1} - W_l W_l^T, so the trained net stays balanced up to the
// step size); init=random draws N(0, init_scale^2 / fan_in) entries. Theory
// for a balanced net: W_l^T W_l = G_l^(1/(L-l+1)), alpha = 1/L for layer 1.
//   extra keys: outputs [10] init [balanced]   (steps, lr, wd as above; full batch;
//   wd is plain L2 weight decay added to the gradient, wd * W_l)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <nlohmann/json.hpp>

#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/nn/mlp_train.hpp"
#include "report_json.hpp"

using namespace lowrank;

namespace {

double chain(const Eigen::VectorXd& z) {
  double y = 0;
  for (Index i = 0; i + 1 < z.size(); ++i) y += z(i) * z(i + 1);
  return y;
}

// Orthonormal columns [rows, k] from a Gaussian matrix.
template <class Rng>
Matrix<double> orthonormal(Index rows, Index k, Rng& rng) {
  std::normal_distribution<double> normal;
  Matrix<double> g(rows, k);
  for (Index i = 0; i < g.size(); ++i) g.data()[i] = normal(rng);
  Eigen::HouseholderQR<Matrix<double>> qr(g);
  return qr.householderQ() * Matrix<double>::Identity(rows, k);
}

// Deep linear branch (activation=linear): see the header comment.
int run_deep_linear(std::map<std::string, std::string>& a) {
  const Index depth = std::stol(a["depth"]), r = std::stol(a["rank"]), d = std::stol(a["d"]);
  const Index width = std::stol(a["width"]), n = std::stol(a["n"]), n_test = std::stol(a["test"]);
  const Index c = std::stol(a["outputs"]);
  const long steps = std::stol(a["steps"]);
  const double lr = std::stod(a["lr"]), scale = std::stod(a["init_scale"]);
  const std::uint64_t seed = std::stoull(a["seed"]);
  const std::string out = a["out"];
  if (r < 1 || r > std::min(d, c) || depth < 2 || (a["init"] != "balanced" && a["init"] != "random")) {
    std::fprintf(stderr, "nfa_teacher: linear needs 1 <= rank <= min(d, outputs), depth >= 2, init=balanced|random\n");
    return 2;
  }
  std::mt19937_64 rng(seed * 7919 + 17);
  std::normal_distribution<double> normal;
  Matrix<double> sv = Matrix<double>::Zero(r, r);
  for (Index i = 0; i < r; ++i) sv(i, i) = static_cast<double>(r - i);
  const Matrix<double> teacher = orthonormal(c, r, rng) * sv * orthonormal(d, r, rng).transpose();  // [c, d]
  auto gaussian = [&](Index rows, Index cols) {
    Matrix<double> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
    return m;
  };
  const Matrix<double> x = gaussian(n, d), xt = gaussian(n_test, d);
  const Matrix<double> y = x * teacher.transpose(), yt = xt * teacher.transpose();

  std::vector<Index> sizes{d};
  for (Index l = 0; l + 1 < depth; ++l) sizes.push_back(width);
  sizes.push_back(c);
  const Index k = std::min({d, width, c});
  std::vector<Matrix<double>> q;
  for (Index l = 0; l <= depth; ++l) q.push_back(orthonormal(sizes[static_cast<std::size_t>(l)], k, rng));
  std::vector<Matrix<double>> w0;
  for (Index l = 0; l < depth; ++l) {
    const auto fo = sizes[static_cast<std::size_t>(l + 1)], fi = sizes[static_cast<std::size_t>(l)];
    w0.push_back(
        a["init"] == "balanced"
            ? Matrix<double>(scale * q[static_cast<std::size_t>(l + 1)] * q[static_cast<std::size_t>(l)].transpose())
            : Matrix<double>(gaussian(fo, fi) * (scale / std::sqrt(static_cast<double>(fi)))));
  }
  const diagnostics::Mlp init =
      diagnostics::Mlp::from_weights(w0, std::vector<Vector<double>>(w0.size()), diagnostics::MlpActivation::Identity);
  diagnostics::Mlp net = init;
  std::filesystem::create_directories(out);
  io::write_npy(out + "/inputs.npy", x);
  diagnostics::save_mlp_checkpoint(out + "/init", init, 0);

  // Full-batch GD on (1/2n) ||X M^T - Y||_F^2 + (wd/2) sum_l ||W_l||_F^2,
  // M = W_L ... W_1, through the engine's trainer (SGD, constant step, decay
  // w (1 - lr wd)). The data term depends on X and Y only through
  // Sigma = X^T X / n and C = Y^T X / n, so the trainer is given d rows with
  // the same statistics instead of n: X' = sqrt(d) R with R^T R = Sigma
  // (Cholesky) and Y' = sqrt(d) R^-T C^T, whose loss (1/2d) ||X' M^T - Y'||^2
  // differs from the original by a constant, so every iterate is the same and a
  // step costs O(L width^2 d) instead of O(L width d n). Weight decay makes the
  // imbalance W_{l+1}^T W_{l+1} - W_l W_l^T decay like (1 - 2 lr wd)^t under
  // gradient flow.
  const double wd = std::stod(a["wd"]);
  const auto L = static_cast<std::size_t>(depth);
  const Matrix<double> sigma = x.transpose() * x / static_cast<double>(n);
  const Matrix<double> cross = y.transpose() * x / static_cast<double>(n);
  const Eigen::LLT<Matrix<double>> llt(sigma);
  const Matrix<double> r_up = llt.matrixU();
  const double sd = std::sqrt(static_cast<double>(d));
  const nn::Act<double> xs = sd * r_up;
  const nn::Act<double> ys =
      sd * Matrix<double>(r_up.transpose().triangularView<Eigen::Lower>().solve(cross.transpose()));
  nn::MlpTrainOptions to;
  to.steps = steps;
  to.batch = 0;
  to.optim.sgd = true;
  to.optim.lr = lr;
  to.optim.weight_decay = wd;
  to.optim.warmup_steps = 0;
  to.optim.min_lr_ratio = 1.0;
  to.optim.grad_clip = 0;
  to.optim.total_steps = std::max<long>(1, steps);
  nn::train_mlp(net, xs, ys, to);
  auto rel_mse = [&](const Matrix<double>& xm, const Matrix<double>& ym) {
    const Matrix<double> p = net.apply(nn::Act<double>(xm));
    return (p - ym).squaredNorm() / ym.squaredNorm();
  };
  double imbalance = 0, scale_ref = 0;
  for (std::size_t l = 0; l + 1 < L; ++l) {
    const Matrix<double> wl = net.layers[l].W, wn = net.layers[l + 1].W;
    imbalance = std::max(imbalance, (wn.transpose() * wn - wl * wl.transpose()).norm());
    scale_ref = std::max(scale_ref, (wl * wl.transpose()).norm());
  }
  diagnostics::save_mlp_checkpoint(out + "/final", net, steps,
                                   {{"inputs", "../inputs.npy"},
                                    {"init", "../init"},
                                    {"task", "linear teacher d=" + a["d"] + " r=" + a["rank"]}});
  diagnostics::NfaOptions no;
  const auto rep = diagnostics::analyze_nfa(net, x, &init, no);
  nlohmann::json j;
  j["config"] = a;
  j["train_rel_mse"] = rel_mse(x, y);  // relative to ||Y||^2 (the teacher has no mean)
  j["test_rel_mse"] = rel_mse(xt, yt);
  j["max_imbalance_rel"] = imbalance / scale_ref;  // max_l ||W_{l+1}^T W_{l+1} - W_l W_l^T|| / ||W_l W_l^T||
  j["nfa"] = frontend::to_json(rep);
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a{{"depth", "3"},      {"rank", "2"},       {"d", "20"},
                                       {"width", "64"},     {"n", "1000"},       {"test", "2000"},
                                       {"steps", "4000"},   {"batch", "128"},    {"lr", "0.003"},
                                       {"wd", "0"},         {"seed", "0"},       {"activation", "relu"},
                                       {"out", "nfa_run"},  {"init_scale", "1"}, {"outputs", "10"},
                                       {"init", "balanced"}};
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const auto eq = s.find('=');
    if (eq == std::string::npos || !a.count(s.substr(0, eq))) {
      std::fprintf(stderr, "nfa_teacher: unknown argument '%s'\n", argv[i]);
      return 2;
    }
    a[s.substr(0, eq)] = s.substr(eq + 1);
  }
  if (a["activation"] == "linear") return run_deep_linear(a);
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
  const diagnostics::Mlp init = model.dense_copy<double>();
  std::filesystem::create_directories(out);
  io::write_npy(out + "/inputs.npy", x);
  diagnostics::save_mlp_checkpoint(out + "/init", init, 0);

  nn::MlpTrainOptions to;
  to.optim.lr = std::stod(a["lr"]);
  to.optim.weight_decay = std::stod(a["wd"]);
  to.optim.warmup_steps = std::min<long>(100, steps / 10);
  to.optim.total_steps = steps;
  to.optim.grad_clip = 1.0;
  to.steps = steps;
  to.batch = batch;
  to.seed = seed * 7919 + 18;
  nn::train_mlp(model, nn::Act<float>(x.cast<float>()), nn::Act<float>(y.cast<float>()), to);
  auto rel_mse = [&](const Matrix<double>& xs, const Matrix<double>& ys, double var) {
    const nn::Act<float> xf = xs.cast<float>();
    const Matrix<double> p = model.forward(xf).cast<double>();
    return (p - ys).squaredNorm() / static_cast<double>(ys.rows()) / var;
  };
  const double var_y = (y.array() - y.mean()).square().mean();
  const double train_rel = rel_mse(x, y, var_y), test_rel = rel_mse(xt, yt, var_t);
  const diagnostics::Mlp trained = model.dense_copy<double>();
  diagnostics::save_mlp_checkpoint(out + "/final", trained, steps,
                                   {{"inputs", "../inputs.npy"},
                                    {"init", "../init"},
                                    {"task", "chain teacher d=" + a["d"] + " r=" + a["rank"]}});

  // ---- NFA ----
  diagnostics::NfaOptions no;
  no.subtract_init = false;  // "nfa": the raw W^T W as primary (older runs); "nfa_subtract_init": W - W_0
  const auto rep = diagnostics::analyze_nfa(trained, x, &init, no);
  no.subtract_init = true;
  const auto rep_sub = diagnostics::analyze_nfa(trained, x, &init, no);
  // How well the first layer's features and the AGOP see the teacher subspace.
  const Matrix<double> proj = u * u.transpose();
  const Matrix<double> w1 = trained.layers[0].W;
  const auto g = diagnostics::compute_agop(trained, x);
  nlohmann::json j;
  j["config"] = a;
  j["train_rel_mse"] = train_rel;
  j["test_rel_mse"] = test_rel;
  j["cos_nfm1_teacher_projector"] = diagnostics::matrix_cosine(w1.transpose() * w1, proj);
  j["cos_agop1_teacher_projector"] = diagnostics::matrix_cosine(g.layers[0].uncentred, proj);
  j["nfa"] = frontend::to_json(rep);
  j["nfa_subtract_init"] = frontend::to_json(rep_sub);
  std::cout << j.dump() << std::endl;
  return 0;
}
