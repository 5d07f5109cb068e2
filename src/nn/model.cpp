// Gpt and Mlp forward/backward built from the layer functions.
#include "lowrank/nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lowrank/core/error.hpp"

namespace lowrank::nn {

Index GptConfig::hidden_size() const {
  if (hidden > 0) return hidden;
  const Index h = (8 * width + 2) / 3;
  return (h + 15) / 16 * 16;
}

void GptConfig::validate() const {
  if (vocab < 1) throw InvalidArgument("vocab must be >= 1");
  if (context < 1) throw InvalidArgument("context must be >= 1");
  if (n_layer < 1) throw InvalidArgument("n_layer must be >= 1");
  if (n_head < 1 || width < 1 || width % n_head != 0)
    throw InvalidArgument("width " + std::to_string(width) + " must be a positive multiple of n_head " +
                          std::to_string(n_head));
  if ((width / n_head) % 2 != 0) throw InvalidArgument("head size width/n_head must be even (rotary pairs)");
  if (!(norm_eps > 0) || !std::isfinite(norm_eps)) throw InvalidArgument("norm_eps must be finite and > 0");
  // RoPE frequencies theta^(-2i/D) (Su et al. 2021, eq. 15): theta <= 0
  // gives NaN angles (a NaN loss at the first step).
  if (!(rope_theta > 0) || !std::isfinite(rope_theta))
    throw InvalidArgument("rope_theta must be finite and > 0, got " + std::to_string(rope_theta));
  // Matrix dimensions: hidden_size() computes 8 * width, which must not overflow.
  constexpr Index kMaxDim = (Index{1} << 31) - 1;
  if (width > kMaxDim || hidden > kMaxDim || vocab > kMaxDim)
    throw InvalidArgument("width, hidden and vocab must not exceed 2^31-1");
  nn::validate(linear, width, width);
  nn::validate(linear, width, hidden_size());
}

template <class T>
Gpt<T>::Gpt(const GptConfig& config) : m_cfg(config) {
  m_cfg.validate();
  Rng rng(m_cfg.seed);
  const Index C = m_cfg.width, F = m_cfg.hidden_size(), V = m_cfg.vocab;
  wte.resize(V, C);
  for (Index i = 0; i < wte.size(); ++i) wte.data()[i] = static_cast<T>(rng.normal());
  dwte.setZero(V, C);
  blocks.resize(static_cast<std::size_t>(m_cfg.n_layer));
  for (auto& bl : blocks) {
    bl.ln1.setOnes(1, C);
    bl.ln2.setOnes(1, C);
    bl.dln1.setZero(1, C);
    bl.dln2.setZero(1, C);
    bl.q = Linear<T>(C, C, m_cfg.linear, rng);
    bl.k = Linear<T>(C, C, m_cfg.linear, rng);
    bl.v = Linear<T>(C, C, m_cfg.linear, rng);
    bl.o = Linear<T>(C, C, m_cfg.linear, rng);
    bl.gate = Linear<T>(C, F, m_cfg.linear, rng);
    bl.up = Linear<T>(C, F, m_cfg.linear, rng);
    bl.down = Linear<T>(F, C, m_cfg.linear, rng);
  }
  ln_f.setOnes(1, C);
  dln_f.setZero(1, C);
  lm_head = Linear<T>(C, V, LinearSpec{}, rng);
  m_acts.resize(blocks.size());
}

namespace {
// One decoder block on x [B*L, C], updated in place at positions P + t:
//   x += o(attn(rope(q(ln1 x)), rope(k(ln1 x)), v(ln1 x)))
//   x += down(silu(gate(ln2 x)) * up(ln2 x)).
// Training (kc == nullptr, P = 0) keeps every activation in `a` for backward;
// inference also attends to the P cached rows of kc / vc and leaves the new
// rotated keys and values in a.k, a.v for the caller's cache. `lin(layer, in,
// out, accumulate)` applies a Linear (forward() when training, the const
// apply() when decoding); accumulate = true adds to out, which the o and down
// projections use to write the residual sum straight into x.
template <class T, class Blk, class Lin>
void block_forward(Blk& bl, const GptConfig& cfg, Act<T>& x, Index B, Index L, const Act<T>* kc, const Act<T>* vc,
                   Index P, BlockActs<T>& a, Lin lin) {
  const Index H = cfg.n_head;
  const T eps = static_cast<T>(cfg.norm_eps);
  const bool train = kc == nullptr;
  if (train) a.x_in = x;
  rmsnorm_forward(x, bl.ln1, eps, a.ln1, a.rstd1);
  lin(bl.q, a.ln1, a.q, false);
  lin(bl.k, a.ln1, a.k, false);
  lin(bl.v, a.ln1, a.v, false);
  rope_apply(a.q, B, L, H, cfg.rope_theta, false, P);
  rope_apply(a.k, B, L, H, cfg.rope_theta, false, P);
  if (train) attention_forward(a.q, a.k, a.v, B, L, H, a.att, a.probs);
  else attention_forward_prefix(a.q, a.k, a.v, *kc, *vc, P, B, L, H, a.att);
  lin(bl.o, a.att, x, true);
  if (train) a.x_mid = x;
  rmsnorm_forward(x, bl.ln2, eps, a.ln2, a.rstd2);
  lin(bl.gate, a.ln2, a.a, false);
  lin(bl.up, a.ln2, a.b, false);
  swiglu_forward(a.a, a.b, a.h);
  lin(bl.down, a.h, x, true);
}
}  // namespace

template <class T>
double Gpt<T>::forward(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& targets, Index B,
                       Index T_) {
  if (T_ < 1 || T_ > m_cfg.context) throw InvalidArgument("sequence length must be in [1, context]");
  if (static_cast<Index>(tokens.size()) != B * T_) throw InvalidArgument("tokens must have B*T entries");
  m_B = B;
  m_T = T_;
  m_tokens = tokens;
  m_targets = targets;
  const T eps = static_cast<T>(m_cfg.norm_eps);
  Act<T> x;
  embedding_forward(tokens, wte, x);
  for (std::size_t l = 0; l < blocks.size(); ++l)
    block_forward<T>(blocks[l], m_cfg, x, B, T_, nullptr, nullptr, 0, m_acts[l],
                     [](Linear<T>& lin, const Act<T>& in, Act<T>& out, bool acc) { lin.forward(in, out, acc); });
  m_x_final = x;
  rmsnorm_forward(x, ln_f, eps, m_lnf_out, m_rstd_f);
  lm_head.forward(m_lnf_out, m_logits);
  if (targets.empty()) return std::numeric_limits<double>::quiet_NaN();
  return cross_entropy_forward(m_logits, targets, m_probs);
}

template <class T>
KvCache<T> Gpt<T>::new_cache() const {
  KvCache<T> c;
  c.k.assign(blocks.size(), Act<T>(m_cfg.context, m_cfg.width));
  c.v.assign(blocks.size(), Act<T>(m_cfg.context, m_cfg.width));
  return c;
}

template <class T>
Act<T> Gpt<T>::decode(KvCache<T>& cache, const std::vector<std::int32_t>& tokens) const {
  return run_cached(cache, tokens, 1, static_cast<Index>(tokens.size()), &cache);
}

template <class T>
Act<T> Gpt<T>::decode_branches(const KvCache<T>& cache, const std::vector<std::int32_t>& tokens, Index B,
                               Index L) const {
  return run_cached(cache, tokens, B, L, nullptr);
}

template <class T>
Act<T> Gpt<T>::run_cached(const KvCache<T>& prefix, const std::vector<std::int32_t>& tokens, Index B, Index L,
                          KvCache<T>* grow) const {
  const Index P = prefix.length, C = m_cfg.width, N = B * L;
  if (B < 1 || L < 1 || static_cast<Index>(tokens.size()) != N)
    throw InvalidArgument("Gpt::decode: expected B*L = " + std::to_string(N) + " >= 1 tokens, got " +
                          std::to_string(tokens.size()));
  if (P < 0 || P + L > m_cfg.context)
    throw InvalidArgument("Gpt::decode: " + std::to_string(P) + " cached + " + std::to_string(L) +
                          " new tokens exceed the model's context of " + std::to_string(m_cfg.context));
  if (prefix.k.size() != blocks.size() || prefix.v.size() != blocks.size())
    throw InvalidArgument("Gpt::decode: the cache does not belong to this model (use new_cache())");
  for (std::size_t l = 0; l < blocks.size(); ++l)
    if (prefix.k[l].rows() < m_cfg.context || prefix.v[l].rows() < m_cfg.context || prefix.k[l].cols() != C ||
        prefix.v[l].cols() != C)
      throw InvalidArgument("Gpt::decode: the cache does not belong to this model (use new_cache())");
  Act<T> x, tmp, ln, logits;
  Vector<T> rstd;
  BlockActs<T> a;
  embedding_forward(tokens, wte, x);
  for (std::size_t l = 0; l < blocks.size(); ++l) {
    block_forward<T>(blocks[l], m_cfg, x, B, L, &prefix.k[l], &prefix.v[l], P, a,
                     [&tmp](const Linear<T>& lin, const Act<T>& in, Act<T>& out, bool acc) {
                       if (!acc) return lin.apply(in, out);
                       lin.apply(in, tmp);
                       out += tmp;
                     });
    if (grow) {
      grow->k[l].middleRows(P, L) = a.k;
      grow->v[l].middleRows(P, L) = a.v;
    }
  }
  if (grow) grow->length = P + L;
  rmsnorm_forward(x, ln_f, static_cast<T>(m_cfg.norm_eps), ln, rstd);
  lm_head.apply(ln, logits);
  return logits;
}

template <class T>
void Gpt<T>::backward() {
  if (m_targets.empty()) throw InvalidArgument("Gpt::backward needs a forward pass with targets");
  const Index B = m_B, T_ = m_T, H = m_cfg.n_head;
  Act<T> dlogits, dx, dtmp, d1, d2, dq, dk, dv;
  cross_entropy_backward(m_probs, m_targets, dlogits);
  lm_head.backward(m_lnf_out, dlogits, &dtmp);
  rmsnorm_backward(dtmp, m_x_final, ln_f, m_rstd_f, dx, dln_f);
  for (std::size_t li = blocks.size(); li-- > 0;) {
    auto& bl = blocks[li];
    auto& a = m_acts[li];
    // MLP branch: x = x_mid + down(swiglu(gate(ln2), up(ln2))). The input
    // gradients of gate and up, and the norm's into dx, are summed by BLAS
    // (beta = 1) and the norm kernel, with no temporaries or extra passes.
    bl.down.backward(a.h, dx, &dtmp);
    swiglu_backward(dtmp, a.a, a.b, d1, d2);
    Act<T> dln2;
    bl.gate.backward(a.ln2, d1, &dln2);
    bl.up.backward(a.ln2, d2, &dln2, true);
    rmsnorm_backward(dln2, a.x_mid, bl.ln2, a.rstd2, dx, bl.dln2, true);
    // attention branch: x_mid = x_in + o(attn(rope(q), rope(k), v))
    bl.o.backward(a.att, dx, &dtmp);
    attention_backward(dtmp, a.q, a.k, a.v, a.probs, B, T_, H, dq, dk, dv);
    rope_apply(dq, B, T_, H, m_cfg.rope_theta, true);
    rope_apply(dk, B, T_, H, m_cfg.rope_theta, true);
    Act<T> dln1;
    bl.q.backward(a.ln1, dq, &dln1);
    bl.k.backward(a.ln1, dk, &dln1, true);
    bl.v.backward(a.ln1, dv, &dln1, true);
    rmsnorm_backward(dln1, a.x_in, bl.ln1, a.rstd1, dx, bl.dln1, true);
  }
  embedding_backward(m_tokens, dx, dwte);
}

template <class T>
std::vector<ParamRef<T>> Gpt<T>::parameters() {
  std::vector<ParamRef<T>> p;
  p.push_back({"wte", &wte, &dwte, ParamKind::Embedding, 0});
  for (std::size_t l = 0; l < blocks.size(); ++l) {
    auto& bl = blocks[l];
    const std::string pre = "blocks." + std::to_string(l);
    p.push_back({pre + ".ln1", &bl.ln1, &bl.dln1, ParamKind::Gain, 0});
    bl.q.collect(pre + ".attn.q", p);
    bl.k.collect(pre + ".attn.k", p);
    bl.v.collect(pre + ".attn.v", p);
    bl.o.collect(pre + ".attn.o", p);
    p.push_back({pre + ".ln2", &bl.ln2, &bl.dln2, ParamKind::Gain, 0});
    bl.gate.collect(pre + ".mlp.gate", p);
    bl.up.collect(pre + ".mlp.up", p);
    bl.down.collect(pre + ".mlp.down", p);
  }
  p.push_back({"ln_f", &ln_f, &dln_f, ParamKind::Gain, 0});
  lm_head.collect("lm_head", p);
  return p;
}

template <class T>
std::vector<Linear<T>*> Gpt<T>::linears() {
  std::vector<Linear<T>*> out;
  for (auto& bl : blocks)
    for (auto* l : {&bl.q, &bl.k, &bl.v, &bl.o, &bl.gate, &bl.up, &bl.down}) out.push_back(l);
  out.push_back(&lm_head);
  return out;
}

template <class T>
void Gpt<T>::zero_grad() {
  for (auto& p : parameters()) p.grad->setZero();
}

template <class T>
std::size_t Gpt<T>::activation_bytes() const {
  std::size_t n = 0;
  for (const auto& a : m_acts) {
    for (const Act<T>* m : {&a.x_in, &a.ln1, &a.q, &a.k, &a.v, &a.att, &a.probs, &a.x_mid, &a.ln2, &a.a, &a.b, &a.h})
      n += static_cast<std::size_t>(m->size());
    n += static_cast<std::size_t>(a.rstd1.size() + a.rstd2.size());
  }
  n += static_cast<std::size_t>(m_x_final.size() + m_lnf_out.size() + m_logits.size() + m_probs.size() +
                                m_rstd_f.size());
  std::size_t bytes = n * sizeof(T);
  for (const auto& bl : blocks)
    for (const auto* l : {&bl.q, &bl.k, &bl.v, &bl.o, &bl.gate, &bl.up, &bl.down}) bytes += l->cache_bytes();
  return bytes;
}

template <class T>
std::size_t Gpt<T>::weight_cache_bytes() const {
  std::size_t bytes = 0;
  for (const auto& bl : blocks)
    for (const auto* l : {&bl.q, &bl.k, &bl.v, &bl.o, &bl.gate, &bl.up, &bl.down}) bytes += l->weight_cache_bytes();
  return bytes;
}

std::size_t gpt_weight_cache_bytes_analytic(const GptConfig& c, std::size_t scalar_bytes) {
  if (c.linear.kind != Parameterization::SLTrain) return 0;
  const auto C = static_cast<std::size_t>(c.width), F = static_cast<std::size_t>(c.hidden_size());
  return static_cast<std::size_t>(c.n_layer) * (4 * C * C + 3 * C * F) * scalar_bytes;
}

std::size_t gpt_workspace_bytes_analytic(const GptConfig& c, Index B, std::size_t scalar_bytes) {
  // Live at once in Gpt::backward (see the header): the largest of the two
  // moments, "q/k/v backward" (dx, dtmp, dln2, dln1, dq, dk, dv as [N,C] and
  // d(gate), d(up) as [N,F]) and "gate backward of a later layer" (dtmp is
  // still [N,F] then, dln1 not yet allocated).
  const auto N = static_cast<std::size_t>(B * c.context);
  const auto C = static_cast<std::size_t>(c.width), F = static_cast<std::size_t>(c.hidden_size());
  const auto V = static_cast<std::size_t>(c.vocab);
  const std::size_t later = c.n_layer > 1 ? 5 : 2;  // dq, dk, dv exist from the second layer on
  std::size_t n = N * V + std::max(7 * N * C + 2 * N * F, later * N * C + 3 * N * F);
  if (c.linear.kind == Parameterization::SLTrain) n += F * C;
  return n * scalar_bytes;
}

std::size_t gpt_activation_bytes_analytic(const GptConfig& c, Index B, std::size_t scalar_bytes) {
  const auto N = static_cast<std::size_t>(B * c.context);
  const auto C = static_cast<std::size_t>(c.width), F = static_cast<std::size_t>(c.hidden_size());
  const auto H = static_cast<std::size_t>(c.n_head), T = static_cast<std::size_t>(c.context);
  const auto V = static_cast<std::size_t>(c.vocab);
  std::size_t per_block = 8 * N * C + 3 * N * F + static_cast<std::size_t>(B) * H * T * T + 2 * N;
  if (c.linear.kind == Parameterization::LowRank) per_block += 7 * N * static_cast<std::size_t>(c.linear.rank);
  const std::size_t total = static_cast<std::size_t>(c.n_layer) * per_block + 2 * N * C + 2 * N * V + N;
  return total * scalar_bytes;
}

// ---- Mlp ------------------------------------------------------------------

template <class T>
Mlp<T>::Mlp(const MlpConfig& config) : m_cfg(config) {
  if (m_cfg.sizes.size() < 2) throw InvalidArgument("Mlp needs at least {in, out} sizes");
  Rng rng(m_cfg.seed);
  for (std::size_t i = 0; i + 1 < m_cfg.sizes.size(); ++i) {
    LinearSpec spec = (i + 2 == m_cfg.sizes.size()) ? LinearSpec{} : m_cfg.linear;
    spec.bias = m_cfg.bias;
    layers.emplace_back(m_cfg.sizes[i], m_cfg.sizes[i + 1], spec, rng);
  }
}

template <class T>
const Act<T>& Mlp<T>::forward(const Act<T>& x) {
  const std::size_t L = layers.size();
  m_in.resize(L);
  m_pre.resize(L);
  m_in[0] = x;
  for (std::size_t i = 0; i < L; ++i) {
    if (i + 1 < L) {
      layers[i].forward(m_in[i], m_pre[i]);
      activation_forward(m_cfg.activation, m_pre[i], m_in[i + 1]);
    } else {
      layers[i].forward(m_in[i], m_out);
    }
  }
  return m_out;
}

template <class T>
void Mlp<T>::backward(const Act<T>& dout) {
  Act<T> d = dout, dx;
  for (std::size_t i = layers.size(); i-- > 0;) {
    layers[i].backward(m_in[i], d, i > 0 ? &dx : nullptr);
    if (i > 0) activation_backward(m_cfg.activation, dx, m_pre[i - 1], d);
  }
}

template <class T>
Mlp<T> Mlp<T>::from_weights(const std::vector<Matrix<double>>& weights, const std::vector<Vector<double>>& biases,
                            Activation activation) {
  auto name = [](std::size_t l) { return "layers." + std::to_string(l); };
  if (weights.empty()) throw InvalidArgument("the MLP has no layers");
  if (biases.size() != weights.size())
    throw InvalidArgument("the MLP has " + std::to_string(weights.size()) + " weights but " +
                          std::to_string(biases.size()) + " biases (use an empty vector for no bias)");
  Mlp net;
  net.m_cfg.activation = activation;
  net.m_cfg.bias = true;
  net.m_cfg.sizes = {weights.front().cols()};
  Rng rng(0);  // the drawn values are overwritten below
  for (std::size_t l = 0; l < weights.size(); ++l) {
    const auto& w = weights[l];
    if (w.rows() < 1 || w.cols() < 1)
      throw InvalidArgument("layer " + name(l) + " has an empty weight [" + std::to_string(w.rows()) + ", " +
                            std::to_string(w.cols()) + "]");
    if (l > 0 && w.cols() != weights[l - 1].rows())
      throw InvalidArgument("layer " + name(l) + " takes " + std::to_string(w.cols()) + " inputs but layer " +
                            name(l - 1) + " has " + std::to_string(weights[l - 1].rows()) + " outputs");
    if (biases[l].size() != 0 && biases[l].size() != w.rows())
      throw InvalidArgument("layer " + name(l) + " has a bias of length " + std::to_string(biases[l].size()) +
                            ", expected " + std::to_string(w.rows()));
    LinearSpec spec;
    spec.bias = biases[l].size() != 0;
    net.m_cfg.bias = net.m_cfg.bias && spec.bias;
    net.m_cfg.sizes.push_back(w.rows());
    Linear<T> layer(w.cols(), w.rows(), spec, rng);
    layer.W = w.template cast<T>();
    if (spec.bias) layer.b = biases[l].transpose().template cast<T>();
    net.layers.push_back(std::move(layer));
  }
  return net;
}

template <class T>
template <class U>
Mlp<U> Mlp<T>::dense_copy() const {
  std::vector<Matrix<double>> w;
  std::vector<Vector<double>> b;
  for (const auto& layer : layers) {
    w.push_back(layer.effective_weight().template cast<double>());
    b.push_back(layer.spec().bias ? Vector<double>(layer.b.row(0).transpose().template cast<double>())
                                  : Vector<double>());
  }
  return Mlp<U>::from_weights(w, b, m_cfg.activation);
}

template <class T>
Act<T> Mlp<T>::apply(const Act<T>& h, Index from, std::vector<Act<T>>* pre) const {
  const auto L = static_cast<Index>(layers.size());
  if (from < 0 || from >= L)
    throw InvalidArgument("layer " + std::to_string(from) + " is out of range [0, " + std::to_string(L) + ")");
  const auto& first = layers[static_cast<std::size_t>(from)];
  if (h.cols() != first.in())
    throw InvalidArgument("inputs of layer layers." + std::to_string(from) + " have " + std::to_string(h.cols()) +
                          " columns, the layer takes " + std::to_string(first.in()));
  if (pre) pre->assign(static_cast<std::size_t>(std::max<Index>(L - 1 - from, 0)), Act<T>());
  Act<T> x = h, y;
  for (Index l = from; l < L; ++l) {
    layers[static_cast<std::size_t>(l)].apply(x, y);
    if (l + 1 == L) break;
    activation_forward(m_cfg.activation, y, x);
    if (pre) (*pre)[static_cast<std::size_t>(l - from)] = std::move(y);
  }
  return y;
}

template <class T>
std::vector<Act<T>> Mlp<T>::input_gradients(const std::vector<Act<T>>& pre, const Act<T>& dout) const {
  const std::size_t L = layers.size();
  if (pre.size() + 1 != L)
    throw InvalidArgument("input_gradients: " + std::to_string(pre.size()) + " pre-activations for " +
                          std::to_string(L) + " layers (record them with apply(x, 0, &pre))");
  if (dout.cols() != output_size())
    throw InvalidArgument("input_gradients: dout has " + std::to_string(dout.cols()) + " columns, the network " +
                          std::to_string(output_size()) + " outputs");
  std::vector<Act<T>> d(L);
  Act<T> dy = dout;
  for (std::size_t l = L; l-- > 0;) {
    layers[l].input_gradient(dy, d[l]);
    if (l > 0) activation_backward(m_cfg.activation, d[l], pre[l - 1], dy);
  }
  return d;
}

template <class T>
void Mlp<T>::zero_grad() {
  for (auto& p : parameters()) p.grad->setZero();
}

template <class T>
std::vector<ParamRef<T>> Mlp<T>::parameters() {
  std::vector<ParamRef<T>> p;
  for (std::size_t i = 0; i < layers.size(); ++i) layers[i].collect("layers." + std::to_string(i), p);
  return p;
}

template class Gpt<float>;
template class Gpt<double>;
template class Mlp<float>;
template class Mlp<double>;
template Mlp<float> Mlp<float>::dense_copy<float>() const;
template Mlp<double> Mlp<float>::dense_copy<double>() const;
template Mlp<float> Mlp<double>::dense_copy<float>() const;
template Mlp<double> Mlp<double>::dense_copy<double>() const;

}  // namespace lowrank::nn
