// Parameterized linear layers; formulas in linear.hpp, gradients checked by
// finite differences in tests/nn/gradcheck_test.cpp.
#include "lowrank/nn/linear.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "kernels.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::nn {

Parameterization parse_parameterization(const std::string& name) {
  if (name == "dense") return Parameterization::Dense;
  if (name == "lowrank") return Parameterization::LowRank;
  if (name == "sltrain") return Parameterization::SLTrain;
  if (name == "galore") return Parameterization::GaLore;
  throw InvalidArgument("parameterization must be dense, lowrank, sltrain or galore (got '" + name + "')");
}

const char* to_string(Parameterization p) noexcept {
  switch (p) {
    case Parameterization::Dense:
      return "dense";
    case Parameterization::LowRank:
      return "lowrank";
    case Parameterization::SLTrain:
      return "sltrain";
    case Parameterization::GaLore:
      return "galore";
  }
  return "?";
}

BInit parse_b_init(const std::string& name) {
  if (name == "default") return BInit::Default;
  if (name == "zero") return BInit::Zero;
  if (name == "random") return BInit::Random;
  throw InvalidArgument("B initialisation must be default, zero or random (got '" + name + "')");
}

const char* to_string(BInit b) noexcept {
  switch (b) {
    case BInit::Default:
      return "default";
    case BInit::Zero:
      return "zero";
    case BInit::Random:
      return "random";
  }
  return "?";
}

std::int64_t sltrain_nnz(double delta, std::int64_t total) {
  if (delta == 0) return 0;
  return std::max<std::int64_t>(1, std::llround(delta * static_cast<double>(total)));
}

void validate(const LinearSpec& spec, Index in, Index out) {
  if (in < 1 || out < 1) throw InvalidArgument("linear layer needs in, out >= 1");
  if (spec.kind == Parameterization::Dense) return;
  const Index mn = std::min(in, out);
  if (spec.rank < 1 || spec.rank > mn)
    throw InvalidArgument("rank " + std::to_string(spec.rank) + " does not fit a " + std::to_string(out) + " x " +
                          std::to_string(in) + " layer (need 1 <= rank <= " + std::to_string(mn) + ")");
  if (spec.kind == Parameterization::GaLore) return;
  if (!(spec.alpha > 0) || !std::isfinite(spec.alpha)) throw InvalidArgument("alpha must be > 0");
  if (spec.kind == Parameterization::SLTrain && !(spec.delta >= 0 && spec.delta <= 1))
    throw InvalidArgument("delta must be in [0, 1] (got " + std::to_string(spec.delta) + ")");
}

template <class T>
static void fill_uniform(Act<T>& m, double bound, Rng& rng) {
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(-bound, bound));
}

template <class T>
Linear<T>::Linear(Index in, Index out, const LinearSpec& spec, Rng& rng) : m_in(in), m_out(out), m_spec(spec) {
  validate(spec, in, out);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  const Index r = spec.rank;
  switch (spec.kind) {
    case Parameterization::Dense:
    case Parameterization::GaLore:
      W.resize(out, in);
      fill_uniform(W, bound, rng);
      dW.setZero(out, in);
      break;
    case Parameterization::SLTrain:
    case Parameterization::LowRank:
      A.resize(r, in);
      fill_uniform(A, bound, rng);
      if (spec.resolved_b_init() == BInit::Random) {
        // LowRank's default. Not B = 0: in a network, W = 0 in two
        // projections that multiply (q and k; v and o; gate and up; a layer
        // and the next) is a saddle where every block gradient vanishes.
        B.resize(out, r);
        fill_uniform(B, 1.0 / std::sqrt(static_cast<double>(r)), rng);
      } else {
        B.setZero(out, r);  // SLTrain's default: S makes W nonzero, so B = 0 is no saddle
      }
      dA.setZero(r, in);
      dB.setZero(out, r);
      break;
  }
  if (spec.kind == Parameterization::SLTrain) {
    const std::int64_t total = static_cast<std::int64_t>(in) * out;
    const auto nnz = sltrain_nnz(spec.delta, total);
    // Floyd's algorithm: nnz distinct indices uniformly from [0, total).
    std::unordered_set<std::int64_t> chosen;
    chosen.reserve(static_cast<std::size_t>(nnz) * 2);
    for (std::int64_t j = total - nnz; j < total; ++j) {
      const auto t = rng.integer(0, j);
      if (!chosen.insert(t).second) chosen.insert(j);
    }
    support.assign(chosen.begin(), chosen.end());
    std::sort(support.begin(), support.end());
    S.resize(static_cast<Index>(nnz), 1);
    fill_uniform(S, bound, rng);
    dS.setZero(S.rows(), 1);
  }
  if (spec.bias) {
    b.setZero(1, out);
    db.setZero(1, out);
  }
}

template <class T>
Act<T> Linear<T>::effective_weight() const {
  switch (m_spec.kind) {
    case Parameterization::Dense:
    case Parameterization::GaLore:
      return W;
    case Parameterization::LowRank:
      return (scale() * B) * A;
    case Parameterization::SLTrain: {
      Act<T> w = (scale() * B) * A;
      for (std::size_t k = 0; k < support.size(); ++k)
        w.data()[support[k]] += S(static_cast<Index>(k), 0);  // row-major flat index
      return w;
    }
  }
  return W;
}

namespace {
// y[N,out] (+)= alpha x[N,in] w[out,in]^T, BLAS writing y directly.
template <class T>
void gemm_xwt(const Act<T>& x, const Act<T>& w, T alpha, bool accumulate, Act<T>& y) {
  if (!accumulate) y.resize(x.rows(), w.rows());
  kernels::gemm(false, true, x.rows(), w.rows(), x.cols(), alpha, x.data(), x.cols(), w.data(), w.cols(),
                accumulate ? T(1) : T(0), y.data(), y.cols());
}
// dx[N,in] (+)= dy[N,out] w[out,in].
template <class T>
void gemm_dyw(const Act<T>& dy, const Act<T>& w, bool accumulate, Act<T>& dx) {
  if (!accumulate) dx.resize(dy.rows(), w.cols());
  kernels::gemm(false, false, dy.rows(), w.cols(), dy.cols(), T(1), dy.data(), dy.cols(), w.data(), w.cols(),
                accumulate ? T(1) : T(0), dx.data(), dx.cols());
}
}  // namespace

template <class T>
void Linear<T>::forward(const Act<T>& x, Act<T>& y, bool accumulate) {
  const Act<T>* bias = m_spec.bias ? &b : nullptr;
  if (accumulate && (y.rows() != x.rows() || y.cols() != m_out))
    throw InvalidArgument("Linear::forward: accumulating into a " + std::to_string(y.rows()) + " x " +
                          std::to_string(y.cols()) + " output, expected " + std::to_string(x.rows()) + " x " +
                          std::to_string(m_out));
  switch (m_spec.kind) {
    case Parameterization::Dense:
    case Parameterization::GaLore:
      gemm_xwt(x, W, T(1), accumulate, y);
      if (bias) y.rowwise() += b.row(0);
      break;
    case Parameterization::LowRank:
      // y = s (x A^T) B^T: two thin GEMMs, the [N, r] intermediate is kept.
      // (BLAS with beta = 0 writes the outputs without zero-filling them first.)
      m_xa.resize(x.rows(), A.rows());
      kernels::gemm(false, true, x.rows(), A.rows(), x.cols(), T(1), x.data(), x.cols(), A.data(), A.cols(), T(0),
                    m_xa.data(), m_xa.cols());
      gemm_xwt(m_xa, B, scale(), accumulate, y);
      if (bias) y.rowwise() += b.row(0);
      break;
    case Parameterization::SLTrain:
      // Reconstruct W once per call (out*in*r flops, small next to N*out*in)
      // and run one dense GEMM, as SLTrain's reference implementation does.
      // (effective_weight()'s formula, into the kept buffer without a zero-fill.)
      m_weff.resize(m_out, m_in);
      kernels::gemm(false, false, m_out, m_in, B.cols(), scale(), B.data(), B.cols(), A.data(), m_in, T(0),
                    m_weff.data(), m_in);
      for (std::size_t k = 0; k < support.size(); ++k) m_weff.data()[support[k]] += S(static_cast<Index>(k), 0);
      gemm_xwt(x, m_weff, T(1), accumulate, y);
      if (bias) y.rowwise() += b.row(0);
      break;
  }
}

template <class T>
void Linear<T>::apply(const Act<T>& x, Act<T>& y) const {
  const Act<T>* bias = m_spec.bias ? &b : nullptr;
  if (m_spec.kind == Parameterization::Dense || m_spec.kind == Parameterization::GaLore) {
    linear_forward(x, W, bias, y);
    return;
  }
  const Act<T> xa = x * A.transpose();
  y.noalias() = (xa * B.transpose()) * scale();
  if (m_spec.kind == Parameterization::SLTrain) {
    // y[n, o] += S_k x[n, i] for support entry k = o * in + i.
    for (std::size_t k = 0; k < support.size(); ++k) {
      const Index o = static_cast<Index>(support[k] / m_in), i = static_cast<Index>(support[k] % m_in);
      y.col(o) += S(static_cast<Index>(k), 0) * x.col(i);
    }
  }
  if (bias) y.rowwise() += b.row(0);
}

template <class T>
void Linear<T>::backward(const Act<T>& x, const Act<T>& dy, Act<T>* dx, bool accumulate_dx) {
  if (m_spec.bias) db += dy.colwise().sum();
  if (dx && accumulate_dx && (dx->rows() != dy.rows() || dx->cols() != m_in))
    throw InvalidArgument("Linear::backward: accumulating into a " + std::to_string(dx->rows()) + " x " +
                          std::to_string(dx->cols()) + " input gradient, expected " + std::to_string(dy.rows()) +
                          " x " + std::to_string(m_in));
  const T s = scale();
  switch (m_spec.kind) {
    case Parameterization::Dense:
    case Parameterization::GaLore:
      if (dx) gemm_dyw(dy, W, accumulate_dx, *dx);
      linear_backward(dy, x, W, static_cast<Act<T>*>(nullptr), dW, static_cast<Act<T>*>(nullptr));
      break;
    case Parameterization::LowRank: {
      // y = s xa B^T, xa = x A^T:  dB += s dy^T xa; dxa = s dy B; dA += dxa^T x; dx = dxa A
      const Index N = dy.rows(), r = A.rows();
      kernels::gemm(true, false, dB.rows(), r, N, s, dy.data(), dy.cols(), m_xa.data(), r, T(1), dB.data(), r);
      Act<T> dxa(N, r);
      kernels::gemm(false, false, N, r, dy.cols(), s, dy.data(), dy.cols(), B.data(), r, T(0), dxa.data(), r);
      kernels::gemm(true, false, r, dA.cols(), N, T(1), dxa.data(), r, x.data(), x.cols(), T(1), dA.data(), dA.cols());
      if (dx) gemm_dyw(dxa, A, accumulate_dx, *dx);
      break;
    }
    case Parameterization::SLTrain: {
      // dW densely once (one GEMM), then dB = s dW A^T, dA = s B^T dW and the
      // sparse gradient is gathered from dW on the fixed support.
      Act<T> g(m_out, m_in);  // dW [out, in] = dy^T x, written by BLAS without a zero-fill
      kernels::gemm(true, false, m_out, m_in, dy.rows(), T(1), dy.data(), dy.cols(), x.data(), x.cols(), T(0), g.data(),
                    m_in);
      dB.noalias() += (g * A.transpose()) * s;
      dA.noalias() += (B.transpose() * g) * s;
      for (std::size_t k = 0; k < support.size(); ++k) dS(static_cast<Index>(k), 0) += g.data()[support[k]];
      if (dx) {
        if (m_weff.rows() != m_out) m_weff = effective_weight();
        gemm_dyw(dy, m_weff, accumulate_dx, *dx);
      }
      break;
    }
  }
}

template <class T>
void Linear<T>::input_gradient(const Act<T>& dy, Act<T>& dx) const {
  if (m_spec.kind == Parameterization::Dense || m_spec.kind == Parameterization::GaLore) {
    dx.noalias() = dy * W;
    return;
  }
  // dx = s (dy B) A, then SLTrain's S: dx[n, i] += S_k dy[n, o] for support entry k = o * in + i.
  const Act<T> dyb = dy * B;
  dx.noalias() = (dyb * A) * scale();
  if (m_spec.kind == Parameterization::SLTrain)
    for (std::size_t k = 0; k < support.size(); ++k) {
      const Index o = static_cast<Index>(support[k] / m_in), i = static_cast<Index>(support[k] % m_in);
      dx.col(i) += S(static_cast<Index>(k), 0) * dy.col(o);
    }
}

template <class T>
void Linear<T>::collect(const std::string& prefix, std::vector<ParamRef<T>>& out) {
  switch (m_spec.kind) {
    case Parameterization::Dense:
      out.push_back({prefix + ".W", &W, &dW, ParamKind::Weight, 0});
      break;
    case Parameterization::GaLore:
      out.push_back({prefix + ".W", &W, &dW, ParamKind::GaloreWeight, m_spec.rank});
      break;
    case Parameterization::SLTrain:
    case Parameterization::LowRank:
      out.push_back({prefix + ".A", &A, &dA, ParamKind::Weight, 0});
      out.push_back({prefix + ".B", &B, &dB, ParamKind::Weight, 0});
      if (m_spec.kind == Parameterization::SLTrain) out.push_back({prefix + ".S", &S, &dS, ParamKind::Sparse, 0});
      break;
  }
  if (m_spec.bias) out.push_back({prefix + ".b", &b, &db, ParamKind::Gain, 0});
}

template class Linear<float>;
template class Linear<double>;

}  // namespace lowrank::nn
