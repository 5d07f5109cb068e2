#pragma once
// Parameterized linear layers y = x W^T (+ b) for the nn engine (conventions
// in layers.hpp). The weight W [out, in] is one of
//   Dense    W itself;
//   LowRank  W = (alpha/r) B A, B [out, r], A [r, in];
//   SLTrain  W = (alpha/r) B A + S, S with round(delta*out*in) nonzeros on a
//            support drawn once uniformly at random and kept fixed; only the
//            nonzero values of S are parameters (Han et al. 2024);
//   GaLore   W dense; the difference is in the optimiser, which keeps its
//            AdamW moments in an r-dimensional projection of dW (Zhao et al.
//            2024, see optim.hpp).
// Initialisation: W and A uniform in +-1/sqrt(in) (PyTorch's nn.Linear
// default), bias = 0. SLTrain (as its paper): B = 0, S values uniform in
// +-1/sqrt(in), so W starts at S. LowRank: B uniform in +-1/sqrt(r), i.e. A
// and B initialised like the two nn.Linear layers in -> r -> out. B = 0 would
// start every LowRank projection at W = 0, and in a network that is a saddle:
// q and k, v and o, gate and up (and consecutive Mlp layers) multiply, so with
// both at zero every block gradient is exactly zero and only the embedding and
// head ever train (tests/nn/train_test.cpp, LowRankBlocksGetGradientsAtInit).
// LinearSpec::b_init overrides the per-kind default (issue 30): Zero or Random
// for LowRank and SLTrain alike, so the two arms can start from the same
// initialisation and differ only in S. The draws are A, then B (Random only),
// then S's support and values, so SLTrain with delta = 0 (no S) and
// b_init = Zero consumes the RNG exactly as LowRank with b_init = Zero.
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/core/random.hpp"
#include "lowrank/nn/layers.hpp"

namespace lowrank::nn {

enum class Parameterization { Dense, LowRank, SLTrain, GaLore };
/// Initialisation of B in W = (alpha/r) B A + S. Default keeps each kind's
/// own choice (LowRank: Random, SLTrain: Zero, as the header comment says).
enum class BInit { Default, Zero, Random };
/// "default" | "zero" | "random"; throws InvalidArgument.
BInit parse_b_init(const std::string& name);
const char* to_string(BInit b) noexcept;
/// "dense" | "lowrank" | "sltrain" | "galore"; throws InvalidArgument.
Parameterization parse_parameterization(const std::string& name);
const char* to_string(Parameterization p) noexcept;

struct LinearSpec {
  Parameterization kind = Parameterization::Dense;
  Index rank = 0;                 ///< r for LowRank / SLTrain / GaLore
  double alpha = 32.0;            ///< LowRank / SLTrain scale alpha / r (SLTrain's default lora_alpha = 32)
  double delta = 0.03;            ///< SLTrain density of S, in [0, 1]; 0 = no S (SLTrain's code path on plain low rank)
  BInit b_init = BInit::Default;  ///< LowRank / SLTrain: how B starts
  bool bias = false;
  /// The B initialisation this spec resolves to (Default -> the kind's own).
  BInit resolved_b_init() const {
    if (b_init != BInit::Default) return b_init;
    return kind == Parameterization::LowRank ? BInit::Random : BInit::Zero;
  }
};

/// Nonzeros of SLTrain's S in an out x in layer (total = out*in entries):
/// round(delta * total), at least 1 when delta > 0, and 0 when delta = 0.
std::int64_t sltrain_nnz(double delta, std::int64_t total);

/// Throws InvalidArgument when the spec does not fit an in x out layer
/// (rank < 1 or > min(in, out) for a low-rank kind, delta outside [0, 1],
/// alpha <= 0).
void validate(const LinearSpec& spec, Index in, Index out);

/// What the optimiser needs to know about a parameter tensor.
enum class ParamKind {
  Weight,        ///< 2-D weight or factor: weight decay applies
  Gain,          ///< norm gain or bias: no weight decay
  Embedding,     ///< embedding table: no weight decay
  Sparse,        ///< SLTrain values of S [nnz, 1]: weight decay applies
  GaloreWeight,  ///< dense weight whose AdamW state lives in a rank-r projection
};

template <class T>
struct ParamRef {
  std::string name;
  Act<T>* value = nullptr;
  Act<T>* grad = nullptr;
  ParamKind kind = ParamKind::Weight;
  Index galore_rank = 0;  ///< GaloreWeight only
};

template <class T>
class Linear {
 public:
  Linear() = default;
  /// Draws the initial values (and SLTrain support) from `rng`.
  Linear(Index in, Index out, const LinearSpec& spec, Rng& rng);

  Index in() const { return m_in; }
  Index out() const { return m_out; }
  const LinearSpec& spec() const { return m_spec; }
  T scale() const { return static_cast<T>(m_spec.alpha / static_cast<double>(m_spec.rank)); }

  /// y[N,out] = x[N,in] W^T (+ b). LowRank keeps x A^T [N,r] for backward.
  /// With `accumulate`, y (already [N,out]) gets x W^T (+ b) added instead:
  /// BLAS writes it with beta = 1, so a residual add costs neither a
  /// temporary, its zero-fill nor a separate pass.
  void forward(const Act<T>& x, Act<T>& y, bool accumulate = false);
  /// y[N,out] = x W^T (+ b) for inference: keeps nothing for backward, so a
  /// const model can decode between a forward and its backward. LowRank and
  /// SLTrain apply the factors (SLTrain: s (x A^T) B^T plus the sparse S
  /// gathered on its support), O(N (r (in + out) + nnz)) instead of
  /// rebuilding W, since decoding runs this for a few rows at a time; equal to
  /// forward() up to rounding.
  void apply(const Act<T>& x, Act<T>& y) const;
  /// Accumulates parameter gradients; dx (may be null) is overwritten, or,
  /// with `accumulate_dx`, added to (it must be [N,in] already): the q, k, v
  /// and gate, up projections read one input, whose gradient is their sum.
  void backward(const Act<T>& x, const Act<T>& dy, Act<T>* dx, bool accumulate_dx = false);
  /// dx[N,in] = dy[N,out] W, the input gradient alone: keeps and accumulates
  /// nothing, so a const model can be differentiated with respect to its
  /// inputs (the NFA's Jacobians, diagnostics/nfa.hpp). Equal to backward()'s
  /// dx up to rounding.
  void input_gradient(const Act<T>& dy, Act<T>& dx) const;
  /// The dense W [out, in] this layer represents.
  Act<T> effective_weight() const;
  /// Parameter tensors with their names "<prefix>.W", ".A", ".B", ".S", ".b".
  void collect(const std::string& prefix, std::vector<ParamRef<T>>& out);
  /// Bytes held in the activation cache (LowRank's x A^T).
  std::size_t cache_bytes() const { return static_cast<std::size_t>(m_xa.size()) * sizeof(T); }
  /// Bytes of SLTrain's reconstructed dense W [out, in], built in forward and
  /// kept for backward's dx = dy W (0 for the other kinds).
  std::size_t weight_cache_bytes() const { return static_cast<std::size_t>(m_weff.size()) * sizeof(T); }

  // Parameters and gradients (public: checkpoints and diagnostics read them).
  Act<T> W, dW;                       ///< Dense / GaLore [out, in]
  Act<T> A, dA;                       ///< LowRank / SLTrain [r, in]
  Act<T> B, dB;                       ///< LowRank / SLTrain [out, r]
  Act<T> S, dS;                       ///< SLTrain nonzero values [nnz, 1]
  std::vector<std::int64_t> support;  ///< SLTrain flat indices row*in + col, sorted
  Act<T> b, db;                       ///< bias [1, out] when spec.bias

 private:
  Index m_in = 0, m_out = 0;
  LinearSpec m_spec;
  Act<T> m_xa, m_weff;
};

}  // namespace lowrank::nn
