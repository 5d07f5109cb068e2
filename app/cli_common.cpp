#include "cli_common.hpp"

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/core/version.hpp"

#include <omp.h>
#include <sys/resource.h>

#include <charconv>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/core.h>

namespace lowrank::cli {

void add_common_flags(CLI::App& cmd, CommonFlags& flags) {
  cmd.add_flag("--json", flags.json, "Print one machine-readable JSON object on stdout");
  cmd.add_flag("-q,--quiet", flags.quiet, "No progress output on stderr");
  cmd.add_option("--threads", flags.threads, "Threads for OpenMP and BLAS (0 = all cores; at most the cores present)")
      ->check(CLI::NonNegativeNumber);
}

CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        std::uint64_t x = 0;
        if (digits) {
          const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
          if (ec == std::errc() && end == s.data() + s.size()) return {};
          return "seed " + s + " is above 2^64 - 1 = 18446744073709551615";
        }
        return "seed must be a whole number in [0, 18446744073709551615], got '" + s + "'";
      },
      "UINT64");
}

// Budget of address space per BLAS/OpenMP thread when `ulimit -v` is set:
// OpenBLAS maps a GEMM buffer per thread and retries a failed mmap forever
// (issue 31), so threads are capped so their buffers fit in a quarter of
// the limit, leaving the rest to the data.
constexpr std::uint64_t kThreadAddressBudget = std::uint64_t{128} << 20;

int capped_threads(int requested, int cores, std::uint64_t as_limit, std::string& why) {
  int t = requested;
  why.clear();
  if (cores >= 1 && t > cores) {
    why = fmt::format("--threads {} exceeds the {} core(s) present; using {}", requested, cores, cores);
    t = cores;
  }
  if (as_limit > 0) {
    const auto fit = static_cast<int>(std::max<std::uint64_t>(1, as_limit / 4 / kThreadAddressBudget));
    if (t > fit) {
      why = fmt::format(
          "--threads {}: the address-space limit (ulimit -v, {} MiB) leaves room for {} thread(s); using {}", requested,
          as_limit >> 20, fit, fit);
      t = fit;
    }
  }
  return t;
}

void add_duplicates_option(CLI::App& cmd, std::string& policy) {
  cmd.add_option("--duplicates", policy, "Repeated (row, col) entries: error|mean|last|sum")
      ->check(CLI::IsMember({"error", "mean", "last", "sum"}))
      ->capture_default_str();
}

void add_input_flags(CLI::App& cmd, InputFlags& f) {
  cmd.add_option("--format", f.format,
                 "Input format instead of detection: triplets|dense|mtx|npy|npz|safetensors (csv = dense, "
                 "matrix-market = mtx)")
      ->check(CLI::IsMember({"triplets", "dense", "csv", "mtx", "mm", "matrix-market", "npy", "npz", "safetensors"}));
  cmd.add_flag_function(
      "--header,!--no-header", [&f](std::int64_t n) { f.header = n > 0; },
      "Text input: the first line is (--header) or is not (--no-header) a line of names (default: detect)");
  cmd.add_flag_function(
      "--row-names,!--no-row-names", [&f](std::int64_t n) { f.row_names = n > 0; },
      "Dense text input: the first column holds row names, or is data (default: detect)");
  cmd.add_option("--array", f.array, "Array to read from an .npz or .safetensors file (default: the first)");
  add_duplicates_option(cmd, f.duplicates);
}

io::ReadAnyOptions read_options(const InputFlags& f) {
  io::ReadAnyOptions o;
  if (!f.format.empty()) o.format = io::parse_file_format(f.format);
  o.header = f.header;
  o.row_names = f.row_names;
  o.array_name = f.array;
  o.triplets.duplicates = parse_duplicate_policy(f.duplicates);
  o.mm_duplicates = o.triplets.duplicates;
  return o;
}

io::AnyMatrix read_input(const std::string& path, const InputFlags& f) {
  io::AnyMatrix m = io::read_matrix_any(path, read_options(f));
  for (const auto& note : m.notes) warn(note);
  return m;
}

void apply_common_flags(const CommonFlags& flags) {
  if (flags.threads > 0) {
    rlimit lim{};
    const std::uint64_t as_limit = ::getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                                       ? static_cast<std::uint64_t>(lim.rlim_cur)
                                       : 0;
    std::string why;
    const int threads = capped_threads(flags.threads, omp_get_num_procs(), as_limit, why);
    if (!why.empty()) warn(why);
    omp_set_num_threads(threads);
    // BLAS has its own pool: --threads 1 must mean one thread there too.
    detail::set_blas_threads(threads);
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
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

// Every --json output names the lowrank that produced it (VERSION file).
// Paths and ids need not be UTF-8 (a file name on Linux is bytes): their
// invalid bytes print as U+FFFD rather than make dump() throw after the work.
void print_json(const nlohmann::json& j) {
  constexpr auto replace = nlohmann::json::error_handler_t::replace;
  if (j.is_object() && !j.contains("version")) {
    nlohmann::json with = j;
    with["version"] = kVersion;
    std::cout << with.dump(2, ' ', false, replace) << '\n';
    return;
  }
  std::cout << j.dump(2, ' ', false, replace) << '\n';
}

void warn(const std::string& message) { std::fprintf(stderr, "lowrank: warning: %s\n", message.c_str()); }

}  // namespace lowrank::cli
