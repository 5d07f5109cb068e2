// Reward-free best-policy identification with a stopping rule (issue 28):
// rounds of uniform generative sampling, a kernel estimate after each round,
// row-l1 confidence bounds B_(s,a), and a stop once a certificate built from
// them (gamma max B / (1 - gamma)^2, or the robust value of the per-row
// bounds) is <= epsilon, which certifies the policy planned on the estimate
// for every reward in [0, 1] (simulation lemma; see rl/mdp.hpp).
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "lowrank/rl/mdp.hpp"
#include "lowrank/rl/rng.hpp"

namespace lowrank::rl {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kSqrt2OverPi = 0.7978845608028654;  // E|N(0, 1)|

// Plug-in variance of the empirical frequency p~ = N / n of a category with
// probability p, floored so that a category never seen still gets the
// variance of one count in n (a zero plug-in variance would claim the
// missing mass is known exactly).
double plugin_variance(double p, double n) {
  const double lo = std::min(1.0 / n, 0.5);
  const double pc = std::clamp(p, lo, 1.0 - lo);
  return pc * (1.0 - pc) / n;
}

// P(chi^2_k > x) for integer k >= 1: Q_1 = erfc(sqrt(x / 2)), Q_2 = exp(-x / 2),
// Q_{k+2} = Q_k + (x / 2)^(k / 2) exp(-x / 2) / Gamma(k / 2 + 1).
double chi_square_upper_tail(Index k, double x) {
  if (x <= 0.0) return 1.0;
  double q = (k % 2 == 1) ? std::erfc(std::sqrt(0.5 * x)) : std::exp(-0.5 * x);
  for (Index j = (k % 2 == 1) ? 1 : 2; j + 2 <= k; j += 2) {
    const double h = 0.5 * static_cast<double>(j);
    q += std::exp(h * std::log(0.5 * x) - 0.5 * x - std::lgamma(h + 1.0));
  }
  return std::min(q, 1.0);
}

// Directions for an upper bound on ||W||_(2->1) = max_{|y| = 1} ||W y||_1
// when W has r <= 4 columns: grid points, k cells per edge, on the faces
// x_d = +1 of the cube [-1, 1]^r (the -1 faces are their negatives, and
// ||W y||_1 is even), normalised. A unit y, scaled onto a face, lies within
// h sqrt(r - 1) / 2 (h = 2 / k) of a grid point whose norm is >= 1, so the
// angle to it has sin <= h sqrt(r - 1) / 2 = s. Then the ball of radius
// cos = sqrt(1 - s^2) lies in the hull of the directions, and by convexity
// max_{|y| = 1} ||W y||_1 <= max over the directions / cos.
struct DirectionNet {
  Matrix<double> dirs;  // r x N, unit columns
  double inv_cos = 0.0;
};

DirectionNet direction_net(Index r) {
  DirectionNet net;
  if (r < 2 || r > 4) return net;
  const int k = r == 4 ? 4 : 8;  // sin 0.43 (cos 0.90) for r = 4, 0.18 for r <= 3
  const double h = 2.0 / k;
  const double sin_t = h * std::sqrt(static_cast<double>(r - 1)) / 2.0;
  net.inv_cos = 1.0 / std::sqrt(1.0 - sin_t * sin_t);
  const Index face_pts = static_cast<Index>(std::pow(k + 1, static_cast<double>(r - 1)));
  net.dirs.resize(r, r * face_pts);
  Index col = 0;
  for (Index d = 0; d < r; ++d) {
    for (Index p = 0; p < face_pts; ++p) {
      Vector<double> x(r);
      Index rest = p;
      for (Index e = 0; e < r; ++e) {
        if (e == d) {
          x(e) = 1.0;
          continue;
        }
        x(e) = -1.0 + h * static_cast<double>(rest % (k + 1));
        rest /= (k + 1);
      }
      net.dirs.col(col++) = x / x.norm();
    }
  }
  return net;
}

Mdp make_model(const MdpExperimentOptions& o, std::uint64_t seed) {
  if (o.model == MdpModel::Random) {
    RandomMdpOptions ro = o.random;
    ro.seed = seed;
    return random_low_rank_mdp(ro);
  }
  GridworldOptions go = o.gridworld;
  go.seed = seed;
  return latent_gridworld(go);
}

}  // namespace

const char* to_string(RowBound b) noexcept { return b == RowBound::Weissman ? "weissman" : "first-order"; }

RowBound parse_row_bound(std::string_view name) {
  if (name == "weissman") return RowBound::Weissman;
  if (name == "first-order") return RowBound::FirstOrder;
  throw InvalidArgument("unknown row bound '" + std::string(name) + "' (expected weissman | first-order)");
}

const char* to_string(ColumnWeighting w) noexcept { return w == ColumnWeighting::None ? "none" : "frequency"; }

ColumnWeighting parse_column_weighting(std::string_view name) {
  if (name == "none") return ColumnWeighting::None;
  if (name == "frequency") return ColumnWeighting::Frequency;
  throw InvalidArgument("unknown column weighting '" + std::string(name) + "' (expected none | frequency)");
}

const char* to_string(Certificate c) noexcept { return c == Certificate::MaxRow ? "max-row" : "value"; }

Certificate parse_certificate(std::string_view name) {
  if (name == "max-row") return Certificate::MaxRow;
  if (name == "value") return Certificate::Value;
  throw InvalidArgument("unknown certificate '" + std::string(name) + "' (expected max-row | value)");
}

double reward_free_value_certificate(const Matrix<double>& kernel, const Vector<double>& row_bounds, Index actions,
                                     double gamma) {
  const Index sa = kernel.rows(), S = kernel.cols();
  if (actions < 1 || sa % actions != 0 || sa / actions != S || row_bounds.size() != sa) {
    throw InvalidArgument("reward-free certificate: the kernel is not (S*A) x S or the row bounds do not match it");
  }
  if (!(gamma >= 0.0 && gamma < 1.0)) throw InvalidArgument("reward-free certificate: gamma must be in [0, 1)");
  const Vector<double> b = row_bounds.cwiseMin(2.0).cwiseMax(0.0);
  const double max_row = gamma * b.maxCoeff() / ((1.0 - gamma) * (1.0 - gamma));
  if (b.maxCoeff() - b.minCoeff() <= 1e-12 * b.maxCoeff()) return max_row;  // W is constant: the same number
  const Vector<double> c = (gamma / (2.0 * (1.0 - gamma))) * b;
  Vector<double> W = Vector<double>::Zero(S), next(S);
  std::vector<Index> order(static_cast<std::size_t>(S));
  double change = 0.0;
  // T W(s) = max_a c_sa + gamma max {p . W : p on the simplex, ||p - P^_sa||_1 <= B_sa}:
  // the maximising p moves min(B / 2, 1 - p_top) of mass onto the state with
  // the largest W, taken from the states with the smallest W first. T is
  // monotone and a gamma-contraction; from W = 0 the iterates increase to
  // its fixed point, which is <= W_k + gamma / (1 - gamma) ||W_k - W_(k-1)||.
  for (int it = 0; it < 100000; ++it) {
    for (Index j = 0; j < S; ++j) order[static_cast<std::size_t>(j)] = j;
    std::sort(order.begin(), order.end(), [&](Index x, Index y) { return W(x) < W(y); });
    const Index top = order.back();
    for (Index s = 0; s < S; ++s) {
      double best = 0.0;
      for (Index a = 0; a < actions; ++a) {
        const Index r = s * actions + a;
        double value = kernel.row(r).dot(W);
        double move = std::min(0.5 * b(r), 1.0 - kernel(r, top));
        value += move * W(top);
        for (const Index j : order) {
          if (move <= 0.0 || j == top) break;
          const double take = std::min(kernel(r, j), move);
          value -= take * W(j);
          move -= take;
        }
        best = std::max(best, c(r) + gamma * value);
      }
      next(s) = best;
    }
    change = (next - W).cwiseAbs().maxCoeff();
    W.swap(next);
    if (gamma * change <= 1e-6 * (1.0 - gamma) * W.maxCoeff()) break;
  }
  const double value_cert = 2.0 * (W.maxCoeff() + gamma / (1.0 - gamma) * change);
  return std::min(value_cert, max_row);
}

RowBound default_row_bound(KernelMethod method) noexcept {
  return method == KernelMethod::Empirical ? RowBound::Weissman : RowBound::FirstOrder;
}

double chi_square_quantile_upper(Index k, double p) {
  if (k < 1) throw InvalidArgument("chi-square quantile: degrees of freedom must be >= 1");
  if (!(p > 0.0 && p < 1.0)) throw InvalidArgument("chi-square quantile: the tail probability must be in (0, 1)");
  double lo = 0.0, hi = static_cast<double>(k) + 10.0;
  while (chi_square_upper_tail(k, hi) > p) hi *= 2.0;
  for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (chi_square_upper_tail(k, mid) > p ? lo : hi) = mid;
  }
  return hi;
}

Vector<double> reward_free_row_bounds(const Matrix<double>& counts, Index actions, KernelMethod method, Index rank,
                                      RowBound bound, double z, Matrix<double>& kernel, ColumnWeighting weighting,
                                      bool refine_every_row) {
  const Index sa = counts.rows(), S = counts.cols();
  if (actions < 1 || sa % actions != 0 || S < 1) throw InvalidArgument("reward-free: counts shape is not (S*A) x S");
  const double n = counts.row(0).sum();
  if (!(n >= 1.0)) throw InvalidArgument("reward-free: every row needs at least one transition");
  for (Index r = 0; r < sa; ++r) {
    if (std::abs(counts.row(r).sum() - n) > 0.5)
      throw InvalidArgument("reward-free: rows hold different sample counts");
  }
  if (method == KernelMethod::Spectral && bound == RowBound::Weissman) {
    throw InvalidArgument("reward-free: the Weissman bound holds for the empirical-counts estimate only");
  }
  Vector<double> out(sa);
  if (method == KernelMethod::Empirical) {
    kernel = counts / n;
    for (Index r = 0; r < sa; ++r) {
      if (bound == RowBound::Weissman) {
        // P(||p^ - p||_1 >= e) <= (2^S - 2) exp(-n e^2 / 2) (Weissman et al. 2003, Thm 2.1).
        out(r) = std::sqrt(2.0 * (static_cast<double>(S) * std::numbers::ln2 + z) / n);
      } else {
        double sum_sd = 0.0, sum_var = 0.0;
        for (Index j = 0; j < S; ++j) {
          const double w = plugin_variance(kernel(r, j), n);
          sum_sd += std::sqrt(w);
          sum_var += w;
        }
        // Independent coordinates: ||D g||_1 is ||D||_F-Lipschitz in g.
        out(r) = kSqrt2OverPi * sum_sd + z * std::sqrt(sum_var);
      }
      out(r) = std::min(out(r), 2.0);
    }
    return out;
  }
  if (rank < 1 || rank > std::min(sa, S)) {
    throw InvalidArgument("reward-free: spectral rank " + std::to_string(rank) + " is outside [1, " +
                          std::to_string(std::min(sa, S)) + "]");
  }
  // cw(j) = sqrt(q_j) with ColumnWeighting::Frequency, else 1. The SVD sees
  // N D^(-1/2) / T, whose noise has variance ~ p_lj / (n q_j), about the
  // same in every column: the weighted least-squares scaling for
  // multinomial rows. Without it the rank-r truncation is ordinary least
  // squares, and when a few next states hold most of the mass (coherent V,
  // Dirichlet(0.3) latents) their large variances dominate every row's
  // error (docs/rl.md, "Why random S = 100 missed 3x"). q_j is floored at
  // 1 / (50 S), so a state seen a handful of times cannot get a huge
  // weight from its few counts.
  Vector<double> cw = Vector<double>::Ones(S);
  if (weighting == ColumnWeighting::Frequency) {
    const double floor_q = 1.0 / (50.0 * static_cast<double>(S));
    for (Index j = 0; j < S; ++j) cw(j) = std::sqrt(std::max(counts.col(j).sum() / (n * sa), floor_q));
  }
  ObservedEntries<double> data;
  data.rows = sa;
  data.cols = S;
  for (Index r = 0; r < sa; ++r) {
    for (Index j = 0; j < S; ++j) {
      if (counts(r, j) > 0)
        data.push_back(static_cast<std::int32_t>(r), static_cast<std::int32_t>(j), counts(r, j) / cw(j));
    }
  }
  SpectralEstimatorOptions so;
  so.sampling = SamplingModel::TransitionCounts;
  so.rank = rank;
  const SpectralEstimate<double> est = estimate_spectral(data, so);
  const Matrix<double>& U = est.fit.U;  // (S*A) x r, orthonormal
  const Matrix<double>& V = est.fit.V;  // S x r, orthonormal
  const Index r_used = U.cols();
  // The estimator divides the (weighted) counts by their total, and every
  // row has n counts: multiply by total / n to come back to P-scale (S A
  // without weighting).
  double total = 0.0;
  for (const double v : data.value) total += v;
  const double to_p = total / n;
  kernel.resize(sa, S);
  const Matrix<double> us = U * est.fit.d.asDiagonal();
  for (Index r = 0; r < sa; ++r) {
    const Vector<double> row = (V * us.row(r).transpose()).cwiseProduct(cw) * to_p;
    kernel.row(r) = project_to_simplex(row).transpose();
  }
  // w(l, j): variance of E = P~ - P at (l, j), plugged in from P^.
  Matrix<double> w(sa, S);
  for (Index l = 0; l < sa; ++l) {
    for (Index j = 0; j < S; ++j) w(l, j) = plugin_variance(kernel(l, j), n);
  }
  // First order: P^ - P ~ P_U E + E D^(-1/2) P_V D^(1/2) (- the cross
  // term, dropped: it only removes mass), with D = diag(cw^2) (the identity
  // without weighting). Row i: a = E_i Vin Vout^T with Vin = D^(-1/2) V and
  // Vout = D^(1/2) V (r-dim), and b = U_i^T U^T E (rows of E independent;
  // the weights cancel: (P_U E D^(-1/2)) D^(1/2)).
  // G_j = U^T diag(w_.j) U gives Var(b_j) = U_i G_j U_i^T.
  std::vector<Matrix<double>> G(static_cast<std::size_t>(S));
  for (Index j = 0; j < S; ++j) G[static_cast<std::size_t>(j)] = U.transpose() * w.col(j).asDiagonal() * U;
  // Lipschitz constant of term b, exactly: b = sum_l c_l D_l^(1/2) g_l with
  // c_l = U_i . U_l and D_l = diag(w_l.) (>= the multinomial covariance), so
  // ||[c_l D_l^(1/2)]_l||_(2->1) = max_s sqrt(sum_l c_l^2 s^T D_l s)
  // = sqrt(sum_l c_l^2 tr D_l) = sqrt(U_i^T H U_i), H = U^T diag(tr D) U.
  const Matrix<double> H = U.transpose() * w.rowwise().sum().asDiagonal() * U;
  // z stands for the per-row tail level exp(-z^2 / 2). Term a takes the
  // smaller of two bounds, each at half that level: Gaussian concentration
  // (E + z_half L) and ||W g||_1 <= L ||g||_2 with ||g||_2^2 below the
  // chi-square(r) quantile. The latter is tighter for small r, where the
  // mean E is close to L (a is an r-dimensional Gaussian).
  const double tail = std::max(std::exp(-0.5 * z * z), 1e-300);
  const double z_half = std::sqrt(z * z + 2.0 * std::numbers::ln2);
  const double chi_r = std::sqrt(chi_square_quantile_upper(r_used, std::min(0.5 * tail, 0.5)));
  const DirectionNet net = direction_net(r_used);
  // Term a: Cov(a) = Vout C Vout^T with C = Vin^T diag(w_i.) Vin, so a = W g
  // with W = Vout Q Lambda^(1/2) (C = Q Lambda Q^T) and g ~ N(0, I_r).
  const Matrix<double> v_in = cw.cwiseInverse().asDiagonal() * V;
  const Matrix<double> v_out = cw.asDiagonal() * V;
  // ||W||_2 <= ||Vout||_2 sqrt(lambda_max) (Vout is orthonormal without weighting).
  const double v_out_norm =
      weighting == ColumnWeighting::None
          ? 1.0
          : std::sqrt(std::max(
                Eigen::SelfAdjointEigenSolver<Matrix<double>>(v_out.transpose() * v_out).eigenvalues().maxCoeff(),
                0.0));
  auto term_a_factor = [&](Index i, Vector<double>& lam) {
    const Matrix<double> C = v_in.transpose() * w.row(i).transpose().asDiagonal() * v_in;
    Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(C);
    lam = eig.eigenvalues().cwiseMax(0.0);
    return Matrix<double>(v_out * eig.eigenvectors() * lam.cwiseSqrt().asDiagonal());
  };
  auto bound_a = [&](double sum_sd, double lip) { return std::min(kSqrt2OverPi * sum_sd + z_half * lip, chi_r * lip); };
  std::vector<double> sd_a(static_cast<std::size_t>(sa)), lip_a(static_cast<std::size_t>(sa)),
      rest(static_cast<std::size_t>(sa));
  for (Index i = 0; i < sa; ++i) {
    const auto iu = static_cast<std::size_t>(i);
    Vector<double> lam;
    const Matrix<double> W = term_a_factor(i, lam);
    double sum_sd = 0.0;
    for (Index j = 0; j < S; ++j) sum_sd += W.row(j).norm();
    double cols_l1 = 0.0;
    for (Index k = 0; k < r_used; ++k) cols_l1 += W.col(k).lpNorm<1>() * W.col(k).lpNorm<1>();
    // Lipschitz constant of g -> ||W g||_1: the smallest of three cheap upper
    // bounds on ||W||_{2->1} (row norms, sqrt(S) ||W||_2, column l1 norms);
    // the direction net below refines it where it matters.
    sd_a[iu] = sum_sd;
    lip_a[iu] = std::min({sum_sd, v_out_norm * std::sqrt(static_cast<double>(S) * lam.maxCoeff()), std::sqrt(cols_l1)});
    // Term b.
    double sum_sd_b = 0.0;
    for (Index j = 0; j < S; ++j) {
      const double v = (U.row(i) * G[static_cast<std::size_t>(j)] * U.row(i).transpose()).value();
      sum_sd_b += std::sqrt(std::max(v, 0.0));
    }
    const double lip_b = std::sqrt(std::max((U.row(i) * H * U.row(i).transpose()).value(), 0.0));
    rest[iu] = kSqrt2OverPi * sum_sd_b + z * lip_b;
    out(i) = std::min(2.0, bound_a(sd_a[iu], lip_a[iu]) + rest[iu]);
  }
  if (net.dirs.size() > 0) {
    // The certificate reads max_i out(i) only, and the net only lowers a
    // bound: refine rows in decreasing order of their bound until the next
    // cannot exceed the largest refined one. The others keep the cheaper
    // (still valid) bound; the maximum is the one refining every row gives.
    std::vector<Index> order(static_cast<std::size_t>(sa));
    for (Index i = 0; i < sa; ++i) order[static_cast<std::size_t>(i)] = i;
    std::sort(order.begin(), order.end(), [&](Index x, Index y) { return out(x) > out(y); });
    double top = 0.0;
    for (const Index i : order) {
      if (out(i) <= top && !refine_every_row) break;
      const auto iu = static_cast<std::size_t>(i);
      Vector<double> lam;
      const Matrix<double> W = term_a_factor(i, lam);
      const double lip_net = (W * net.dirs).cwiseAbs().colwise().sum().maxCoeff() * net.inv_cos;
      out(i) = std::min(2.0, bound_a(sd_a[iu], std::min(lip_a[iu], lip_net)) + rest[iu]);
      top = std::max(top, out(i));
    }
  }
  return out;
}

RewardFreeResult identify_reward_free(const Mdp& mdp, const RewardFreeOptions& o, std::uint64_t seed) {
  validate(mdp);
  if (!(o.epsilon > 0.0) || !std::isfinite(o.epsilon)) throw InvalidArgument("reward-free: epsilon must be > 0");
  if (!(o.delta > 0.0 && o.delta < 1.0)) throw InvalidArgument("reward-free: delta must be in (0, 1)");
  if (o.first_samples_per_pair < 1) throw InvalidArgument("reward-free: first samples per pair must be >= 1");
  if (!(o.growth > 1.0) || !std::isfinite(o.growth)) throw InvalidArgument("reward-free: growth must be > 1");
  if (!(o.confidence_scale > 0.0) || !std::isfinite(o.confidence_scale)) {
    throw InvalidArgument("reward-free: confidence scale must be > 0");
  }
  if (o.method == KernelMethod::Spectral && o.bound == RowBound::Weissman) {
    throw InvalidArgument("reward-free: the Weissman bound holds for the empirical-counts estimate only");
  }
  const Index S = mdp.states, A = mdp.actions, sa = S * A;
  if (o.method == KernelMethod::Spectral && (o.rank < 1 || o.rank > S)) {
    throw InvalidArgument("reward-free: spectral rank " + std::to_string(o.rank) +
                          " is outside [1, S = " + std::to_string(S) + "]");
  }
  if (o.max_samples < sa * o.first_samples_per_pair) {
    throw InvalidArgument("reward-free: the budget of " + std::to_string(o.max_samples) +
                          " samples is below one round (" + std::to_string(sa * o.first_samples_per_pair) + ")");
  }
  const auto t0 = Clock::now();
  const double gamma = mdp.discount;
  // The certificate multiplies B by gamma / (1 - gamma)^2.
  const double horizon_factor = gamma / ((1.0 - gamma) * (1.0 - gamma));
  RewardFreeResult res;
  Matrix<double> counts = Matrix<double>::Zero(sa, S);
  // Multinomial draws by conditional binomials: O(S) per row and round
  // whatever n is, so budgets of 1e8+ transitions stay cheap.
  std::uint64_t stream = seed;
  Rng eng(Rng::splitmix64(stream));
  std::vector<std::int64_t> draw(static_cast<std::size_t>(S));
  std::int64_t n_prev = 0, n = o.first_samples_per_pair;
  for (int k = 1;; ++k) {
    if (sa * n > o.max_samples) {
      res.status = Status::NotConverging;
      break;
    }
    const std::int64_t add = n - n_prev;
    for (Index r = 0; r < sa; ++r) {
      const Vector<double> row = mdp.kernel.row(r).transpose();
      eng.multinomial(add, row.data(), static_cast<std::size_t>(S), draw.data());
      for (Index j = 0; j < S; ++j) counts(r, j) += static_cast<double>(draw[static_cast<std::size_t>(j)]);
    }
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    // Round k spends delta / (k (k + 1)) over the S A rows (and, for the
    // spectral bound, its two terms; Weissman's one bound per row gets the
    // row's whole share).
    const double delta_k = o.delta / (static_cast<double>(k) * static_cast<double>(k + 1));
    const double terms = o.bound == RowBound::Weissman ? 1.0 : 2.0;
    const double log_inv = std::log(terms * static_cast<double>(sa) / delta_k);
    const double arg = o.bound == RowBound::Weissman ? log_inv : o.confidence_scale * std::sqrt(2.0 * log_inv);
    const bool value_cert = o.certificate == Certificate::Value;
    Vector<double> rows = reward_free_row_bounds(counts, A, o.method, o.rank, o.bound, arg, res.kernel, o.weighting);
    double cert =
        value_cert ? reward_free_value_certificate(res.kernel, rows, A, gamma) : horizon_factor * rows.maxCoeff();
    // The value certificate reads every row, so the direction net should
    // refine every row, which costs S r N per row (5.6x the CPU time of a
    // gridworld run, r = 4). The net only lowers bounds, by 1.25x-1.56x at
    // the maximum row where measured (docs/rl.md), so it is applied only
    // once the unrefined certificate is within 2 epsilon: further away it
    // cannot bring the certificate to epsilon unless it more than halves it.
    if (value_cert && o.method == KernelMethod::Spectral && cert <= 2.0 * o.epsilon) {
      rows = reward_free_row_bounds(counts, A, o.method, o.rank, o.bound, arg, res.kernel, o.weighting, true);
      cert = reward_free_value_certificate(res.kernel, rows, A, gamma);
    }
    RewardFreeRound round;
    round.samples_per_pair = n;
    round.samples = n * sa;
    round.bound = rows.maxCoeff();
    round.max_row_certified_epsilon = horizon_factor * round.bound;
    round.certified_epsilon = cert;
    const Vector<double> err = (res.kernel - mdp.kernel).cwiseAbs().rowwise().sum();
    round.true_row_l1_error = err.maxCoeff();
    // The oracle's certificate: the same rule fed the true row errors.
    round.true_certified_epsilon = value_cert ? reward_free_value_certificate(res.kernel, err, A, gamma)
                                              : horizon_factor * round.true_row_l1_error;
    round.row_coverage = static_cast<double>((err.array() <= rows.array()).count()) / static_cast<double>(sa);
    res.rounds.push_back(round);
    res.samples = round.samples;
    res.bound = round.bound;
    res.certified_epsilon = round.certified_epsilon;
    if (o.progress) {
      ProgressEvent e;
      e.stage = "reward-free round";
      e.iteration = k;
      e.objective = round.certified_epsilon;
      e.change = round.bound;
      e.elapsed_s = seconds_since(t0);
      o.progress(e);
    }
    if (round.certified_epsilon <= o.epsilon) {
      res.certified = true;
      break;
    }
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    n_prev = n;
    n = std::max<std::int64_t>(n + 1, static_cast<std::int64_t>(std::ceil(o.growth * static_cast<double>(n))));
  }
  res.elapsed_s = seconds_since(t0);
  return res;
}

RewardFreeExperimentResult run_reward_free_experiment(const MdpExperimentOptions& mo, const RewardFreeOptions& ro,
                                                      int rewards) {
  if (mo.seeds < 1) throw InvalidArgument("mdp: seeds must be >= 1, got " + std::to_string(mo.seeds));
  if (rewards < 0) throw InvalidArgument("mdp: the number of random rewards must be >= 0");
  const auto t0 = Clock::now();
  RewardFreeExperimentResult out;
  for (int s = 0; s < mo.seeds; ++s) {
    const std::uint64_t seed = mo.first_seed + static_cast<std::uint64_t>(s);
    const Mdp mdp = make_model(mo, seed);
    out.states = mdp.states;
    out.actions = mdp.actions;
    RewardFreeOptions o = ro;
    if (o.rank == 0)
      o.rank = mo.model == MdpModel::Random ? mo.random.rank : mo.gridworld.blocks_x * mo.gridworld.blocks_y;
    std::uint64_t stream = seed ^ 0xD1B54A32D192ED03ULL;  // the same data stream convention as run_mdp_experiment
    RewardFreeExperimentResult::Run run;
    run.result = identify_reward_free(mdp, o, Rng::splitmix64(stream));
    if (run.result.status == Status::Interrupted) {
      out.status = Status::Interrupted;
      break;
    }
    for (const auto& r : run.result.rounds) {
      if (r.true_certified_epsilon <= o.epsilon) {
        run.oracle_samples = r.samples;
        break;
      }
    }
    run.covered = !run.result.rounds.empty() && run.result.rounds.back().row_coverage == 1.0;
    // The planted reward, then `rewards` U[0, 1] rewards: plan on P^, score on P.
    Rng rng(Rng::splitmix64(stream));
    Mdp truth = mdp;
    for (int q = 0; q <= rewards; ++q) {
      if (q > 0) {
        for (Index i = 0; i < truth.reward.size(); ++i) truth.reward.data()[i] = rng.uniform();
      }
      Mdp model = truth;
      model.kernel = run.result.kernel;
      const MdpSolution star = value_iteration(truth, mo.planning);
      const MdpSolution plan = value_iteration(model, mo.planning);
      const double gap = value_gap(truth, plan.policy, star.value);
      if (q == 0) run.value_gap = gap;
      run.max_value_gap = std::max(run.max_value_gap, gap);
    }
    run.result.kernel = Matrix<double>();
    out.runs.push_back(std::move(run));
    if (mo.progress) {
      ProgressEvent e;
      e.stage = "reward-free seed";
      e.iteration = s + 1;
      e.objective = static_cast<double>(out.runs.back().result.samples);
      e.elapsed_s = seconds_since(t0);
      mo.progress(e);
    }
    if (interrupt_requested()) {
      out.status = Status::Interrupted;
      break;
    }
  }
  out.elapsed_s = seconds_since(t0);
  return out;
}

}  // namespace lowrank::rl
