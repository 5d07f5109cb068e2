// Low-rank MDPs: closed forms for planning, generator structure, kernel
// estimation on the simplex, unvisited states, reproducibility, bad input.
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <cmath>

#include "lowrank/rl/mdp.hpp"
#include "lowrank/rl/rng.hpp"

using namespace lowrank;
using namespace lowrank::rl;

namespace {

// Two states, two actions, deterministic moves:
//   s0: a0 stays (reward 1), a1 goes to s1 (reward 0)
//   s1: a0 stays (reward 2), a1 goes to s0 (reward 0)
// Optimal: V(s1) = 2 / (1 - g); V(s0) = max(1 / (1 - g), g V(s1)).
Mdp two_state(double g) {
  Mdp m;
  m.states = 2;
  m.actions = 2;
  m.discount = g;
  m.kernel = Matrix<double>::Zero(4, 2);
  m.kernel(m.row(0, 0), 0) = 1;
  m.kernel(m.row(0, 1), 1) = 1;
  m.kernel(m.row(1, 0), 1) = 1;
  m.kernel(m.row(1, 1), 0) = 1;
  m.reward.resize(2, 2);
  m.reward << 1, 0, 2, 0;
  return m;
}

Index numerical_rank(const Matrix<double>& a) {
  Eigen::JacobiSVD<Matrix<double>> svd(a);
  const auto& s = svd.singularValues();
  Index k = 0;
  while (k < s.size() && s(k) > 1e-10 * s(0)) ++k;
  return k;
}

}  // namespace

TEST(RlMdp, ValueIterationMatchesClosedFormOnTwoStates) {
  for (double g : {0.3, 0.9}) {
    const Mdp m = two_state(g);
    const auto sol = value_iteration(m, {.tolerance = 1e-12});
    ASSERT_EQ(sol.status, Status::Success);
    const double v1 = 2.0 / (1.0 - g);
    const double v0 = std::max(1.0 / (1.0 - g), g * v1);
    EXPECT_NEAR(sol.value(1), v1, 1e-9);
    EXPECT_NEAR(sol.value(0), v0, 1e-9);
    EXPECT_EQ(sol.policy[1], 0);
    EXPECT_EQ(sol.policy[0], 1.0 / (1.0 - g) > g * v1 ? 0 : 1);  // g = 0.3 stays, g = 0.9 moves
    EXPECT_NEAR(value_gap(m, sol.policy, sol.value), 0.0, 1e-9);
    // The other policy at s0 loses exactly |V(s0) - alternative|.
    std::vector<Index> other = sol.policy;
    other[0] = 1 - other[0];
    const double alt = other[0] == 0 ? 1.0 / (1.0 - g) : g * v1;
    EXPECT_NEAR(value_gap(m, other, sol.value), v0 - alt, 1e-9);
  }
}

TEST(RlMdp, PolicyValueMatchesTwoByTwoInverse) {
  Mdp m;
  m.states = 2;
  m.actions = 1;
  m.discount = 0.8;
  m.kernel.resize(2, 2);
  m.kernel << 0.5, 0.5, 0.2, 0.8;
  m.reward.resize(2, 1);
  m.reward << 1.0, 0.0;
  const double g = 0.8;
  // (I - g P)^{-1} r by the 2 x 2 adjugate formula.
  const double a = 1 - g * 0.5, b = -g * 0.5, c = -g * 0.2, d = 1 - g * 0.8;
  const double det = a * d - b * c;
  const double v0 = (d * 1.0 - b * 0.0) / det, v1 = (-c * 1.0 + a * 0.0) / det;
  const Vector<double> v = policy_value(m, {0, 0});
  EXPECT_NEAR(v(0), v0, 1e-12);
  EXPECT_NEAR(v(1), v1, 1e-12);
  const auto sol = value_iteration(m, {.tolerance = 1e-12});
  EXPECT_NEAR(sol.value(0), v0, 1e-10);
}

TEST(RlMdp, GeneratorsAreLowRankKernels) {
  const Mdp r = random_low_rank_mdp({.states = 40, .actions = 3, .rank = 4, .seed = 2});
  EXPECT_NO_THROW(validate(r));
  EXPECT_EQ(numerical_rank(r.kernel), 4);
  const Mdp g = latent_gridworld({.width = 8, .height = 6, .blocks_x = 2, .blocks_y = 3, .slip = 0.1, .seed = 3});
  EXPECT_NO_THROW(validate(g));
  EXPECT_EQ(g.states, 48);
  EXPECT_EQ(g.actions, 4);
  EXPECT_EQ(numerical_rank(g.kernel), 6);
  // Moving right from the top-left cell lands in the top-left room (cells
  // x < 4, y < 2) with probability 1 - slip + slip / 6.
  double mass = 0;
  for (Index y = 0; y < 2; ++y)
    for (Index x = 0; x < 4; ++x) mass += g.kernel(g.row(0, 3), y * 8 + x);
  EXPECT_NEAR(mass, 0.9 + 0.1 / 6, 1e-12);
}

TEST(RlMdp, SimplexProjection) {
  const Vector<double> p1 = project_to_simplex(Vector<double>{{0.5, 0.4, 0.3}});
  EXPECT_NEAR(p1(0), 0.5 - 0.2 / 3, 1e-12);
  EXPECT_NEAR(p1(2), 0.3 - 0.2 / 3, 1e-12);
  const Vector<double> p2 = project_to_simplex(Vector<double>{{0.6, 0.6, -1.0}});
  EXPECT_NEAR(p2(0), 0.5, 1e-12);
  EXPECT_NEAR(p2(2), 0.0, 1e-12);
  const Vector<double> p3 = project_to_simplex(Vector<double>{{2.0, 0.0, 0.0}});
  EXPECT_NEAR(p3(0), 1.0, 1e-12);
  // KKT check on a random vector: p = (x - theta)_+ with sum 1, and p is the
  // closest point among random simplex points.
  Rng rng(5);
  Vector<double> x(20);
  for (Index k = 0; k < 20; ++k) x(k) = rng.normal() * 0.3;
  const Vector<double> p = project_to_simplex(x);
  EXPECT_NEAR(p.sum(), 1.0, 1e-12);
  EXPECT_GE(p.minCoeff(), 0.0);
  for (int t = 0; t < 200; ++t) {
    Vector<double> q(20);
    for (Index k = 0; k < 20; ++k) q(k) = rng.exponential();
    q /= q.sum();
    EXPECT_LE((p - x).norm(), (q - x).norm() + 1e-12);
  }
  EXPECT_THROW(project_to_simplex(Vector<double>()), InvalidArgument);
}

TEST(RlMdp, SpectralKernelEstimateIsOnTheSimplexAndBeatsCounts) {
  // Measured: max error 0.028 (spectral) vs 0.080 (counts), row l1 0.36 vs 0.82.
  const Mdp m = random_low_rank_mdp({.states = 100, .actions = 4, .rank = 3, .latent_concentration = 0.3, .seed = 7});
  const TransitionData data = collect_generative(m, 100, 8);
  EXPECT_EQ(data.samples, 100 * 4 * 100);
  EXPECT_EQ(data.unvisited_rows, 0);
  KernelEstimatorOptions ko;
  ko.spectral.rank = 3;
  const KernelEstimate spec = estimate_kernel(data, ko);
  EXPECT_GE(spec.kernel.minCoeff(), 0.0);
  EXPECT_LT((spec.kernel.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-12);
  ko.method = KernelMethod::Empirical;
  const KernelEstimate emp = estimate_kernel(data, ko);
  EXPECT_LT((emp.kernel.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-12);
  const double es = (spec.kernel - m.kernel).cwiseAbs().maxCoeff();
  const double ee = (emp.kernel - m.kernel).cwiseAbs().maxCoeff();
  EXPECT_LT(es, 0.5 * ee);
  const double ls = (spec.kernel - m.kernel).cwiseAbs().rowwise().sum().maxCoeff();
  const double le = (emp.kernel - m.kernel).cwiseAbs().rowwise().sum().maxCoeff();
  EXPECT_LT(ls, 0.6 * le);
}

TEST(RlMdp, UnvisitedStatesAreReportedNotDividedByZero) {
  // State 0 is absorbing under every action: a trajectory from 0 never sees
  // states 1 and 2.
  Mdp m;
  m.states = 3;
  m.actions = 2;
  m.discount = 0.9;
  m.kernel = Matrix<double>::Zero(6, 3);
  m.kernel.col(0).head(2).setOnes();
  m.kernel.row(m.row(1, 0)) << 0.5, 0.5, 0.0;
  m.kernel.row(m.row(1, 1)) << 0.0, 0.5, 0.5;
  m.kernel.row(m.row(2, 0)) << 0.2, 0.3, 0.5;
  m.kernel.row(m.row(2, 1)) << 0.0, 0.0, 1.0;
  m.reward = Matrix<double>::Ones(3, 2);
  const TransitionData d = collect_trajectory(m, Matrix<double>(), 500, 0, 1);
  EXPECT_EQ(d.unvisited_states, 2);
  EXPECT_EQ(d.unvisited_rows, 4);
  for (auto method : {KernelMethod::Spectral, KernelMethod::Empirical}) {
    KernelEstimatorOptions ko;
    ko.method = method;
    ko.spectral.rank = 1;
    const KernelEstimate e = estimate_kernel(d, ko);
    EXPECT_TRUE(e.kernel.allFinite());
    ASSERT_EQ(e.unvisited_rows.size(), 4u);
    EXPECT_EQ(e.unvisited_rows.front(), m.row(1, 0));
    EXPECT_NEAR(e.kernel(m.row(2, 1), 1), 1.0 / 3.0, 1e-15);  // uniform fill
    EXPECT_NEAR(e.kernel(m.row(0, 0), 0), 1.0, 1e-9);
  }
}

TEST(RlMdp, TrajectoryBehaviourPolicyIsRespected) {
  const Mdp m = random_low_rank_mdp({.states = 10, .actions = 3, .rank = 2, .seed = 1});
  Matrix<double> pol = Matrix<double>::Zero(10, 3);
  pol.col(2).setOnes();  // always action 2
  const TransitionData d = collect_trajectory(m, pol, 2000, 0, 2);
  for (Index s = 0; s < 10; ++s) {
    EXPECT_EQ(d.row_visits[static_cast<std::size_t>(m.row(s, 0))], 0);
    EXPECT_EQ(d.row_visits[static_cast<std::size_t>(m.row(s, 1))], 0);
  }
  EXPECT_EQ(d.samples, 2000);
}

TEST(RlMdp, ExperimentIsReproducibleAndSpectralPlansWell) {
  MdpExperimentOptions o;
  o.random = {.states = 60, .actions = 4, .rank = 3};
  o.samples = 60 * 4 * 30;  // estimator_rank 0: the generator's rank 3
  o.seeds = 2;
  const auto a = run_mdp_experiment(o), b = run_mdp_experiment(o);
  ASSERT_EQ(a.runs.size(), 2u);
  EXPECT_EQ(a.mean_value_gap, b.mean_value_gap);
  EXPECT_EQ(a.runs[1].kernel_max_error, b.runs[1].kernel_max_error);
  o.estimator.method = KernelMethod::Empirical;
  const auto e = run_mdp_experiment(o);
  EXPECT_LT(a.mean_kernel_row_l1_error, e.mean_kernel_row_l1_error);
  EXPECT_LE(a.mean_value_gap, e.mean_value_gap + 1e-12);
  o.collection = Collection::Trajectory;
  o.model = MdpModel::Gridworld;
  o.gridworld = {.width = 6, .height = 6, .blocks_x = 2, .blocks_y = 2};
  o.estimator.method = KernelMethod::Spectral;
  const auto g = run_mdp_experiment(o);
  EXPECT_EQ(g.states, 36);
  EXPECT_TRUE(std::isfinite(g.mean_value_gap));
}

TEST(RlMdp, RejectsBadInput) {
  EXPECT_THROW(random_low_rank_mdp({.states = 0}), InvalidArgument);
  EXPECT_THROW(random_low_rank_mdp({.actions = 0}), InvalidArgument);
  EXPECT_THROW(random_low_rank_mdp({.states = 5, .rank = 6}), InvalidArgument);
  EXPECT_THROW(random_low_rank_mdp({.discount = 1.0}), InvalidArgument);
  EXPECT_THROW(latent_gridworld({.width = 0}), InvalidArgument);
  EXPECT_THROW(latent_gridworld({.width = 4, .blocks_x = 5}), InvalidArgument);
  EXPECT_THROW(latent_gridworld({.slip = 1.5}), InvalidArgument);
  const Mdp m = two_state(0.9);
  EXPECT_THROW(collect_generative(m, 0, 1), InvalidArgument);
  EXPECT_THROW(collect_trajectory(m, Matrix<double>(), 0, 0, 1), InvalidArgument);
  EXPECT_THROW(collect_trajectory(m, Matrix<double>(), 10, 2, 1), InvalidArgument);
  EXPECT_THROW(collect_trajectory(m, Matrix<double>::Ones(2, 3), 10, 0, 1), InvalidArgument);
  EXPECT_THROW(collect_trajectory(m, Matrix<double>::Ones(2, 2), 10, 0, 1), InvalidArgument);  // rows sum to 2
  Mdp bad = m;
  bad.kernel(0, 0) = 0.5;  // row no longer sums to 1
  EXPECT_THROW(value_iteration(bad), InvalidArgument);
  bad = m;
  bad.states = 0;
  EXPECT_THROW(validate(bad), InvalidArgument);
  EXPECT_THROW(policy_value(m, {0}), InvalidArgument);
  EXPECT_THROW(policy_value(m, {0, 2}), InvalidArgument);
  EXPECT_THROW(value_iteration(m, {.tolerance = 0.0}), InvalidArgument);
  TransitionData d = collect_generative(m, 5, 1);
  KernelEstimatorOptions ko;
  ko.spectral.rank = 3;  // above min(S*A, S) = 2
  EXPECT_THROW(estimate_kernel(d, ko), InvalidArgument);
  TransitionData empty;
  empty.states = 2;
  empty.actions = 2;
  empty.counts.rows = 4;
  empty.counts.cols = 2;
  empty.row_visits.assign(4, 0);
  ko.spectral.rank = 1;
  EXPECT_THROW(estimate_kernel(empty, ko), InvalidArgument);
  MdpExperimentOptions o;
  o.estimator_rank = -1;
  EXPECT_THROW(run_mdp_experiment(o), InvalidArgument);
  o.estimator_rank = 0;
  o.seeds = 0;
  EXPECT_THROW(run_mdp_experiment(o), InvalidArgument);
  o.seeds = 1;
  o.samples = 0;
  EXPECT_THROW(run_mdp_experiment(o), InvalidArgument);
  o.samples = 10;  // fewer than S * A = 200 pairs
  EXPECT_THROW(run_mdp_experiment(o), InvalidArgument);
  EXPECT_THROW(parse_mdp_model("maze"), InvalidArgument);
  EXPECT_THROW(parse_collection("offline"), InvalidArgument);
  EXPECT_THROW(parse_kernel_method("mle"), InvalidArgument);
}
