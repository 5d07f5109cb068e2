// Hand-written forward and backward passes of the nn layers (see layers.hpp
// for shapes). Every formula is checked against finite differences in
// tests/nn/gradcheck_test.cpp.
#include "lowrank/nn/layers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::nn {

template <class T>
void linear_forward(const Act<T>& x, const Act<T>& w, const Act<T>* bias, Act<T>& y) {
  // BLAS writes y directly (beta = 0): Eigen's "y.noalias() = x * w^T" zero-fills y
  // first and then accumulates, one extra pass over every activation.
  y.resize(x.rows(), w.rows());
  kernels::gemm(false, true, x.rows(), w.rows(), x.cols(), T(1), x.data(), x.cols(), w.data(), w.cols(), T(0), y.data(),
                y.cols());
  if (bias) y.rowwise() += bias->row(0);
}

template <class T>
void linear_backward(const Act<T>& dy, const Act<T>& x, const Act<T>& w, Act<T>* dx, Act<T>& dw, Act<T>* dbias) {
  if (dx) {
    dx->resize(dy.rows(), w.cols());
    kernels::gemm(false, false, dy.rows(), w.cols(), dy.cols(), T(1), dy.data(), dy.cols(), w.data(), w.cols(), T(0),
                  dx->data(), dx->cols());
  }
  kernels::gemm(true, false, dw.rows(), dw.cols(), dy.rows(), T(1), dy.data(), dy.cols(), x.data(), x.cols(), T(1),
                dw.data(), dw.cols());
  if (dbias) *dbias += dy.colwise().sum();
}

template <class T>
void embedding_forward(const std::vector<std::int32_t>& tokens, const Act<T>& table, Act<T>& out) {
  const Index n = static_cast<Index>(tokens.size());
  out.resize(n, table.cols());
  for (Index i = 0; i < n; ++i) {
    const auto t = tokens[static_cast<std::size_t>(i)];
    if (t < 0 || t >= table.rows())
      throw InvalidArgument("embedding: token id " + std::to_string(t) + " outside [0, " +
                            std::to_string(table.rows()) + ")");
    out.row(i) = table.row(t);
  }
}

template <class T>
void embedding_backward(const std::vector<std::int32_t>& tokens, const Act<T>& dout, Act<T>& dtable) {
  for (Index i = 0; i < dout.rows(); ++i) dtable.row(tokens[static_cast<std::size_t>(i)]) += dout.row(i);
}

template <class T>
void rmsnorm_forward(const Act<T>& x, const Act<T>& g, T eps, Act<T>& y, Vector<T>& rstd) {
  const Index n = x.rows(), c = x.cols();
  y.resize(n, c);
  rstd.resize(n);
#pragma omp parallel for schedule(static) if (n * c > 65536)
  for (Index i = 0; i < n; ++i) {
    const T ms = x.row(i).squaredNorm() / static_cast<T>(c);
    const T r = T(1) / std::sqrt(ms + eps);
    rstd(i) = r;
    y.row(i) = (x.row(i) * r).cwiseProduct(g.row(0));
  }
}

template <class T>
void rmsnorm_backward(const Act<T>& dy, const Act<T>& x, const Act<T>& g, const Vector<T>& rstd, Act<T>& dx, Act<T>& dg,
                      bool accumulate) {
  const Index n = x.rows(), c = x.cols();
  if (!accumulate) dx.resize(n, c);
  else if (dx.rows() != n || dx.cols() != c)
    throw InvalidArgument("rmsnorm_backward: accumulating into a " + std::to_string(dx.rows()) + " x " +
                          std::to_string(dx.cols()) + " gradient, expected " + std::to_string(n) + " x " +
                          std::to_string(c));
  // d/dx of x_j r g_j with r = (mean(x^2)+eps)^(-1/2):
  //   dx = r (dxhat - xhat * mean(dxhat . xhat)),  dxhat = dy . g, xhat = x r
  // Raw rows through a vectorised kernel: Eigen's row temporaries of dynamic
  // size would cost a heap allocation per row.
  for (Index i = 0; i < n; ++i)
    kernels::rmsnorm_backward_row(dy.data() + i * c, x.data() + i * c, g.data(), rstd(i), dx.data() + i * c, dg.data(),
                                  c, accumulate);
}

namespace {
// cos / sin of pos * theta^(-2i/D) for pos < T, i < D/2, computed in double
// and rounded once; kept per thread and rebuilt only when (T, D, theta)
// change, so a training step does no pow / cos / sin at all (rope_apply runs
// four times per block per step).
// An entry depends only on (pos, i, D, theta), so a table built for more
// positions serves fewer: decoding one token at a time at growing offsets
// reuses it instead of rebuilding.
template <class T>
struct RopeTable {
  Index t = -1, d = -1;
  double theta = 0;
  std::vector<T> cos, sin;  // [T, D/2] row-major
};
template <class T>
const RopeTable<T>& rope_table(Index T_, Index D, double theta) {
  thread_local RopeTable<T> tab;
  if (tab.t >= T_ && tab.d == D && tab.theta == theta) return tab;
  const Index P = D / 2;
  tab.cos.resize(static_cast<std::size_t>(T_ * P));
  tab.sin.resize(tab.cos.size());
  for (Index i = 0; i < P; ++i) {
    const double freq = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
    for (Index pos = 0; pos < T_; ++pos) {
      const double ang = static_cast<double>(pos) * freq;
      tab.cos[static_cast<std::size_t>(pos * P + i)] = static_cast<T>(std::cos(ang));
      tab.sin[static_cast<std::size_t>(pos * P + i)] = static_cast<T>(std::sin(ang));
    }
  }
  tab.t = T_;
  tab.d = D;
  tab.theta = theta;
  return tab;
}
}  // namespace

template <class T>
void rope_apply(Act<T>& x, Index B, Index T_, Index H, double theta, bool inverse, Index pos0) {
  const Index D = x.cols() / H;
  if (D % 2 != 0) throw InvalidArgument("rope: head dimension must be even");
  if (pos0 < 0) throw InvalidArgument("rope: position offset must be >= 0");
  const Index P = D / 2;
  const RopeTable<T>& tab = rope_table<T>(pos0 + T_, D, theta);
  const T sign = inverse ? T(-1) : T(1);
  const Index C = x.cols();
  // Inside OpenMP threads the table is the calling thread's (read-only here).
  const T* cos_all = tab.cos.data();
  const T* sin_all = tab.sin.data();
#pragma omp parallel for schedule(static) if (B * T_ * x.cols() > 65536)
  for (Index row = 0; row < B * T_; ++row) {
    const T* cs = cos_all + (pos0 + row % T_) * P;
    const T* sn = sin_all + (pos0 + row % T_) * P;
    T* xr = x.data() + row * C;
    for (Index h = 0; h < H; ++h) {
      T* xh = xr + h * D;
      for (Index i = 0; i < P; ++i) {
        const T c = cs[i], s = sign * sn[i];
        const T a0 = xh[2 * i], b0 = xh[2 * i + 1];
        xh[2 * i] = a0 * c - b0 * s;
        xh[2 * i + 1] = a0 * s + b0 * c;
      }
    }
  }
}

namespace {
// Causal attention touches only the lower triangle of the [T, T] scores, so
// its four products per head run over row blocks of kAttBlock queries and the
// keys up to each block's end: (nb + 1) / (2 nb) of the full products' flops
// for nb blocks (3/4 at T = 64, 5/8 at T = 128).
constexpr Index kAttBlock = 32;
}  // namespace

template <class T>
void attention_forward(const Act<T>& q, const Act<T>& k, const Act<T>& v, Index B, Index T_, Index H, Act<T>& out,
                       Act<T>& probs) {
  const Index C = q.cols(), D = C / H;
  const T scale = T(1) / std::sqrt(static_cast<T>(D));
  out.resize(B * T_, C);  // every head block is assigned below
  probs.resize(B * H, T_ * T_);
#pragma omp parallel for schedule(static) collapse(2) if (B * H * T_ * T_ * D > 32768)
  for (Index b = 0; b < B; ++b) {
    for (Index h = 0; h < H; ++h) {
      // Head blocks are [T, D] views with row stride C; the products go to
      // BLAS directly (beta = 0: no zero-fill of the outputs first).
      const Index off = b * T_ * C + h * D;
      // Scores go straight into the probs buffer (row-major [T, T]); each
      // causal row prefix is then exponentiated with Eigen's vectorised exp.
      Eigen::Map<RowMajorMatrix<T>> P(probs.row(b * H + h).data(), T_, T_);
      for (Index r0 = 0; r0 < T_; r0 += kAttBlock) {
        const Index m = std::min(kAttBlock, T_ - r0), keys = r0 + m;  // queries r0..r0+m-1 see keys 0..keys-1
        kernels::gemm(false, true, m, keys, D, scale, q.data() + off + r0 * C, C, k.data() + off, C, T(0),
                      P.data() + r0 * T_, T_);
        for (Index t = r0; t < keys; ++t) {
          auto row = P.row(t).head(t + 1).array();
          const T mx = row.maxCoeff();
          row = (row - mx).exp();
          row /= row.sum();
          P.row(t).tail(T_ - t - 1).setZero();
        }
        kernels::gemm(false, false, m, D, keys, T(1), P.data() + r0 * T_, T_, v.data() + off, C, T(0),
                      out.data() + off + r0 * C, C);
      }
    }
  }
}

template <class T>
void attention_forward_prefix(const Act<T>& q, const Act<T>& k, const Act<T>& v, const Act<T>& kc, const Act<T>& vc,
                              Index P, Index B, Index L, Index H, Act<T>& out) {
  const Index C = q.cols(), D = C / H, N = B * L;
  if (P < 0 || kc.rows() < P || vc.rows() < P || (P > 0 && (kc.cols() != C || vc.cols() != C)))
    throw InvalidArgument("attention: cached keys/values do not hold " + std::to_string(P) + " rows of width " +
                          std::to_string(C));
  const T scale = T(1) / std::sqrt(static_cast<T>(D));
  out.resize(N, C);  // every head block is assigned below
  // Scores of query t: [S_prefix (P) | S_self (t+1)], one max-shifted softmax
  // over both, then out = P_prefix Vc + P_self V.
#pragma omp parallel for schedule(static) collapse(2) if (N * (P + L) * C > 262144)
  for (Index bi = 0; bi < B; ++bi) {
    for (Index hi = 0; hi < H; ++hi) {
      const auto Q = q.block(bi * L, hi * D, L, D);
      const auto K = k.block(bi * L, hi * D, L, D);
      const auto V = v.block(bi * L, hi * D, L, D);
      Matrix<T> sc(L, P), ss = (Q * K.transpose()) * scale;
      if (P > 0) sc.noalias() = (Q * kc.block(0, hi * D, P, D).transpose()) * scale;
      for (Index t = 0; t < L; ++t) {
        T mx = -std::numeric_limits<T>::infinity();
        for (Index s = 0; s < P; ++s) mx = std::max(mx, sc(t, s));
        for (Index s = 0; s <= t; ++s) mx = std::max(mx, ss(t, s));
        T sum = 0;
        for (Index s = 0; s < P; ++s) sum += (sc(t, s) = std::exp(sc(t, s) - mx));
        for (Index s = 0; s <= t; ++s) sum += (ss(t, s) = std::exp(ss(t, s) - mx));
        for (Index s = 0; s < P; ++s) sc(t, s) /= sum;
        for (Index s = 0; s <= t; ++s) ss(t, s) /= sum;
        for (Index s = t + 1; s < L; ++s) ss(t, s) = 0;
      }
      auto o = out.block(bi * L, hi * D, L, D);
      o.noalias() = ss * V;
      if (P > 0) o.noalias() += sc * vc.block(0, hi * D, P, D);
    }
  }
}

template <class T>
void attention_backward(const Act<T>& dout, const Act<T>& q, const Act<T>& k, const Act<T>& v, const Act<T>& probs,
                        Index B, Index T_, Index H, Act<T>& dq, Act<T>& dk, Act<T>& dv) {
  const Index C = q.cols(), D = C / H;
  const T scale = T(1) / std::sqrt(static_cast<T>(D));
  dq.resize(B * T_, C);  // every head block is assigned below
  dk.resize(B * T_, C);
  dv.resize(B * T_, C);
#pragma omp parallel for schedule(static) collapse(2) if (B * H * T_ * T_ * D > 32768)
  for (Index b = 0; b < B; ++b) {
    for (Index h = 0; h < H; ++h) {
      const Index off = b * T_ * C + h * D;  // head block [T, D], row stride C
      Eigen::Map<const RowMajorMatrix<T>> P(probs.row(b * H + h).data(), T_, T_);
      RowMajorMatrix<T> dS(T_, T_);  // dP = dO V^T [T, T], turned into dS in place
      // Row blocks of queries (kAttBlock): P and dS are zero right of each
      // block's last key, so dP, dQ = dS K only need keys up to the block's
      // end, and dV = P^T dO, dK = dS^T Q for the keys of block j only need
      // the queries from j's first row on.
      for (Index r0 = 0; r0 < T_; r0 += kAttBlock) {
        const Index m = std::min(kAttBlock, T_ - r0), keys = r0 + m, rest = T_ - r0;
        kernels::gemm(true, false, m, D, rest, T(1), P.data() + r0 * T_ + r0, T_, dout.data() + off + r0 * C, C, T(0),
                      dv.data() + off + r0 * C, C);
        kernels::gemm(false, true, m, keys, D, T(1), dout.data() + off + r0 * C, C, v.data() + off, C, T(0),
                      dS.data() + r0 * T_, T_);
        // softmax backward row by row: dS = P . (dP - sum_s P dP); zero above the diagonal
        for (Index t = r0; t < keys; ++t) {
          const auto p = P.row(t).head(t + 1).array();
          auto d = dS.row(t).head(t + 1).array();
          const T dot = (p * d).sum();
          d = p * (d - dot) * scale;
          dS.row(t).tail(T_ - t - 1).setZero();
        }
        kernels::gemm(false, false, m, D, keys, T(1), dS.data() + r0 * T_, T_, k.data() + off, C, T(0),
                      dq.data() + off + r0 * C, C);
      }
      // dK needs dS complete below each key block (every later query block).
      for (Index r0 = 0; r0 < T_; r0 += kAttBlock) {
        const Index m = std::min(kAttBlock, T_ - r0), rest = T_ - r0;
        kernels::gemm(true, false, m, D, rest, T(1), dS.data() + r0 * T_ + r0, T_, q.data() + off + r0 * C, C, T(0),
                      dk.data() + off + r0 * C, C);
      }
    }
  }
}

template <class T>
void swiglu_forward(const Act<T>& a, const Act<T>& b, Act<T>& h) {
  // silu(a) = a / (1 + exp(-a)), one vectorised pass (kernels.cpp).
  h.resize(a.rows(), a.cols());
  kernels::swiglu_forward(a.data(), b.data(), h.data(), a.size());
}

template <class T>
void swiglu_backward(const Act<T>& dh, const Act<T>& a, const Act<T>& b, Act<T>& da, Act<T>& db) {
  // s = sigmoid(a): db = a s dh; silu'(a) = s (1 + a (1 - s)), da = silu'(a) b dh.
  // One fused pass (kernels.cpp).
  da.resize(a.rows(), a.cols());
  db.resize(a.rows(), a.cols());
  kernels::swiglu_backward(dh.data(), a.data(), b.data(), da.data(), db.data(), a.size());
}

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::ReLU;
  if (name == "gelu") return Activation::GELU;
  if (name == "tanh") return Activation::Tanh;
  if (name == "linear" || name == "identity") return Activation::Identity;
  throw InvalidArgument("activation must be relu, gelu, tanh or linear (got '" + name + "')");
}

const char* to_string(Activation a) noexcept {
  switch (a) {
    case Activation::ReLU:
      return "relu";
    case Activation::GELU:
      return "gelu";
    case Activation::Tanh:
      return "tanh";
    case Activation::Identity:
      return "linear";
  }
  return "?";
}

namespace {
constexpr double kGeluC = 0.7978845608028654;  // sqrt(2/pi)
template <class T>
T gelu(T x) {
  const T u = static_cast<T>(kGeluC) * (x + T(0.044715) * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(u));
}
template <class T>
T gelu_grad(T x) {
  const T u = static_cast<T>(kGeluC) * (x + T(0.044715) * x * x * x);
  const T th = std::tanh(u);
  const T du = static_cast<T>(kGeluC) * (T(1) + T(3 * 0.044715) * x * x);
  return T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * du;
}
}  // namespace

template <class T>
void activation_forward(Activation kind, const Act<T>& x, Act<T>& y) {
  switch (kind) {
    case Activation::ReLU:
      y = x.cwiseMax(T(0));
      break;
    case Activation::GELU:
      y = x.unaryExpr([](T v) { return gelu(v); });
      break;
    case Activation::Tanh:
      y = x.array().tanh().matrix();
      break;
    case Activation::Identity:
      y = x;
      break;
  }
}

template <class T>
void activation_backward(Activation kind, const Act<T>& dy, const Act<T>& x, Act<T>& dx) {
  switch (kind) {
    case Activation::ReLU:
      dx = x.unaryExpr([](T v) { return v > T(0) ? T(1) : T(0); }).cwiseProduct(dy);
      break;
    case Activation::GELU:
      dx = x.unaryExpr([](T v) { return gelu_grad(v); }).cwiseProduct(dy);
      break;
    case Activation::Identity:
      dx = dy;
      break;
    case Activation::Tanh:
      dx = x.unaryExpr([](T v) {
              const T t = std::tanh(v);
              return T(1) - t * t;
            }).cwiseProduct(dy);
      break;
  }
}

template <class T>
double cross_entropy_forward(const Act<T>& logits, const std::vector<std::int32_t>& targets, Act<T>& probs) {
  const Index n = logits.rows(), V = logits.cols();
  if (static_cast<Index>(targets.size()) != n)
    throw InvalidArgument("cross_entropy: " + std::to_string(targets.size()) + " targets for " + std::to_string(n) +
                          " rows");
  probs.resize(n, V);
  double loss = 0;
  for (Index i = 0; i < n; ++i) {
    const auto t = targets[static_cast<std::size_t>(i)];
    if (t < 0 || t >= V)
      throw InvalidArgument("cross_entropy: target " + std::to_string(t) + " outside [0, " + std::to_string(V) + ")");
    const T mx = logits.row(i).maxCoeff();
    probs.row(i) = (logits.row(i).array() - mx).exp().matrix();
    const T sum = probs.row(i).sum();
    probs.row(i) /= sum;
    loss += -(static_cast<double>(logits(i, t) - mx) - std::log(static_cast<double>(sum)));
  }
  return loss / static_cast<double>(n);
}

template <class T>
void cross_entropy_backward(const Act<T>& probs, const std::vector<std::int32_t>& targets, Act<T>& dlogits) {
  const Index n = probs.rows();
  dlogits = probs;
  for (Index i = 0; i < n; ++i) dlogits(i, targets[static_cast<std::size_t>(i)]) -= T(1);
  dlogits /= static_cast<T>(n);
}

template <class T>
double mse_forward(const Act<T>& pred, const Act<T>& target) {
  if (pred.rows() != target.rows() || pred.cols() != target.cols())
    throw InvalidArgument("mse: prediction and target shapes differ");
  return 0.5 * static_cast<double>((pred - target).squaredNorm()) / static_cast<double>(pred.rows());
}

template <class T>
void mse_backward(const Act<T>& pred, const Act<T>& target, Act<T>& dpred) {
  dpred = (pred - target) / static_cast<T>(pred.rows());
}

#define LOWRANK_NN_LAYERS(T)                                                                                           \
  template void linear_forward<T>(const Act<T>&, const Act<T>&, const Act<T>*, Act<T>&);                               \
  template void linear_backward<T>(const Act<T>&, const Act<T>&, const Act<T>&, Act<T>*, Act<T>&, Act<T>*);            \
  template void embedding_forward<T>(const std::vector<std::int32_t>&, const Act<T>&, Act<T>&);                        \
  template void embedding_backward<T>(const std::vector<std::int32_t>&, const Act<T>&, Act<T>&);                       \
  template void rmsnorm_forward<T>(const Act<T>&, const Act<T>&, T, Act<T>&, Vector<T>&);                              \
  template void rmsnorm_backward<T>(const Act<T>&, const Act<T>&, const Act<T>&, const Vector<T>&, Act<T>&, Act<T>&,   \
                                    bool);                                                                             \
  template void rope_apply<T>(Act<T>&, Index, Index, Index, double, bool, Index);                                      \
  template void attention_forward<T>(const Act<T>&, const Act<T>&, const Act<T>&, Index, Index, Index, Act<T>&,        \
                                     Act<T>&);                                                                         \
  template void attention_forward_prefix<T>(const Act<T>&, const Act<T>&, const Act<T>&, const Act<T>&, const Act<T>&, \
                                            Index, Index, Index, Index, Act<T>&);                                      \
  template void attention_backward<T>(const Act<T>&, const Act<T>&, const Act<T>&, const Act<T>&, const Act<T>&,       \
                                      Index, Index, Index, Act<T>&, Act<T>&, Act<T>&);                                 \
  template void swiglu_forward<T>(const Act<T>&, const Act<T>&, Act<T>&);                                              \
  template void swiglu_backward<T>(const Act<T>&, const Act<T>&, const Act<T>&, Act<T>&, Act<T>&);                     \
  template void activation_forward<T>(Activation, const Act<T>&, Act<T>&);                                             \
  template void activation_backward<T>(Activation, const Act<T>&, const Act<T>&, Act<T>&);                             \
  template double cross_entropy_forward<T>(const Act<T>&, const std::vector<std::int32_t>&, Act<T>&);                  \
  template void cross_entropy_backward<T>(const Act<T>&, const std::vector<std::int32_t>&, Act<T>&);                   \
  template double mse_forward<T>(const Act<T>&, const Act<T>&);                                                        \
  template void mse_backward<T>(const Act<T>&, const Act<T>&, Act<T>&);

LOWRANK_NN_LAYERS(float)
LOWRANK_NN_LAYERS(double)

}  // namespace lowrank::nn
