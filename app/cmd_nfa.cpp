// lowrank nfa CHECKPOINT: the Neural Feature Ansatz per layer of an MLP --
// cosine similarity of W^T W with powers of the AGOP, centred and uncentred,
// and the initial-network baselines.
#include <cmath>

#include <fmt/core.h>

#include "cli_common.hpp"
#include "lowrank/diagnostics/nfa.hpp"
#include "report_json.hpp"

namespace lowrank::cli {

namespace {
struct NfaFlags {
  std::string checkpoint;
  std::string inputs;
  std::string init;
  bool subtract_init = false;
  bool raw = false;
  std::vector<double> alpha_grid;
  long long max_inputs = 0;
  long long chunk = diagnostics::NfaOptions{}.agop.chunk;  // the library's default
  CommonFlags common;
};

std::string cell(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : std::string("nan"); }

void run_nfa(const NfaFlags& f) {
  apply_common_flags(f.common);
  if (f.max_inputs < 0) throw InvalidArgument("--max-inputs must be >= 0, got " + std::to_string(f.max_inputs));
  if (f.chunk < 1) throw InvalidArgument("--chunk must be >= 1, got " + std::to_string(f.chunk));
  const auto ck = diagnostics::load_mlp_checkpoint(f.checkpoint);
  const std::string inputs_path = f.inputs.empty() ? ck.inputs : f.inputs;
  if (inputs_path.empty())
    throw InvalidArgument("no inputs: pass --inputs FILE.npy (the checkpoint names none in its metadata)");
  Matrix<double> x = diagnostics::load_nfa_inputs(inputs_path);
  if (x.cols() != ck.net.input_size())
    throw InputError(inputs_path, "inputs have " + std::to_string(x.cols()) +
                                      " columns, the network's first layer takes " +
                                      std::to_string(ck.net.input_size()));
  if (f.max_inputs > 0 && x.rows() > f.max_inputs)
    x.conservativeResize(static_cast<Index>(f.max_inputs), Eigen::NoChange);
  std::string init_path = f.init.empty() ? ck.init : f.init;
  diagnostics::MlpCheckpoint init;
  if (!init_path.empty()) init = diagnostics::load_mlp_checkpoint(init_path);
  diagnostics::NfaOptions opts;
  if (!f.alpha_grid.empty()) opts.alpha_grid = f.alpha_grid;
  if (f.subtract_init && f.raw) throw InvalidArgument("--subtract-init and --raw exclude each other");
  if (f.subtract_init && init_path.empty())
    throw InvalidArgument("--subtract-init needs the initial checkpoint: pass --init DIR (the checkpoint names none)");
  opts.subtract_init = !f.raw;
  opts.agop.chunk = static_cast<Index>(f.chunk);
  const auto rep =
      diagnostics::analyze_nfa(ck.net, x, init_path.empty() ? nullptr : &init.net, opts, stderr_progress(f.common));
  if (!rep.subtract_init)
    warn(init_path.empty()
             ? "no initial checkpoint (--init): the primary NFM is the raw W^T W, whose cosine with the AGOP has an "
               "init floor of about 0.9 for a random W_0 (docs/nfa.md); pass --init for W - W_init"
             : "--raw: the primary NFM is W^T W, not the reference code's W - W_init (docs/nfa.md)");
  if (rep.status == Status::Interrupted)
    warn(fmt::format("interrupted: the AGOP averages the first {} input(s) only", rep.inputs));
  if (f.common.json) {
    auto j = frontend::to_json(rep);
    j["checkpoint"] = f.checkpoint;
    j["step"] = ck.step;
    j["activation"] = nn::to_string(ck.net.activation());
    j["inputs_file"] = inputs_path;
    j["init"] = init_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(init_path);
    print_json(j);
    return;
  }
  fmt::print("{}: {} MLP, depth L = {}, step {}, AGOP over {} input(s) from {}{}\n", f.checkpoint,
             nn::to_string(ck.net.activation()), rep.depth, ck.step, rep.inputs, inputs_path,
             rep.subtract_init ? ", NFM of W - W_init" : ", NFM of the raw W");
  fmt::print("cos({}, G^alpha), G = AGOP w.r.t. the layer input (see docs/nfa.md)\n\n",
             rep.subtract_init ? "(W - W_init)^T (W - W_init)" : "W^T W");
  fmt::print("{:<10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}\n", "layer", "shape",
             "a=1", "a=1/2", "a=1/L", "a=1/l'", "best_a", "best", "centred", "best_a", "pearson", "raw_best", "srank_G",
             "srank_W");
  for (std::size_t i = 0; i < rep.layers.size(); ++i) {
    const auto& l = rep.layers[i];
    fmt::print("{:<10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8.2f} {:>8.2f}\n", l.name,
               fmt::format("{}x{}", l.out, l.in), cell(l.uncentred.one), cell(l.uncentred.half),
               cell(l.uncentred.inv_depth), cell(l.uncentred.layer), cell(l.uncentred.best_alpha),
               cell(l.uncentred.best), cell(l.centred.best), cell(l.centred.best_alpha), cell(l.pearson_half),
               cell(l.raw.best), l.agop_stable_rank, l.feature_stable_rank);
  }
  fmt::print(
      "a=1/l' is 1/(L-l+1), the exponent of a balanced deep linear network at layer l (1-based);\n"
      "centred: best cos against the centred AGOP (covariance of the Jacobians); pearson: Pearson correlation\n"
      "of the entries with G^(1/2) (the reference code's score); raw_best: best cos of the raw W^T W;\n"
      "srank = trace / lambda_max.\n");
  if (!init_path.empty()) {
    fmt::print("\nBaselines from the initial network {}:\n", init_path);
    fmt::print("{:<10} {:>12} {:>12} {:>8} {:>14} {:>14}\n", "layer", "init a=1", "init a=1/2", "init best",
               "W0 vs G a=1", "W0 vs G best");
    for (const auto& l : rep.layers)
      fmt::print("{:<10} {:>12} {:>12} {:>8} {:>14} {:>14}\n", l.name, cell(l.init.one), cell(l.init.half),
                 cell(l.init.best), cell(l.baseline.one), cell(l.baseline.best));
    fmt::print("init: W_0^T W_0 against the initial network's own AGOP; W0 vs G: against the trained AGOP.\n");
  }
}
}  // namespace

void register_nfa(CLI::App& app) {
  auto f = std::make_shared<NfaFlags>();
  auto* cmd =
      app.add_subcommand("nfa",
                         "Neural Feature Ansatz of an MLP: cos(W^T W, AGOP^alpha) per layer, centred and uncentred");
  cmd->add_option("checkpoint", f->checkpoint, "MLP checkpoint: directory or .safetensors (format in docs/nfa.md)")
      ->required();
  cmd->add_option("--inputs", f->inputs, "Training inputs [n, d] as .npy (default: the checkpoint's 'inputs')");
  cmd->add_option("--init", f->init, "Checkpoint of the same MLP at initialisation (default: the checkpoint's 'init')");
  cmd->add_flag("--subtract-init", f->subtract_init,
                "Require the NFM of W - W_init (the default whenever an initial checkpoint is known)");
  cmd->add_flag("--raw", f->raw, "Primary NFM of the raw W (the raw cosines are always in raw_best / --json 'raw')");
  cmd->add_option("--alpha-grid", f->alpha_grid, "Exponents scanned for the best alpha (default 0.01..2 step 0.01)")
      ->delimiter(',');
  cmd->add_option("--max-inputs", f->max_inputs, "Use only the first N inputs (0 = all)");
  cmd->add_option("--chunk", f->chunk, "Inputs per backward sweep (memory bound)")->capture_default_str();
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Examples:\n"
      "  lowrank nfa runs/teacher/final --inputs runs/teacher/inputs.npy --init runs/teacher/init\n"
      "  lowrank nfa runs/teacher/final --subtract-init --json\n"
      "  lowrank nfa runs/teacher/final --raw\n");
  cmd->callback([f] { run_nfa(*f); });
}

}  // namespace lowrank::cli
