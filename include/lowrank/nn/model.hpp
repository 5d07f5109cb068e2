#pragma once
// Models of the nn engine (conventions in layers.hpp):
//   Gpt  -- a LLaMA-style decoder: token embedding, n_layer blocks of
//           x += Attn(RMSNorm(x)) (causal, rotary, n_head heads) and
//           x += SwiGLU-MLP(RMSNorm(x)), a final RMSNorm and an untied dense
//           LM head. The q, k, v, o, gate, up and down projections take the
//           LinearSpec (dense | lowrank | sltrain | galore); embedding, norms
//           and head stay dense.
//   Mlp  -- a plain multilayer perceptron (ReLU / GELU / tanh / identity), with
//           or without biases, for small regression (MSE) and classification
//           (softmax CE) tasks and the NFA (diagnostics/nfa.hpp).
// Parameter names (stable, used by checkpoints and diagnostics):
//   "wte", "blocks.<l>.ln1", "blocks.<l>.attn.{q,k,v,o}.<W|A|B|S>",
//   "blocks.<l>.ln2", "blocks.<l>.mlp.{gate,up,down}.<W|A|B|S>", "ln_f",
//   "lm_head.W"; Mlp: "layers.<i>.<W|A|B|S|b>".
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/nn/linear.hpp"

namespace lowrank::nn {

struct GptConfig {
  Index vocab = 65;
  Index context = 64;  ///< T
  Index n_layer = 4;
  Index n_head = 4;
  Index width = 128;  ///< C (multiple of n_head, head size even)
  Index hidden = 0;   ///< SwiGLU width; 0 = 8C/3 rounded up to a multiple of 16
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  LinearSpec linear;       ///< parameterization of the block projections
  std::uint64_t seed = 0;  ///< initialisation seed

  Index hidden_size() const;
  /// Throws InvalidArgument for an inconsistent configuration.
  void validate() const;
};

/// Activation buffers of one forward pass (kept for backward).
template <class T>
struct BlockActs {
  Act<T> x_in, ln1, q, k, v, att, probs, x_mid, ln2, a, b, h;
  Vector<T> rstd1, rstd2;
};

/// Keys (after the rotary rotation) and values of every layer for the first
/// `length` positions of a sequence: k[l], v[l] are [context, C], rows
/// [0, length) in use (Gpt::new_cache allocates them once, so appending a
/// token copies only its own row).
template <class T>
struct KvCache {
  std::vector<Act<T>> k, v;
  Index length = 0;
};

template <class T>
class Gpt {
 public:
  Gpt() = default;
  explicit Gpt(const GptConfig& config);
  const GptConfig& config() const { return m_cfg; }

  /// Forward pass on tokens [B*T] (batch-major); returns the mean
  /// cross-entropy against targets [B*T] (or NaN when targets is empty, in
  /// which case only logits() is filled).
  double forward(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& targets, Index B, Index T_);
  /// An empty key/value cache for this model.
  KvCache<T> new_cache() const;
  /// Inference forward of `tokens` at positions cache.length, cache.length + 1,
  /// ... after the cached prefix (the same block computation as forward(), at
  /// a position offset): appends their keys and values to the cache and
  /// returns their logits [n, V], row t = logits after prefix.tokens[0..t].
  /// Attention costs O(n (cache.length + n) C), so generating one token at a
  /// time costs O(context) per token instead of a full forward. Keeps no
  /// activations: a pending backward() is unaffected. Throws InvalidArgument
  /// for no tokens, a total beyond the context, a token outside the
  /// vocabulary or a cache of another shape.
  Act<T> decode(KvCache<T>& cache, const std::vector<std::int32_t>& tokens) const;
  /// B continuations of L tokens each (tokens [B*L], batch-major) of the
  /// cached prefix in one batched pass; the cache is unchanged. Returns logits
  /// [B*L, V], row b*L + t = logits after prefix.cont_b[0..t].
  Act<T> decode_branches(const KvCache<T>& cache, const std::vector<std::int32_t>& tokens, Index B, Index L) const;
  /// Backward pass of the last forward (which must have had targets):
  /// accumulates every parameter gradient.
  void backward();
  void zero_grad();
  /// Logits [B*T, vocab] of the last forward.
  const Act<T>& logits() const { return m_logits; }
  /// Every parameter tensor in a fixed order.
  std::vector<ParamRef<T>> parameters();
  std::vector<Linear<T>*> linears();
  /// Bytes currently held by activation buffers (measured from the buffers).
  std::size_t activation_bytes() const;
  /// Bytes held by SLTrain's reconstructed dense weights (see Linear).
  std::size_t weight_cache_bytes() const;

  Act<T> wte, dwte;
  struct Block {
    Act<T> ln1, dln1, ln2, dln2;
    Linear<T> q, k, v, o, gate, up, down;
  };
  std::vector<Block> blocks;
  Act<T> ln_f, dln_f;
  Linear<T> lm_head;

 private:
  Act<T> run_cached(const KvCache<T>& prefix, const std::vector<std::int32_t>& tokens, Index B, Index L,
                    KvCache<T>* grow) const;
  GptConfig m_cfg;
  Index m_B = 0, m_T = 0;
  std::vector<std::int32_t> m_tokens, m_targets;
  std::vector<BlockActs<T>> m_acts;
  Act<T> m_x_final, m_lnf_out, m_logits, m_probs;
  Vector<T> m_rstd_f;
};

/// Analytic activation bytes of one Gpt forward at batch B (what
/// Gpt::activation_bytes() measures), for the memory report.
std::size_t gpt_activation_bytes_analytic(const GptConfig& c, Index B, std::size_t scalar_bytes);
/// Analytic bytes of SLTrain's reconstructed dense weights: the sum of
/// out*in over the block projections (0 for the other parameterizations).
std::size_t gpt_weight_cache_bytes_analytic(const GptConfig& c, std::size_t scalar_bytes);
/// Analytic peak of the temporaries Gpt::backward holds at once (N = B*T,
/// C = width, F = hidden, V = vocab): dlogits [N,V] for the whole pass, the
/// residual gradient dx, the scratch dtmp, d(gate), d(up), dq, dk, dv and the
/// two norm-input gradients, i.e. N*V + max(7 N*C + 2 N*F, 5 N*C + 3 N*F),
/// plus SLTrain's dense dW [F,C] of one layer. Freed when backward returns.
std::size_t gpt_workspace_bytes_analytic(const GptConfig& c, Index B, std::size_t scalar_bytes);

struct MlpConfig {
  std::vector<Index> sizes;  ///< {in, hidden..., out}
  Activation activation = Activation::ReLU;
  LinearSpec linear;  ///< hidden layers; the output layer is always dense
  bool bias = true;   ///< every layer has a bias (false: y = x W^T only)
  std::uint64_t seed = 0;
};

template <class T>
class Mlp {
 public:
  Mlp() = default;
  explicit Mlp(const MlpConfig& config);
  /// A dense network with the given weights [out, in] (layer l maps the
  /// input of layer l to W_l h + b_l) and biases (an empty vector: that layer
  /// has none), e.g. a checkpoint or a network built in closed form. Throws
  /// InvalidArgument for no layers, an empty weight, chained sizes that do
  /// not match or a bias of the wrong length (naming "layers.<l>").
  static Mlp from_weights(const std::vector<Matrix<double>>& weights, const std::vector<Vector<double>>& biases,
                          Activation activation);
  /// The same network in precision U with dense layers holding each layer's
  /// effective weight (LowRank / SLTrain enter as B A (+ S)).
  template <class U>
  Mlp<U> dense_copy() const;

  const MlpConfig& config() const { return m_cfg; }
  Activation activation() const { return m_cfg.activation; }
  Index depth() const { return static_cast<Index>(layers.size()); }
  Index input_size() const { return layers.empty() ? 0 : layers.front().in(); }
  Index output_size() const { return layers.empty() ? 0 : layers.back().out(); }

  /// Output [N, sizes.back()].
  const Act<T>& forward(const Act<T>& x);
  /// Given dL/d(output), accumulates parameter gradients.
  void backward(const Act<T>& dout);
  /// Inference from the input h [N, d_from] of layer `from` (0: the ordinary
  /// forward pass); keeps nothing in the model (const). When `pre` is given
  /// it receives the pre-activation of every hidden layer from `from` on
  /// (what input_gradients needs). Equal to forward() up to rounding.
  Act<T> apply(const Act<T>& h, Index from = 0, std::vector<Act<T>>* pre = nullptr) const;
  /// Backpropagation to the inputs only: given the hidden pre-activations
  /// that apply(x, 0, &pre) recorded and dout [N, sizes.back()], returns
  /// result[l] [N, d_l] = the gradient of sum_i <dout_i, f(x_i)> with respect
  /// to the input of layer l, for every l (no parameter gradient is touched).
  /// With dout = e_k in every row these are the rows of the Jacobians the
  /// AGOP sums (diagnostics/nfa.hpp).
  std::vector<Act<T>> input_gradients(const std::vector<Act<T>>& pre, const Act<T>& dout) const;
  void zero_grad();
  std::vector<ParamRef<T>> parameters();
  std::vector<Linear<T>> layers;

 private:
  MlpConfig m_cfg;
  std::vector<Act<T>> m_in, m_pre;  // input of each layer, pre-activation of each hidden layer
  Act<T> m_out;
};

}  // namespace lowrank::nn
