// lowrank bandit: regret of a bandit algorithm on planted low-rank reward
// matrices (Stojanovic, Jedra, Proutiere 2023). Flags -> options -> library
// -> report; no numerics here.
#include <fmt/core.h>

#include "cli_common.hpp"
#include "lowrank/rl/bandit.hpp"

namespace lowrank::cli {

namespace {

// The numeric defaults are the library's (BanditExperimentOptions); the
// enum flags start at the text of the library's default value.
struct BanditFlags {
  rl::BanditExperimentOptions o;
  std::string algorithm = rl::to_string(o.run.algorithm);
  std::string sampling = rl::to_string(o.run.spectral_sampling);
  std::string etc_estimator = rl::to_string(o.run.etc_estimator);
  bool curve = false;
  CommonFlags common;
};

nlohmann::json run_json(const rl::BanditRunResult& r) {
  nlohmann::json j;
  j["final_regret"] = r.final_regret;
  j["found_best"] = r.found_best;
  j["committed_arm"] = {r.committed_row, r.committed_col};
  j["commit_time"] = r.commit_time;
  j["committed"] = r.commit_time >= 0;
  j["arm_pull_fraction"] = r.arm_pull_fraction;
  j["best_pull_fraction"] = r.best_pull_fraction;
  j["summary"] = rl::describe_run(r);
  if (r.explore_end >= 0) {
    j["explore_end"] = r.explore_end;
    j["candidate_arms"] = r.candidate_arms;
  }
  j["status"] = to_string(r.status);
  j["elapsed_s"] = r.elapsed_s;
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& p : r.phases) {
    phases.push_back({{"end_time", p.end_time},
                      {"samples", p.samples},
                      {"active_arms", p.active_arms},
                      {"active_rows", p.active_rows},
                      {"active_cols", p.active_cols},
                      {"max_width", p.max_width},
                      {"estimate_error", p.estimate_error},
                      {"best_active", p.best_active}});
  }
  j["phases"] = phases;
  return j;
}

void run_bandit_cmd(const BanditFlags& f) {
  apply_common_flags(f.common);
  rl::BanditExperimentOptions o = f.o;
  o.run.algorithm = rl::parse_bandit_algorithm(f.algorithm);
  o.run.spectral_sampling = rl::parse_spectral_sampling(f.sampling);
  o.run.etc_estimator = rl::parse_etc_estimator(f.etc_estimator);
  o.run.progress = stderr_progress(f.common);
  const rl::BanditExperimentResult res = rl::run_bandit_experiment(o);
  if (res.status == Status::Interrupted) warn("interrupted: reporting the seeds completed so far");

  if (f.common.json) {
    nlohmann::json j;
    j["command"] = "bandit";
    j["instance"] = {{"rows", o.instance.rows},
                     {"cols", o.instance.cols},
                     {"rank", o.instance.rank},
                     {"gap", o.instance.gap},
                     {"noise_sd", o.instance.noise_sd}};
    j["algorithm"] = to_string(o.run.algorithm);
    if (o.run.algorithm == rl::BanditAlgorithm::SpectralElimination) j["sampling"] = to_string(o.run.spectral_sampling);
    if (o.run.algorithm == rl::BanditAlgorithm::ExploreThenCommit) j["etc_estimator"] = to_string(o.run.etc_estimator);
    j["horizon"] = o.run.horizon;
    j["seeds"] = res.runs.size();
    j["first_seed"] = o.first_seed;
    j["mean_final_regret"] = res.mean_final_regret;
    j["sd_final_regret"] = res.sd_final_regret;
    j["found_best_fraction"] = res.found_best_fraction;
    j["committed_fraction"] = res.committed_fraction;
    j["mean_best_pull_fraction"] = res.mean_best_pull_fraction;
    j["elapsed_s"] = res.elapsed_s;
    j["status"] = to_string(res.status);
    if (f.curve) {
      j["times"] = res.times;
      j["mean_regret"] = res.mean_regret;
      j["sd_regret"] = res.sd_regret;
    }
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : res.runs) runs.push_back(run_json(r));
    j["runs"] = runs;
    print_json(j);
    return;
  }
  fmt::print("instance   {} x {} rank {} gap {} noise sd {}\n", o.instance.rows, o.instance.cols, o.instance.rank,
             o.instance.gap, o.instance.noise_sd);
  fmt::print("algorithm  {}{}\n", to_string(o.run.algorithm),
             o.run.algorithm == rl::BanditAlgorithm::SpectralElimination
                 ? fmt::format(" (sampling {})", to_string(o.run.spectral_sampling))
             : o.run.algorithm == rl::BanditAlgorithm::ExploreThenCommit
                 ? fmt::format(" (estimator {})", to_string(o.run.etc_estimator))
                 : "");
  fmt::print("horizon    {}  seeds {}..{}\n", o.run.horizon, o.first_seed, o.first_seed + res.runs.size() - 1);
  fmt::print("regret     {:.6g} +- {:.3g} (mean +- sd over seeds)\n", res.mean_final_regret, res.sd_final_regret);
  // Committed runs and runs that only played the best arm most are counted
  // apart, with the share of pulls it got: "found" means little when the
  // regret is close to linear.
  int committed_best = 0, committed = 0, played_best = 0;
  for (const auto& r : res.runs) {
    committed += r.commit_time >= 0 ? 1 : 0;
    committed_best += (r.commit_time >= 0 && r.found_best) ? 1 : 0;
    played_best += (r.commit_time < 0 && r.found_best) ? 1 : 0;
  }
  fmt::print(
      "best arm   committed to in {} of {} runs ({} committed); most pulled, not committed, in {}; "
      "{:.1f}% of pulls on it on average\n",
      committed_best, res.runs.size(), committed, played_best, 100.0 * res.mean_best_pull_fraction);
  for (std::size_t k = 0; k < res.runs.size(); ++k) {
    const auto& r = res.runs[k];
    fmt::print("  seed {:<4} regret {:<12.6g} {}\n", o.first_seed + k, r.final_regret, rl::describe_run(r));
  }
  fmt::print("time       {:.2f} s\n", res.elapsed_s);
}

}  // namespace

void register_bandit(CLI::App& app) {
  auto f = std::make_shared<BanditFlags>();
  auto* cmd =
      app.add_subcommand("bandit",
                         "Regret of a bandit algorithm on planted low-rank reward matrices (arms = entries (i, j))");
  cmd->add_option("--rows", f->o.instance.rows, "Rows m of the reward matrix")->capture_default_str();
  cmd->add_option("--cols", f->o.instance.cols, "Columns n of the reward matrix")->capture_default_str();
  cmd->add_option("--rank", f->o.instance.rank, "Rank r of the reward matrix (1 <= r <= min(m, n))")
      ->capture_default_str();
  cmd->add_option("--gap", f->o.instance.gap, "Best minus second-best mean reward (> 0)")->capture_default_str();
  cmd->add_option("--noise", f->o.instance.noise_sd, "Standard deviation of the Gaussian reward noise")
      ->capture_default_str();
  cmd->add_option("--horizon", f->o.run.horizon, "Number of pulls T")->capture_default_str();
  cmd->add_option("--algorithm", f->algorithm,
                  "spectral (spectral exploration shrinks the arm set, then UCB on it) | "
                  "elimination (phased spectral elimination) | ucb (UCB over all m n arms) | "
                  "se (successive elimination) | etc (explore-then-commit)")
      ->capture_default_str();
  cmd->add_option("--seeds", f->o.seeds, "Number of seeds (instance and noise) to average over")->capture_default_str();
  cmd->add_option("--seed", f->o.first_seed, "First seed; run k uses seed + k")
      ->capture_default_str()
      ->check(seed_validator());
  cmd->add_option("--sampling", f->sampling,
                  "elimination: sample all entries (the paper) or only active rows x columns (all|active)")
      ->capture_default_str();
  cmd->add_option("--etc-estimator", f->etc_estimator, "etc: spectral | soft-impute")->capture_default_str();
  cmd->add_option("--etc-exploration", f->o.run.etc_exploration,
                  "etc: exploration pulls (0 = ceil((r (m + n))^(1/3) T^(2/3)))")
      ->capture_default_str();
  cmd->add_option(
         "--confidence-scale", f->o.run.confidence_scale,
         "spectral, elimination: multiplies the entry-wise widths (0 = default: 0.5 for spectral, 1 for elimination)")
      ->capture_default_str();
  cmd->add_option("--phase-growth", f->o.run.phase_growth,
                  "spectral, elimination: ratio of successive phase lengths (> 1)")
      ->capture_default_str();
  cmd->add_option("--first-phase", f->o.run.first_phase_factor,
                  "spectral, elimination: phase 1 = this * r (m + n) log(m + n) pulls")
      ->capture_default_str();
  cmd->add_option("--checkpoints", f->o.run.checkpoints, "Regret recorded at this many evenly spaced times")
      ->capture_default_str();
  cmd->add_flag("--curve", f->curve, "With --json: include the mean and sd regret curves");
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example (20 seeds of the default low-rank algorithm on 100 x 100 rank-2 matrices):\n"
      "  lowrank bandit --rows 100 --cols 100 --rank 2 --gap 0.1 --horizon 2000000 \\\n"
      "      --algorithm spectral --seeds 20 --json --curve\n"
      "Same instances and noise for a baseline: change --algorithm to elimination, ucb, se or etc.\n");
  cmd->callback([f] { run_bandit_cmd(*f); });
}

}  // namespace lowrank::cli
