#pragma once
// The Neural Feature Ansatz (NFA) for multilayer perceptrons (issue 8, part 2).
//
// Radhakrishnan, Beaglehole, Pandit, Belkin, "Mechanism for feature learning
// in neural networks and backpropagation-free machine learning models",
// Science 383 (2024): after training, the neural feature matrix (NFM) of a
// layer is proportional to a power of the average gradient outer product
// (AGOP) of the network with respect to that layer's input,
//
//     W_l^T W_l  ~  G_l^alpha,   G_l = (1/n) sum_i J_l(x_i) J_l(x_i)^T,
//
// where the network is f = W_L s(... s(W_1 x + b_1) ...) + b_L, layer l maps
// its input h_{l-1} (h_0 = x) to W_l h_{l-1} + b_l, and J_l(x) [d_{l-1}, c] is
// the Jacobian of the c outputs with respect to h_{l-1} (so a multi-output
// network sums J J^T over its outputs). The paper states alpha = 1; alpha =
// 1/2 is the variant its later work uses.
//
// Deep linear networks (s = identity) with balanced weights
// (W_{l+1}^T W_{l+1} = W_l W_l^T) give the exact law: J_l = (W_L ... W_l)^T,
// so G_l = (W_l^T W_l)^(L-l+1), i.e. alpha = 1/(L-l+1) for layer l and 1/L for
// the first layer (tests/diagnostics/nfa_test.cpp builds such a network in
// closed form and recovers these exponents).
//
// Agreement is measured by the uncentred cosine similarity of two matrices,
//     cos(A, B) = <A, B>_F / (||A||_F ||B||_F),
// for alpha in {1, 1/2, 1/L, 1/(L-l+1)} and the best alpha on a grid. Powers
// of G come from one symmetric eigendecomposition G = V diag(lambda) V^T with
// negative eigenvalues (round-off) clipped to 0; then
//     cos(A, G^alpha) = sum_i lambda_i^alpha (V^T A V)_ii /
//                       (||A||_F sqrt(sum_i lambda_i^(2 alpha))),
// so a whole alpha grid costs O(d) per point after one O(d^3) eigensolve.
//
// The centred AGOP replaces J by J - mean(J) (the covariance of the
// Jacobians, summed over outputs): G_c = G - sum_k m_k m_k^T with m_k the mean
// gradient of output k. It removes the part of G that a linear model of the
// inputs already explains; it is zero for a linear network (cos is then NaN).
//
// Baselines: the NFA of the network at initialisation (its own NFM against its
// own AGOP) and the initial NFM against the trained AGOP, which says how much
// of the trained correlation a random W_0 already has.
//
// Primary metric (issue 35): with an initial network the NFM is that of the
// update, (W_l - W_l^0)^T (W_l - W_l^0), as the paper's reference code does by
// default (aradha/agop_feature_learning, ansatz_verification/mlps/
// verify_deep_NFA.py: remove_init = True). The raw W_l^T W_l keeps a random
// W_0^T W_0 ~ c I in it, whose cosine with G^alpha is ~0.9 for small alpha
// (the "init floor" of docs/nfa.md); it is still reported (NfaLayer::raw).
// The reference code also scores by the Pearson correlation of the entries
// (both matrices minus their mean entry) against G^(1/2); NfaLayer::pearson_half
// is that number, for comparison with the paper's figures.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/types.hpp"
#include "lowrank/nn/model.hpp"

namespace lowrank::diagnostics {

/// Element-wise activation between layers: the engine's (nn::Activation;
/// Identity, named "linear", makes a deep linear network). Names are read and
/// written by nn::parse_activation / nn::to_string.
using MlpActivation = nn::Activation;

/// The network the NFA analyses is the engine's own MLP in double precision:
/// layer l (0-based here) computes h_{l+1} = s(W_l h_l + b_l), the last layer
/// without s, with W_l [out, in] = layers[l].effective_weight() (LowRank /
/// SLTrain layers enter through their effective weight) and b_l its bias or
/// none. Its forward pass (nn::Mlp::apply) and input gradients
/// (nn::Mlp::input_gradients) are the ones the engine trains with
/// (nn::train_mlp); a float model enters as model.dense_copy<double>(), a
/// network given by its matrices as nn::Mlp<double>::from_weights.
using Mlp = nn::Mlp<double>;

/// Jacobian [c, d_layer] of the c outputs with respect to the input of layer
/// `layer`, at the network input x (d_0 entries), by backpropagation.
Matrix<double> layer_input_jacobian(const Mlp& net, const Vector<double>& x, Index layer);

/// AGOP of one layer: G = (1/n) sum_i J_i J_i^T and the centred version.
struct LayerAgop {
  Matrix<double> uncentred;  ///< [d, d]
  Matrix<double> centred;    ///< [d, d], G - sum_k m_k m_k^T
};

struct AgopOptions {
  Index chunk = 256;  ///< inputs per backward sweep (bounds memory)
};

struct AgopResult {
  std::vector<LayerAgop> layers;  ///< one per layer, input of layer l
  Index inputs_used = 0;          ///< < rows of x when interrupted
  Status status = Status::Success;
};

/// AGOP of every layer over the rows of x [n, d_0] (n >= 1). One backward
/// sweep per output and chunk of inputs; progress reports one event per
/// chunk; on interrupt_requested() the means cover the chunks done (status
/// Interrupted). Throws InvalidArgument for an input width that is not d_0,
/// no rows, or chunk < 1; InputError naming the row for NaN/Inf inputs.
AgopResult compute_agop(const Mlp& net, const Matrix<double>& x, const AgopOptions& options = {},
                        const ProgressCallback& progress = {});

/// cos(A, B) = <A, B>_F / (||A||_F ||B||_F); NaN when either norm is 0.
double matrix_cosine(const Matrix<double>& a, const Matrix<double>& b);

/// G^alpha of a symmetric positive semidefinite G (negative eigenvalues of the
/// symmetric part clipped to 0). alpha > 0, else InvalidArgument.
Matrix<double> psd_power(const Matrix<double>& g, double alpha);

/// cos(A, G^alpha) for many alpha after one eigendecomposition of G.
class PowerCosine {
 public:
  /// a, g symmetric [d, d] (their symmetric parts are used).
  PowerCosine(const Matrix<double>& a, const Matrix<double>& g);
  /// alpha > 0. NaN when A = 0 or G has no positive eigenvalue.
  double operator()(double alpha) const;
  /// Eigenvalues of G, clipped at 0, decreasing.
  Vector<double> eigenvalues() const { return m_lambda.reverse(); }

 private:
  Vector<double> m_lambda;  // increasing, clipped
  Vector<double> m_diag;    // diag(V^T A V)
  double m_norm_a = 0;
};

/// Correlations at the reported exponents and the best one.
struct AlphaCorrelations {
  double one = 0;         ///< alpha = 1 (the paper's NFA)
  double half = 0;        ///< alpha = 1/2
  double inv_depth = 0;   ///< alpha = 1/L (deep linear theory, first layer)
  double layer = 0;       ///< alpha = 1/(L-l+1) (deep linear theory, layer l, 1-based)
  double best_alpha = 0;  ///< argmax over the grid, refined by golden section
  double best = 0;        ///< cos at best_alpha
};

/// Evaluates cos(A, G^alpha) on `grid` (each > 0), refines the best grid point
/// by golden-section search between its neighbours, and fills the fixed
/// exponents (depth L, layer 1-based l). All NaN when cos is undefined.
AlphaCorrelations alpha_correlations(const Matrix<double>& a, const Matrix<double>& g, Index depth, Index layer,
                                     const std::vector<double>& grid);

/// The default alpha grid: 0.01, 0.02, ..., 2.00.
std::vector<double> default_alpha_grid();

/// Pearson correlation of the entries of A and B (each minus its mean entry),
/// the reference code's `correlate`; NaN when either is constant.
double matrix_pearson(const Matrix<double>& a, const Matrix<double>& b);

struct NfaOptions {
  std::vector<double> alpha_grid = default_alpha_grid();
  /// Primary NFM = (W - W_0)^T (W - W_0) when an initial network is given (the
  /// reference code's default); false, or no init: the raw W^T W.
  bool subtract_init = true;
  AgopOptions agop;
  /// Eigenvalues of G kept in the report (largest first); 0 = all.
  Index eigenvalues = 10;
};

struct NfaLayer {
  std::string name;  ///< "layers.<l>" (0-based, the engine's name)
  Index in = 0, out = 0;
  AlphaCorrelations uncentred;      ///< primary NFM vs AGOP
  AlphaCorrelations centred;        ///< primary NFM vs centred AGOP
  AlphaCorrelations raw;            ///< W^T W vs AGOP (equals uncentred when the primary is raw)
  double pearson_half = 0;          ///< Pearson(primary NFM, G^(1/2)), the reference code's score
  double pearson_half_centred = 0;  ///< the same against the centred AGOP
  bool has_init = false;
  AlphaCorrelations init;                       ///< initial network: W_0^T W_0 vs its own AGOP
  AlphaCorrelations baseline;                   ///< W_0^T W_0 vs the trained AGOP
  Vector<double> agop_eigenvalues;              ///< of G, decreasing (clipped at 0)
  Vector<double> feature_eigenvalues;           ///< of the NFM, decreasing
  double agop_trace = 0, agop_stable_rank = 0;  ///< trace, trace / lambda_max
  double feature_trace = 0, feature_stable_rank = 0;
};

struct NfaReport {
  Index depth = 0;
  Index inputs = 0;            ///< inputs averaged over
  bool subtract_init = false;  ///< whether the primary NFM is that of W - W_0
  std::vector<NfaLayer> layers;
  Status status = Status::Success;  ///< Interrupted: AGOP over the first `inputs` rows only
  double seconds = 0;
};

/// Runs the analysis of `trained` on the inputs x [n, d_0]. `init` (may be
/// null) is the same architecture at initialisation: it gives the baselines
/// and, with subtract_init (the default), the primary NFM of W - W_0; without
/// it the primary is the raw NFM (report.subtract_init says which). Throws
/// InvalidArgument for an init of another architecture (naming the layer and
/// both shapes) or an empty alpha grid / alpha <= 0.
NfaReport analyze_nfa(const Mlp& trained, const Matrix<double>& x, const Mlp* init = nullptr,
                      const NfaOptions& options = {}, const ProgressCallback& progress = {});

// ---- MLP checkpoints ---------------------------------------------------------
// The engine's Trainer checkpoints GPT models only, so MLPs trained for the
// NFA (nn::train_mlp in experiments/nfa/) are saved in a small format of their own, read and
// written by io/mlp_checkpoint.hpp (layout there): "model.layers.<l>.W" and
// ".b" tensors with metadata activation, sizes, step and optionally inputs (a
// .npy of the training inputs) and init (the network at step 0), which
// `lowrank nfa` uses when no --inputs / --init is given.

struct MlpCheckpoint {
  Mlp net;  ///< dense layers
  std::int64_t step = 0;
  std::string inputs;                           ///< metadata "inputs" resolved against DIR; empty = none
  std::string init;                             ///< metadata "init" resolved against DIR; empty = none
  std::map<std::string, std::string> metadata;  ///< everything in __metadata__
};

/// Writes DIR/checkpoint.safetensors (atomically; creates DIR). `extra`
/// metadata (e.g. "inputs", "init", a task description) is added; it may not
/// override format, version, lowrank_version, activation, sizes or step
/// (InvalidArgument). Layers are written as their effective weights; F64 when
/// `f64`, else F32.
void save_mlp_checkpoint(const std::string& dir, const Mlp& net, std::int64_t step,
                         const std::map<std::string, std::string>& extra = {}, bool f64 = true);

/// Reads a checkpoint written by save_mlp_checkpoint from DIR or from the
/// .safetensors file itself. Throws InputError for a missing file, another
/// format (a GPT checkpoint is named as such), missing or mis-shaped tensors
/// (naming the tensor and both shapes) and NaN/Inf weights (naming the layer).
MlpCheckpoint load_mlp_checkpoint(const std::string& path);

/// Reads inputs [n, d] from .npy (2-D; a 1-D array is n x 1). Throws
/// InputError for an unreadable file, no rows, or NaN/Inf (naming the row).
Matrix<double> load_nfa_inputs(const std::string& path);

}  // namespace lowrank::diagnostics
