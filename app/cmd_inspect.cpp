// lowrank inspect WEIGHTS: per-layer spectra, effective ranks, Schatten-p sums,
// power-law fits and the rank-sparse generalization bound.
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "cli_common.hpp"
#include "lowrank/diagnostics/inspect.hpp"
#include "report_json.hpp"

namespace lowrank::cli {

namespace {
struct InspectFlags {
  std::string path;
  std::string filter;
  std::vector<double> p_grid;
  std::vector<double> bound_p_grid;
  std::string reference;
  std::string plot_dir;
  bool reshape_conv = false;
  bool values = false;
  double input_norm = std::numeric_limits<double>::quiet_NaN();  // NaN = not given (the library warns)
  double margin = std::numeric_limits<double>::quiet_NaN();
  double samples = 0;
  std::string inputs;
  CommonFlags common;
};

std::string plot_file_name(const std::string& layer) {
  std::string s;
  for (char c : layer) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return s + ".svg";
}

void run_inspect(const InspectFlags& f) {
  apply_common_flags(f.common);
  diagnostics::InspectOptions opts;
  opts.selection.filter = f.filter;
  opts.selection.reshape_conv = f.reshape_conv;
  if (!f.p_grid.empty()) opts.spectrum.p_grid = f.p_grid;
  opts.bound.p_grid = f.bound_p_grid;
  // An explicit value must be positive; only an absent one is defaulted (with a warning).
  if (!std::isnan(f.input_norm) && !(f.input_norm > 0))
    throw InvalidArgument("--input-norm must be > 0, got " + std::to_string(f.input_norm));
  if (!std::isnan(f.margin) && !(f.margin > 0))
    throw InvalidArgument("--margin must be > 0, got " + std::to_string(f.margin));
  opts.bound.input_norm = std::isnan(f.input_norm) ? 0.0 : f.input_norm;
  opts.bound.margin = std::isnan(f.margin) ? 0.0 : f.margin;
  opts.bound.samples = f.samples;
  opts.reference = f.reference;
  opts.inputs = f.inputs;
  opts.threads = f.common.threads;
  if (!f.plot_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.plot_dir, ec);
    if (ec || !std::filesystem::is_directory(f.plot_dir)) {
      throw InvalidArgument("--plot: cannot create directory '" + f.plot_dir + "': " + ec.message());
    }
  }
  const auto report = diagnostics::inspect_weights(f.path, opts, stderr_progress(f.common));
  if (!report.layers.empty())
    for (const auto& w : report.bound.warnings) warn("bound: " + w);
  if (report.status == Status::Interrupted) {
    warn(fmt::format("interrupted: {} layer(s) inspected; the bound covers those only", report.layers.size()));
  }
  if (!f.plot_dir.empty()) {
    for (const auto& l : report.layers) {
      const std::string file = (std::filesystem::path(f.plot_dir) / plot_file_name(l.tensor.name)).string();
      std::ofstream out(file);
      out << diagnostics::singular_value_svg(l.tensor.name + " (" + std::to_string(l.spectrum.rows) + " x " +
                                                 std::to_string(l.spectrum.cols) + ")",
                                             l.spectrum);
      if (!out) throw InvalidArgument("--plot: cannot write " + file);
    }
  }
  if (f.common.json) {
    print_json(frontend::to_json(report, f.values));
    return;
  }
  fmt::print("{}: {} layer(s), {:.2f} s\n\n", f.path, report.layers.size(), report.seconds);
  fmt::print("{:<32} {:>11} {:>6} {:>8} {:>8} {:>6} {:>6} {:>6} {:>10} {:>10} {:>7} {:>7}\n", "layer", "shape", "rank",
             "stable", "entropy", "PR", "e90", "e99", "spectral", "frobenius", "alpha", "esd_a");
  for (const auto& l : report.layers) {
    const auto& d = l.spectrum;
    std::string name =
        l.tensor.name.size() > 32 ? "..." + l.tensor.name.substr(l.tensor.name.size() - 29) : l.tensor.name;
    fmt::print("{:<32} {:>11} {:>6} {:>8.2f} {:>8.2f} {:>6.1f} {:>6} {:>6} {:>10.4g} {:>10.4g} {:>7.3f} {:>7.3f}\n",
               name, fmt::format("{}x{}", d.rows, d.cols), d.numerical_rank, d.stable_rank, d.entropy_rank,
               d.participation_ratio, d.energy_rank_90, d.energy_rank_99, d.spectral, d.frobenius, d.decay.alpha,
               d.esd_tail.alpha);
  }
  if (!report.layers.empty()) {
    fmt::print("\nSchatten-p ratio sum sigma^p / sigma_1^p (-> rank as p -> 0):\n{:<32}", "layer");
    for (const auto& pt : report.layers.front().spectrum.schatten) fmt::print(" {:>9}", fmt::format("p={}", pt.p));
    fmt::print("\n");
    for (const auto& l : report.layers) {
      std::string name =
          l.tensor.name.size() > 32 ? "..." + l.tensor.name.substr(l.tensor.name.size() - 29) : l.tensor.name;
      fmt::print("{:<32}", name);
      for (const auto& pt : l.spectrum.schatten) fmt::print(" {:>9.4g}", pt.ratio);
      fmt::print("\n");
    }
    const auto& b = report.bound;
    fmt::print("\nRank-sparse bound (Ledent, Alves, Lei 2025; see docs/diagnostics.md){}:\n",
               f.reference.empty() ? "" : ", distances to the reference weights");
    fmt::print("{:<32} {:>6} {:>12} {:>12} {:>12}\n", "layer", "p_l", "term", "term(p=2)", "p->0 limit");
    for (const auto& t : b.layers) {
      std::string name = t.name.size() > 32 ? "..." + t.name.substr(t.name.size() - 29) : t.name;
      fmt::print("{:<32} {:>6.2f} {:>12.5g} {:>12.5g} {:>12.5g}\n", name, t.p, t.term, t.term_spectral, t.limit);
    }
    fmt::print("B = {:.6g}{}, gamma = {:.6g}{}\n", b.input_norm,
               b.input_norm_defaulted ? " (default, see warning)" : "", b.margin,
               b.margin_defaulted ? " (default, see warning)" : "");
    fmt::print(
        "R^2 = {:.6g} (chosen p_l), {:.6g} (p = 2, spectral), p->0 limit sum_l rank_l (fan_in + fan_out) = {:.6g}\n",
        b.r_squared, b.r_squared_spectral, b.r_squared_limit);
    if (f.samples > 0) {
      fmt::print("bound sqrt(L R^2 / N), N = {}: {:.6g} (rank-sparse) vs {:.6g} (spectral)\n", f.samples, b.bound,
                 b.bound_spectral);
    }
  }
}
}  // namespace

void register_inspect(CLI::App& app) {
  auto f = std::make_shared<InspectFlags>();
  auto* cmd =
      app.add_subcommand("inspect",
                         "Spectra of a network's weights: effective ranks, Schatten-p, power laws, rank-sparse bound");
  cmd->add_option("weights", f->path,
                  "Weights: .safetensors file, a sharded directory (model.safetensors.index.json), .npy or .npz")
      ->required();
  cmd->add_option("--filter", f->filter, "Layer names to keep: glob (*.attn.*) or 're:' + regex");
  cmd->add_option("--p-grid", f->p_grid,
                  fmt::format("Schatten p values in (0, 2], comma separated (default {:g})",
                              fmt::join(diagnostics::InspectOptions{}.spectrum.p_grid, ",")))
      ->delimiter(',');
  cmd->add_option("--bound-p-grid", f->bound_p_grid,
                  "Candidate p_l in (0, 2] for the bound (default 0.02..2 step 0.02)")
      ->delimiter(',');
  cmd->add_option("--reference", f->reference, "Initial weights (same names and shapes): the bound uses A - A_init");
  cmd->add_option("--plot", f->plot_dir, "Directory for one SVG singular-value decay plot per layer");
  cmd->add_flag("--reshape-conv", f->reshape_conv, "Treat rank >= 3 tensors [out, in, kh, kw] as out x (in kh kw)");
  cmd->add_flag("--values", f->values, "--json: include every singular value");
  cmd->add_option("--input-norm", f->input_norm, "Bound: B, the largest input norm (default 1, with a warning)");
  cmd->add_option("--inputs", f->inputs, "Bound: training inputs [n, d] as .npy; B = their largest row norm");
  cmd->add_option("--margin", f->margin, "Bound: margin gamma (default 1, with a warning)");
  cmd->add_option("--samples", f->samples, "Bound: training-set size N (prints sqrt(L R^2 / N); warns when absent)");
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Examples:\n"
      "  lowrank inspect model.safetensors --filter '*.mlp.*' --plot plots/\n"
      "  lowrank inspect checkpoint_dir/ --reference init.safetensors --samples 60000 --json\n");
  cmd->callback([f] { run_inspect(*f); });
}

}  // namespace lowrank::cli
