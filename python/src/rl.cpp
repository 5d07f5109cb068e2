// lowrank._core: the RL pieces: spectral entry-wise estimation from noisy
// samples, and the low-rank bandit and MDP experiments of `lowrank bandit` /
// `lowrank mdp` (same option names as the CLI flags, same numbers).
#include "common.hpp"
#include "lowrank/linalg/svd.hpp"
#include "lowrank/rl/bandit.hpp"
#include "lowrank/rl/estimator.hpp"
#include "lowrank/rl/mdp.hpp"

namespace lowrank::python {

namespace {

// Readers of the options dicts. Every fallback is the library's default
// (or its name), so run on an empty dict they give the defaults that
// lowrank/rl.py uses as its own (the *_defaults functions below).
rl::SpectralEstimatorOptions spectral_options(Options& o) {
  rl::SpectralEstimatorOptions s;
  s.sampling = rl::parse_sampling_model(o.get<std::string>("sampling", rl::to_string(s.sampling)));
  s.rank_selection = rl::parse_rank_selection(o.get<std::string>("rank_selection", rl::to_string(s.rank_selection)));
  s.rank = o.get<Index>("rank", s.rank);
  s.max_rank = o.get<Index>("max_rank", s.max_rank);
  s.threshold_scale = o.get<double>("threshold_scale", s.threshold_scale);
  s.trim_factor = o.get<double>("trim_factor", s.trim_factor);
  s.svd.method = parse_svd_method(o.get<std::string>("svd_method", to_string(s.svd.method)));
  s.svd.seed = o.get<std::uint64_t>("seed", s.svd.seed);
  return s;
}

rl::BanditExperimentOptions bandit_options(Options& o) {
  rl::BanditExperimentOptions x;
  x.instance.rows = o.get<Index>("rows", x.instance.rows);
  x.instance.cols = o.get<Index>("cols", x.instance.cols);
  x.instance.rank = o.get<Index>("rank", x.instance.rank);
  x.instance.gap = o.get<double>("gap", x.instance.gap);
  x.instance.noise_sd = o.get<double>("noise_sd", x.instance.noise_sd);
  x.instance.seed = o.get<std::uint64_t>("instance_seed", x.instance.seed);
  x.run.algorithm = rl::parse_bandit_algorithm(o.get<std::string>("algorithm", rl::to_string(x.run.algorithm)));
  x.run.horizon = o.get<std::int64_t>("horizon", x.run.horizon);
  x.run.checkpoints = o.get<Index>("checkpoints", x.run.checkpoints);
  x.run.spectral_sampling =
      rl::parse_spectral_sampling(o.get<std::string>("spectral_sampling", rl::to_string(x.run.spectral_sampling)));
  x.run.rank = o.get<Index>("estimator_rank", x.run.rank);
  x.run.etc_estimator =
      rl::parse_etc_estimator(o.get<std::string>("etc_estimator", rl::to_string(x.run.etc_estimator)));
  x.run.etc_exploration = o.get<std::int64_t>("etc_exploration", x.run.etc_exploration);
  x.seeds = o.get<int>("seeds", x.seeds);
  x.first_seed = o.get<std::uint64_t>("seed", x.first_seed);
  return x;
}

rl::MdpExperimentOptions mdp_options(Options& o) {
  rl::MdpExperimentOptions x;
  x.model = rl::parse_mdp_model(o.get<std::string>("model", rl::to_string(x.model)));
  x.random.states = o.get<Index>("states", x.random.states);
  x.random.actions = o.get<Index>("actions", x.random.actions);
  x.random.rank = o.get<Index>("rank", x.random.rank);
  x.random.discount = x.gridworld.discount = o.get<double>("discount", x.random.discount);
  x.gridworld.width = o.get<Index>("width", x.gridworld.width);
  x.gridworld.height = o.get<Index>("height", x.gridworld.height);
  x.collection = rl::parse_collection(o.get<std::string>("collection", rl::to_string(x.collection)));
  x.samples = o.get<std::int64_t>("samples", x.samples);
  x.estimator.method = rl::parse_kernel_method(o.get<std::string>("estimator", rl::to_string(x.estimator.method)));
  x.estimator_rank = o.get<Index>("estimator_rank", x.estimator_rank);
  x.seeds = o.get<int>("seeds", x.seeds);
  x.first_seed = o.get<std::uint64_t>("seed", x.first_seed);
  return x;
}

template <class T>
py::dict spectral_estimate(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                           const py::array_t<T, py::array::c_style>& value, py::dict options) {
  // Repeated (row, col) samples are the point here, so no duplicate check.
  if (row.size() != col.size() || row.size() != value.size())
    throw InvalidArgument("row, col and value must have one length");
  ObservedEntries<T> e;
  e.rows = rows;
  e.cols = cols;
  e.row.assign(row.data(), row.data() + row.size());
  e.col.assign(col.data(), col.data() + col.size());
  e.value.assign(value.data(), value.data() + value.size());
  Options o(std::move(options));
  const rl::SpectralEstimatorOptions s = spectral_options(o);
  o.finish("spectral_estimate");
  rl::SpectralEstimate<T> r;
  {
    py::gil_scoped_release nogil;
    r = rl::estimate_spectral(e, s);
  }
  py::dict d;
  d["U"] = to_numpy(std::move(r.fit.U));
  d["S"] = to_numpy(std::move(r.fit.d));
  d["V"] = to_numpy(std::move(r.fit.V));
  d["rank"] = r.rank;
  d["singular_values"] = to_numpy(std::move(r.singular_values));
  d["noise_level"] = r.noise_level;
  d["threshold"] = r.threshold;
  d["samples"] = r.samples;
  d["observed_entries"] = r.observed_entries;
  d["status"] = std::string(to_string(r.status));
  return d;
}

py::dict bandit_experiment(py::dict options, py::object progress) {
  Options o(std::move(options));
  rl::BanditExperimentOptions x = bandit_options(o);
  o.finish("bandit");
  auto [r, interrupted] = run_with_progress(
      std::move(progress), [&] { return rl::run_bandit_experiment(x); }, x.run.progress);
  py::dict d;
  d["times"] = to_numpy_vector(r.times);
  d["mean_regret"] = to_numpy_vector(r.mean_regret);
  d["sd_regret"] = to_numpy_vector(r.sd_regret);
  py::list runs;
  for (const auto& run : r.runs) runs.append(to_numpy_vector(run.cumulative_regret));
  d["run_regret"] = runs;
  d["mean_final_regret"] = r.mean_final_regret;
  d["sd_final_regret"] = r.sd_final_regret;
  d["found_best_fraction"] = r.found_best_fraction;
  d["elapsed_s"] = r.elapsed_s;
  d["status"] = std::string(to_string(r.status));
  d["interrupted"] = interrupted;
  return d;
}

py::dict mdp_experiment(py::dict options, py::object progress) {
  Options o(std::move(options));
  rl::MdpExperimentOptions x = mdp_options(o);
  o.finish("mdp");
  auto [r, interrupted] = run_with_progress(
      std::move(progress), [&] { return rl::run_mdp_experiment(x); }, x.progress);
  py::dict d;
  std::vector<double> gaps, kmax, kl1;
  std::vector<Index> ranks;
  for (const auto& run : r.runs) {
    gaps.push_back(run.value_gap);
    kmax.push_back(run.kernel_max_error);
    kl1.push_back(run.kernel_row_l1_error);
    ranks.push_back(run.rank);
  }
  d["states"] = r.states;
  d["actions"] = r.actions;
  d["value_gap"] = to_numpy_vector(gaps);
  d["kernel_max_error"] = to_numpy_vector(kmax);
  d["kernel_row_l1_error"] = to_numpy_vector(kl1);
  d["rank"] = to_numpy_vector(ranks);
  d["mean_value_gap"] = r.mean_value_gap;
  d["sd_value_gap"] = r.sd_value_gap;
  d["mean_kernel_max_error"] = r.mean_kernel_max_error;
  d["optimal_fraction"] = r.optimal_fraction;
  d["elapsed_s"] = r.elapsed_s;
  d["status"] = std::string(to_string(r.status));
  d["interrupted"] = interrupted;
  return d;
}

}  // namespace

void bind_rl(py::module_& m) {
  m.def("spectral_estimate", &spectral_estimate<double>, py::arg("rows"), py::arg("cols"), py::arg("row"),
        py::arg("col"), py::arg("value"), py::arg("options"));
  m.def(
      "spectral_estimate_defaults", [] { return defaults_of(spectral_options); },
      "The library's defaults of spectral_estimate's options (rl/estimator.hpp), used by lowrank.rl");
  m.def(
      "bandit_defaults", [] { return defaults_of(bandit_options); },
      "The library's defaults of bandit_experiment's options (rl/bandit.hpp), used by lowrank.rl");
  m.def(
      "mdp_defaults", [] { return defaults_of(mdp_options); },
      "The library's defaults of mdp_experiment's options (rl/mdp.hpp), used by lowrank.rl");
  m.def("bandit_experiment", &bandit_experiment, py::arg("options"), py::arg("progress") = py::none());
  m.def("mdp_experiment", &mdp_experiment, py::arg("options"), py::arg("progress") = py::none());
}

}  // namespace lowrank::python
