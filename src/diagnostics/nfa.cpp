// Neural Feature Ansatz: AGOP by backpropagation, NFM, alpha scans, MLP
// checkpoints. Formulas in include/lowrank/diagnostics/nfa.hpp.
#include "lowrank/diagnostics/nfa.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "lowrank/io/mlp_checkpoint.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::diagnostics {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

using Act = nn::Act<double>;

std::string layer_name(std::size_t l) { return "layers." + std::to_string(l); }

// The NFM's W_l: the layer's effective weight, in double.
Matrix<double> weight(const Mlp& net, std::size_t l) { return net.layers[l].effective_weight(); }

// Backpropagates the unit vector e_k of the output through the engine's
// network (nn::Mlp::input_gradients); `visit` sees (l, D_l) with D_l [n, d_l]
// the gradient of output k w.r.t. the input of layer l, one row per input.
template <class Visit>
void backprop_output(const Mlp& net, const std::vector<Act>& pre, Index n, Index k, Visit&& visit) {
  Act e = Act::Zero(n, net.output_size());
  e.col(k).setOnes();
  const auto d = net.input_gradients(pre, e);
  for (std::size_t l = d.size(); l-- > 0;) visit(l, d[l]);
}

void check_finite_rows(const Matrix<double>& x, const std::string& source) {
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j)
      if (!std::isfinite(x(i, j)))
        throw InputError(source, "input row " + std::to_string(i) + " (0-based), column " + std::to_string(j) + " is " +
                                     (std::isnan(x(i, j)) ? "NaN" : "infinite"));
}

void check_finite_weights(const Mlp& net, const std::string& source) {
  if (net.depth() < 1) throw InvalidArgument("the MLP has no layers");
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Matrix<double> w = weight(net, l);
    for (Index j = 0; j < w.cols(); ++j)
      for (Index i = 0; i < w.rows(); ++i)
        if (!std::isfinite(w(i, j)))
          throw InputError(source, "layer " + layer_name(l) + ": weight W[" + std::to_string(i) + ", " +
                                       std::to_string(j) + "] is " + (std::isnan(w(i, j)) ? "NaN" : "infinite"));
    if (!net.layers[l].spec().bias) continue;
    const auto& b = net.layers[l].b;
    for (Index i = 0; i < b.size(); ++i)
      if (!std::isfinite(b(0, i)))
        throw InputError(source, "layer " + layer_name(l) + ": bias b[" + std::to_string(i) + "] is " +
                                     (std::isnan(b(0, i)) ? "NaN" : "infinite"));
  }
}

std::string shape_str(Index r, Index c) { return "[" + std::to_string(r) + ", " + std::to_string(c) + "]"; }

Matrix<double> symmetric_part(const Matrix<double>& a) { return 0.5 * (a + a.transpose()); }

double trace_of(const Vector<double>& ev) { return ev.sum(); }

}  // namespace

// ---- network -----------------------------------------------------------------

Matrix<double> layer_input_jacobian(const Mlp& net, const Vector<double>& x, Index layer) {
  check_finite_weights(net, "<network>");
  if (x.size() != net.input_size())
    throw InvalidArgument("the input has " + std::to_string(x.size()) + " entries, the network takes " +
                          std::to_string(net.input_size()));
  if (layer < 0 || layer >= net.depth())
    throw InvalidArgument("layer " + std::to_string(layer) + " is out of range [0, " + std::to_string(net.depth()) +
                          ")");
  const Act row = x.transpose();
  std::vector<Act> pre;
  net.apply(row, 0, &pre);
  Matrix<double> jac(net.output_size(), net.layers[static_cast<std::size_t>(layer)].in());
  for (Index k = 0; k < net.output_size(); ++k)
    backprop_output(net, pre, 1, k, [&](std::size_t l, const Act& d) {
      if (static_cast<Index>(l) == layer) jac.row(k) = d.row(0);
    });
  return jac;
}

// ---- AGOP ----------------------------------------------------------------------

AgopResult compute_agop(const Mlp& net, const Matrix<double>& x, const AgopOptions& options,
                        const ProgressCallback& progress) {
  check_finite_weights(net, "<network>");
  if (options.chunk < 1) throw InvalidArgument("AGOP chunk must be >= 1, got " + std::to_string(options.chunk));
  if (x.rows() < 1) throw InvalidArgument("the AGOP needs at least one input row");
  if (x.cols() != net.input_size())
    throw InvalidArgument("inputs have " + std::to_string(x.cols()) + " columns, the network's first layer takes " +
                          std::to_string(net.input_size()));
  check_finite_rows(x, "<inputs>");
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t L = net.layers.size();
  const Index c = net.output_size();
  std::vector<Matrix<double>> g(L);
  std::vector<Matrix<double>> gsum(L);  // [c, d_l]: sum over inputs of each output's gradient
  for (std::size_t l = 0; l < L; ++l) {
    const Index d = net.layers[l].in();
    g[l] = Matrix<double>::Zero(d, d);
    gsum[l] = Matrix<double>::Zero(c, d);
  }
  AgopResult res;
  Index done = 0;
  int chunk_no = 0;
  while (done < x.rows()) {
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    const Index m = std::min(options.chunk, x.rows() - done);
    const Act xc = x.middleRows(done, m);
    std::vector<Act> pre;
    net.apply(xc, 0, &pre);
    for (Index k = 0; k < c; ++k)
      backprop_output(net, pre, m, k, [&](std::size_t l, const Act& d) {
        g[l].selfadjointView<Eigen::Lower>().rankUpdate(d.transpose());
        gsum[l].row(k) += d.colwise().sum();
      });
    done += m;
    ++chunk_no;
    if (progress) {
      ProgressEvent ev;
      ev.stage = "agop";
      ev.iteration = chunk_no;
      ev.objective = static_cast<double>(done);
      ev.change = kNaN;
      ev.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress(ev);
    }
  }
  res.inputs_used = done;
  if (done == 0) throw InvalidArgument("interrupted before the first chunk of inputs: no AGOP to report");
  const double inv_n = 1.0 / static_cast<double>(done);
  res.layers.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    Matrix<double> full = g[l].selfadjointView<Eigen::Lower>();
    res.layers[l].uncentred = full * inv_n;
    const Matrix<double> mean = gsum[l] * inv_n;  // [c, d]: m_k^T rows
    res.layers[l].centred = res.layers[l].uncentred - mean.transpose() * mean;
    // When every input has the same Jacobian (a linear layer stack) the centred
    // AGOP is exactly zero; the subtraction leaves only round-off of size
    // eps * ||G||, which would otherwise give meaningless cosines. Report zero.
    const double scale = res.layers[l].uncentred.norm();
    if (res.layers[l].centred.norm() <= 64.0 * std::numeric_limits<double>::epsilon() * scale)
      res.layers[l].centred.setZero();
  }
  return res;
}

// ---- correlations --------------------------------------------------------------

double matrix_cosine(const Matrix<double>& a, const Matrix<double>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw InvalidArgument("matrix_cosine: shapes " + shape_str(a.rows(), a.cols()) + " and " +
                          shape_str(b.rows(), b.cols()) + " differ");
  const double na = a.norm(), nb = b.norm();
  if (na == 0 || nb == 0) return kNaN;
  return (a.array() * b.array()).sum() / (na * nb);
}

Matrix<double> psd_power(const Matrix<double>& g, double alpha) {
  if (!(alpha > 0)) throw InvalidArgument("psd_power: alpha must be > 0");
  if (g.rows() != g.cols()) throw InvalidArgument("psd_power: the matrix is not square");
  Eigen::SelfAdjointEigenSolver<Matrix<double>> es(symmetric_part(g));
  Vector<double> lam = es.eigenvalues().cwiseMax(0.0);
  if (lam.size() > 0) {  // same round-off floor as PowerCosine
    const double floor = static_cast<double>(lam.size()) * std::numeric_limits<double>::epsilon() * lam.maxCoeff();
    lam = (lam.array() <= floor).select(0.0, lam);
  }
  lam = lam.array().pow(alpha).matrix();
  return es.eigenvectors() * lam.asDiagonal() * es.eigenvectors().transpose();
}

PowerCosine::PowerCosine(const Matrix<double>& a, const Matrix<double>& g) {
  if (a.rows() != a.cols() || g.rows() != g.cols() || a.rows() != g.rows())
    throw InvalidArgument("PowerCosine: A " + shape_str(a.rows(), a.cols()) + " and G " +
                          shape_str(g.rows(), g.cols()) + " must be square of one size");
  Eigen::SelfAdjointEigenSolver<Matrix<double>> es(symmetric_part(g));
  m_lambda = es.eigenvalues().cwiseMax(0.0);
  // Eigenvalues at round-off level of the largest are numerically zero: a
  // fractional power (lambda^(1/L)) would otherwise lift 1e-16 to 1e-4 and
  // bend the cosine of an exactly low-rank AGOP.
  if (m_lambda.size() > 0) {
    const double floor =
        static_cast<double>(m_lambda.size()) * std::numeric_limits<double>::epsilon() * m_lambda.maxCoeff();
    m_lambda = (m_lambda.array() <= floor).select(0.0, m_lambda);
  }
  const Matrix<double> as = symmetric_part(a);
  // <A, V diag(l^alpha) V^T> = sum_i l_i^alpha (V^T A V)_ii
  m_diag = (es.eigenvectors().transpose() * as * es.eigenvectors()).diagonal();
  m_norm_a = as.norm();
}

double PowerCosine::operator()(double alpha) const {
  if (!(alpha > 0)) throw InvalidArgument("alpha must be > 0");
  if (m_norm_a == 0 || m_lambda.size() == 0) return kNaN;
  // Scale by the largest eigenvalue so lambda^alpha cannot overflow or
  // underflow; the cosine is invariant to that scale.
  const double top = m_lambda.maxCoeff();
  if (!(top > 0)) return kNaN;
  double dot = 0, norm2 = 0;
  for (Index i = 0; i < m_lambda.size(); ++i) {
    if (m_lambda(i) <= 0) continue;
    const double p = std::pow(m_lambda(i) / top, alpha);
    dot += p * m_diag(i);
    norm2 += p * p;
  }
  return dot / (m_norm_a * std::sqrt(norm2));
}

double matrix_pearson(const Matrix<double>& a, const Matrix<double>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw InvalidArgument("matrix_pearson: shapes " + shape_str(a.rows(), a.cols()) + " and " +
                          shape_str(b.rows(), b.cols()));
  if (a.size() == 0) return kNaN;
  const Matrix<double> ac = (a.array() - a.mean()).matrix(), bc = (b.array() - b.mean()).matrix();
  const double na = ac.norm(), nb = bc.norm();
  if (!(na > 0) || !(nb > 0)) return kNaN;
  return (ac.cwiseProduct(bc)).sum() / (na * nb);
}

std::vector<double> default_alpha_grid() {
  std::vector<double> g;
  for (int i = 1; i <= 200; ++i) g.push_back(i / 100.0);
  return g;
}

AlphaCorrelations alpha_correlations(const Matrix<double>& a, const Matrix<double>& g, Index depth, Index layer,
                                     const std::vector<double>& grid_in) {
  if (grid_in.empty()) throw InvalidArgument("the alpha grid is empty");
  for (double v : grid_in)
    if (!(v > 0) || !std::isfinite(v)) throw InvalidArgument("alpha grid values must be > 0, got " + std::to_string(v));
  if (depth < 1 || layer < 1 || layer > depth)
    throw InvalidArgument("alpha_correlations: layer " + std::to_string(layer) + " of depth " + std::to_string(depth));
  const PowerCosine f(a, g);
  AlphaCorrelations r;
  r.one = f(1.0);
  r.half = f(0.5);
  r.inv_depth = f(1.0 / static_cast<double>(depth));
  r.layer = f(1.0 / static_cast<double>(depth - layer + 1));
  if (std::isnan(r.one)) {
    r.best_alpha = r.best = kNaN;
    return r;
  }
  std::vector<double> grid = grid_in;
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  std::size_t best = 0;
  double best_v = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < grid.size(); ++i) {
    const double v = f(grid[i]);
    if (v > best_v) {
      best_v = v;
      best = i;
    }
  }
  // Golden-section search for the maximum between the neighbours of the best
  // grid point (the grid point itself is kept if the search finds no better).
  double lo = best > 0 ? grid[best - 1] : grid[best] * 0.5;
  double hi = best + 1 < grid.size() ? grid[best + 1] : grid[best];
  double best_alpha = grid[best];
  if (hi > lo) {
    const double phi = (std::sqrt(5.0) - 1) / 2;
    double x1 = hi - phi * (hi - lo), x2 = lo + phi * (hi - lo);
    double f1 = f(x1), f2 = f(x2);
    for (int it = 0; it < 80 && hi - lo > 1e-10 * hi; ++it) {
      if (f1 < f2) {
        lo = x1;
        x1 = x2;
        f1 = f2;
        x2 = lo + phi * (hi - lo);
        f2 = f(x2);
      } else {
        hi = x2;
        x2 = x1;
        f2 = f1;
        x1 = hi - phi * (hi - lo);
        f1 = f(x1);
      }
    }
    const double xm = 0.5 * (lo + hi), fm = f(xm);
    if (fm > best_v) {
      best_v = fm;
      best_alpha = xm;
    }
  }
  r.best_alpha = best_alpha;
  r.best = best_v;
  return r;
}

// ---- the analysis ----------------------------------------------------------------

NfaReport analyze_nfa(const Mlp& trained, const Matrix<double>& x, const Mlp* init, const NfaOptions& options,
                      const ProgressCallback& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  check_finite_weights(trained, "<network>");
  if (options.alpha_grid.empty()) throw InvalidArgument("the alpha grid is empty");
  for (double v : options.alpha_grid)
    if (!(v > 0) || !std::isfinite(v)) throw InvalidArgument("alpha grid values must be > 0, got " + std::to_string(v));
  if (init) {
    check_finite_weights(*init, "<initial network>");
    if (init->depth() != trained.depth())
      throw InvalidArgument("the initial network has " + std::to_string(init->depth()) + " layers, the trained one " +
                            std::to_string(trained.depth()));
    for (std::size_t l = 0; l < trained.layers.size(); ++l) {
      const auto &a = trained.layers[l], &b = init->layers[l];
      if (a.out() != b.out() || a.in() != b.in())
        throw InvalidArgument("layer " + layer_name(l) + ": the initial weight is " + shape_str(b.out(), b.in()) +
                              ", the trained one " + shape_str(a.out(), a.in()));
    }
    if (init->activation() != trained.activation())
      throw InvalidArgument(std::string("the initial network uses ") + to_string(init->activation()) +
                            ", the trained one " + to_string(trained.activation()));
  }
  NfaReport rep;
  rep.depth = trained.depth();
  rep.subtract_init = options.subtract_init && init != nullptr;
  const AgopResult g = compute_agop(trained, x, options.agop, progress);
  rep.inputs = g.inputs_used;
  rep.status = g.status;
  AgopResult g0;
  if (init) {
    // The initial network's AGOP on the same inputs the trained one used.
    g0 = compute_agop(*init, x.topRows(g.inputs_used), options.agop, progress);
    if (g0.status == Status::Interrupted) rep.status = Status::Interrupted;
  }
  const Index L = trained.depth();
  auto top_eigenvalues = [&](const Matrix<double>& m) {
    Eigen::SelfAdjointEigenSolver<Matrix<double>> es(symmetric_part(m), Eigen::EigenvaluesOnly);
    return Vector<double>(es.eigenvalues().cwiseMax(0.0).reverse());
  };
  for (Index l = 0; l < L; ++l) {
    const auto li = static_cast<std::size_t>(l);
    NfaLayer out;
    out.name = layer_name(li);
    const Matrix<double> w = weight(trained, li);
    out.in = w.cols();
    out.out = w.rows();
    const Matrix<double> raw_nfm = w.transpose() * w;
    Matrix<double> nfm = raw_nfm;
    if (rep.subtract_init) {
      const Matrix<double> dw = w - weight(*init, li);
      nfm = dw.transpose() * dw;
    }
    out.uncentred = alpha_correlations(nfm, g.layers[li].uncentred, L, l + 1, options.alpha_grid);
    out.centred = alpha_correlations(nfm, g.layers[li].centred, L, l + 1, options.alpha_grid);
    out.raw = rep.subtract_init ? alpha_correlations(raw_nfm, g.layers[li].uncentred, L, l + 1, options.alpha_grid)
                                : out.uncentred;
    // The reference code's score: Pearson correlation with G^(1/2).
    out.pearson_half = matrix_pearson(nfm, psd_power(g.layers[li].uncentred, 0.5));
    out.pearson_half_centred = matrix_pearson(nfm, psd_power(g.layers[li].centred, 0.5));
    if (init && g0.layers.size() == g.layers.size()) {
      out.has_init = true;
      const Matrix<double> w0 = weight(*init, li);
      const Matrix<double> nfm0 = w0.transpose() * w0;
      out.init = alpha_correlations(nfm0, g0.layers[li].uncentred, L, l + 1, options.alpha_grid);
      out.baseline = alpha_correlations(nfm0, g.layers[li].uncentred, L, l + 1, options.alpha_grid);
    }
    const Vector<double> ge = top_eigenvalues(g.layers[li].uncentred);
    const Vector<double> fe = top_eigenvalues(nfm);
    out.agop_trace = trace_of(ge);
    out.agop_stable_rank = ge(0) > 0 ? out.agop_trace / ge(0) : 0;
    out.feature_trace = trace_of(fe);
    out.feature_stable_rank = fe(0) > 0 ? out.feature_trace / fe(0) : 0;
    const Index k = options.eigenvalues > 0 ? std::min(options.eigenvalues, ge.size()) : ge.size();
    out.agop_eigenvalues = ge.head(k);
    out.feature_eigenvalues = fe.head(std::min(k, fe.size()));
    rep.layers.push_back(std::move(out));
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

// ---- checkpoints ------------------------------------------------------------------

void save_mlp_checkpoint(const std::string& dir, const Mlp& net, std::int64_t step,
                         const std::map<std::string, std::string>& extra, bool f64) {
  check_finite_weights(net, "<network>");
  io::MlpCheckpointFile ck;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    ck.weights.push_back(weight(net, l));
    ck.biases.push_back(net.layers[l].spec().bias ? Vector<double>(net.layers[l].b.row(0).transpose())
                                                  : Vector<double>());
  }
  ck.activation = nn::to_string(net.activation());
  ck.step = step;
  io::write_mlp_checkpoint(dir, ck, extra, f64);
}

MlpCheckpoint load_mlp_checkpoint(const std::string& path) {
  io::MlpCheckpointFile f = io::read_mlp_checkpoint(path);
  MlpCheckpoint ck;
  nn::Activation activation{};
  try {
    activation = nn::parse_activation(f.activation);
  } catch (const InvalidArgument& e) {
    throw InputError(f.path, std::string("metadata: ") + e.what());
  }
  // The file's sizes were checked by io (each tensor against "sizes"); a
  // chained-size error is still named with the file.
  try {
    ck.net = Mlp::from_weights(f.weights, f.biases, activation);
  } catch (const InvalidArgument& e) {
    throw InputError(f.path, e.what());
  }
  check_finite_weights(ck.net, f.path);
  ck.step = f.step;
  ck.inputs = std::move(f.inputs);
  ck.init = std::move(f.init);
  ck.metadata = std::move(f.metadata);
  return ck;
}

Matrix<double> load_nfa_inputs(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(path, "no such file (expected an .npy array of inputs [n, d])");
  io::NpyArray a = io::read_npy(path);
  if (a.shape.size() > 2)
    throw InputError(path, "inputs must be a 1-D or 2-D array, got " + std::to_string(a.shape.size()) + "-D");
  if (a.values.rows() < 1 || a.values.cols() < 1) throw InputError(path, "the inputs array is empty");
  check_finite_rows(a.values, path);
  return std::move(a.values);
}

}  // namespace lowrank::diagnostics
