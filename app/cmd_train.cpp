// lowrank train / lowrank sample: the nn training engine (issue 7).
// Flags -> TrainOptions -> Trainer -> report; no numerics here.
#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli_common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/io/file.hpp"
#include "lowrank/nn/train.hpp"

namespace lowrank::cli {

namespace {

struct TrainFlags {
  std::string config, resume, log_csv, data, parameterization, checkpoint, device, b_init, preset;
  std::optional<Index> width, layers, heads, context, hidden, rank, batch;
  std::optional<double> alpha, delta, lr, weight_decay, grad_clip, beta1, beta2, warmup_fraction, min_lr_ratio;
  std::optional<std::int64_t> steps, warmup, eval_interval, eval_batches, checkpoint_interval, galore_interval;
  std::optional<std::uint64_t> seed;
  bool muon = false;
  bool keep_schedule = false;
  CommonFlags common;
};

std::string slurp(const std::string& path) { return io::read_file(path); }

void apply_flags(const TrainFlags& f, nn::TrainOptions& o, bool steps_from_config) {
  if (!f.data.empty()) o.data_path = f.data;
  if (!f.parameterization.empty()) o.model.linear.kind = nn::parse_parameterization(f.parameterization);
  if (f.width) o.model.width = *f.width;
  if (f.layers) o.model.n_layer = *f.layers;
  if (f.heads) o.model.n_head = *f.heads;
  if (f.context) o.model.context = *f.context;
  if (f.hidden) o.model.hidden = *f.hidden;
  if (f.rank) o.model.linear.rank = *f.rank;
  if (f.alpha) o.model.linear.alpha = *f.alpha;
  if (f.delta) o.model.linear.delta = *f.delta;
  if (!f.b_init.empty()) o.model.linear.b_init = nn::parse_b_init(f.b_init);
  if (f.batch) o.batch = *f.batch;
  if (f.lr) o.optim.lr = *f.lr;
  if (f.warmup) {
    o.optim.warmup_steps = *f.warmup;
    o.optim.warmup_fraction = 0;  // steps given explicitly replace a fraction from --config or --preset
  }
  if (f.warmup_fraction) o.optim.warmup_fraction = *f.warmup_fraction;
  if (f.weight_decay) o.optim.weight_decay = *f.weight_decay;
  if (f.grad_clip) o.optim.grad_clip = *f.grad_clip;
  if (f.beta1) o.optim.beta1 = *f.beta1;
  if (f.beta2) o.optim.beta2 = *f.beta2;
  if (f.min_lr_ratio) o.optim.min_lr_ratio = *f.min_lr_ratio;
  if (f.galore_interval) o.optim.galore_update_interval = *f.galore_interval;
  if (f.muon) o.optim.muon = true;
  if (f.steps) {
    o.steps = *f.steps;
    if (!steps_from_config) o.optim.total_steps = std::max<std::int64_t>(1, *f.steps);
  }
  if (f.eval_interval) o.eval_interval = *f.eval_interval;
  if (f.eval_batches) o.eval_batches = *f.eval_batches;
  if (f.seed) {
    o.seed = *f.seed;
    o.model.seed = *f.seed;
  }
  if (!f.checkpoint.empty()) o.checkpoint_dir = f.checkpoint;
  if (f.checkpoint_interval) o.checkpoint_interval = *f.checkpoint_interval;
  if (!f.device.empty()) o.device = f.device;
  o.threads = f.common.threads;       // 0: the library's default (one thread)
  nn::resolve_default_rank(o.model);  // before a preset, which needs the rank
}

// A resumed run appends to its --log: rows of steps after the checkpoint
// (logged before the interruption) are dropped first, so each step appears
// once. The file is rewritten atomically (temporary file + rename).
void drop_rows_after(const std::string& path, std::int64_t step) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;  // a new log
  std::string line, kept;
  bool dropped = false;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    long long s = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), s);
    if (lineno > 1 && ec == std::errc() && end != line.data() + line.size() && *end == ',' && s > step) {
      dropped = true;
      continue;
    }
    kept += line;
    kept += '\n';
  }
  if (!dropped) return;
  in.close();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << kept;
    if (!out) throw InputError(tmp, "cannot write the trimmed log");
  }
  std::filesystem::rename(tmp, path);
}

nlohmann::json memory_json(const nn::MemoryReport& m) {
  return {{"param_count", m.param_count},
          {"param_count_analytic", m.param_count_analytic},
          {"dense_equivalent_params", m.dense_equivalent_params},
          {"param_bytes", m.param_bytes},
          {"grad_bytes", m.grad_bytes},
          {"sparse_index_bytes", m.index_bytes},
          {"optimizer_bytes", m.optimizer_bytes},
          {"optimizer_bytes_analytic", m.optimizer_bytes_analytic},
          {"activation_bytes", m.activation_bytes},
          {"activation_bytes_analytic", m.activation_bytes_analytic},
          {"weight_cache_bytes", m.weight_cache_bytes},
          {"weight_cache_bytes_analytic", m.weight_cache_bytes_analytic},
          {"workspace_bytes_analytic", m.workspace_bytes_analytic},
          {"total_analytic_bytes", m.total_analytic_bytes()},
          {"baseline_rss_bytes", m.baseline_rss_bytes},
          {"peak_rss_bytes", m.peak_rss_bytes},
          {"rss_growth_bytes", m.rss_growth_bytes()},
          {"device_bytes", m.device_bytes}};
}

void run_train_cmd(const TrainFlags& f) {
  apply_common_flags(f.common);
  nn::TrainOptions o;
  bool total_in_config = false;
  if (!f.config.empty()) {
    const std::string text = slurp(f.config);
    o = nn::options_from_json(text, f.config);
    total_in_config = text.find("\"total_steps\"") != std::string::npos;
  }
  std::optional<nn::Trainer> t;
  std::optional<std::int64_t> steps_asked = f.steps;
  if (!f.resume.empty()) {
    // The stored options are the base: flags and --config keys that are
    // given replace them, and load_checkpoint refuses those that would
    // change the loss curve (model, optimiser, batch, seed) when they differ.
    // Run-length settings not given keep their stored values.
    o = nn::checkpoint_options(f.resume);
    o.checkpoint_dir.clear();  // checkpoints go to --checkpoint, else to the resumed directory
    if (!f.config.empty()) {
      const std::string text = slurp(f.config);
      const nn::TrainOptions c = nn::options_from_json(text, f.config);
      const auto keys = nlohmann::json::parse(text);
      if (keys.contains("model")) o.model = c.model;
      if (keys.contains("optim")) o.optim = c.optim;
      if (keys.contains("steps")) steps_asked = steps_asked ? steps_asked : c.steps;
      for (const char* k : {"data", "data_hex"})
        if (keys.contains(k)) o.data_path = c.data_path;
      if (keys.contains("batch")) o.batch = c.batch;
      if (keys.contains("val_fraction")) o.val_fraction = c.val_fraction;
      if (keys.contains("seed")) o.seed = c.seed;
      if (keys.contains("eval_interval")) o.eval_interval = c.eval_interval;
      if (keys.contains("eval_batches")) o.eval_batches = c.eval_batches;
      if (keys.contains("checkpoint_interval")) o.checkpoint_interval = c.checkpoint_interval;
      if (keys.contains("device")) o.device = c.device;
    }
    const nn::OptimizerOptions stored_optim = o.optim;
    const std::int64_t stored_steps = o.steps;
    apply_flags(f, o, true);
    if (!f.preset.empty()) {
      nn::apply_preset(f.preset, o);
      apply_flags(f, o, true);
    }
    o.optim.total_steps = stored_optim.total_steps;  // the schedule's length is set_steps' business
    o.steps = stored_steps;
    t.emplace(nn::load_checkpoint(f.resume, &o));
    if (steps_asked) t->set_steps(*steps_asked, f.keep_schedule);
  } else {
    apply_flags(f, o, total_in_config);
    if (!f.preset.empty()) {
      nn::apply_preset(f.preset, o);       // needs the rank, which the first pass resolved
      apply_flags(f, o, total_in_config);  // flags given beside --preset override it
    }
    if (o.data_path.empty()) throw InvalidArgument("give the training text with --data FILE or \"data\" in --config");
    t.emplace(o);
  }
  const auto& opt = t->options();
  std::FILE* csv = nullptr;
  if (!f.log_csv.empty()) {
    const bool append = !f.resume.empty();
    const auto parent = std::filesystem::path(f.log_csv).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);  // --log runs/x.csv before runs/ exists
    if (append) drop_rows_after(f.log_csv, t->step);
    csv = std::fopen(f.log_csv.c_str(), append ? "a" : "w");
    if (!csv) throw InputError(f.log_csv, "cannot open for writing");
    if (!append) std::fprintf(csv, "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n");
  }
  if (!f.common.quiet) {
    const auto m = t->memory();
    std::fprintf(stderr,
                 "lowrank train: %s, %lld layers, width %lld, rank %lld, %lld parameters (dense: %lld), "
                 "optimizer state %.2f MiB, steps %lld..%lld\n",
                 nn::to_string(opt.model.linear.kind), static_cast<long long>(opt.model.n_layer),
                 static_cast<long long>(opt.model.width), static_cast<long long>(opt.model.linear.rank),
                 static_cast<long long>(m.param_count), static_cast<long long>(m.dense_equivalent_params),
                 static_cast<double>(m.optimizer_bytes) / 1048576.0, static_cast<long long>(t->step),
                 static_cast<long long>(opt.steps));
  }
  double last_print = -1e300;
  const std::int64_t first_step = t->step;  // steps before this run (resume) do not count toward its rate
  const bool quiet = f.common.quiet;
  auto on_log = [&](const nn::TrainLogRow& r) {
    if (csv) {
      std::fprintf(csv, "%lld,%.6f,%s,%.6g,%.6g,%.1f,%.3f\n", static_cast<long long>(r.step), r.train_loss,
                   std::isnan(r.val_loss) ? "" : fmt::format("{:.6f}", r.val_loss).c_str(), r.lr, r.grad_norm,
                   r.tokens_per_s, r.elapsed_s);
      std::fflush(csv);
    }
    if (quiet) return;
    if (r.elapsed_s - last_print < 1.0 && std::isnan(r.val_loss) && r.step != 1) return;
    last_print = r.elapsed_s;
    std::string line = fmt::format("step {:>6}/{} loss {:.4f}", r.step, opt.steps, r.train_loss);
    if (!std::isnan(r.val_loss)) line += fmt::format(" val {:.4f}", r.val_loss);
    line += fmt::format(" lr {:.2e} tok/s {:.0f} rss {:.1f} MiB t {:.1f}s", r.lr, r.tokens_per_s,
                        static_cast<double>(nn::current_rss_bytes()) / 1048576.0, r.elapsed_s);
    // Time left at this run's average step time so far.
    const std::int64_t done = r.step - first_step, left = opt.steps - r.step;
    if (done > 0 && left > 0) line += fmt::format(", ~{:.0f}s left", r.elapsed_s / static_cast<double>(done) * left);
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  const auto res = t->run({}, on_log);
  if (csv) std::fclose(csv);
  const double last_train = res.log.empty() ? NAN : res.log.back().train_loss;
  if (f.common.json) {
    nlohmann::json j;
    j["command"] = "train";
    j["status"] = to_string(res.status);
    j["message"] = res.message;
    j["parameterization"] = nn::to_string(opt.model.linear.kind);
    j["step"] = t->step;
    j["steps_run"] = res.log.size();
    j["final_train_loss"] = last_train;
    j["final_val_loss"] = res.final_val_loss;
    j["tokens_per_s"] = res.tokens_per_s;
    j["elapsed_s"] = res.elapsed_s;
    j["memory"] = memory_json(res.memory);
    j["config"] = nlohmann::json::parse(nn::options_to_json(t->options()));
    print_json(j);
  } else {
    fmt::print("status           {}\n", to_string(res.status));
    fmt::print("steps            {} (this run {})\n", t->step, res.log.size());
    fmt::print("train loss       {:.4f}\n", last_train);
    fmt::print("val loss         {:.4f}\n", res.final_val_loss);
    fmt::print("tokens/s         {:.0f}\n", res.tokens_per_s);
    fmt::print("parameters       {} (dense equivalent {})\n", res.memory.param_count,
               res.memory.dense_equivalent_params);
    fmt::print("optimizer state  {:.3f} MiB\n", static_cast<double>(res.memory.optimizer_bytes) / 1048576.0);
    fmt::print("activations      {:.3f} MiB\n", static_cast<double>(res.memory.activation_bytes) / 1048576.0);
    fmt::print("weight cache     {:.3f} MiB (SLTrain's dense W)\n",
               static_cast<double>(res.memory.weight_cache_bytes) / 1048576.0);
    fmt::print("memory, analytic {:.1f} MiB (params, grads, optimizer, activations, caches, backward workspace)\n",
               static_cast<double>(res.memory.total_analytic_bytes()) / 1048576.0);
    fmt::print("memory, measured {:.1f} MiB (peak RSS {:.1f} MiB - RSS before the model {:.1f} MiB)\n",
               static_cast<double>(res.memory.rss_growth_bytes()) / 1048576.0,
               static_cast<double>(res.memory.peak_rss_bytes) / 1048576.0,
               static_cast<double>(res.memory.baseline_rss_bytes) / 1048576.0);
    if (!opt.checkpoint_dir.empty()) fmt::print("checkpoint       {}\n", opt.checkpoint_dir);
  }
  if (res.status == Status::NumericalIssue) {
    std::fprintf(stderr, "lowrank: error: %s\n", res.message.c_str());
    std::fflush(stdout);
    std::exit(kInternalError);
  }
}

struct SampleFlags {
  std::string checkpoint, prompt;
  nn::SampleOptions o;  // the library's defaults
  std::string device;   // empty: the library's default (cpu)
  CommonFlags common;
};

void run_sample_cmd(const SampleFlags& f) {
  apply_common_flags(f.common);
  auto t = nn::load_checkpoint(f.checkpoint);
  const nn::SampleOptions& o = f.o;
  const std::string text =
      f.device.empty()
          ? nn::sample_text(t.model, t.data().tokenizer, f.prompt, o.length, o.temperature, o.top_k, o.seed)
          : nn::sample_text(t.model, t.data().tokenizer, f.prompt, o.length, o.temperature, o.top_k, o.seed, f.device);
  const bool interrupted = interrupt_requested();
  if (interrupted)
    warn(fmt::format("interrupted: printing the {} byte(s) generated so far", text.size() - f.prompt.size()));
  if (f.common.json) {
    print_json(
        {{"text", text}, {"step", t.step}, {"seed", o.seed}, {"status", interrupted ? "interrupted" : "success"}});
  } else {
    fmt::print("{}\n", text);
  }
}

}  // namespace

void register_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand("train",
                                 "Train a LLaMA-style character model with dense, low-rank, SLTrain or GaLore weights");
  cmd->add_option("--config", f->config, "JSON config (format in docs/nn.md); flags override it");
  cmd->add_option("--data", f->data, "Training text (UTF-8); last 10% is the validation split");
  cmd->add_option("--parameterization", f->parameterization, "dense | lowrank | sltrain | galore");
  // Help text reads the library defaults (the CLI keeps none of its own).
  const nn::TrainOptions defaults;
  const nn::OptimizerOptions& d = defaults.optim;
  const nn::GptConfig& dm = defaults.model;
  cmd->add_option("--rank", f->rank, "Rank r of lowrank / sltrain / galore (default width/4)");
  cmd->add_option("--alpha", f->alpha, fmt::format("Scale alpha of W = (alpha/r) B A (default {:g})", dm.linear.alpha));
  cmd->add_option("--delta", f->delta,
                  fmt::format("SLTrain density of S in [0, 1] (default {:g}; 0 = no S)", dm.linear.delta));
  cmd->add_option("--width", f->width, fmt::format("Model width C (default {})", dm.width));
  cmd->add_option("--layers", f->layers, fmt::format("Number of blocks (default {})", dm.n_layer));
  cmd->add_option("--heads", f->heads, fmt::format("Attention heads (default {})", dm.n_head));
  cmd->add_option("--context", f->context, fmt::format("Context length T (default {})", dm.context));
  cmd->add_option("--hidden", f->hidden, "SwiGLU width (default 8C/3 rounded to 16)");
  cmd->add_option("--steps", f->steps, fmt::format("Optimiser steps (default {})", defaults.steps));
  cmd->add_option("--batch", f->batch, fmt::format("Sequences per step (default {})", defaults.batch));
  cmd->add_option("--lr", f->lr, fmt::format("Peak learning rate (default {:g}; cosine to --min-lr-ratio)", d.lr));
  cmd->add_option("--warmup", f->warmup,
                  fmt::format("Warm-up steps (default {:g} % of --steps)", 100 * nn::kDefaultWarmupFraction));
  cmd->add_option("--warmup-fraction", f->warmup_fraction,
                  "Warm-up as a fraction of the steps, in [0, 1) (replaces --warmup when > 0)");
  cmd->add_option("--weight-decay", f->weight_decay,
                  fmt::format("AdamW decoupled weight decay on matrices and S (default {:g})", d.weight_decay));
  cmd->add_option("--grad-clip", f->grad_clip,
                  fmt::format("Global gradient-norm clip (default {:g}; 0 = off)", d.grad_clip));
  cmd->add_option("--beta1", f->beta1, fmt::format("AdamW beta1 (default {:g})", d.beta1));
  cmd->add_option("--beta2", f->beta2, fmt::format("AdamW beta2 (default {:g})", d.beta2));
  cmd->add_option("--min-lr-ratio", f->min_lr_ratio,
                  fmt::format("Cosine floor as a fraction of the peak lr (default {:g})", d.min_lr_ratio));
  cmd->add_option(
         "--b-init", f->b_init,
         "lowrank / sltrain: B at initialisation, zero | random (default: random for lowrank, zero for sltrain)")
      ->check(CLI::IsMember({"default", "zero", "random"}));
  cmd->add_option("--preset", f->preset,
                  "Named recipe; sltrain-reference = SLTrain's reference (lr 3e-3, betas 0.9/0.999, no decay, no clip, "
                  "10% warm-up, alpha = 0.25 r); other flags override it")
      ->check(CLI::IsMember(nn::preset_names()));
  cmd->add_option("--galore-interval", f->galore_interval,
                  fmt::format("GaLore: refresh the projection every T steps (default {})", d.galore_update_interval));
  cmd->add_flag("--muon", f->muon, "Muon (Newton-Schulz polar of the momentum) for 2-D weights");
  cmd->add_option("--seed", f->seed,
                  fmt::format("Seed of the initialisation and the data loader (default {})", defaults.seed))
      ->check(seed_validator());
  cmd->add_option("--eval-interval", f->eval_interval,
                  fmt::format("Validation loss every N steps (default {})", defaults.eval_interval));
  cmd->add_option("--eval-batches", f->eval_batches,
                  fmt::format("Batches per validation estimate (default {})", defaults.eval_batches));
  cmd->add_option("--checkpoint", f->checkpoint, "Directory for checkpoints (written atomically)");
  cmd->add_option("--checkpoint-interval", f->checkpoint_interval, "Checkpoint every N steps (0 = at the end)");
  cmd->add_option("--resume", f->resume,
                  "Continue from this checkpoint directory (same loss curve as an uninterrupted run; its checkpoints "
                  "then go to this directory unless --checkpoint says otherwise)");
  cmd->add_flag("--keep-schedule", f->keep_schedule,
                "With --resume --steps N past the warm-up: continue on the run's old cosine schedule instead of "
                "refusing (the curve then differs from an uninterrupted N-step run)");
  cmd->add_option("--log", f->log_csv, "CSV log of train / val loss per step");
  cmd->add_option("--device", f->device,
                  "cpu (default) | cuda: run forward and backward on the GPU (needs a -DLOWRANK_CUDA=ON build)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example (SLTrain, rank 32, delta 0.03 on the bundled tinyshakespeare excerpt):\n"
      "  lowrank train --data data/text/tinyshakespeare_head.txt --parameterization sltrain \\\n"
      "      --rank 32 --delta 0.03 --steps 500 --checkpoint runs/sl --log runs/sl.csv\n"
      "  lowrank train --resume runs/sl                  # after Ctrl-C: finish the same 500 steps\n"
      "  lowrank train --resume runs/sl --steps 1000 --keep-schedule   # go on at the final learning rate\n"
      "  lowrank sample --checkpoint runs/sl --prompt 'ROMEO:'\n");
  cmd->callback([f] { run_train_cmd(*f); });
}

void register_sample(CLI::App& app) {
  auto f = std::make_shared<SampleFlags>();
  auto* cmd = app.add_subcommand("sample", "Generate text from a `lowrank train` checkpoint");
  cmd->add_option("--checkpoint", f->checkpoint, "Checkpoint directory")->required();
  cmd->add_option("--prompt", f->prompt, "Text to continue (its characters must be in the vocabulary)");
  cmd->add_option("--length", f->o.length, "Characters to generate")->capture_default_str();
  cmd->add_option("--temperature", f->o.temperature, "Softmax temperature (> 0)")->capture_default_str();
  cmd->add_option("--top-k", f->o.top_k, "Sample among the k most likely (0 = all)")->capture_default_str();
  cmd->add_option("--seed", f->o.seed, "Sampling seed")->capture_default_str()->check(seed_validator());
  cmd->add_option("--device", f->device,
                  "cpu (default) or cuda: decode with the GPU engine's KV cache (a CUDA build and device)");
  add_common_flags(*cmd, f->common);
  cmd->footer("Example:\n  lowrank sample --checkpoint runs/sl --prompt 'ROMEO:' --length 200 --temperature 0.8\n");
  cmd->callback([f] { run_sample_cmd(*f); });
}

}  // namespace lowrank::cli
