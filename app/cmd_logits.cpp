// lowrank logit-rank / lowrank lingen: the logit-matrix rank of a `lowrank
// train` checkpoint and linear generation from other histories (issue 8,
// part 3). Flags -> options -> diagnostics library -> report; no numerics here.
#include <fmt/core.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli_common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/diagnostics/logits.hpp"
#include "lowrank/io/file.hpp"
#include "lowrank/nn/train.hpp"
#include "report_json.hpp"

namespace lowrank::cli {

namespace {

using diagnostics::Tokens;

struct LogitFlags {
  std::string checkpoint, text, target, sv_out;
  bool shuffle = false, naive = false, log_probs = false;
  std::string device;  // logit-rank; empty: the library's default (cpu)
  // Defaults are the library's (the CLI keeps none of its own).
  diagnostics::LogitWindowOptions windows;
  Index top_k = diagnostics::LogitMatrixOptions{}.top_k;
  Index fit_first = diagnostics::LogitRankOptions{}.fit.first, fit_last = diagnostics::LogitRankOptions{}.fit.last;
  std::vector<Index> ranks;
  double ridge = diagnostics::LingenOptions{}.ridge;
  Index length = diagnostics::LingenOptions{}.length, samples = diagnostics::LingenOptions{}.samples;
  std::uint64_t seed = diagnostics::LingenOptions{}.seed;
  CommonFlags common;
};

// The text the windows come from, as token ids of the checkpoint's tokenizer:
// --text FILE, or the checkpoint's held-out validation split.
Tokens load_tokens(const LogitFlags& f, const nn::Trainer& t, std::string& source) {
  if (f.text.empty()) {
    source = t.options().data_path + " (validation split)";
    return t.data().val;
  }
  const std::string s = io::read_file(f.text);
  if (s.empty()) throw InputError(f.text, "text file is empty");
  source = f.text;
  const auto& tok = t.data().tokenizer;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (tok.vocab().find(s[i]) == std::string::npos)
      throw InputError::at_byte(f.text, i,
                                fmt::format("byte 0x{:02x} is not in the checkpoint's vocabulary of {} symbols "
                                            "(was the model trained on another text?)",
                                            static_cast<unsigned>(static_cast<unsigned char>(s[i])), tok.size()));
  return tok.encode(s);
}

void add_window_flags(CLI::App* cmd, LogitFlags& f) {
  cmd->add_option("--checkpoint", f.checkpoint, "Checkpoint directory of `lowrank train`")->required();
  cmd->add_option("--text", f.text, "Text for histories and futures (default: the checkpoint's held-out split)");
  cmd->add_flag("--shuffle", f.shuffle, "Shuffle the text's characters first (\"nonsense\" histories)");
  cmd->add_option("--histories", f.windows.histories, "Number of histories (matrix rows)")->capture_default_str();
  cmd->add_option("--history-length", f.windows.history_length, "Tokens per history")->capture_default_str();
  cmd->add_option("--futures", f.windows.futures, "Number of futures")->capture_default_str();
  cmd->add_option("--future-length", f.windows.future_length, "Tokens per future (each prefix is a column block)")
      ->capture_default_str();
  cmd->add_option("--top-k", f.top_k, "Tokens kept per future prefix (0 = whole vocabulary)")->capture_default_str();
  cmd->add_option("--seed", f.seed, "Seed of the window draws (and of sampling)")
      ->capture_default_str()
      ->check(seed_validator());
  add_common_flags(*cmd, f.common);
}

void run_logit_rank(const LogitFlags& f) {
  apply_common_flags(f.common);
  auto t = nn::load_checkpoint(f.checkpoint);
  std::string source;
  Tokens tokens = load_tokens(f, t, source);
  if (f.shuffle) tokens = diagnostics::shuffled(tokens, f.seed + 7);
  const auto hist =
      diagnostics::sample_windows(tokens, f.windows.histories, f.windows.history_length, f.seed, "the text " + source);
  const auto fut =
      diagnostics::sample_windows(tokens, f.windows.futures, f.windows.future_length, f.seed + 1, "the text " + source);
  diagnostics::LogitMatrixOptions mo;
  mo.top_k = f.top_k;
  mo.naive = f.naive;
  mo.log_probs = f.log_probs;
  if (!f.device.empty()) mo.device = f.device;
  const auto lm = diagnostics::build_logit_matrix(t.model, hist, fut, mo, stderr_progress(f.common));
  diagnostics::LogitRankOptions ro;
  ro.fit.first = f.fit_first;
  ro.fit.last = f.fit_last;
  ro.ranks = f.ranks;
  const auto res = diagnostics::analyze_logit_matrix(lm, ro);
  if (!f.sv_out.empty()) {
    std::ofstream out(f.sv_out);
    if (!out) throw InputError(f.sv_out, "cannot open for writing");
    out << "index,singular_value\n";
    for (Index i = 0; i < res.singular_values.size(); ++i)
      out << i + 1 << "," << fmt::format("{:.17g}", res.singular_values(i)) << "\n";
  }
  if (f.common.json) {
    nlohmann::json j = frontend::to_json(res);
    j["command"] = "logit-rank";
    j["status"] = to_string(lm.status);
    j["checkpoint"] = f.checkpoint;
    j["step"] = t.step;
    j["text"] = source;
    j["shuffled"] = f.shuffle;
    j["normalisation"] = f.log_probs ? "log_probs" : "centred";
    j["histories"] = lm.values.rows();
    j["history_length"] = f.windows.history_length;
    j["futures"] = f.windows.futures;
    j["future_length"] = f.windows.future_length;
    j["blocks"] = lm.blocks;
    j["top_k"] = lm.k;
    j["vocab"] = lm.vocab;
    j["naive"] = f.naive;
    j["build_s"] = lm.elapsed_s;
    print_json(j);
    return;
  }
  fmt::print("checkpoint       {} (step {})\n", f.checkpoint, t.step);
  fmt::print("text             {}{}\n", source, f.shuffle ? " (shuffled)" : "");
  fmt::print("matrix           {} histories x {} columns ({} future prefixes x top-{} of {} tokens)\n", res.rows,
             res.cols, lm.blocks, lm.k, lm.vocab);
  fmt::print("built in         {:.2f} s ({})\n", lm.elapsed_s, f.naive ? "naive re-runs" : "KV cache, batched futures");
  if (lm.status != Status::Success) fmt::print("status           {}\n", to_string(lm.status));
  fmt::print("power law        sigma_i ~ {:.4g} i^-{:.4f} on i = {}..{} (R^2 {:.4f})\n", res.decay.c, res.decay.alpha,
             res.decay.first, res.decay.last, res.decay.r_squared);
  fmt::print("stable rank      {:.3f}; 90% / 99% energy at rank {} / {}\n", res.stable_rank, res.energy_rank_90,
             res.energy_rank_99);
  fmt::print("{:>6}  {:>12}  {:>12}\n", "rank", "rel. error", "mean KL");
  for (const auto& p : res.reconstruction)
    fmt::print("{:>6}  {:>12.5g}  {:>12.5g}\n", p.rank, p.relative_error, p.mean_kl);
}

void run_lingen(const LogitFlags& f) {
  apply_common_flags(f.common);
  auto t = nn::load_checkpoint(f.checkpoint);
  std::string source;
  const Tokens tokens = load_tokens(f, t, source);
  const auto& tok = t.data().tokenizer;
  Tokens target;
  std::vector<Tokens> others;
  if (!f.target.empty()) {
    try {
      target = tok.encode(f.target);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string("--target: ") + e.what());
    }
  }
  if (f.shuffle) {
    if (target.empty())
      target = diagnostics::sample_windows(tokens, 1, f.windows.history_length, f.seed + 2, "the text " + source)[0];
    others = diagnostics::sample_windows(diagnostics::shuffled(tokens, f.seed + 7), f.windows.histories,
                                         f.windows.history_length, f.seed, "the text " + source);
  } else {
    // the target window (when not given) is drawn with the others, so they are disjoint
    others = diagnostics::sample_windows(tokens, f.windows.histories + (target.empty() ? 1 : 0),
                                         f.windows.history_length, f.seed, "the text " + source);
    if (target.empty()) {
      target = others.front();
      others.erase(others.begin());
    }
  }
  const auto fut =
      diagnostics::sample_windows(tokens, f.windows.futures, f.windows.future_length, f.seed + 1, "the text " + source);
  diagnostics::LingenOptions o;
  o.ridge = f.ridge;
  o.length = f.length;
  o.samples = f.samples;
  o.seed = f.seed;
  o.matrix.top_k = f.top_k;
  o.matrix.naive = f.naive;
  const auto res = diagnostics::lingen(t.model, target, others, fut, o, stderr_progress(f.common));
  if (f.common.json) {
    nlohmann::json j = frontend::to_json(res);
    j["command"] = "lingen";
    j["checkpoint"] = f.checkpoint;
    j["step"] = t.step;
    j["text"] = source;
    j["shuffled_others"] = f.shuffle;
    j["target"] = tok.decode(target);
    j["histories"] = others.size();
    j["ridge"] = f.ridge;
    auto s = nlohmann::json::array();
    for (const auto& smp : res.samples) s.push_back(tok.decode(smp.tokens));
    j["samples"] = s;
    print_json(j);
    return;
  }
  fmt::print("target           \"{}\"\n", tok.decode(target));
  fmt::print("other histories  {} from {}{}\n", others.size(), source, f.shuffle ? " (shuffled)" : "");
  fmt::print("regression       sum c = {:.4f}, relative residual {:.4g}, ridge {}\n", res.coefficients.sum(),
             res.fit_relative_residual, f.ridge);
  fmt::print("mean KL          LINGEN {:.4f}  baseline (mean of others) {:.4f}\n", res.mean_kl_lingen,
             res.mean_kl_baseline);
  if (res.status != Status::Success) fmt::print("status           {}\n", to_string(res.status));
  for (std::size_t i = 0; i < res.samples.size(); ++i)
    fmt::print("sample {:<2}        \"{}\"\n", i, tok.decode(res.samples[i].tokens));
}

}  // namespace

void register_logit_rank(CLI::App& app) {
  auto f = std::make_shared<LogitFlags>();
  auto* cmd = app.add_subcommand("logit-rank",
                                 "Singular-value decay of a language model's extended logit matrix (Golowich et al.)");
  add_window_flags(cmd, *f);
  cmd->add_flag("--log-probs", f->log_probs,
                "Entries are log-probabilities (the paper's normalisation), not mean-centred logits");
  cmd->add_option("--fit-first", f->fit_first, "First index of the power-law fit")->capture_default_str();
  cmd->add_option("--fit-last", f->fit_last, "Last index of the fit (0 = min(rows, cols) / 2)")->capture_default_str();
  cmd->add_option("--ranks", f->ranks, "Ranks of the reconstruction curve, comma separated (default 1, 2, 4, ...)")
      ->delimiter(',');
  cmd->add_option("--sv", f->sv_out, "Write the singular values to this CSV file");
  cmd->add_flag("--naive", f->naive, "Re-run every history for every future (reference path, slow)");
  cmd->add_option("--device", f->device,
                  "cpu (default) or cuda: the cached decode on the GPU engine (a CUDA build and device)");
  cmd->footer(
      "Example (held-out vs shuffled text of a trained character model):\n"
      "  lowrank logit-rank --checkpoint runs/char --histories 200 --history-length 24 --futures 40\n"
      "  lowrank logit-rank --checkpoint runs/char --shuffle --ranks 1,4,16,64 --json\n");
  cmd->callback([f] { run_logit_rank(*f); });
}

void register_lingen(CLI::App& app) {
  auto f = std::make_shared<LogitFlags>();
  auto* cmd =
      app.add_subcommand("lingen", "Generate for a target prompt from a linear combination of other prompts' logits");
  add_window_flags(cmd, *f);
  cmd->add_option("--target", f->target, "Target prompt (default: a held-out window of --history-length tokens)");
  cmd->add_option("--ridge", f->ridge, "Ridge penalty of the regression (0 = least squares)")->capture_default_str();
  cmd->add_option("--length", f->length, "Tokens to generate per sample")->capture_default_str();
  cmd->add_option("--samples", f->samples, "Independent generations")->capture_default_str();
  cmd->add_flag("--naive", f->naive, "Build the regression matrix with naive re-runs (reference path)");
  cmd->footer(
      "Example (the other histories are shuffled nonsense text):\n"
      "  lowrank lingen --checkpoint runs/char --target 'ROMEO: ' --history-length 7 --histories 200 --shuffle\n");
  cmd->callback([f] { run_lingen(*f); });
}

}  // namespace lowrank::cli
