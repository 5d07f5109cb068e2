#include "cli_common.hpp"

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/core/version.hpp"

#include <omp.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/core.h>

namespace lowrank::cli {

void add_common_flags(CLI::App& cmd, CommonFlags& flags) {
  cmd.add_flag("--json", flags.json, "Print one machine-readable JSON object on stdout");
  cmd.add_flag("-q,--quiet", flags.quiet, "No progress output on stderr");
  cmd.add_option("--threads", flags.threads, "Threads for OpenMP and BLAS (0 = all cores)")->check(CLI::NonNegativeNumber);
}

void add_duplicates_option(CLI::App& cmd, std::string& policy) {
  cmd.add_option("--duplicates", policy, "Repeated (row, col) entries: error|mean|last|sum (default error)")
      ->check(CLI::IsMember({"error", "mean", "last", "sum"}));
}

void apply_common_flags(const CommonFlags& flags) {
  if (flags.threads > 0) {
    omp_set_num_threads(flags.threads);
    // BLAS has its own pool: --threads 1 must mean one thread there too.
    detail::set_blas_threads(flags.threads);
  }
}

ProgressCallback stderr_progress(const CommonFlags& flags, double min_interval_s) {
  if (flags.quiet) return {};
  auto last = std::make_shared<double>(-1e300);
  return [last, min_interval_s](const ProgressEvent& e) {
    if (e.elapsed_s - *last < min_interval_s && e.iteration > 1) return;
    *last = e.elapsed_s;
    std::string line = fmt::format("{} it={}", e.stage, e.iteration);
    if (std::isfinite(e.objective)) line += fmt::format(" obj={:.6g}", e.objective);
    if (std::isfinite(e.change) && e.change != 0.0) line += fmt::format(" change={:.3g}", e.change);
    if (e.rank >= 0) line += fmt::format(" rank={}", e.rank);
    line += fmt::format(" t={:.2f}s", e.elapsed_s);
    std::fprintf(stderr, "%s\n", line.c_str());
  };
}

namespace {
volatile std::sig_atomic_t g_sigint_count = 0;
extern "C" void on_sigint(int) {
  if (g_sigint_count != 0) std::_Exit(130);  // second Ctrl-C: stop now
  g_sigint_count = 1;
  request_interrupt();
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

void print_json(const nlohmann::json& j) {
  // Every --json output names the lowrank that produced it (VERSION file).
  if (j.is_object() && !j.contains("version")) {
    nlohmann::json with = j;
    with["version"] = kVersion;
    std::cout << with.dump(2) << '\n';
    return;
  }
  std::cout << j.dump(2) << '\n';
}

void warn(const std::string& message) { std::fprintf(stderr, "lowrank: warning: %s\n", message.c_str()); }

}  // namespace lowrank::cli
