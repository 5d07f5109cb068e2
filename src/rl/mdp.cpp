#include "lowrank/rl/mdp.hpp"

#include <Eigen/LU>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>

#include "lowrank/rl/rng.hpp"

namespace lowrank::rl {

namespace {

using Clock = std::chrono::steady_clock;
void check_discount(double g) {
  if (!(g >= 0.0 && g < 1.0)) throw InvalidArgument("mdp: discount must be in [0, 1), got " + std::to_string(g));
}

void check_states_actions(Index s, Index a) {
  if (s < 1 || a < 1) {
    throw InvalidArgument("mdp: the numbers of states and actions must be >= 1, got S = " + std::to_string(s) +
                          ", A = " + std::to_string(a));
  }
}

void check_distribution(const Eigen::Ref<const Vector<double>>& p, const std::string& what) {
  double sum = 0.0;
  for (Index k = 0; k < p.size(); ++k) {
    if (!(p(k) >= 0.0) || !std::isfinite(p(k))) throw InvalidArgument(what + " has a negative or non-finite entry");
    sum += p(k);
  }
  if (std::abs(sum - 1.0) > 1e-8) throw InvalidArgument(what + " sums to " + std::to_string(sum) + ", not 1");
}

Vector<double> dirichlet(Index k, double alpha, Rng& rng) {
  // Gamma(alpha) by Marsaglia-Tsang (with the alpha < 1 boost), normalised.
  auto gamma = [&](double a) {
    double boost = 1.0;
    if (a < 1.0) {
      boost = std::pow(1.0 - rng.uniform(), 1.0 / a);
      a += 1.0;
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
      double x, v;
      do {
        x = rng.normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = rng.uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) {
        return boost * d * v;
      }
    }
  };
  Vector<double> p(k);
  for (Index i = 0; i < k; ++i) p(i) = gamma(alpha);
  double s = p.sum();
  if (!(s > 0.0)) {  // all draws underflowed (tiny alpha): put the mass on one uniform index
    p.setZero();
    p(static_cast<Index>(rng.index(static_cast<std::uint64_t>(k)))) = 1.0;
    return p;
  }
  return p / s;
}

// Index of the first cumulative weight > u * total (cdf: increasing, last = 1).
Index draw_from_cdf(const double* cdf, Index n, double u) {
  const double* it = std::upper_bound(cdf, cdf + n, u);
  return std::min<Index>(static_cast<Index>(it - cdf), n - 1);
}

RowMajorMatrix<double> kernel_cdf(const Mdp& mdp) {
  RowMajorMatrix<double> cdf = mdp.kernel;
  for (Index r = 0; r < cdf.rows(); ++r) {
    double acc = 0.0;
    for (Index c = 0; c < cdf.cols(); ++c) cdf(r, c) = (acc += cdf(r, c));
    for (Index c = 0; c < cdf.cols(); ++c) cdf(r, c) /= acc;
  }
  return cdf;
}

TransitionData aggregate(const Mdp& mdp, std::vector<std::uint64_t>& keys) {
  const Index sa = mdp.states * mdp.actions;
  const std::uint64_t s = static_cast<std::uint64_t>(mdp.states);
  std::sort(keys.begin(), keys.end());
  TransitionData d;
  d.states = mdp.states;
  d.actions = mdp.actions;
  d.counts.rows = sa;
  d.counts.cols = mdp.states;
  d.row_visits.assign(static_cast<std::size_t>(sa), 0);
  d.samples = static_cast<std::int64_t>(keys.size());
  for (std::size_t k = 0; k < keys.size();) {
    std::size_t e = k;
    while (e < keys.size() && keys[e] == keys[k]) ++e;
    const std::int32_t row = static_cast<std::int32_t>(keys[k] / s), col = static_cast<std::int32_t>(keys[k] % s);
    d.counts.push_back(row, col, static_cast<double>(e - k));
    d.row_visits[static_cast<std::size_t>(row)] += static_cast<std::int64_t>(e - k);
    k = e;
  }
  for (Index r = 0; r < sa; ++r) d.unvisited_rows += d.row_visits[static_cast<std::size_t>(r)] == 0 ? 1 : 0;
  for (Index st = 0; st < mdp.states; ++st) {
    bool any = false;
    for (Index a = 0; a < mdp.actions; ++a) any = any || d.row_visits[static_cast<std::size_t>(mdp.row(st, a))] > 0;
    d.unvisited_states += any ? 0 : 1;
  }
  return d;
}

}  // namespace

void validate(const Mdp& mdp) {
  check_states_actions(mdp.states, mdp.actions);
  check_discount(mdp.discount);
  const Index sa = mdp.states * mdp.actions;
  if (mdp.kernel.rows() != sa || mdp.kernel.cols() != mdp.states) {
    throw InvalidArgument("mdp: the kernel must be (S*A) x S = " + std::to_string(sa) + " x " +
                          std::to_string(mdp.states) + ", got " + std::to_string(mdp.kernel.rows()) + " x " +
                          std::to_string(mdp.kernel.cols()));
  }
  if (mdp.reward.rows() != mdp.states || mdp.reward.cols() != mdp.actions) {
    throw InvalidArgument("mdp: the reward must be S x A = " + std::to_string(mdp.states) + " x " +
                          std::to_string(mdp.actions));
  }
  if (!mdp.reward.allFinite()) throw InvalidArgument("mdp: rewards must be finite");
  for (Index r = 0; r < sa; ++r) {
    check_distribution(mdp.kernel.row(r).transpose(), "mdp: kernel row " + std::to_string(r));
  }
}

Mdp random_low_rank_mdp(const RandomMdpOptions& o) {
  check_states_actions(o.states, o.actions);
  if (o.rank < 1 || o.rank > o.states) {
    throw InvalidArgument("mdp: rank " + std::to_string(o.rank) + " is outside [1, S] = [1, " +
                          std::to_string(o.states) + "]");
  }
  if (!(o.latent_concentration > 0.0)) throw InvalidArgument("mdp: latent_concentration must be > 0");
  check_discount(o.discount);
  Rng rng(o.seed);
  const Index sa = o.states * o.actions;
  Matrix<double> phi(sa, o.rank), psi(o.rank, o.states);
  for (Index k = 0; k < o.rank; ++k) psi.row(k) = dirichlet(o.states, o.latent_concentration, rng).transpose();
  for (Index r = 0; r < sa; ++r) phi.row(r) = dirichlet(o.rank, 1.0, rng).transpose();
  Mdp mdp;
  mdp.states = o.states;
  mdp.actions = o.actions;
  mdp.discount = o.discount;
  mdp.kernel = phi * psi;
  mdp.reward.resize(o.states, o.actions);
  for (Index a = 0; a < o.actions; ++a)
    for (Index s = 0; s < o.states; ++s) mdp.reward(s, a) = rng.uniform();
  return mdp;
}

Mdp latent_gridworld(const GridworldOptions& o) {
  if (o.width < 1 || o.height < 1) throw InvalidArgument("gridworld: width and height must be >= 1");
  if (o.blocks_x < 1 || o.blocks_x > o.width || o.blocks_y < 1 || o.blocks_y > o.height) {
    throw InvalidArgument("gridworld: blocks_x must be in [1, width] and blocks_y in [1, height]");
  }
  if (!(o.slip >= 0.0 && o.slip <= 1.0)) throw InvalidArgument("gridworld: slip must be in [0, 1]");
  check_discount(o.discount);
  Rng rng(o.seed);
  const Index w = o.width, h = o.height, S = w * h, A = 4, r = o.blocks_x * o.blocks_y;
  auto room = [&](Index x, Index y) { return (y * o.blocks_y / h) * o.blocks_x + (x * o.blocks_x / w); };
  // Emission psi(. | z): random positive weights over the cells of room z.
  Matrix<double> psi = Matrix<double>::Zero(r, S);
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x) psi(room(x, y), y * w + x) = rng.uniform(0.5, 1.5);
  for (Index z = 0; z < r; ++z) psi.row(z) /= psi.row(z).sum();
  Mdp mdp;
  mdp.states = S;
  mdp.actions = A;
  mdp.discount = o.discount;
  Matrix<double> phi(S * A, r);
  const Index dx[4] = {0, 0, -1, 1}, dy[4] = {-1, 1, 0, 0};
  for (Index y = 0; y < h; ++y) {
    for (Index x = 0; x < w; ++x) {
      for (Index a = 0; a < A; ++a) {
        const Index nx = std::clamp<Index>(x + dx[a], 0, w - 1), ny = std::clamp<Index>(y + dy[a], 0, h - 1);
        auto row = phi.row((y * w + x) * A + a);
        row.setConstant(o.slip / static_cast<double>(r));
        row(room(nx, ny)) += 1.0 - o.slip;
      }
    }
  }
  mdp.kernel = phi * psi;
  mdp.reward = Matrix<double>::Zero(S, A);
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x)
      if (room(x, y) == r - 1) mdp.reward.row(y * w + x).setOnes();
  return mdp;
}

TransitionData collect_generative(const Mdp& mdp, std::int64_t samples_per_pair, std::uint64_t seed) {
  validate(mdp);
  if (samples_per_pair <= 0) {
    throw InvalidArgument("mdp: samples per (state, action) must be > 0, got " + std::to_string(samples_per_pair));
  }
  Rng rng(seed);
  const RowMajorMatrix<double> cdf = kernel_cdf(mdp);
  const Index sa = mdp.states * mdp.actions;
  std::vector<std::uint64_t> keys;
  keys.reserve(static_cast<std::size_t>(sa * samples_per_pair));
  for (Index r = 0; r < sa; ++r) {
    if (interrupt_requested()) break;  // Ctrl-C: the pairs drawn so far
    for (std::int64_t k = 0; k < samples_per_pair; ++k) {
      const Index next = draw_from_cdf(cdf.row(r).data(), mdp.states, rng.uniform());
      keys.push_back(static_cast<std::uint64_t>(r) * static_cast<std::uint64_t>(mdp.states) +
                     static_cast<std::uint64_t>(next));
    }
  }
  return aggregate(mdp, keys);
}

TransitionData collect_trajectory(const Mdp& mdp, const Matrix<double>& behaviour, std::int64_t length,
                                  Index initial_state, std::uint64_t seed) {
  validate(mdp);
  if (length <= 0) throw InvalidArgument("mdp: trajectory length must be > 0, got " + std::to_string(length));
  if (initial_state < 0 || initial_state >= mdp.states) {
    throw InvalidArgument("mdp: initial state " + std::to_string(initial_state) + " is outside [0, " +
                          std::to_string(mdp.states) + ")");
  }
  RowMajorMatrix<double> pol_cdf;
  if (behaviour.size() > 0) {
    if (behaviour.rows() != mdp.states || behaviour.cols() != mdp.actions) {
      throw InvalidArgument("mdp: the behaviour policy must be S x A = " + std::to_string(mdp.states) + " x " +
                            std::to_string(mdp.actions));
    }
    for (Index s = 0; s < mdp.states; ++s)
      check_distribution(behaviour.row(s).transpose(), "mdp: behaviour policy row " + std::to_string(s));
    pol_cdf = behaviour;
    for (Index s = 0; s < mdp.states; ++s) {
      double acc = 0.0;
      for (Index a = 0; a < mdp.actions; ++a) pol_cdf(s, a) = (acc += pol_cdf(s, a));
    }
  }
  Rng rng(seed);
  const RowMajorMatrix<double> cdf = kernel_cdf(mdp);
  std::vector<std::uint64_t> keys;
  keys.reserve(static_cast<std::size_t>(length));
  Index s = initial_state;
  for (std::int64_t t = 0; t < length; ++t) {
    if ((t & 0xFFFFF) == 0 && interrupt_requested()) break;  // Ctrl-C: the steps taken so far
    const Index a = behaviour.size() > 0 ? draw_from_cdf(pol_cdf.row(s).data(), mdp.actions, rng.uniform())
                                         : static_cast<Index>(rng.index(static_cast<std::uint64_t>(mdp.actions)));
    const Index r = mdp.row(s, a);
    const Index next = draw_from_cdf(cdf.row(r).data(), mdp.states, rng.uniform());
    keys.push_back(static_cast<std::uint64_t>(r) * static_cast<std::uint64_t>(mdp.states) +
                   static_cast<std::uint64_t>(next));
    s = next;
  }
  return aggregate(mdp, keys);
}

const char* to_string(KernelMethod m) noexcept { return m == KernelMethod::Spectral ? "spectral" : "empirical"; }

KernelMethod parse_kernel_method(std::string_view name) {
  if (name == "spectral") return KernelMethod::Spectral;
  if (name == "empirical") return KernelMethod::Empirical;
  throw InvalidArgument("unknown kernel estimator '" + std::string(name) + "' (expected spectral or empirical)");
}

Vector<double> project_to_simplex(const Vector<double>& x) {
  const Index n = x.size();
  if (n == 0) throw InvalidArgument("project_to_simplex: empty vector");
  if (!x.allFinite()) throw InvalidArgument("project_to_simplex: non-finite entry");
  std::vector<double> u(x.data(), x.data() + n);
  std::sort(u.begin(), u.end(), std::greater<double>());
  // theta = (sum_{k<=rho} u_k - 1) / rho for the largest rho with
  // u_rho - (sum_{k<=rho} u_k - 1) / rho > 0.
  double cum = 0.0, theta = 0.0;
  for (Index k = 0; k < n; ++k) {
    cum += u[static_cast<std::size_t>(k)];
    const double t = (cum - 1.0) / static_cast<double>(k + 1);
    if (u[static_cast<std::size_t>(k)] - t > 0.0) theta = t;
  }
  Vector<double> p = (x.array() - theta).cwiseMax(0.0).matrix();
  const double s = p.sum();
  if (s > 0) p /= s;  // removes rounding drift; s == 1 up to round-off
  return p;
}

KernelEstimate estimate_kernel(const TransitionData& data, const KernelEstimatorOptions& options) {
  check_states_actions(data.states, data.actions);
  const Index sa = data.states * data.actions, S = data.states;
  if (data.counts.rows != sa || data.counts.cols != S || static_cast<Index>(data.row_visits.size()) != sa) {
    throw InvalidArgument("mdp: transition data shape is inconsistent with S = " + std::to_string(S) +
                          ", A = " + std::to_string(data.actions));
  }
  if (data.samples <= 0 || data.counts.nnz() == 0)
    throw InvalidArgument("mdp: no transitions observed (sample count must be > 0)");
  const auto t0 = Clock::now();
  KernelEstimate out;
  out.kernel.resize(sa, S);
  const double total = static_cast<double>(data.samples);
  if (options.method == KernelMethod::Spectral) {
    SpectralEstimatorOptions so = options.spectral;
    so.sampling = SamplingModel::TransitionCounts;
    const SpectralEstimate<double> est = estimate_spectral(data.counts, so);
    out.rank = est.rank;
    out.singular_values = est.singular_values;
    out.noise_level = est.noise_level;
    // Row r of M^ estimates nu_r P(. | r); divide by nu^_r = N_r / T.
    const Matrix<double> us = est.fit.U * est.fit.d.asDiagonal();
    for (Index r = 0; r < sa; ++r) {
      const std::int64_t v = data.row_visits[static_cast<std::size_t>(r)];
      if (v == 0) continue;
      const Vector<double> row = (est.fit.V * us.row(r).transpose()) * (total / static_cast<double>(v));
      out.kernel.row(r) = project_to_simplex(row).transpose();
    }
  } else {
    out.kernel.setZero();
    for (std::size_t k = 0; k < data.counts.nnz(); ++k) {
      out.kernel(data.counts.row[k], data.counts.col[k]) +=
          data.counts.value[k] / static_cast<double>(data.row_visits[static_cast<std::size_t>(data.counts.row[k])]);
    }
  }
  for (Index r = 0; r < sa; ++r) {
    if (data.row_visits[static_cast<std::size_t>(r)] == 0) {
      out.unvisited_rows.push_back(r);
      out.kernel.row(r).setConstant(1.0 / static_cast<double>(S));
    }
  }
  out.elapsed_s = seconds_since(t0);
  return out;
}

MdpSolution value_iteration(const Mdp& mdp, const ValueIterationOptions& o) {
  validate(mdp);
  if (!(o.tolerance > 0.0)) throw InvalidArgument("value iteration: tolerance must be > 0");
  if (o.max_iterations < 1) throw InvalidArgument("value iteration: max_iterations must be >= 1");
  const Index S = mdp.states, A = mdp.actions;
  const double g = mdp.discount;
  const double stop = g > 0 ? o.tolerance * (1.0 - g) / (2.0 * g) : 0.0;
  MdpSolution sol;
  sol.value = Vector<double>::Zero(S);
  sol.q.resize(S, A);
  sol.status = Status::NotConverging;
  for (int it = 1; it <= o.max_iterations; ++it) {
    const Vector<double> pv = mdp.kernel * sol.value;  // (S*A): E[V(s') | s, a]
    for (Index s = 0; s < S; ++s)
      for (Index a = 0; a < A; ++a) sol.q(s, a) = mdp.reward(s, a) + g * pv(mdp.row(s, a));
    const Vector<double> next = sol.q.rowwise().maxCoeff();
    const double change = (next - sol.value).cwiseAbs().maxCoeff();
    sol.value = next;
    sol.iterations = it;
    if (!std::isfinite(change)) {
      sol.status = Status::NumericalIssue;
      break;
    }
    if (change <= stop) {
      sol.status = Status::Success;
      break;
    }
    if (interrupt_requested()) {
      sol.status = Status::Interrupted;
      break;
    }
  }
  // Q of the final V, so that the greedy policy is read off a consistent pair.
  const Vector<double> pv = mdp.kernel * sol.value;
  for (Index s = 0; s < S; ++s)
    for (Index a = 0; a < A; ++a) sol.q(s, a) = mdp.reward(s, a) + g * pv(mdp.row(s, a));
  sol.policy.resize(static_cast<std::size_t>(S));
  for (Index s = 0; s < S; ++s) {
    Index best = 0;
    for (Index a = 1; a < A; ++a)
      if (sol.q(s, a) > sol.q(s, best)) best = a;
    sol.policy[static_cast<std::size_t>(s)] = best;
  }
  return sol;
}

Vector<double> policy_value(const Mdp& mdp, const std::vector<Index>& policy) {
  validate(mdp);
  const Index S = mdp.states;
  if (static_cast<Index>(policy.size()) != S) {
    throw InvalidArgument("policy_value: the policy has " + std::to_string(policy.size()) + " entries for " +
                          std::to_string(S) + " states");
  }
  Matrix<double> lhs = Matrix<double>::Identity(S, S);
  Vector<double> rhs(S);
  for (Index s = 0; s < S; ++s) {
    const Index a = policy[static_cast<std::size_t>(s)];
    if (a < 0 || a >= mdp.actions) {
      throw InvalidArgument("policy_value: action " + std::to_string(a) + " at state " + std::to_string(s) +
                            " is outside [0, " + std::to_string(mdp.actions) + ")");
    }
    lhs.row(s) -= mdp.discount * mdp.kernel.row(mdp.row(s, a));
    rhs(s) = mdp.reward(s, a);
  }
  return lhs.partialPivLu().solve(rhs);
}

double value_gap(const Mdp& mdp, const std::vector<Index>& policy, const Vector<double>& v_star) {
  if (v_star.size() != mdp.states) throw InvalidArgument("value_gap: V* has the wrong size");
  return std::max(0.0, (v_star - policy_value(mdp, policy)).maxCoeff());
}

const char* to_string(MdpModel m) noexcept { return m == MdpModel::Random ? "random" : "gridworld"; }

MdpModel parse_mdp_model(std::string_view name) {
  if (name == "random") return MdpModel::Random;
  if (name == "gridworld") return MdpModel::Gridworld;
  throw InvalidArgument("unknown MDP model '" + std::string(name) + "' (expected random or gridworld)");
}

const char* to_string(Collection c) noexcept { return c == Collection::Generative ? "generative" : "trajectory"; }

Collection parse_collection(std::string_view name) {
  if (name == "generative") return Collection::Generative;
  if (name == "trajectory") return Collection::Trajectory;
  throw InvalidArgument("unknown collection '" + std::string(name) + "' (expected generative or trajectory)");
}

MdpExperimentResult run_mdp_experiment(const MdpExperimentOptions& o) {
  if (o.seeds < 1) throw InvalidArgument("mdp: seeds must be >= 1, got " + std::to_string(o.seeds));
  if (o.samples <= 0) throw InvalidArgument("mdp: the sample count must be > 0, got " + std::to_string(o.samples));
  if (o.estimator_rank < 0) throw InvalidArgument("mdp: estimator rank must be >= 0");
  const auto t0 = Clock::now();
  MdpExperimentResult res;
  for (int k = 0; k < o.seeds; ++k) {
    const std::uint64_t seed = o.first_seed + static_cast<std::uint64_t>(k);
    Mdp mdp;
    if (o.model == MdpModel::Random) {
      RandomMdpOptions ro = o.random;
      ro.seed = seed;
      mdp = random_low_rank_mdp(ro);
    } else {
      GridworldOptions go = o.gridworld;
      go.seed = seed;
      mdp = latent_gridworld(go);
    }
    res.states = mdp.states;
    res.actions = mdp.actions;
    const Index sa = mdp.states * mdp.actions;
    TransitionData data;
    std::uint64_t stream = seed ^ 0xD1B54A32D192ED03ULL;  // data stream distinct from the generator's
    const std::uint64_t data_seed = Rng::splitmix64(stream);
    if (o.collection == Collection::Generative) {
      const std::int64_t per_pair = o.samples / sa;
      if (per_pair < 1) {
        throw InvalidArgument("mdp: " + std::to_string(o.samples) +
                              " samples are fewer than one per (state, action) pair (" + std::to_string(sa) +
                              " pairs)");
      }
      data = collect_generative(mdp, per_pair, data_seed);
    } else {
      data = collect_trajectory(mdp, Matrix<double>(), o.samples, 0, data_seed);
    }
    // Ctrl-C inside a seed leaves it partial (data, plans): it is dropped and
    // the seeds completed so far are reported.
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    const MdpSolution star = value_iteration(mdp, o.planning);
    KernelEstimatorOptions ko = o.estimator;
    ko.spectral.rank = o.estimator_rank > 0          ? o.estimator_rank
                       : o.model == MdpModel::Random ? o.random.rank
                                                     : o.gridworld.blocks_x * o.gridworld.blocks_y;
    KernelEstimate est = estimate_kernel(data, ko);
    Mdp model = mdp;
    model.kernel = est.kernel;
    const MdpSolution plan = value_iteration(model, o.planning);
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    MdpRunResult r;
    r.value_gap = value_gap(mdp, plan.policy, star.value);
    r.kernel_max_error = (est.kernel - mdp.kernel).cwiseAbs().maxCoeff();
    r.kernel_row_l1_error = (est.kernel - mdp.kernel).cwiseAbs().rowwise().sum().maxCoeff();
    r.rank = est.rank;
    r.unvisited_rows = data.unvisited_rows;
    r.unvisited_states = data.unvisited_states;
    r.optimal_policy = r.value_gap <= 1e-9;
    r.estimate_s = est.elapsed_s;
    res.runs.push_back(r);
    if (o.progress) {
      ProgressEvent e;
      e.stage = "mdp seed";
      e.iteration = k + 1;
      e.objective = r.value_gap;
      e.rank = static_cast<int>(r.rank);
      e.elapsed_s = seconds_since(t0);
      o.progress(e);
    }
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
  }
  const double n = static_cast<double>(res.runs.size());
  for (const auto& r : res.runs) {
    res.mean_value_gap += r.value_gap / n;
    res.mean_kernel_max_error += r.kernel_max_error / n;
    res.mean_kernel_row_l1_error += r.kernel_row_l1_error / n;
    res.optimal_fraction += (r.optimal_policy ? 1.0 : 0.0) / n;
    res.max_unvisited_rows = std::max(res.max_unvisited_rows, r.unvisited_rows);
  }
  double ss = 0.0;
  for (const auto& r : res.runs) ss += (r.value_gap - res.mean_value_gap) * (r.value_gap - res.mean_value_gap);
  res.sd_value_gap = n > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  res.elapsed_s = seconds_since(t0);
  return res;
}

}  // namespace lowrank::rl
