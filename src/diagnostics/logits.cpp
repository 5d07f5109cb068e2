// Extended logit matrix, its rank and LINGEN (see logits.hpp).
#include "lowrank/diagnostics/logits.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>

#include "lowrank/core/random.hpp"
#include "lowrank/linalg/spectral.hpp"
#include "lowrank/linalg/svd.hpp"
#include "lowrank/nn/gpu.hpp"
#include "lowrank/nn/layers.hpp"

namespace lowrank::diagnostics {

namespace {

using Clock = std::chrono::steady_clock;

// log softmax of a vector (max-shifted).
VectorXd log_softmax(const VectorXd& z) {
  const double mx = z.maxCoeff();
  const double lse = mx + std::log((z.array() - mx).exp().sum());
  return (z.array() - lse).matrix();
}

// KL(p || q) from log-probabilities.
double kl_from_logs(const VectorXd& lp, const VectorXd& lq) {
  return std::max(0.0, (lp.array().exp() * (lp - lq).array()).sum());
}

void check_tokens(const Tokens& t, Index vocab, const char* what, std::size_t index) {
  for (auto z : t)
    if (z < 0 || z >= vocab)
      throw InvalidArgument(std::string(what) + " " + std::to_string(index) + " holds token id " + std::to_string(z) +
                            " outside the model's vocabulary [0, " + std::to_string(vocab) + ")");
}

}  // namespace

// ---- extended logit matrix ---------------------------------------------------

namespace {

template <class T>
void validate_inputs(const nn::Gpt<T>& model, const std::vector<Tokens>& histories, const std::vector<Tokens>& futures,
                     Index extra = 0) {
  const auto& cfg = model.config();
  if (histories.empty()) throw InvalidArgument("logit matrix: no histories given");
  if (futures.empty()) throw InvalidArgument("logit matrix: no futures given");
  const auto L = static_cast<Index>(futures[0].size());
  if (L < 1) throw InvalidArgument("logit matrix: futures must hold at least one token");
  for (std::size_t j = 0; j < futures.size(); ++j) {
    if (static_cast<Index>(futures[j].size()) != L)
      throw InvalidArgument("logit matrix: future " + std::to_string(j) + " has " + std::to_string(futures[j].size()) +
                            " tokens, future 0 has " + std::to_string(L) + " (all futures must have one length)");
    check_tokens(futures[j], cfg.vocab, "future", j);
  }
  for (std::size_t i = 0; i < histories.size(); ++i) {
    const auto P = static_cast<Index>(histories[i].size());
    if (P < 1) throw InvalidArgument("logit matrix: history " + std::to_string(i) + " is empty");
    if (P + std::max(L, extra) > cfg.context)
      throw InvalidArgument("logit matrix: history " + std::to_string(i) + " (" + std::to_string(P) + " tokens) + " +
                            std::to_string(std::max(L, extra)) + " more tokens exceed the model's context of " +
                            std::to_string(cfg.context));
    check_tokens(histories[i], cfg.vocab, "history", i);
  }
}

}  // namespace

template <class T>
LogitMatrix build_logit_matrix(nn::Gpt<T>& model, const std::vector<Tokens>& histories,
                               const std::vector<Tokens>& futures, const LogitMatrixOptions& options,
                               const ProgressCallback& progress) {
  validate_inputs(model, histories, futures);
  const auto t0 = Clock::now();
  const Index V = model.config().vocab, n = static_cast<Index>(histories.size());
  const Index m = static_cast<Index>(futures.size()), L = static_cast<Index>(futures[0].size());
  const Index blocks = 1 + m * L;
  LogitMatrix out;
  out.vocab = V;
  out.blocks = blocks;
  out.future_length = L;
  out.k = (options.top_k <= 0 || options.top_k >= V) ? V : options.top_k;
  // full[i, b*V + z]: centred logit (or log-probability) of z after history i and future prefix b.
  Matrix<double> full(n, blocks * V);
  Tokens all_futures;
  for (const auto& f : futures) all_futures.insert(all_futures.end(), f.begin(), f.end());
  // On a device the cache lives there; the host model stays the reference.
  std::unique_ptr<nn::GptOnDevice> dev;
  if (!options.naive) {
    if constexpr (std::is_same_v<T, float>) dev = nn::open_gpt_device(model, options.device);
    else if (options.device != "cpu")
      throw InvalidArgument("device " + options.device + ": the GPU engine runs float32 models only");
  }
  Index done = 0;
  for (Index i = 0; i < n; ++i) {
    if (interrupt_requested()) {
      out.status = Status::Interrupted;
      break;
    }
    const Tokens& hist = histories[static_cast<std::size_t>(i)];
    const auto P = static_cast<Index>(hist.size());
    auto put = [&](Index block, const auto& row) { full.row(i).segment(block * V, V) = row.template cast<double>(); };
    if (dev) {
      dev->reset_cache();
      const nn::Act<float> h = dev->decode(hist);
      put(0, h.row(P - 1));
      const nn::Act<float> f = dev->decode_branches(all_futures, m, L);
      for (Index r = 0; r < m * L; ++r) put(1 + r, f.row(r));
    } else if (!options.naive) {
      auto cache = model.new_cache();
      const nn::Act<T> h = model.decode(cache, hist);
      put(0, h.row(P - 1));
      const nn::Act<T> f = model.decode_branches(cache, all_futures, m, L);
      for (Index r = 0; r < m * L; ++r) put(1 + r, f.row(r));
    } else {
      for (Index j = 0; j < m; ++j) {
        Tokens seq = hist;
        seq.insert(seq.end(), futures[static_cast<std::size_t>(j)].begin(), futures[static_cast<std::size_t>(j)].end());
        model.forward(seq, {}, 1, P + L);
        const auto& lg = model.logits();
        if (j == 0) put(0, lg.row(P - 1));
        for (Index t = 0; t < L; ++t) put(1 + j * L + t, lg.row(P + t));
      }
    }
    for (Index b = 0; b < blocks; ++b) {
      auto seg = full.row(i).segment(b * V, V);
      if (options.log_probs) {
        const double mx = seg.maxCoeff();  // log sum exp, shifted so exp cannot overflow
        seg.array() -= mx + std::log((seg.array() - mx).exp().sum());
      } else {
        seg.array() -= seg.mean();
      }
    }
    ++done;
    if (progress) {
      ProgressEvent ev;
      ev.stage = "logit-matrix";
      ev.iteration = static_cast<int>(done);
      ev.objective = std::numeric_limits<double>::quiet_NaN();
      ev.change = static_cast<double>(done) / static_cast<double>(n);
      ev.elapsed_s = seconds_since(t0);
      progress(ev);
    }
  }
  // Top-k tokens of each block by softmax probability averaged over the rows.
  const Index k = out.k;
  out.tokens.resize(static_cast<std::size_t>(blocks * k));
  out.values.resize(done, blocks * k);
  std::vector<std::int32_t> order(static_cast<std::size_t>(V));
  for (Index b = 0; b < blocks; ++b) {
    std::iota(order.begin(), order.end(), 0);
    if (k < V) {
      VectorXd mean_p = VectorXd::Zero(V);
      for (Index i = 0; i < done; ++i)
        mean_p += log_softmax(full.row(i).segment(b * V, V).transpose()).array().exp().matrix();
      std::stable_sort(order.begin(), order.end(),
                       [&](std::int32_t x, std::int32_t y) { return mean_p(x) > mean_p(y); });
      std::sort(order.begin(), order.begin() + k);
    }
    for (Index c = 0; c < k; ++c) {
      const auto z = order[static_cast<std::size_t>(c)];
      out.tokens[static_cast<std::size_t>(b * k + c)] = z;
      out.values.col(b * k + c) = full.col(b * V + z).head(done);
    }
  }
  out.elapsed_s = seconds_since(t0);
  return out;
}

template LogitMatrix build_logit_matrix<float>(nn::Gpt<float>&, const std::vector<Tokens>&, const std::vector<Tokens>&,
                                               const LogitMatrixOptions&, const ProgressCallback&);
template LogitMatrix build_logit_matrix<double>(nn::Gpt<double>&, const std::vector<Tokens>&,
                                                const std::vector<Tokens>&, const LogitMatrixOptions&,
                                                const ProgressCallback&);

// ---- rank analysis ---------------------------------------------------------------

LogitRankResult analyze_logit_matrix(const LogitMatrix& lm, const LogitRankOptions& options) {
  const Matrix<double>& M = lm.values;
  if (M.rows() == 0 || M.cols() == 0) throw InvalidArgument("logit matrix is empty");
  if (!M.allFinite()) throw InvalidArgument("logit matrix holds NaN or Inf entries");
  if (lm.k < 1 || lm.blocks * lm.k != M.cols())
    throw InvalidArgument("logit matrix: " + std::to_string(M.cols()) + " columns do not match " +
                          std::to_string(lm.blocks) + " blocks of " + std::to_string(lm.k) + " tokens");
  const Index mn = std::min(M.rows(), M.cols());
  std::vector<Index> ranks = options.ranks;
  if (ranks.empty()) {
    for (Index r = 1; r < mn; r *= 2) ranks.push_back(r);
    ranks.push_back(mn);
  }
  for (Index r : ranks)
    if (r < 1 || r > mn)
      throw InvalidArgument("rank " + std::to_string(r) + " is outside [1, " + std::to_string(mn) + "] for a " +
                            std::to_string(M.rows()) + " x " + std::to_string(M.cols()) + " logit matrix");
  LogitRankResult res;
  res.rows = M.rows();
  res.cols = M.cols();
  const auto svd = full_svd(M);
  res.singular_values = svd.S;
  const VectorXd& s = svd.S;
  const double tol = (s.size() ? s(0) : 0.0) * static_cast<double>(std::max(M.rows(), M.cols())) *
                     std::numeric_limits<double>::epsilon();
  PowerLawDecayOptions fit = options.fit;
  if (fit.last == 0) {
    Index above = 0;
    for (Index i = 0; i < s.size(); ++i)
      if (s(i) > tol) above = i + 1;
    fit.last = std::min(std::max<Index>(2, mn / 2), std::max<Index>(above, 1));
    fit.last = std::max(fit.last, fit.first);
  }
  res.decay = fit_power_law_decay(s, tol, fit);
  res.stable_rank = stable_rank(s);
  res.energy_rank_90 = energy_rank(s, 0.90);
  res.energy_rank_99 = energy_rank(s, 0.99);
  const double total = s.squaredNorm();
  const Index k = lm.k;
  for (Index r : ranks) {
    RankPoint pt;
    pt.rank = r;
    pt.relative_error = total > 0 ? std::sqrt(std::max(0.0, s.tail(s.size() - r).squaredNorm() / total)) : 0.0;
    const Matrix<double> Mr = svd.U.leftCols(r) * s.head(r).asDiagonal() * svd.V.leftCols(r).transpose();
    double kl = 0;
    for (Index i = 0; i < M.rows(); ++i)
      for (Index b = 0; b < lm.blocks; ++b)
        kl += kl_from_logs(log_softmax(M.row(i).segment(b * k, k).transpose()),
                           log_softmax(Mr.row(i).segment(b * k, k).transpose()));
    pt.mean_kl = kl / static_cast<double>(M.rows() * lm.blocks);
    res.reconstruction.push_back(pt);
  }
  return res;
}

// ---- LINGEN ----------------------------------------------------------------------

VectorXd lingen_coefficients(const Matrix<double>& a, const VectorXd& y, double ridge) {
  if (!(ridge >= 0)) throw InvalidArgument("ridge must be >= 0, got " + std::to_string(ridge));
  if (a.cols() != y.size())
    throw InvalidArgument("lingen: target row has " + std::to_string(y.size()) + " entries, the others " +
                          std::to_string(a.cols()));
  if (ridge == 0) {
    const Matrix<double> at = a.transpose();
    return at.completeOrthogonalDecomposition().solve(y);
  }
  Matrix<double> g = a * a.transpose();
  g.diagonal().array() += ridge;
  return g.ldlt().solve(a * y);
}

template <class T>
LingenResult lingen(nn::Gpt<T>& model, const Tokens& target, const std::vector<Tokens>& others,
                    const std::vector<Tokens>& futures, const LingenOptions& options,
                    const ProgressCallback& progress) {
  if (others.empty()) throw InvalidArgument("lingen: needs at least one other history");
  if (!(options.ridge >= 0)) throw InvalidArgument("lingen: ridge must be >= 0");
  if (options.length < 1) throw InvalidArgument("lingen: length must be >= 1");
  if (options.samples < 1) throw InvalidArgument("lingen: samples must be >= 1");
  std::vector<Tokens> all = others;
  all.push_back(target);
  // Generation runs h.g with |g| <= length - 1.
  validate_inputs(model, all, futures, options.length - 1);
  const Index n = static_cast<Index>(others.size()), V = model.config().vocab;
  LingenResult res;
  const LogitMatrix lm = build_logit_matrix(model, all, futures, options.matrix, progress);
  if (lm.status == Status::Interrupted) {
    res.status = Status::Interrupted;
    return res;
  }
  const Matrix<double> A = lm.values.topRows(n);
  const VectorXd y = lm.values.row(n).transpose();
  res.coefficients = lingen_coefficients(A, y, options.ridge);
  const double yn = y.norm();
  res.fit_relative_residual = yn > 0 ? (y - A.transpose() * res.coefficients).norm() / yn : 0.0;

  using Cache = nn::KvCache<T>;
  auto centred = [](const auto& row) {
    VectorXd z = row.transpose().template cast<double>();
    z.array() -= z.mean();
    return z;
  };
  std::vector<Cache> caches0(static_cast<std::size_t>(n + 1));
  std::vector<VectorXd> logits0(static_cast<std::size_t>(n + 1));
  for (Index j = 0; j <= n; ++j) {
    auto& c = caches0[static_cast<std::size_t>(j)];
    c = model.new_cache();
    const auto& h = all[static_cast<std::size_t>(j)];
    logits0[static_cast<std::size_t>(j)] = centred(model.decode(c, h).row(static_cast<Index>(h.size()) - 1));
  }
  const Index steps = options.length;
  res.kl_lingen_by_step.assign(static_cast<std::size_t>(steps), 0.0);
  res.kl_baseline_by_step.assign(static_cast<std::size_t>(steps), 0.0);
  for (Index sidx = 0; sidx < options.samples; ++sidx) {
    Rng rng(options.seed + static_cast<std::uint64_t>(sidx));
    auto caches = caches0;
    auto logits = logits0;
    LingenSample smp;
    for (Index t = 0; t < steps; ++t) {
      if (interrupt_requested()) {
        res.status = Status::Interrupted;
        break;
      }
      VectorXd comb = VectorXd::Zero(V), base = VectorXd::Zero(V);
      for (Index j = 0; j < n; ++j) {
        comb += res.coefficients(j) * logits[static_cast<std::size_t>(j)];
        base += logits[static_cast<std::size_t>(j)] / static_cast<double>(n);
      }
      const VectorXd lp = log_softmax(logits[static_cast<std::size_t>(n)]);
      const VectorXd lq = log_softmax(comb), lb = log_softmax(base);
      smp.kl_lingen.push_back(kl_from_logs(lp, lq));
      smp.kl_baseline.push_back(kl_from_logs(lp, lb));
      const VectorXd q = lq.array().exp();
      const auto z = static_cast<std::int32_t>(rng.categorical(q.data(), static_cast<std::size_t>(q.size())));
      smp.tokens.push_back(z);
      if (t + 1 == steps) break;
      for (Index j = 0; j <= n; ++j)
        logits[static_cast<std::size_t>(j)] =
            centred(model.decode(caches[static_cast<std::size_t>(j)], Tokens{z}).row(0));
    }
    res.samples.push_back(std::move(smp));
    if (res.status == Status::Interrupted) break;
    if (progress) {
      ProgressEvent ev;
      ev.stage = "lingen";
      ev.iteration = static_cast<int>(sidx + 1);
      ev.objective = std::numeric_limits<double>::quiet_NaN();
      progress(ev);
    }
  }
  double sl = 0, sb = 0;
  Index cnt = 0;
  std::vector<Index> per_step(static_cast<std::size_t>(steps), 0);
  for (const auto& smp : res.samples)
    for (std::size_t t = 0; t < smp.kl_lingen.size(); ++t) {
      res.kl_lingen_by_step[t] += smp.kl_lingen[t];
      res.kl_baseline_by_step[t] += smp.kl_baseline[t];
      ++per_step[t];
      sl += smp.kl_lingen[t];
      sb += smp.kl_baseline[t];
      ++cnt;
    }
  for (std::size_t t = 0; t < per_step.size(); ++t)
    if (per_step[t] > 0) {
      res.kl_lingen_by_step[t] /= static_cast<double>(per_step[t]);
      res.kl_baseline_by_step[t] /= static_cast<double>(per_step[t]);
    }
  res.mean_kl_lingen = cnt ? sl / static_cast<double>(cnt) : 0.0;
  res.mean_kl_baseline = cnt ? sb / static_cast<double>(cnt) : 0.0;
  return res;
}

template LingenResult lingen<float>(nn::Gpt<float>&, const Tokens&, const std::vector<Tokens>&,
                                    const std::vector<Tokens>&, const LingenOptions&, const ProgressCallback&);
template LingenResult lingen<double>(nn::Gpt<double>&, const Tokens&, const std::vector<Tokens>&,
                                     const std::vector<Tokens>&, const LingenOptions&, const ProgressCallback&);

// ---- text helpers -----------------------------------------------------------------

std::vector<Tokens> sample_windows(const Tokens& tokens, Index count, Index length, std::uint64_t seed,
                                   const std::string& what) {
  if (count < 1) throw InvalidArgument("number of " + what + " windows must be >= 1");
  if (length < 1) throw InvalidArgument("length of the " + what + " windows must be >= 1");
  const Index chunks = static_cast<Index>(tokens.size()) / length;
  if (count > chunks)
    throw InvalidArgument(what + " has " + std::to_string(tokens.size()) + " tokens: room for " +
                          std::to_string(chunks) + " disjoint windows of " + std::to_string(length) + " tokens, " +
                          std::to_string(count) + " requested");
  std::vector<Index> ids(static_cast<std::size_t>(chunks));
  std::iota(ids.begin(), ids.end(), Index{0});
  Rng rng(seed);
  rng.shuffle_prefix(ids.begin(), ids.end(), static_cast<std::size_t>(count));
  std::vector<Tokens> out;
  for (Index i = 0; i < count; ++i) {
    const auto start = tokens.begin() + static_cast<std::ptrdiff_t>(ids[static_cast<std::size_t>(i)] * length);
    out.emplace_back(start, start + static_cast<std::ptrdiff_t>(length));
  }
  return out;
}

Tokens shuffled(const Tokens& tokens, std::uint64_t seed) {
  Tokens out = tokens;
  Rng rng(seed);
  rng.shuffle(out.begin(), out.end());
  return out;
}

}  // namespace lowrank::diagnostics
