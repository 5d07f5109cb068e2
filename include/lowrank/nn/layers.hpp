#pragma once
// lowrank::nn -- a compact training engine in the spirit of llm.c: plain
// functions with hand-written forward and backward passes, no autograd.
//
// Tensor convention, written down once for the whole nn/ area:
//   * activations are row-major matrices Act<T> = RowMajorMatrix<T> of shape
//     [N, C], one row per token (N = B*T, batch-major: row b*T + t is position
//     t of sequence b) or per sample for the plain MLP;
//   * a linear weight W is a row-major [out, in] matrix (PyTorch's layout), so
//     y = x W^T; vectors (norm gains, biases) are [1, C] row matrices;
//   * every backward function ACCUMULATES into parameter gradients (dW += ...)
//     and OVERWRITES the input gradient it returns (dx = ...), so callers zero
//     parameter gradients once per step and add residual branches themselves.
// Shapes are given in a comment above each function. All functions are
// templates instantiated for float (training) and double (gradient checks).
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/linalg/types.hpp"

namespace lowrank::nn {

template <class T>
using Act = RowMajorMatrix<T>;

// ---- linear: y[N,out] = x[N,in] W[out,in]^T (+ bias[1,out]) ----------------
template <class T>
void linear_forward(const Act<T>& x, const Act<T>& w, const Act<T>* bias, Act<T>& y);
// dx[N,in] = dy W; dW[out,in] += dy^T x; dbias[1,out] += colsum(dy) (dx, dbias may be null)
template <class T>
void linear_backward(const Act<T>& dy, const Act<T>& x, const Act<T>& w, Act<T>* dx, Act<T>& dw, Act<T>* dbias);

// ---- embedding: out[N,C] = table[tokens[n], :]  (table [V,C]) -------------
template <class T>
void embedding_forward(const std::vector<std::int32_t>& tokens, const Act<T>& table, Act<T>& out);
// dtable[V,C] += scatter-add of dout rows
template <class T>
void embedding_backward(const std::vector<std::int32_t>& tokens, const Act<T>& dout, Act<T>& dtable);

// ---- RMSNorm: y = x / sqrt(mean(x^2) + eps) * g  (x,y [N,C], g [1,C]) -----
// rstd[N] receives 1/sqrt(mean(x^2)+eps) for the backward pass.
template <class T>
void rmsnorm_forward(const Act<T>& x, const Act<T>& g, T eps, Act<T>& y, Vector<T>& rstd);
// dx is overwritten, or with `accumulate` added to (it must be [N, C] already:
// the residual stream's gradient takes the norm's input gradient in one pass).
template <class T>
void rmsnorm_backward(const Act<T>& dy, const Act<T>& x, const Act<T>& g, const Vector<T>& rstd, Act<T>& dx, Act<T>& dg,
                      bool accumulate = false);

// ---- rotary position embedding (RoPE, base theta) applied in place to
// q or k [B*T, H*D], pairs (2i, 2i+1) of each head rotated by
// pos * theta^(-2i/D), pos = pos0 + t for row b*T + t (pos0 > 0 places the
// rows after a cached prefix of pos0 tokens). inverse = true applies the
// transpose rotation, which is the backward pass.
template <class T>
void rope_apply(Act<T>& x, Index B, Index T_, Index H, double theta, bool inverse, Index pos0 = 0);

// ---- causal self-attention on already-projected q, k, v [B*T, H*D] --------
// out[B*T, H*D]; probs [B*H, T*T] keeps the softmax for the backward pass.
template <class T>
void attention_forward(const Act<T>& q, const Act<T>& k, const Act<T>& v, Index B, Index T_, Index H, Act<T>& out,
                       Act<T>& probs);
// Inference form after a cached prefix: q, k, v [B*L, H*D] are B
// continuations of L tokens each; kc, vc hold the keys (already rotated) and
// values of the P-token prefix shared by all B in their first P rows
// ([>= P, H*D]). Query t of continuation b attends to the P prefix positions
// and to positions 0..t of its own continuation (one softmax over both);
// out [B*L, H*D]. With P = 0 this is attention_forward without the probs.
template <class T>
void attention_forward_prefix(const Act<T>& q, const Act<T>& k, const Act<T>& v, const Act<T>& kc, const Act<T>& vc,
                              Index P, Index B, Index L, Index H, Act<T>& out);
// dq, dk, dv [B*T, H*D] overwritten.
template <class T>
void attention_backward(const Act<T>& dout, const Act<T>& q, const Act<T>& k, const Act<T>& v, const Act<T>& probs,
                        Index B, Index T_, Index H, Act<T>& dq, Act<T>& dk, Act<T>& dv);

// ---- SwiGLU gate: h = silu(a) * b  (a, b, h [N,F]) -------------------------
template <class T>
void swiglu_forward(const Act<T>& a, const Act<T>& b, Act<T>& h);
template <class T>
void swiglu_backward(const Act<T>& dh, const Act<T>& a, const Act<T>& b, Act<T>& da, Act<T>& db);

// ---- element-wise activations for the plain MLP ---------------------------
// Identity makes a deep linear network (the NFA's closed-form case); its name
// is "linear".
enum class Activation { ReLU, GELU, Tanh, Identity };
/// "relu" | "gelu" | "tanh" | "linear" (also "identity"); throws InvalidArgument.
Activation parse_activation(const std::string& name);
const char* to_string(Activation a) noexcept;
// GELU is the tanh approximation (GPT-2's).
template <class T>
void activation_forward(Activation kind, const Act<T>& x, Act<T>& y);
template <class T>
void activation_backward(Activation kind, const Act<T>& dy, const Act<T>& x, Act<T>& dx);

// ---- losses ----------------------------------------------------------------
// Mean softmax cross-entropy over the N rows of logits [N,V]; probs [N,V]
// receives the softmax. targets[n] in [0, V).
template <class T>
double cross_entropy_forward(const Act<T>& logits, const std::vector<std::int32_t>& targets, Act<T>& probs);
// dlogits[N,V] = (probs - onehot) / N
template <class T>
void cross_entropy_backward(const Act<T>& probs, const std::vector<std::int32_t>& targets, Act<T>& dlogits);
// Mean squared error 0.5 * mean over rows of ||pred - target||^2 ; dpred = (pred - target) / N
template <class T>
double mse_forward(const Act<T>& pred, const Act<T>& target);
template <class T>
void mse_backward(const Act<T>& pred, const Act<T>& target, Act<T>& dpred);

}  // namespace lowrank::nn
