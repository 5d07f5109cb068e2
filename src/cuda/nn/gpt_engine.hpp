#pragma once
// The Gpt forward and backward passes of the GPU engine, written once over a
// backend: CudaBackend (gpt_device.cu: device memory, cuBLAS, one CUDA thread
// per kernel index) or HostBackend (host_backend.hpp: std::vector, a
// column-major reference GEMM, a loop per kernel), which lets the tests run
// this exact code, buffer handling and GEMM arguments included, on a machine
// without a GPU. The pass mirrors src/nn/model.cpp step by step.
//
// A backend provides
//   template <class T> using Array   device array: reserve(n) (grow, contents
//                                    dropped), zero(), upload(p, n),
//                                    download(p, n) const, data(), bytes();
//   copy(dst, src, n)                device-to-device copy of n floats;
//   launch<Functor>(total, args...)  Functor{}(idx, args...) for idx < total;
//   gemm_cm(...)                     cublasSgemm's exact column-major contract;
//   synchronize().
// Bad arguments (shapes, token ids, lengths) and a missing device throw
// lowrank::InvalidArgument, so the CLI exits 2 as for the CPU engine; CUDA
// failures and calls out of order stay std::runtime_error (exit 1).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/nn/gpt_device.hpp"
#include "cuda/nn/kernels.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::cuda {

using kernels::I;

template <class Backend>
class GptEngine final : public GptDevice {
  using Buf = typename Backend::template Array<float>;
  template <class T>
  using Array = typename Backend::template Array<T>;

  struct LinearState {
    GptDeviceLinear desc;
    Buf W, dW, A, dA, B, dB, S, dS;
    Buf xa, weff;  // LowRank's x A^T and SLTrain's dense W, kept for backward
    Array<std::int64_t> support;
  };

  struct BlockActs {
    Buf x_in, ln1, q, k, v, att, probs, x_mid, ln2, a, b, h, rstd1, rstd2;
  };
  // Buffers of decode(): one layer's worth, reused by every layer.
  struct DecodeBufs {
    Buf x, tmp, ln, q, k, v, att, a, b, h, rstd, scores, logits;
    typename Backend::template Array<std::int32_t> tokens;
  };

 public:
  explicit GptEngine(const GptDeviceConfig& cfg) : m_cfg(cfg) {
    const I C = cfg.width, V = cfg.vocab, L = cfg.n_layer, D = C / cfg.n_head;
    if (static_cast<I>(cfg.linears.size()) != 7 * L + 1)
      throw InvalidArgument("GptDevice: expected " + std::to_string(7 * L + 1) + " linear layers");
    if (static_cast<I>(cfg.rope_cos.size()) != cfg.context * (D / 2) || cfg.rope_sin.size() != cfg.rope_cos.size())
      throw InvalidArgument("GptDevice: rotary tables must be [context, head_dim / 2]");
    m_wte.reserve(V * C);
    m_dwte.reserve(V * C);
    m_ln.resize(2 * L);
    m_dln.resize(2 * L);
    for (auto& g : m_ln) g.reserve(C);
    for (auto& g : m_dln) g.reserve(C);
    m_lnf.reserve(C);
    m_dlnf.reserve(C);
    m_lin.resize(cfg.linears.size());
    for (std::size_t i = 0; i < cfg.linears.size(); ++i) {
      auto& L_ = m_lin[i];
      L_.desc = cfg.linears[i];
      const I in = L_.desc.in, out = L_.desc.out, r = L_.desc.rank;
      if (L_.desc.kind == GptDeviceLinear::Dense) {
        L_.W.reserve(out * in);
        L_.dW.reserve(out * in);
      } else {
        L_.A.reserve(r * in);
        L_.dA.reserve(r * in);
        L_.B.reserve(out * r);
        L_.dB.reserve(out * r);
      }
      if (L_.desc.kind == GptDeviceLinear::SLTrain) {
        const I nnz = static_cast<I>(L_.desc.support.size());
        L_.S.reserve(nnz);
        L_.dS.reserve(nnz);
        L_.support.upload(L_.desc.support.data(), L_.desc.support.size());
        L_.weff.reserve(out * in);
      }
    }
    m_rope_cos.upload(cfg.rope_cos.data(), cfg.rope_cos.size());
    m_rope_sin.upload(cfg.rope_sin.data(), cfg.rope_sin.size());
    m_acts.resize(static_cast<std::size_t>(L));
    zero_grad();
  }

  void upload_parameters(const std::vector<HostTensor>& params) override {
    m_cache_len = 0;  // keys and values of the old weights
    auto it = check_layout(params, "parameters");
    for_each_param([&](Buf& value, Buf&, std::size_t n) {
      value.upload(it->data, n);
      ++it;
    });
  }

  void download_gradients(const std::vector<HostTensor>& grads) const override {
    auto it = check_layout(grads, "gradients");
    const_cast<GptEngine*>(this)->for_each_param([&](Buf&, Buf& grad, std::size_t n) {
      grad.download(it->data, n);  // synchronous: the copy waits for the backward pass
      ++it;
    });
  }

  void zero_grad() override {
    for_each_param([](Buf&, Buf& grad, std::size_t) { grad.zero(); });
  }

  double forward(const std::int32_t* tokens, const std::int32_t* targets, I B, I T) override {
    const I C = m_cfg.width, F = m_cfg.hidden, V = m_cfg.vocab, H = m_cfg.n_head, D = C / H, N = B * T;
    if (B < 1 || T < 1 || T > m_cfg.context)
      throw InvalidArgument("GptDevice::forward: need B >= 1 and 1 <= T <= context");
    check_ids(tokens, N, "token");
    if (targets) check_ids(targets, N, "target");
    m_B = B;
    m_T = T;
    m_have_targets = targets != nullptr;
    m_tokens.upload(tokens, static_cast<std::size_t>(N));
    if (targets) m_targets.upload(targets, static_cast<std::size_t>(N));
    const std::size_t nC = static_cast<std::size_t>(N * C), nF = static_cast<std::size_t>(N * F);
    m_x.reserve(nC);
    m_tmp.reserve(nC);
    m_be.template launch<kernels::EmbeddingForward>(N * C, C, m_tokens.data(), m_wte.data(), m_x.data());
    for (std::size_t l = 0; l < m_acts.size(); ++l) {
      auto& a = m_acts[l];
      for (Buf* b : {&a.x_in, &a.ln1, &a.q, &a.k, &a.v, &a.att, &a.x_mid, &a.ln2}) b->reserve(nC);
      for (Buf* b : {&a.a, &a.b, &a.h}) b->reserve(nF);
      a.rstd1.reserve(static_cast<std::size_t>(N));
      a.rstd2.reserve(static_cast<std::size_t>(N));
      a.probs.reserve(static_cast<std::size_t>(B * H * T * T));
      LinearState* lin = &m_lin[7 * l];
      m_be.copy(a.x_in.data(), m_x.data(), N * C);
      m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, m_x.data(), m_ln[2 * l].data(), a.ln1.data(),
                                                    a.rstd1.data());
      linear_forward(lin[0], a.ln1.data(), N, a.q.data());
      linear_forward(lin[1], a.ln1.data(), N, a.k.data());
      linear_forward(lin[2], a.ln1.data(), N, a.v.data());
      rope(a.q.data(), N, 1.0f);
      rope(a.k.data(), N, 1.0f);
      m_be.template launch<kernels::AttentionForward>(B * H * T, T, H, D, a.q.data(), a.k.data(), a.v.data(),
                                                      a.probs.data(), a.att.data());
      linear_forward(lin[3], a.att.data(), N, m_tmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, m_tmp.data(), m_x.data());
      m_be.copy(a.x_mid.data(), m_x.data(), N * C);
      m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, m_x.data(), m_ln[2 * l + 1].data(),
                                                    a.ln2.data(), a.rstd2.data());
      linear_forward(lin[4], a.ln2.data(), N, a.a.data());
      linear_forward(lin[5], a.ln2.data(), N, a.b.data());
      m_be.template launch<kernels::SwigluForward>(N * F, a.a.data(), a.b.data(), a.h.data());
      linear_forward(lin[6], a.h.data(), N, m_tmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, m_tmp.data(), m_x.data());
    }
    m_x_final.reserve(nC);
    m_lnf_out.reserve(nC);
    m_rstd_f.reserve(static_cast<std::size_t>(N));
    m_logits.reserve(static_cast<std::size_t>(N * V));
    m_be.copy(m_x_final.data(), m_x.data(), N * C);
    m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, m_x.data(), m_lnf.data(), m_lnf_out.data(),
                                                  m_rstd_f.data());
    linear_forward(m_lin.back(), m_lnf_out.data(), N, m_logits.data());
    if (!targets) {
      m_be.synchronize();
      return std::numeric_limits<double>::quiet_NaN();
    }
    m_probs.reserve(static_cast<std::size_t>(N * V));
    m_row_loss.reserve(static_cast<std::size_t>(N));
    m_be.template launch<kernels::CrossEntropyForward>(N, V, m_logits.data(), m_targets.data(), m_probs.data(),
                                                       m_row_loss.data());
    std::vector<double> rows(static_cast<std::size_t>(N));
    m_row_loss.download(rows.data(), rows.size());
    double sum = 0;
    for (double r : rows) sum += r;
    return sum / static_cast<double>(N);
  }

  void backward() override {
    if (!m_have_targets) throw std::runtime_error("GptDevice::backward needs a forward pass with targets");
    const I B = m_B, T = m_T, C = m_cfg.width, F = m_cfg.hidden, V = m_cfg.vocab, H = m_cfg.n_head, D = C / H;
    const I N = B * T;
    const std::size_t nC = static_cast<std::size_t>(N * C), nF = static_cast<std::size_t>(N * F);
    m_dlogits.reserve(static_cast<std::size_t>(N * V));
    for (Buf* b : {&m_dx, &m_dln_in, &m_dq, &m_dk, &m_dv}) b->reserve(nC);
    m_dtmp.reserve(std::max(nC, nF));
    m_d1.reserve(nF);
    m_d2.reserve(nF);
    m_dscores.reserve(static_cast<std::size_t>(B * H * T * T));
    m_be.template launch<kernels::CrossEntropyBackward>(N * V, N, V, m_probs.data(), m_targets.data(),
                                                        m_dlogits.data());
    linear_backward(m_lin.back(), m_lnf_out.data(), m_dlogits.data(), N, m_dtmp.data());
    rmsnorm_backward(m_dtmp.data(), m_x_final.data(), m_lnf.data(), m_rstd_f.data(), N, m_dx.data(), m_dlnf.data());
    for (std::size_t li = m_acts.size(); li-- > 0;) {
      auto& a = m_acts[li];
      LinearState* lin = &m_lin[7 * li];
      // MLP branch: x = x_mid + down(swiglu(gate(ln2), up(ln2)))
      linear_backward(lin[6], a.h.data(), m_dx.data(), N, m_dtmp.data());
      m_be.template launch<kernels::SwigluBackward>(N * F, m_dtmp.data(), a.a.data(), a.b.data(), m_d1.data(),
                                                    m_d2.data());
      linear_backward(lin[4], a.ln2.data(), m_d1.data(), N, m_dln_in.data());
      linear_backward(lin[5], a.ln2.data(), m_d2.data(), N, m_dtmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, m_dtmp.data(), m_dln_in.data());
      rmsnorm_backward(m_dln_in.data(), a.x_mid.data(), m_ln[2 * li + 1].data(), a.rstd2.data(), N, m_dtmp.data(),
                       m_dln[2 * li + 1].data());
      m_be.template launch<kernels::AddInplace>(N * C, m_dtmp.data(), m_dx.data());
      // attention branch: x_mid = x_in + o(attn(rope(q), rope(k), v))
      linear_backward(lin[3], a.att.data(), m_dx.data(), N, m_dtmp.data());
      m_be.template launch<kernels::AttentionBackwardScores>(B * H * T, T, H, D, m_dtmp.data(), a.v.data(),
                                                             a.probs.data(), m_dscores.data());
      m_be.template launch<kernels::AttentionBackwardDq>(B * H * T, T, H, D, m_dscores.data(), a.k.data(), m_dq.data());
      m_be.template launch<kernels::AttentionBackwardDkDv>(B * H * T, T, H, D, m_dscores.data(), a.probs.data(),
                                                           a.q.data(), m_dtmp.data(), m_dk.data(), m_dv.data());
      rope(m_dq.data(), N, -1.0f);
      rope(m_dk.data(), N, -1.0f);
      linear_backward(lin[0], a.ln1.data(), m_dq.data(), N, m_dln_in.data());
      linear_backward(lin[1], a.ln1.data(), m_dk.data(), N, m_dtmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, m_dtmp.data(), m_dln_in.data());
      linear_backward(lin[2], a.ln1.data(), m_dv.data(), N, m_dtmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, m_dtmp.data(), m_dln_in.data());
      rmsnorm_backward(m_dln_in.data(), a.x_in.data(), m_ln[2 * li].data(), a.rstd1.data(), N, m_dtmp.data(),
                       m_dln[2 * li].data());
      m_be.template launch<kernels::AddInplace>(N * C, m_dtmp.data(), m_dx.data());
    }
    m_be.template launch<kernels::EmbeddingBackward>(C, N, C, m_tokens.data(), m_dx.data(), m_dwte.data());
    m_be.synchronize();
  }

  // Inference after the cached prefix; the same block computation as
  // forward() at a position offset (nn::Gpt::run_cached, step by step).
  void decode(const std::int32_t* tokens, I B, I L, bool append, float* logits) override {
    const I C = m_cfg.width, F = m_cfg.hidden, V = m_cfg.vocab, H = m_cfg.n_head, D = C / H, N = B * L;
    const I P = m_cache_len;
    if (B < 1 || L < 1) throw InvalidArgument("GptDevice::decode: need B >= 1 and L >= 1");
    if (append && B != 1) throw InvalidArgument("GptDevice::decode: only one continuation (B = 1) can join the cache");
    if (P + L > m_cfg.context)
      throw InvalidArgument("GptDevice::decode: " + std::to_string(P) + " cached + " + std::to_string(L) +
                            " new tokens exceed the model's context of " + std::to_string(m_cfg.context));
    check_ids(tokens, N, "token");
    m_have_targets = false;  // the linears' kept buffers (LowRank's x A^T) now hold the decode's rows
    if (m_kc.empty()) {
      m_kc.resize(m_acts.size());
      m_vc.resize(m_acts.size());
      for (std::size_t l = 0; l < m_acts.size(); ++l) {
        m_kc[l].reserve(static_cast<std::size_t>(m_cfg.context * C));
        m_vc[l].reserve(static_cast<std::size_t>(m_cfg.context * C));
      }
    }
    auto& d = m_dec;
    const std::size_t nC = static_cast<std::size_t>(N * C), nF = static_cast<std::size_t>(N * F);
    for (Buf* b : {&d.x, &d.tmp, &d.ln, &d.q, &d.k, &d.v, &d.att}) b->reserve(nC);
    for (Buf* b : {&d.a, &d.b, &d.h}) b->reserve(nF);
    d.rstd.reserve(static_cast<std::size_t>(N));
    d.scores.reserve(static_cast<std::size_t>(B * H * L * (P + L)));
    d.logits.reserve(static_cast<std::size_t>(N * V));
    d.tokens.upload(tokens, static_cast<std::size_t>(N));
    m_be.template launch<kernels::EmbeddingForward>(N * C, C, d.tokens.data(), m_wte.data(), d.x.data());
    for (std::size_t l = 0; l < m_acts.size(); ++l) {
      LinearState* lin = &m_lin[7 * l];
      m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, d.x.data(), m_ln[2 * l].data(), d.ln.data(),
                                                    d.rstd.data());
      linear_forward(lin[0], d.ln.data(), N, d.q.data());
      linear_forward(lin[1], d.ln.data(), N, d.k.data());
      linear_forward(lin[2], d.ln.data(), N, d.v.data());
      m_be.template launch<kernels::RopeAt>(N * (D / 2), L, P, H, D, m_rope_cos.data(), m_rope_sin.data(), d.q.data());
      m_be.template launch<kernels::RopeAt>(N * (D / 2), L, P, H, D, m_rope_cos.data(), m_rope_sin.data(), d.k.data());
      m_be.template launch<kernels::AttentionPrefix>(B * H * L, L, P, H, D, d.q.data(), d.k.data(), d.v.data(),
                                                     m_kc[l].data(), m_vc[l].data(), d.scores.data(), d.att.data());
      linear_forward(lin[3], d.att.data(), N, d.tmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, d.tmp.data(), d.x.data());
      m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, d.x.data(), m_ln[2 * l + 1].data(),
                                                    d.ln.data(), d.rstd.data());
      linear_forward(lin[4], d.ln.data(), N, d.a.data());
      linear_forward(lin[5], d.ln.data(), N, d.b.data());
      m_be.template launch<kernels::SwigluForward>(N * F, d.a.data(), d.b.data(), d.h.data());
      linear_forward(lin[6], d.h.data(), N, d.tmp.data());
      m_be.template launch<kernels::AddInplace>(N * C, d.tmp.data(), d.x.data());
      if (append) {
        m_be.copy(m_kc[l].data() + P * C, d.k.data(), L * C);
        m_be.copy(m_vc[l].data() + P * C, d.v.data(), L * C);
      }
    }
    m_be.template launch<kernels::RmsnormForward>(N, C, m_cfg.norm_eps, d.x.data(), m_lnf.data(), d.ln.data(),
                                                  d.rstd.data());
    linear_forward(m_lin.back(), d.ln.data(), N, d.logits.data());
    d.logits.download(logits, static_cast<std::size_t>(N * V));  // synchronous
    if (append) m_cache_len = P + L;
  }

  void reset_cache() override { m_cache_len = 0; }
  long long cache_length() const override { return m_cache_len; }

  void download_logits(float* out) const override {
    m_logits.download(out, static_cast<std::size_t>(m_B * m_T * m_cfg.vocab));
  }

  std::size_t device_bytes() const override {
    std::size_t n = 0;
    for (const Buf* b :
         {&m_wte,     &m_dwte,    &m_lnf,    &m_dlnf,   &m_rope_cos, &m_rope_sin, &m_x,       &m_tmp,
          &m_x_final, &m_lnf_out, &m_rstd_f, &m_logits, &m_probs,    &m_dlogits,  &m_dx,      &m_dtmp,
          &m_d1,      &m_d2,      &m_dln_in, &m_dq,     &m_dk,       &m_dv,       &m_dscores, &m_scratch})
      n += b->bytes();
    for (const auto& g : m_ln) n += g.bytes();
    for (const auto& g : m_dln) n += g.bytes();
    for (const auto& L : m_lin)
      for (const Buf* b : {&L.W, &L.dW, &L.A, &L.dA, &L.B, &L.dB, &L.S, &L.dS, &L.xa, &L.weff}) n += b->bytes();
    for (const auto& L : m_lin) n += L.support.bytes();
    for (const auto& a : m_acts)
      for (const Buf* b : {&a.x_in, &a.ln1, &a.q, &a.k, &a.v, &a.att, &a.probs, &a.x_mid, &a.ln2, &a.a, &a.b, &a.h,
                           &a.rstd1, &a.rstd2})
        n += b->bytes();
    for (const auto* c : {&m_kc, &m_vc})
      for (const auto& b : *c) n += b.bytes();
    for (const Buf* b : {&m_dec.x, &m_dec.tmp, &m_dec.ln, &m_dec.q, &m_dec.k, &m_dec.v, &m_dec.att, &m_dec.a, &m_dec.b,
                         &m_dec.h, &m_dec.rstd, &m_dec.scores, &m_dec.logits})
      n += b->bytes();
    return n + m_tokens.bytes() + m_targets.bytes() + m_row_loss.bytes() + m_dec.tokens.bytes();
  }

 private:
  // Visits (value, grad, size) in nn::Gpt::parameters() order.
  template <class Fn>
  void for_each_param(Fn&& fn) {
    const auto C = static_cast<std::size_t>(m_cfg.width), V = static_cast<std::size_t>(m_cfg.vocab);
    fn(m_wte, m_dwte, V * C);
    for (std::size_t l = 0; l < static_cast<std::size_t>(m_cfg.n_layer); ++l) {
      fn(m_ln[2 * l], m_dln[2 * l], C);
      for (std::size_t j = 0; j < 7; ++j) {
        if (j == 4) fn(m_ln[2 * l + 1], m_dln[2 * l + 1], C);
        linear_params(m_lin[7 * l + j], fn);
      }
    }
    fn(m_lnf, m_dlnf, C);
    linear_params(m_lin.back(), fn);
  }
  template <class Fn>
  static void linear_params(LinearState& L, Fn& fn) {
    const auto in = static_cast<std::size_t>(L.desc.in), out = static_cast<std::size_t>(L.desc.out),
               r = static_cast<std::size_t>(L.desc.rank);
    if (L.desc.kind == GptDeviceLinear::Dense) {
      fn(L.W, L.dW, out * in);
      return;
    }
    fn(L.A, L.dA, r * in);
    fn(L.B, L.dB, out * r);
    if (L.desc.kind == GptDeviceLinear::SLTrain) fn(L.S, L.dS, L.desc.support.size());
  }
  std::vector<HostTensor>::const_iterator check_layout(const std::vector<HostTensor>& t, const char* what) const {
    std::size_t i = 0;
    const_cast<GptEngine*>(this)->for_each_param([&](Buf&, Buf&, std::size_t n) {
      if (i < t.size() && t[i].size != n)
        throw InvalidArgument(std::string("GptDevice: ") + what + " tensor " + std::to_string(i) + " has " +
                              std::to_string(t[i].size) + " values, the model expects " + std::to_string(n));
      ++i;
    });
    if (i != t.size())
      throw InvalidArgument(std::string("GptDevice: ") + std::to_string(t.size()) + " " + what +
                            " tensors given, the model has " + std::to_string(i));
    return t.begin();
  }
  void check_ids(const std::int32_t* ids, I n, const char* what) const {
    for (I i = 0; i < n; ++i)
      if (ids[i] < 0 || ids[i] >= m_cfg.vocab)
        throw InvalidArgument(std::string("GptDevice: ") + what + " id " + std::to_string(ids[i]) + " outside [0, " +
                              std::to_string(m_cfg.vocab) + ")");
  }

  // Row-major C[M,N] = alpha op(A) op(B) + beta C, op(A) [M,K], op(B) [K,N]:
  // BLAS is column-major, and a row-major matrix is its transpose in column
  // major, so this is C^T = op(B)^T op(A)^T on the same memory.
  void gemm(bool ta, bool tb, I M, I N, I K, float alpha, const float* A, const float* B, float beta, float* C) {
    if (M == 0 || N == 0) return;
    m_be.gemm_cm(tb, ta, N, M, K, alpha, B, tb ? K : N, A, ta ? M : K, beta, C, N);
  }

  // y [N,out] = x [N,in] W^T, as nn::Linear::forward.
  void linear_forward(LinearState& L, const float* x, I N, float* y) {
    const I in = L.desc.in, out = L.desc.out, r = L.desc.rank;
    switch (L.desc.kind) {
      case GptDeviceLinear::Dense:
        gemm(false, true, N, out, in, 1, x, L.W.data(), 0, y);
        break;
      case GptDeviceLinear::LowRank:
        L.xa.reserve(static_cast<std::size_t>(N * r));
        gemm(false, true, N, r, in, 1, x, L.A.data(), 0, L.xa.data());
        gemm(false, true, N, out, r, L.desc.scale, L.xa.data(), L.B.data(), 0, y);
        break;
      case GptDeviceLinear::SLTrain:
        gemm(false, false, out, in, r, L.desc.scale, L.B.data(), L.A.data(), 0, L.weff.data());
        m_be.template launch<kernels::SparseScatterAdd>(static_cast<I>(L.desc.support.size()), L.support.data(),
                                                        L.S.data(), L.weff.data());
        gemm(false, true, N, out, in, 1, x, L.weff.data(), 0, y);
        break;
    }
  }

  // Accumulates the parameter gradients; dx [N,in] (may be null) is overwritten.
  void linear_backward(LinearState& L, const float* x, const float* dy, I N, float* dx) {
    const I in = L.desc.in, out = L.desc.out, r = L.desc.rank;
    const float s = L.desc.scale;
    switch (L.desc.kind) {
      case GptDeviceLinear::Dense:
        if (dx) gemm(false, false, N, in, out, 1, dy, L.W.data(), 0, dx);
        gemm(true, false, out, in, N, 1, dy, x, 1, L.dW.data());
        break;
      case GptDeviceLinear::LowRank:
        // dB += s dy^T xa; dxa = s dy B; dA += dxa^T x; dx = dxa A
        m_scratch.reserve(static_cast<std::size_t>(N * r));
        gemm(true, false, out, r, N, s, dy, L.xa.data(), 1, L.dB.data());
        gemm(false, false, N, r, out, s, dy, L.B.data(), 0, m_scratch.data());
        gemm(true, false, r, in, N, 1, m_scratch.data(), x, 1, L.dA.data());
        if (dx) gemm(false, false, N, in, r, 1, m_scratch.data(), L.A.data(), 0, dx);
        break;
      case GptDeviceLinear::SLTrain: {
        // dW = dy^T x densely once; dB += s dW A^T, dA += s B^T dW, dS gathered.
        m_scratch.reserve(static_cast<std::size_t>(out * in));
        float* g = m_scratch.data();
        gemm(true, false, out, in, N, 1, dy, x, 0, g);
        gemm(false, true, out, r, in, s, g, L.A.data(), 1, L.dB.data());
        gemm(true, false, r, in, out, s, L.B.data(), g, 1, L.dA.data());
        const I nnz = static_cast<I>(L.desc.support.size());
        m_be.template launch<kernels::SparseGatherAdd>(nnz, L.support.data(), g, L.dS.data());
        if (dx) gemm(false, false, N, in, out, 1, dy, L.weff.data(), 0, dx);
        break;
      }
    }
  }

  void rmsnorm_backward(const float* dy, const float* x, const float* g, const float* rstd, I N, float* dx, float* dg) {
    const I C = m_cfg.width;
    m_be.template launch<kernels::RmsnormBackwardDx>(N, C, dy, x, g, rstd, dx);
    m_be.template launch<kernels::RmsnormBackwardDg>(C, N, C, dy, x, rstd, dg);
  }

  void rope(float* x, I N, float sign) {
    const I H = m_cfg.n_head, D = m_cfg.width / H;
    m_be.template launch<kernels::Rope>(N * (D / 2), m_T, H, D, m_rope_cos.data(), m_rope_sin.data(), sign, x);
  }

  Backend m_be;  // first: the arrays below are released before it
  GptDeviceConfig m_cfg;
  I m_B = 0, m_T = 0;
  bool m_have_targets = false;
  Buf m_wte, m_dwte, m_lnf, m_dlnf, m_rope_cos, m_rope_sin;
  std::vector<Buf> m_ln, m_dln;  // ln1, ln2 of every block (and their gradients)
  std::vector<LinearState> m_lin;
  std::vector<BlockActs> m_acts;
  Array<std::int32_t> m_tokens, m_targets;
  Array<double> m_row_loss;
  Buf m_x, m_tmp, m_x_final, m_lnf_out, m_rstd_f, m_logits, m_probs;
  Buf m_dlogits, m_dx, m_dtmp, m_d1, m_d2, m_dln_in, m_dq, m_dk, m_dv, m_dscores, m_scratch;
  std::vector<Buf> m_kc, m_vc;  // decode's cache: rotated keys and values [context, C] per layer
  I m_cache_len = 0;
  DecodeBufs m_dec;
};

}  // namespace lowrank::cuda
