// AdamW / GaLore / Muon updates; see optim.hpp.
#include "lowrank/nn/optim.hpp"

#include <cmath>
#include <numbers>

#include "kernels.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/linalg/polar.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::nn {

void OptimizerOptions::validate() const {
  auto bad = [](const std::string& m) { throw InvalidArgument(m); };
  if (!(lr > 0) || !std::isfinite(lr)) bad("lr must be > 0");
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1)) bad("min_lr_ratio must be in [0, 1]");
  if (warmup_steps < -1) bad("warmup_steps must be >= 0 (or -1: the default fraction of the steps)");
  if (!(warmup_fraction >= 0 && warmup_fraction < 1)) bad("warmup_fraction must be in [0, 1)");
  if (total_steps < 1) bad("total_steps must be >= 1");
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) bad("beta1, beta2 must be in [0, 1)");
  if (!(eps > 0)) bad("eps must be > 0");
  if (!(weight_decay >= 0)) bad("weight_decay must be >= 0");
  if (galore_update_interval < 1) bad("galore_update_interval must be >= 1");
  if (!(galore_scale > 0)) bad("galore_scale must be > 0");
  if (sgd && muon) bad("sgd and muon exclude each other");
}

std::int64_t OptimizerOptions::warmup() const {
  if (warmup_fraction > 0) return std::llround(warmup_fraction * static_cast<double>(total_steps));
  if (warmup_steps >= 0) return warmup_steps;
  return std::llround(kDefaultWarmupFraction * static_cast<double>(total_steps));
}

double learning_rate(const OptimizerOptions& o, std::int64_t step) {
  const std::int64_t warm = o.warmup();
  if (step < warm) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
  const double min_lr = o.lr * o.min_lr_ratio;
  const std::int64_t span = std::max<std::int64_t>(1, o.total_steps - warm);
  const double p = std::min(1.0, static_cast<double>(step - warm) / static_cast<double>(span));
  return min_lr + 0.5 * (o.lr - min_lr) * (1.0 + std::cos(std::numbers::pi * p));
}

template <class T>
Optimizer<T>::Optimizer(const OptimizerOptions& options, const std::vector<ParamRef<T>>& params) : m_opt(options) {
  m_opt.validate();
  m_state.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    auto& s = m_state[i];
    if (m_opt.sgd) continue;  // no state
    if (p.kind == ParamKind::GaloreWeight && !m_opt.muon) {
      const Index m = p.value->rows(), n = p.value->cols(), r = p.galore_rank;
      s.right = m > n;
      if (s.right) {
        s.m.setZero(m, r);
        s.v.setZero(m, r);
      } else {
        s.m.setZero(r, n);
        s.v.setZero(r, n);
      }
    } else {
      s.m.setZero(p.value->rows(), p.value->cols());
      if (!(m_opt.muon && (p.kind == ParamKind::Weight || p.kind == ParamKind::GaloreWeight)))
        s.v.setZero(p.value->rows(), p.value->cols());
    }
  }
}

template <class T>
std::size_t Optimizer<T>::state_bytes() const {
  std::size_t n = 0;
  for (const auto& s : m_state) n += static_cast<std::size_t>(s.m.size() + s.v.size() + s.proj.size());
  return n * sizeof(T);
}

template <class T>
double Optimizer<T>::step(const std::vector<ParamRef<T>>& params) {
  if (params.size() != m_state.size()) throw InvalidArgument("optimizer: parameter list changed");
  double sq = 0;
  for (const auto& p : params) sq += kernels::sum_squares(p.grad->data(), p.grad->size());
  const double norm = std::sqrt(sq);
  const double clip = (m_opt.grad_clip > 0 && norm > m_opt.grad_clip) ? m_opt.grad_clip / norm : 1.0;
  const double lr = learning_rate(m_opt, m_step);
  const std::int64_t t = m_step + 1;
  const double bc1 = 1.0 - std::pow(m_opt.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(m_opt.beta2, static_cast<double>(t));
  const T b1 = static_cast<T>(m_opt.beta1), b2 = static_cast<T>(m_opt.beta2);
  const T eps = static_cast<T>(m_opt.eps);
  if (m_opt.sgd) {
    for (const auto& p : params) {
      const bool decay =
          p.kind == ParamKind::Weight || p.kind == ParamKind::Sparse || p.kind == ParamKind::GaloreWeight;
      if (decay && m_opt.weight_decay > 0) *p.value *= static_cast<T>(1.0 - lr * m_opt.weight_decay);
      *p.value -= static_cast<T>(lr * clip) * (*p.grad);
    }
    ++m_step;
    return norm;
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    auto& s = m_state[i];
    const bool decay = p.kind == ParamKind::Weight || p.kind == ParamKind::Sparse || p.kind == ParamKind::GaloreWeight;
    const bool plain_adamw = !(m_opt.muon && (p.kind == ParamKind::Weight || p.kind == ParamKind::GaloreWeight) &&
                               p.value->rows() > 1 && p.value->cols() > 1) &&
                             p.kind != ParamKind::GaloreWeight;
    if (plain_adamw) {
      // AdamW with the decoupled decay folded in: one vectorised pass over
      // w, g, m, v (kernels.cpp): w = w decay - lr (m/bc1) / (sqrt(v/bc2) + eps).
      kernels::AdamWStep st{};
      st.decay_factor =
          (decay && m_opt.weight_decay > 0) ? static_cast<double>(static_cast<T>(1.0 - lr * m_opt.weight_decay)) : 1.0;
      st.lr = lr;
      st.beta1 = m_opt.beta1;
      st.beta2 = m_opt.beta2;
      st.bc1 = bc1;
      st.bc2 = bc2;
      st.eps = m_opt.eps;
      st.clip = clip;
      kernels::adamw(p.value->data(), p.grad->data(), s.m.data(), s.v.data(), p.value->size(), st);
      continue;
    }
    if (decay && m_opt.weight_decay > 0) *p.value *= static_cast<T>(1.0 - lr * m_opt.weight_decay);
    // Muon and GaLore work on a scaled copy of the gradient.
    const Act<T> g = (*p.grad) * static_cast<T>(clip);
    if (p.kind != ParamKind::GaloreWeight) {  // not plain AdamW and not GaLore: Muon
      // Muon: Nesterov momentum, then the quintic Newton-Schulz polar factor.
      s.m = b1 * s.m + g;
      const Act<T> nest = g + b1 * s.m;
      NewtonSchulzOptions ns;
      ns.kind = NewtonSchulzKind::MuonQuintic;
      ns.iterations = 5;
      const Matrix<T> o = polar_factor_newton_schulz<T>(Matrix<T>(nest), ns);
      const double shape =
          std::sqrt(std::max(1.0, static_cast<double>(p.value->rows()) / static_cast<double>(p.value->cols())));
      *p.value -= static_cast<T>(lr * shape) * Act<T>(o);
      continue;
    }
    if (p.kind == ParamKind::GaloreWeight) {
      const Index r = p.galore_rank;
      if (m_step % m_opt.galore_update_interval == 0 || s.proj.size() == 0) {
        TruncatedSvdOptions so;
        so.method = SvdMethod::Full;
        const auto svd = truncated_svd<T>(Matrix<T>(g), r, so);
        s.proj = s.right ? Act<T>(svd.V) : Act<T>(svd.U);
      }
      const Act<T> R = s.right ? Act<T>(g * s.proj) : Act<T>(s.proj.transpose() * g);
      s.m = b1 * s.m + (T(1) - b1) * R;
      s.v = b2 * s.v + (T(1) - b2) * R.cwiseProduct(R);
      const Act<T> N =
          (s.m / static_cast<T>(bc1)).cwiseQuotient(((s.v / static_cast<T>(bc2)).cwiseSqrt().array() + eps).matrix());
      const T step = static_cast<T>(lr * m_opt.galore_scale);
      if (s.right) p.value->noalias() -= step * (N * s.proj.transpose());
      else p.value->noalias() -= step * (s.proj * N);
      continue;
    }
  }
  ++m_step;
  return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace lowrank::nn
