// lowrank mdp: best-policy identification in low-rank MDPs by spectral
// estimation of the transition kernel (Stojanovic, Jedra, Proutiere 2023).
// Flags -> options -> library -> report; no numerics here.
#include <fmt/core.h>

#include <cstdlib>

#include "cli_common.hpp"
#include "lowrank/rl/mdp.hpp"

namespace lowrank::cli {

namespace {

// The numeric defaults are the library's (MdpExperimentOptions,
// RewardFreeOptions); the enum flags start at the text of its default value.
struct MdpFlags {
  rl::MdpExperimentOptions o;
  rl::RewardFreeOptions reward_free_options;
  std::string model = rl::to_string(o.model);
  double discount = o.random.discount;  // one flag for both generators
  std::string collection = rl::to_string(o.collection);
  std::string method = rl::to_string(o.estimator.method);
  std::string rank_selection = rl::to_string(o.estimator.spectral.rank_selection);
  bool reward_free = false;
  std::string bound = "";
  std::string weighting = rl::to_string(rl::RewardFreeOptions{}.weighting);
  std::string certificate = rl::to_string(rl::RewardFreeOptions{}.certificate);
  int rewards = rl::kDefaultRewardDraws;
  CommonFlags common;
};

// After Ctrl-C: report the seeds that finished, or exit 130 when none did.
void report_interrupt(Status status, std::size_t seeds_done) {
  if (status != Status::Interrupted) return;
  if (seeds_done == 0) {
    warn("interrupted before the first seed finished: nothing to report");
    std::exit(130);
  }
  warn(fmt::format("interrupted: reporting the {} seed(s) completed so far", seeds_done));
}

void run_reward_free_cmd(const MdpFlags& f, rl::MdpExperimentOptions& o) {
  rl::RewardFreeOptions ro = f.reward_free_options;
  ro.method = o.estimator.method;
  ro.rank = o.estimator_rank;
  ro.bound = f.bound.empty() ? rl::default_row_bound(ro.method) : rl::parse_row_bound(f.bound);
  ro.weighting = rl::parse_column_weighting(f.weighting);
  ro.certificate = rl::parse_certificate(f.certificate);
  const rl::RewardFreeExperimentResult res = rl::run_reward_free_experiment(o, ro, f.rewards);
  report_interrupt(res.status, res.runs.size());
  if (f.common.json) {
    nlohmann::json j;
    j["command"] = "mdp";
    j["mode"] = "reward-free";
    j["model"] = to_string(o.model);
    j["states"] = res.states;
    j["actions"] = res.actions;
    j["discount"] = f.discount;
    j["method"] = to_string(ro.method);
    j["bound"] = to_string(ro.bound);
    if (ro.method == rl::KernelMethod::Spectral) j["weighting"] = to_string(ro.weighting);
    j["certificate"] = to_string(ro.certificate);
    j["epsilon"] = ro.epsilon;
    j["delta"] = ro.delta;
    j["confidence_scale"] = ro.confidence_scale;
    j["seeds"] = res.runs.size();
    j["first_seed"] = o.first_seed;
    j["elapsed_s"] = res.elapsed_s;
    j["status"] = to_string(res.status);
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : res.runs) {
      nlohmann::json rounds = nlohmann::json::array();
      for (const auto& k : r.result.rounds) {
        rounds.push_back({{"samples", k.samples},
                          {"bound", k.bound},
                          {"certified_epsilon", k.certified_epsilon},
                          {"max_row_certified_epsilon", k.max_row_certified_epsilon},
                          {"true_row_l1_error", k.true_row_l1_error},
                          {"true_certified_epsilon", k.true_certified_epsilon},
                          {"row_coverage", k.row_coverage}});
      }
      runs.push_back({{"certified", r.result.certified},
                      {"samples", r.result.samples},
                      {"bound", r.result.bound},
                      {"certified_epsilon", r.result.certified_epsilon},
                      {"oracle_samples", r.oracle_samples},
                      {"value_gap", r.value_gap},
                      {"max_value_gap", r.max_value_gap},
                      {"covered", r.covered},
                      {"status", to_string(r.result.status)},
                      {"elapsed_s", r.result.elapsed_s},
                      {"rounds", rounds}});
    }
    j["runs"] = runs;
    print_json(j);
    return;
  }
  fmt::print("mdp        {} with {} states x {} actions, discount {}\n", to_string(o.model), res.states, res.actions,
             f.discount);
  fmt::print("mode       reward-free: stop once the {} certificate is <= {} (every reward in [0, 1]), delta {}\n",
             to_string(ro.certificate), ro.epsilon, ro.delta);
  if (ro.method == rl::KernelMethod::Spectral) {
    fmt::print("estimator  spectral ({} column weighting) with the {} row bound\n", to_string(ro.weighting),
               to_string(ro.bound));
  } else {
    fmt::print("estimator  {} with the {} row bound\n", to_string(ro.method), to_string(ro.bound));
  }
  for (std::size_t k = 0; k < res.runs.size(); ++k) {
    const auto& r = res.runs[k];
    if (r.result.certified) {
      fmt::print(
          "  seed {:<4} certified at {} samples (bound {:.4g}, eps {:.4g}); true error met it at {}; "
          "value gap {:.4g} (max over rewards {:.4g})\n",
          o.first_seed + k, r.result.samples, r.result.bound, r.result.certified_epsilon, r.oracle_samples, r.value_gap,
          r.max_value_gap);
    } else {
      fmt::print("  seed {:<4} not certified within {} samples (eps {:.4g}, {})\n", o.first_seed + k, r.result.samples,
                 r.result.certified_epsilon, to_string(r.result.status));
    }
  }
  fmt::print("time       {:.2f} s\n", res.elapsed_s);
}

void run_mdp_cmd(const MdpFlags& f) {
  apply_common_flags(f.common);
  rl::MdpExperimentOptions o = f.o;
  o.model = rl::parse_mdp_model(f.model);
  o.random.discount = f.discount;
  o.gridworld.discount = f.discount;
  o.collection = rl::parse_collection(f.collection);
  o.estimator.method = rl::parse_kernel_method(f.method);
  o.estimator.spectral.rank_selection = rl::parse_rank_selection(f.rank_selection);
  o.progress = stderr_progress(f.common);
  if (f.reward_free) {
    run_reward_free_cmd(f, o);
    return;
  }
  const rl::MdpExperimentResult res = rl::run_mdp_experiment(o);
  report_interrupt(res.status, res.runs.size());
  if (res.max_unvisited_rows > 0) {
    warn(fmt::format("up to {} (state, action) pairs were never visited; their estimated rows are uniform",
                     res.max_unvisited_rows));
  }

  if (f.common.json) {
    nlohmann::json j;
    j["command"] = "mdp";
    j["model"] = to_string(o.model);
    j["states"] = res.states;
    j["actions"] = res.actions;
    j["discount"] = f.discount;
    j["collection"] = to_string(o.collection);
    j["samples"] = o.samples;
    j["method"] = to_string(o.estimator.method);
    j["seeds"] = res.runs.size();
    j["first_seed"] = o.first_seed;
    j["mean_value_gap"] = res.mean_value_gap;
    j["sd_value_gap"] = res.sd_value_gap;
    j["mean_kernel_max_error"] = res.mean_kernel_max_error;
    j["mean_kernel_row_l1_error"] = res.mean_kernel_row_l1_error;
    j["optimal_fraction"] = res.optimal_fraction;
    j["elapsed_s"] = res.elapsed_s;
    j["status"] = to_string(res.status);
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : res.runs) {
      runs.push_back({{"value_gap", r.value_gap},
                      {"kernel_max_error", r.kernel_max_error},
                      {"kernel_row_l1_error", r.kernel_row_l1_error},
                      {"rank", r.rank},
                      {"unvisited_rows", r.unvisited_rows},
                      {"unvisited_states", r.unvisited_states},
                      {"optimal_policy", r.optimal_policy},
                      {"estimate_s", r.estimate_s}});
    }
    j["runs"] = runs;
    print_json(j);
    return;
  }
  fmt::print("mdp        {} with {} states x {} actions, discount {}\n", to_string(o.model), res.states, res.actions,
             f.discount);
  fmt::print("data       {} transitions ({})\n", o.samples, to_string(o.collection));
  fmt::print("estimator  {}\n", to_string(o.estimator.method));
  fmt::print("value gap  {:.6g} +- {:.3g} (max_s V*(s) - V^pi(s), mean +- sd over {} seeds)\n", res.mean_value_gap,
             res.sd_value_gap, res.runs.size());
  fmt::print("optimal    {:.0f}% of runs\n", 100.0 * res.optimal_fraction);
  fmt::print("kernel     max entry error {:.4g}, max row l1 error {:.4g} (means)\n", res.mean_kernel_max_error,
             res.mean_kernel_row_l1_error);
  for (std::size_t k = 0; k < res.runs.size(); ++k) {
    const auto& r = res.runs[k];
    fmt::print("  seed {:<4} gap {:<11.5g} rank {} unvisited pairs {} states {}\n", o.first_seed + k, r.value_gap,
               r.rank, r.unvisited_rows, r.unvisited_states);
  }
  fmt::print("time       {:.2f} s\n", res.elapsed_s);
}

}  // namespace

void register_mdp(CLI::App& app) {
  auto f = std::make_shared<MdpFlags>();
  auto* cmd = app.add_subcommand(
      "mdp", "Value gap of the policy planned on a spectral (or empirical) estimate of a low-rank MDP's kernel");
  cmd->add_option("--model", f->model, "random (r latent factors) | gridworld (r latent rooms)")->capture_default_str();
  cmd->add_option("--states", f->o.random.states, "random: number of states S")->capture_default_str();
  cmd->add_option("--actions", f->o.random.actions, "random: number of actions A")->capture_default_str();
  cmd->add_option("--rank", f->o.random.rank, "random: rank r of the (S*A) x S kernel")->capture_default_str();
  cmd->add_option("--concentration", f->o.random.latent_concentration,
                  "random: Dirichlet concentration of the latent rows")
      ->capture_default_str();
  cmd->add_option("--width", f->o.gridworld.width, "gridworld: width")->capture_default_str();
  cmd->add_option("--height", f->o.gridworld.height, "gridworld: height")->capture_default_str();
  cmd->add_option("--blocks-x", f->o.gridworld.blocks_x, "gridworld: rooms across (r = blocks-x * blocks-y)")
      ->capture_default_str();
  cmd->add_option("--blocks-y", f->o.gridworld.blocks_y, "gridworld: rooms down")->capture_default_str();
  cmd->add_option("--slip", f->o.gridworld.slip, "gridworld: probability of landing in a random room")
      ->capture_default_str();
  cmd->add_option("--discount", f->discount, "Discount gamma in [0, 1)")->capture_default_str();
  cmd->add_option("--collection", f->collection,
                  "generative (samples / (S*A) per pair) | trajectory (one run of a uniform behaviour policy)")
      ->capture_default_str();
  cmd->add_option("--samples", f->o.samples, "Total transitions T")->capture_default_str();
  cmd->add_option("--method", f->method, "spectral | empirical (counts)")->capture_default_str();
  cmd->add_option("--estimator-rank", f->o.estimator_rank, "Rank of the spectral estimate (0 = the model's rank)")
      ->capture_default_str();
  cmd->add_option("--rank-selection", f->rank_selection, "fixed | threshold | gap")->capture_default_str();
  cmd->add_option("--seeds", f->o.seeds, "Number of seeds (MDP and data) to average over")->capture_default_str();
  cmd->add_option("--seed", f->o.first_seed, "First seed; run k uses seed + k")
      ->capture_default_str()
      ->check(seed_validator());
  cmd->add_flag("--reward-free", f->reward_free,
                "Reward-free best-policy identification: sample in rounds until the kernel's row-l1 bound certifies "
                "an epsilon-optimal policy for every reward in [0, 1] (generative model; --samples is ignored)");
  cmd->add_option("--epsilon", f->reward_free_options.epsilon, "reward-free: target value gap")->capture_default_str();
  cmd->add_option("--delta", f->reward_free_options.delta, "reward-free: failure probability")->capture_default_str();
  cmd->add_option("--bound", f->bound,
                  "reward-free: weissman (counts only, proved) | first-order (default: weissman for empirical, "
                  "first-order for spectral)");
  cmd->add_option("--weighting", f->weighting,
                  "reward-free, spectral: column weighting before the truncation: frequency (scale next states by "
                  "1 / sqrt(their frequency), then back) | none (the paper's estimator)")
      ->capture_default_str();
  cmd->add_option("--certificate", f->certificate,
                  "reward-free: value (each row's bound, weighted by where the worst policy goes: robust value "
                  "iteration) | max-row (gamma max B / (1 - gamma)^2)")
      ->capture_default_str();
  cmd->add_option("--first-samples", f->reward_free_options.first_samples_per_pair,
                  "reward-free: transitions per pair in round 1")
      ->capture_default_str();
  cmd->add_option("--growth", f->reward_free_options.growth,
                  "reward-free: per-pair samples grow by this factor each round")
      ->capture_default_str();
  cmd->add_option("--max-samples", f->reward_free_options.max_samples, "reward-free: budget of transitions")
      ->capture_default_str();
  cmd->add_option("--confidence-scale", f->reward_free_options.confidence_scale,
                  "reward-free: multiplies the first-order z")
      ->capture_default_str();
  cmd->add_option("--rewards", f->rewards, "reward-free: random U[0, 1] rewards scored per seed")
      ->capture_default_str();
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example (spectral vs counts on a random rank-3 MDP, 20 transitions per pair):\n"
      "  lowrank mdp --model random --states 200 --actions 4 --rank 3 --samples 16000 --method spectral --seeds 5\n"
      "  lowrank mdp --model random --states 200 --actions 4 --rank 3 --samples 16000 --method empirical --seeds 5\n"
      "A gridworld with 3 x 3 latent rooms, data from one trajectory:\n"
      "  lowrank mdp --model gridworld --width 15 --height 15 --blocks-x 3 --blocks-y 3 \\\n"
      "      --collection trajectory --samples 200000 --json\n"
      "Reward-free identification with a stopping rule, spectral vs counts:\n"
      "  lowrank mdp --reward-free --model random --states 100 --actions 4 --rank 3 --discount 0.5 --epsilon 0.5\n"
      "  lowrank mdp --reward-free --model random --states 100 --actions 4 --rank 3 --discount 0.5 --epsilon 0.5 \\\n"
      "      --method empirical\n");
  cmd->callback([f] { run_mdp_cmd(*f); });
}

}  // namespace lowrank::cli
