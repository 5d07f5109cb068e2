#pragma once
// Bodies of the training engine's CUDA kernels, one function per kernel and
// per thread index, in plain C++ (llm.c's layout: one readable file per
// kernel family). nvcc compiles them as __host__ __device__ and
// src/cuda/nn/gpt_device.cu launches one thread per index; the host compiler
// sees ordinary inline functions. Each kernel is a functor mapping one flat
// thread index to a body call (the `launches` section at the end); a backend
// runs it over [0, total): the CUDA backend with one thread per index, the
// host backend (host_backend.hpp) with a loop. tests/nn/gpu_kernels_test.cpp
// checks every body against the CPU layers of include/lowrank/nn/layers.hpp,
// and tests/nn/gpu_test.cpp runs the whole GPU engine on the host backend
// against nn::Gpt, so the indexing and the math are tested on machines
// without a GPU; only the launch and cuBLAS themselves need a device.
//
// Layouts are those of the CPU engine (layers.hpp): activations row-major
// [N, C] with N = B*T batch-major, weights row-major [out, in], attention
// probabilities [B*H, T*T] (row t, column s; zero above the diagonal).
// Everything is float32 except the loss, accumulated in double as on the CPU.
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define LOWRANK_HD __host__ __device__ inline
#else
#define LOWRANK_HD inline
#endif

namespace lowrank::cuda::kernels {

using I = long long;

// ---- embedding ---------------------------------------------------------------
// out[n, c] = table[tokens[n], c]; one call per (n, c). Token ids are checked
// on the host before upload.
LOWRANK_HD void embedding_forward(I n, I c, I C, const std::int32_t* tokens, const float* table, float* out) {
  out[n * C + c] = table[static_cast<I>(tokens[n]) * C + c];
}
// dtable[tokens[n], c] += dout[n, c] for all n; one call per column c, walking
// the tokens in order: deterministic and free of atomics.
LOWRANK_HD void embedding_backward(I c, I N, I C, const std::int32_t* tokens, const float* dout, float* dtable) {
  for (I n = 0; n < N; ++n) dtable[static_cast<I>(tokens[n]) * C + c] += dout[n * C + c];
}

// ---- RMSNorm: y = x / sqrt(mean(x^2) + eps) * g -------------------------------
// One call per row.
LOWRANK_HD void rmsnorm_forward(I row, I C, float eps, const float* x, const float* g, float* y, float* rstd) {
  const float* xr = x + row * C;
  float ss = 0;
  for (I c = 0; c < C; ++c) ss += xr[c] * xr[c];
  const float r = 1.0f / sqrtf(ss / static_cast<float>(C) + eps);
  rstd[row] = r;
  for (I c = 0; c < C; ++c) y[row * C + c] = xr[c] * r * g[c];
}
// dx = r (dxhat - xhat * mean(dxhat . xhat)), xhat = x r, dxhat = dy . g; one
// call per row (overwrites dx).
LOWRANK_HD void rmsnorm_backward_dx(I row, I C, const float* dy, const float* x, const float* g, const float* rstd,
                                    float* dx) {
  const float r = rstd[row];
  const float* xr = x + row * C;
  const float* dyr = dy + row * C;
  float m = 0;
  for (I c = 0; c < C; ++c) m += dyr[c] * g[c] * xr[c] * r;
  m /= static_cast<float>(C);
  for (I c = 0; c < C; ++c) dx[row * C + c] = r * (dyr[c] * g[c] - xr[c] * r * m);
}
// dg[c] += sum over rows of dy . xhat; one call per column.
LOWRANK_HD void rmsnorm_backward_dg(I c, I N, I C, const float* dy, const float* x, const float* rstd, float* dg) {
  float acc = 0;
  for (I row = 0; row < N; ++row) acc += dy[row * C + c] * x[row * C + c] * rstd[row];
  dg[c] += acc;
}

// ---- rotary position embedding ---------------------------------------------
// Pair (2i, 2i+1) of every head of row `row` rotated by the angle of position
// `pos`; cos_t / sin_t are [context, D/2] tables (computed once on the host in
// double, as the CPU engine does). sign = -1 applies the inverse rotation
// (the backward pass). One call per (row, i).
LOWRANK_HD void rope_at(I row, I pos, I i, I H, I D, const float* cos_t, const float* sin_t, float sign, float* x) {
  const float c = cos_t[pos * (D / 2) + i], s = sign * sin_t[pos * (D / 2) + i];
  float* xr = x + row * H * D;
  for (I h = 0; h < H; ++h) {
    const float a = xr[h * D + 2 * i], b = xr[h * D + 2 * i + 1];
    xr[h * D + 2 * i] = a * c - b * s;
    xr[h * D + 2 * i + 1] = a * s + b * c;
  }
}
// Row r of a [B*T, H*D] batch sits at position r % T.
LOWRANK_HD void rope(I row, I i, I T, I H, I D, const float* cos_t, const float* sin_t, float sign, float* x) {
  rope_at(row, row % T, i, H, D, cos_t, sin_t, sign, x);
}

// ---- causal self-attention (q, k, v, out [B*T, H*D]) ------------------------
// One call per (bh = b*H + h, t): the softmax row t of head h of sequence b
// into probs[bh, t, :] (zeros for s > t) and out[b*T + t, head h].
LOWRANK_HD void attention_forward(I bh, I t, I T, I H, I D, const float* q, const float* k, const float* v,
                                  float* probs, float* out) {
  const I b = bh / H, h = bh % H, C = H * D;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  const float* Q = q + (b * T + t) * C + h * D;
  float* P = probs + bh * T * T + t * T;
  float mx = -INFINITY;
  for (I s = 0; s <= t; ++s) {
    const float* K = k + (b * T + s) * C + h * D;
    float dot = 0;
    for (I d = 0; d < D; ++d) dot += Q[d] * K[d];
    P[s] = dot * scale;
    mx = fmaxf(mx, P[s]);
  }
  float sum = 0;
  for (I s = 0; s <= t; ++s) {
    P[s] = expf(P[s] - mx);
    sum += P[s];
  }
  for (I s = 0; s <= t; ++s) P[s] /= sum;
  for (I s = t + 1; s < T; ++s) P[s] = 0;
  float* O = out + (b * T + t) * C + h * D;
  for (I d = 0; d < D; ++d) {
    float acc = 0;
    for (I s = 0; s <= t; ++s) acc += P[s] * v[(b * T + s) * C + h * D + d];
    O[d] = acc;
  }
}
// Inference after a cached prefix, as nn's attention_forward_prefix: q, k, v
// [B*L, H*D] hold B continuations of L tokens; kc, vc [>= P, H*D] the rotated
// keys and the values of the P-token prefix they share. Query t of
// continuation b, head h (bh = b*H + h) attends to the P prefix positions and
// to its own positions 0..t; scores [B*H*L, P+L] is scratch.
LOWRANK_HD void attention_prefix(I bh, I t, I L, I P, I H, I D, const float* q, const float* k, const float* v,
                                 const float* kc, const float* vc, float* scores, float* out) {
  const I b = bh / H, h = bh % H, C = H * D;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  const float* Q = q + (b * L + t) * C + h * D;
  float* S = scores + (bh * L + t) * (P + L);
  const I n = P + t + 1;  // S[s] for s < P: prefix position s; S[P + s]: own position s
  float mx = -INFINITY;
  for (I s = 0; s < n; ++s) {
    const float* K = s < P ? kc + s * C + h * D : k + (b * L + (s - P)) * C + h * D;
    float dot = 0;
    for (I d = 0; d < D; ++d) dot += Q[d] * K[d];
    S[s] = dot * scale;
    mx = fmaxf(mx, S[s]);
  }
  float sum = 0;
  for (I s = 0; s < n; ++s) {
    S[s] = expf(S[s] - mx);
    sum += S[s];
  }
  float* O = out + (b * L + t) * C + h * D;
  for (I d = 0; d < D; ++d) {
    float acc = 0;
    for (I s = 0; s < n; ++s) acc += S[s] * (s < P ? vc[s * C + h * D + d] : v[(b * L + (s - P)) * C + h * D + d]);
    O[d] = acc / sum;
  }
}
// Softmax backward of row t: dS[t, s] = P[t, s] (dP[t, s] - sum_s' P dP) * scale
// with dP[t, s] = dO[t] . V[s]; writes dscores[bh, t, :] (zeros for s > t).
LOWRANK_HD void attention_backward_scores(I bh, I t, I T, I H, I D, const float* dout, const float* v,
                                          const float* probs, float* dscores) {
  const I b = bh / H, h = bh % H, C = H * D;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  const float* dO = dout + (b * T + t) * C + h * D;
  const float* P = probs + bh * T * T + t * T;
  float* dS = dscores + bh * T * T + t * T;
  float dot = 0;
  for (I s = 0; s <= t; ++s) {
    const float* V = v + (b * T + s) * C + h * D;
    float dp = 0;
    for (I d = 0; d < D; ++d) dp += dO[d] * V[d];
    dS[s] = dp;
    dot += P[s] * dp;
  }
  for (I s = 0; s <= t; ++s) dS[s] = P[s] * (dS[s] - dot) * scale;
  for (I s = t + 1; s < T; ++s) dS[s] = 0;
}
// dq[t] = sum_{s <= t} dS[t, s] K[s]; one call per (bh, t), overwrites.
LOWRANK_HD void attention_backward_dq(I bh, I t, I T, I H, I D, const float* dscores, const float* k, float* dq) {
  const I b = bh / H, h = bh % H, C = H * D;
  const float* dS = dscores + bh * T * T + t * T;
  for (I d = 0; d < D; ++d) {
    float acc = 0;
    for (I s = 0; s <= t; ++s) acc += dS[s] * k[(b * T + s) * C + h * D + d];
    dq[(b * T + t) * C + h * D + d] = acc;
  }
}
// dk[s] = sum_{t >= s} dS[t, s] Q[t] and dv[s] = sum_{t >= s} P[t, s] dO[t];
// one call per (bh, s), overwrites.
LOWRANK_HD void attention_backward_dkdv(I bh, I s, I T, I H, I D, const float* dscores, const float* probs,
                                        const float* q, const float* dout, float* dk, float* dv) {
  const I b = bh / H, h = bh % H, C = H * D;
  for (I d = 0; d < D; ++d) {
    float ak = 0, av = 0;
    for (I t = s; t < T; ++t) {
      const I at = bh * T * T + t * T + s, row = (b * T + t) * C + h * D + d;
      ak += dscores[at] * q[row];
      av += probs[at] * dout[row];
    }
    dk[(b * T + s) * C + h * D + d] = ak;
    dv[(b * T + s) * C + h * D + d] = av;
  }
}

// ---- SwiGLU: h = silu(a) * b, element-wise ------------------------------------
LOWRANK_HD float sigmoid(float a) { return 1.0f / (1.0f + expf(-a)); }
LOWRANK_HD void swiglu_forward(I i, const float* a, const float* b, float* h) { h[i] = a[i] * sigmoid(a[i]) * b[i]; }
// silu'(x) = s (1 + x (1 - s)), s = sigmoid(x); overwrites da and db.
LOWRANK_HD void swiglu_backward(I i, const float* dh, const float* a, const float* b, float* da, float* db) {
  const float s = sigmoid(a[i]);
  db[i] = a[i] * s * dh[i];
  da[i] = s * (1.0f + a[i] * (1.0f - s)) * b[i] * dh[i];
}

// ---- softmax cross-entropy (logits, probs [N, V]) ----------------------------
// One call per row: probs row and the row's loss -log softmax(logits)[target].
LOWRANK_HD void cross_entropy_forward(I n, I V, const float* logits, const std::int32_t* targets, float* probs,
                                      double* loss) {
  const float* l = logits + n * V;
  float* p = probs + n * V;
  float mx = l[0];
  for (I j = 1; j < V; ++j) mx = fmaxf(mx, l[j]);
  float sum = 0;
  for (I j = 0; j < V; ++j) {
    p[j] = expf(l[j] - mx);
    sum += p[j];
  }
  for (I j = 0; j < V; ++j) p[j] /= sum;
  loss[n] = -(static_cast<double>(l[targets[n]] - mx) - log(static_cast<double>(sum)));
}
// dlogits[n, j] = (probs[n, j] - [j == target]) / N; one call per element.
LOWRANK_HD void cross_entropy_backward(I idx, I N, I V, const float* probs, const std::int32_t* targets,
                                       float* dlogits) {
  const I n = idx / V, j = idx % V;
  dlogits[idx] = (probs[idx] - (j == targets[n] ? 1.0f : 0.0f)) / static_cast<float>(N);
}

// ---- element-wise helpers ----------------------------------------------------
LOWRANK_HD void add_inplace(I i, const float* x, float* y) { y[i] += x[i]; }

// ---- SLTrain's sparse part (support = sorted flat indices row * in + col) -----
// W[support[k]] += S[k]: scatter of the nonzero values into the dense W.
LOWRANK_HD void sparse_scatter_add(I k, const std::int64_t* support, const float* values, float* w) {
  w[support[k]] += values[k];
}
// dS[k] += dW[support[k]]: the sparse gradient gathered from the dense one.
LOWRANK_HD void sparse_gather_add(I k, const std::int64_t* support, const float* dw, float* dvalues) {
  dvalues[k] += dw[support[k]];
}

// ---- launches: flat index -> body (the engine calls launch<Functor>(total, ...))
// Total index counts are given beside each functor.

struct EmbeddingForward {  // total N*C
  LOWRANK_HD void operator()(I idx, I C, const std::int32_t* tok, const float* table, float* out) const {
    embedding_forward(idx / C, idx % C, C, tok, table, out);
  }
};
struct EmbeddingBackward {  // total C
  LOWRANK_HD void operator()(I c, I N, I C, const std::int32_t* tok, const float* dout, float* dtable) const {
    embedding_backward(c, N, C, tok, dout, dtable);
  }
};
struct RmsnormForward {  // total N
  LOWRANK_HD void operator()(I row, I C, float eps, const float* x, const float* g, float* y, float* rstd) const {
    rmsnorm_forward(row, C, eps, x, g, y, rstd);
  }
};
struct RmsnormBackwardDx {  // total N
  LOWRANK_HD void operator()(I row, I C, const float* dy, const float* x, const float* g, const float* rstd,
                             float* dx) const {
    rmsnorm_backward_dx(row, C, dy, x, g, rstd, dx);
  }
};
struct RmsnormBackwardDg {  // total C
  LOWRANK_HD void operator()(I c, I N, I C, const float* dy, const float* x, const float* rstd, float* dg) const {
    rmsnorm_backward_dg(c, N, C, dy, x, rstd, dg);
  }
};
struct Rope {  // total N * D/2
  LOWRANK_HD void operator()(I idx, I T, I H, I D, const float* cos_t, const float* sin_t, float sign, float* x) const {
    rope(idx / (D / 2), idx % (D / 2), T, H, D, cos_t, sin_t, sign, x);
  }
};
struct RopeAt {  // total N * D/2: row r of B*L decode rows at position offset + r % L
  LOWRANK_HD void operator()(I idx, I L, I offset, I H, I D, const float* cos_t, const float* sin_t, float* x) const {
    const I row = idx / (D / 2);
    rope_at(row, offset + row % L, idx % (D / 2), H, D, cos_t, sin_t, 1.0f, x);
  }
};
struct AttentionPrefix {  // total B*H*L
  LOWRANK_HD void operator()(I idx, I L, I P, I H, I D, const float* q, const float* k, const float* v, const float* kc,
                             const float* vc, float* scores, float* out) const {
    attention_prefix(idx / L, idx % L, L, P, H, D, q, k, v, kc, vc, scores, out);
  }
};
struct AttentionForward {  // total B*H*T
  LOWRANK_HD void operator()(I idx, I T, I H, I D, const float* q, const float* k, const float* v, float* probs,
                             float* out) const {
    attention_forward(idx / T, idx % T, T, H, D, q, k, v, probs, out);
  }
};
struct AttentionBackwardScores {  // total B*H*T
  LOWRANK_HD void operator()(I idx, I T, I H, I D, const float* dout, const float* v, const float* probs,
                             float* dscores) const {
    attention_backward_scores(idx / T, idx % T, T, H, D, dout, v, probs, dscores);
  }
};
struct AttentionBackwardDq {  // total B*H*T
  LOWRANK_HD void operator()(I idx, I T, I H, I D, const float* dscores, const float* k, float* dq) const {
    attention_backward_dq(idx / T, idx % T, T, H, D, dscores, k, dq);
  }
};
struct AttentionBackwardDkDv {  // total B*H*T
  LOWRANK_HD void operator()(I idx, I T, I H, I D, const float* dscores, const float* probs, const float* q,
                             const float* dout, float* dk, float* dv) const {
    attention_backward_dkdv(idx / T, idx % T, T, H, D, dscores, probs, q, dout, dk, dv);
  }
};
struct SwigluForward {  // total N*F
  LOWRANK_HD void operator()(I i, const float* a, const float* b, float* h) const { swiglu_forward(i, a, b, h); }
};
struct SwigluBackward {  // total N*F
  LOWRANK_HD void operator()(I i, const float* dh, const float* a, const float* b, float* da, float* db) const {
    swiglu_backward(i, dh, a, b, da, db);
  }
};
struct CrossEntropyForward {  // total N
  LOWRANK_HD void operator()(I n, I V, const float* logits, const std::int32_t* targets, float* probs,
                             double* loss) const {
    cross_entropy_forward(n, V, logits, targets, probs, loss);
  }
};
struct CrossEntropyBackward {  // total N*V
  LOWRANK_HD void operator()(I idx, I N, I V, const float* probs, const std::int32_t* targets, float* dlogits) const {
    cross_entropy_backward(idx, N, V, probs, targets, dlogits);
  }
};
struct AddInplace {  // total n
  LOWRANK_HD void operator()(I i, const float* x, float* y) const { add_inplace(i, x, y); }
};
struct SparseScatterAdd {  // total nnz
  LOWRANK_HD void operator()(I k, const std::int64_t* support, const float* values, float* w) const {
    sparse_scatter_add(k, support, values, w);
  }
};
struct SparseGatherAdd {  // total nnz
  LOWRANK_HD void operator()(I k, const std::int64_t* support, const float* dw, float* dvalues) const {
    sparse_gather_add(k, support, dw, dvalues);
  }
};

}  // namespace lowrank::cuda::kernels
