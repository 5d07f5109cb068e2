// rl_estimation: one run of the entry-wise estimation experiment, printed as
// one JSON line. Driven by experiments/rl/estimation_sweep.py.
//
//   rl_estimation --m 500 --n 500 --rank 3 --noise 1 --samples 100000 --seed 0
//                 [--cond 2] [--methods spectral,empirical,mean,soft-impute]
//                 [--rank-selection fixed|threshold|gap]
//
// For seed s: planted M = planted_low_rank(m, n, r, cond, rms 1, seed s),
// T samples drawn uniformly with replacement with N(0, noise^2) noise
// (seed 1000 + s), then each method's errors against M (metrics.hpp).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lowrank/core/error.hpp"
#include "lowrank/rl/baselines.hpp"
#include "lowrank/rl/estimator.hpp"
#include "lowrank/rl/metrics.hpp"
#include "lowrank/rl/planted.hpp"

using namespace lowrank;
using namespace lowrank::rl;

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// CPU time of the process (all threads): on this contended 2-core VM the
/// wall time of a single-threaded run overstates its cost several times.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

nlohmann::json errors_json(const EstimationErrors& e) {
  nlohmann::json j = {{"max_entry", e.max_entry},
                      {"spectral", e.spectral},
                      {"frobenius", e.frobenius},
                      {"relative_frobenius", e.relative_frobenius}};
  if (e.two_to_infinity_left == e.two_to_infinity_left) {
    j["two_to_inf_left"] = e.two_to_infinity_left;
    j["two_to_inf_right"] = e.two_to_infinity_right;
  }
  return j;
}

[[noreturn]] void usage(const std::string& msg) {
  std::cerr << "rl_estimation: " << msg
            << "\nusage: rl_estimation --m M --n N --rank R --noise SD --samples T --seed S [--cond C]"
               " [--methods spectral,mean,soft-impute] [--rank-selection fixed|threshold|gap]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Index m = 0, n = 0, r = 0;
  double noise = 1.0, cond = 2.0;
  std::int64_t samples = 0;
  std::uint64_t seed = 0;
  std::string methods = "spectral,mean";
  std::string selection = "fixed";
  for (int a = 1; a < argc; ++a) {
    const std::string k = argv[a];
    if (a + 1 >= argc) usage("missing value after " + k);
    const std::string v = argv[++a];
    try {
      if (k == "--m") m = std::stol(v);
      else if (k == "--n") n = std::stol(v);
      else if (k == "--rank") r = std::stol(v);
      else if (k == "--noise") noise = std::stod(v);
      else if (k == "--cond") cond = std::stod(v);
      else if (k == "--samples") samples = std::stoll(v);
      else if (k == "--seed") seed = std::stoull(v);
      else if (k == "--methods") methods = v;
      else if (k == "--rank-selection") selection = v;
      else usage("unknown option " + k);
    } catch (const std::logic_error&) {
      usage("bad value '" + v + "' for " + k);
    }
  }
  try {
    PlantedMatrixOptions po;
    po.rows = m;
    po.cols = n;
    po.rank = r;
    po.condition_number = cond;
    po.seed = seed;
    const LowRankModel<double> M = planted_low_rank<double>(po);
    const ObservedEntries<double> data = sample_uniform(M, samples, noise, 1000 + seed);
    nlohmann::json out = {{"m", m},
                          {"n", n},
                          {"rank", r},
                          {"noise", noise},
                          {"cond", cond},
                          {"samples", samples},
                          {"seed", seed},
                          {"max_abs_entry", M.to_dense().cwiseAbs().maxCoeff()},
                          {"coherence_u", coherence(M.U)},
                          {"coherence_v", coherence(M.V)}};
    std::stringstream ss(methods);
    std::string method;
    while (std::getline(ss, method, ',')) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      nlohmann::json j;
      if (method == "spectral") {
        SpectralEstimatorOptions eo;
        eo.rank = r;
        eo.rank_selection = parse_rank_selection(selection);
        eo.max_rank = std::min<Index>(20, std::min(m, n) - 1);
        const SpectralEstimate<double> est = estimate_spectral(data, eo);
        const double t = seconds(t0);
        j = errors_json(estimation_errors(M, est.fit));
        j["rank"] = est.rank;
        j["noise_level"] = est.noise_level;
        j["svd_method"] = to_string(est.svd_method);
        j["time_s"] = t;
      } else if (method == "empirical") {  // M~ alone: the part of "spectral" before the SVD
        const EmpiricalMatrix<double> emp = empirical_matrix(data, SamplingModel::UniformWithReplacement);
        j["nnz"] = emp.value.size();
        j["time_s"] = seconds(t0);
      } else if (method == "mean") {
        Index unobserved = 0;
        const Matrix<double> est = entry_mean_estimate(data, 0.0, &unobserved);
        const double t = seconds(t0);
        j = errors_json(estimation_errors(M, est));
        j["unobserved"] = unobserved;
        j["time_s"] = t;
      } else if (method == "soft-impute") {
        SoftImputeBaselineOptions so;
        so.rank = r;
        so.noise_sd = noise;
        so.seed = seed;
        const LowRankModel<double> est = soft_impute_baseline(data, so);
        const double t = seconds(t0);
        j = errors_json(estimation_errors(M, est));
        j["rank"] = est.rank();
        j["time_s"] = t;
      } else {
        usage("unknown method '" + method + "' (spectral, empirical, mean, soft-impute)");
      }
      j["cpu_s"] = cpu_seconds() - c0;
      out[method] = j;
    }
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "rl_estimation: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
