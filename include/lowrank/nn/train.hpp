#pragma once
// Training loop, memory accounting and checkpoints of the nn engine.
//
// A Trainer owns everything a run needs to continue bit-for-bit: the model
// (float32), the optimiser state, the step counter and the data-loader RNG.
// Checkpoints (save_checkpoint / load_checkpoint) write all of it to
// DIR/checkpoint.safetensors -- tensors "model.<name>", "opt.m.<name>",
// "opt.v.<name>", "opt.proj.<name>" (GaLore) and "sltrain.<name>.support"
// (flat support indices, stored as F64, exact below 2^53) -- with the JSON
// metadata (config, step, RNG state, tokenizer vocabulary, data source) in the
// safetensors "__metadata__" block, so one atomic rename publishes a
// consistent checkpoint; DIR/config.json is a human-readable copy.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/memory.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/nn/data.hpp"
#include "lowrank/nn/model.hpp"
#include "lowrank/nn/optim.hpp"

namespace lowrank::nn {

class GptOnDevice;  // gpu.hpp

struct TrainOptions {
  GptConfig model;
  OptimizerOptions optim;
  std::string data_path;  ///< UTF-8 text file
  double val_fraction = 0.1;
  Index batch = 12;
  std::int64_t steps = 200;
  std::int64_t eval_interval = 50;  ///< 0 = only at the end
  std::int64_t eval_batches = 8;
  std::uint64_t seed = 0;                ///< data-loader seed (model init uses model.seed)
  std::string checkpoint_dir;            ///< empty = no checkpoints
  std::int64_t checkpoint_interval = 0;  ///< 0 = only at the end (when a dir is set)
  /// "cpu" (default) or "cuda": where forward and backward run (GptOnDevice,
  /// gpu.hpp); the optimiser, checkpoints and memory report stay on the host.
  /// A run setting like steps: a checkpoint resumes on either device.
  /// "cuda-emulated" runs the GPU engine's code on the CPU (slow; for tests).
  std::string device = "cpu";
  /// OpenMP and BLAS threads while run() and evaluate() work (restored
  /// after); 0 = the default, one thread. Not stored in checkpoints: threads
  /// do not change the curve. One thread is the default because at the sizes
  /// this engine trains (768-token steps, widths <= 384) extra threads did
  /// not pay on the shared 2-core machine: both this engine and PyTorch were
  /// slower with two (docs/benchmarks.md, issue 30), and a default must never
  /// be slower than one thread.
  int threads = 0;
  /// The thread count run() uses: 1 when threads is 0, else threads capped
  /// by omp_get_max_threads() (what the caller allowed the process).
  int resolved_threads() const;
  void validate() const;
};

/// Memory of one run, split by kind. "analytic" figures come from the config
/// alone; the others are measured from the allocated buffers and the OS.
/// total_analytic_bytes() is what training adds to the process at its peak
/// (inside a backward pass): parameters and gradients (float32), SLTrain
/// support indices, optimiser state, the activations kept for backward,
/// SLTrain's reconstructed dense weights and backward's temporaries. It is
/// compared with rss_growth_bytes() = peak RSS - RSS before the model was
/// built; in a fresh process (`lowrank train --json`) the two agree within
/// 10% once the model holds tens of MiB (tests/nn/train_test.cpp, NnMemory); the
/// rest is the allocator, OpenBLAS's packing buffers and thread stacks.
struct MemoryReport {
  std::int64_t param_count = 0;
  std::int64_t param_count_analytic = 0;
  std::int64_t dense_equivalent_params = 0;                      ///< same model with dense linears
  std::size_t param_bytes = 0, grad_bytes = 0, index_bytes = 0;  ///< index: SLTrain supports
  std::size_t optimizer_bytes = 0, optimizer_bytes_analytic = 0;
  std::size_t activation_bytes = 0, activation_bytes_analytic = 0;
  std::size_t weight_cache_bytes = 0, weight_cache_bytes_analytic = 0;  ///< SLTrain's dense W per layer
  std::size_t workspace_bytes_analytic = 0;  ///< backward temporaries at their peak (transient)
  std::size_t peak_rss_bytes = 0;            ///< getrusage ru_maxrss of the process
  std::size_t baseline_rss_bytes = 0;        ///< RSS after loading the text, before the model was built
  std::size_t device_bytes = 0;              ///< --device cuda: GPU memory of the engine's buffers (0 on the CPU)
  std::size_t total_analytic_bytes() const {
    return static_cast<std::size_t>(param_count_analytic) * 4 * 2 + index_bytes + optimizer_bytes_analytic +
           activation_bytes_analytic + weight_cache_bytes_analytic + workspace_bytes_analytic;
  }
  std::size_t rss_growth_bytes() const {
    return peak_rss_bytes > baseline_rss_bytes ? peak_rss_bytes - baseline_rss_bytes : 0;
  }
};

/// Analytic parameter count and optimiser-state bytes (float32) of a config.
std::int64_t analytic_param_count(const GptConfig& c);
std::size_t analytic_optimizer_bytes(const GptConfig& c, const OptimizerOptions& o);
/// Current and peak resident set size of this process in bytes (core/memory.hpp).
using lowrank::current_rss_bytes;
using lowrank::peak_rss_bytes;

struct TrainLogRow {
  std::int64_t step = 0;  ///< 1-based: after this many updates
  double train_loss = 0;  ///< loss of this step's batch (before the update)
  double val_loss = 0;    ///< NaN when not evaluated at this step
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;  ///< average since the start of run()
  double elapsed_s = 0;
};

struct TrainResult {
  Status status = Status::Success;  ///< NumericalIssue on a NaN/Inf loss, Interrupted on Ctrl-C
  std::string message;
  std::vector<TrainLogRow> log;
  double final_val_loss = 0;
  double tokens_per_s = 0;
  double elapsed_s = 0;
  MemoryReport memory;
};

class Trainer {
 public:
  /// Fresh run: loads the data, builds the model (vocab from the data) and optimiser.
  explicit Trainer(TrainOptions options);
  /// Trains from the current step to options().steps. `on_log` sees every
  /// row; checkpoints are written as configured. On a NaN/Inf loss it stops
  /// before the update, returns NumericalIssue and writes no checkpoint, so
  /// the last good one stays.
  TrainResult run(const ProgressCallback& progress = {}, const std::function<void(const TrainLogRow&)>& on_log = {});
  /// Mean validation loss over eval_batches batches drawn with a fixed seed
  /// (the same batches every call; the training RNG is untouched).
  double evaluate();
  MemoryReport memory() const;

  const TrainOptions& options() const { return m_opt; }
  TrainOptions& mutable_options() { return m_opt; }
  /// Sets the run length of a resumed run so that it reproduces an
  /// uninterrupted run of `steps` steps. When the cosine schedule follows the
  /// run length (optim.total_steps == max(1, steps)) and `steps` changes it,
  /// the schedule is stretched too, which is exact while no update has used
  /// a post-warm-up learning rate yet (optimizer.steps_taken() <=
  /// warmup_steps: the warm-up ramp does not depend on total_steps).
  /// Later, InvalidArgument explains the choice unless `keep_schedule`, which
  /// keeps the old schedule (after its end the learning rate stays at its floor).
  void set_steps(std::int64_t steps, bool keep_schedule = false);
  const TextData& data() const { return m_data; }

  Gpt<float> model;
  Optimizer<float> optimizer;
  Rng rng;
  std::int64_t step = 0;

 private:
  friend Trainer load_checkpoint(const std::string&, const TrainOptions*);
  Trainer() = default;
  double evaluate_on(GptOnDevice* device);
  TrainOptions m_opt;
  TextData m_data;
  std::size_t m_baseline_rss = 0;
};

/// Format version of checkpoint.safetensors (metadata "version"; the
/// metadata also records "lowrank_version", the library that wrote it). A
/// reader refuses any other version, a newer one naming both
/// (lowrank::check_format_version).
inline constexpr int kCheckpointFormatVersion = 1;

/// Writes DIR/checkpoint.safetensors (atomically) and DIR/config.json. The
/// metadata holds a CRC-32 of every tensor ("tensor_crc32"), checked by
/// load_checkpoint. Temporary files a killed save left in DIR
/// (checkpoint.safetensors.tmp-XXXXXX, config.json.tmp) are removed first:
/// a checkpoint directory belongs to one run.
void save_checkpoint(const std::string& dir, Trainer& trainer);
/// Checks before any training that checkpoints can be written to DIR
/// (creating it): InputError naming DIR when it is a file or not writable.
void check_checkpoint_dir(const std::string& dir);
/// The options stored in DIR/checkpoint.safetensors (what a resume starts
/// from); InputError for a missing or malformed checkpoint.
TrainOptions checkpoint_options(const std::string& dir);
/// Restores a Trainer. Its checkpoints then go to DIR (a copied run does not
/// write into the original). With `override_options`, its eval / checkpoint
/// settings replace the stored ones, its steps go through set_steps, and a
/// non-empty checkpoint_dir replaces DIR; the model config, the optimiser
/// hyperparameters (total_steps aside), batch, val_fraction and seed must
/// match the stored ones (InputError naming each differing field
/// otherwise). Throws InputError for a missing, corrupt or inconsistent
/// checkpoint (wrong tensor shape, missing tensor, a tensor whose CRC-32
/// differs from the stored one, a non-finite weight or optimiser moment, a
/// negative step, text whose vocabulary differs, a stored config that fails
/// validation). Checkpoints written before the CRCs existed (no
/// "tensor_crc32" key) still load, unchecked.
Trainer load_checkpoint(const std::string& dir, const TrainOptions* override_options = nullptr);

/// Options <-> JSON (the `lowrank train --config` format; see docs/nn.md).
/// options_from_json throws InputError naming an unknown key or a bad value.
std::string options_to_json(const TrainOptions& o);
TrainOptions options_from_json(const std::string& json_text, const std::string& source);

/// The default rank of the low-rank kinds (lowrank / sltrain / galore): a
/// quarter of the width, at least 1. Sets model.linear.rank when it is 0 and
/// the kind is not dense; the Trainer applies it, and the CLI before a preset
/// (which needs the rank).
void resolve_default_rank(GptConfig& model);

/// Named training recipes (`lowrank train --preset NAME`).
std::vector<std::string> preset_names();
/// alpha / r of SLTrain's reference recipe (lora_alpha 32 at rank 128, its 60M model).
inline constexpr double kSltrainReferenceAlphaOverRank = 0.25;
/// Overwrites the fields a preset fixes and leaves the rest (model size,
/// steps, data, parameterization, B initialisation) alone:
///   "sltrain-reference"  SLTrain's reference recipe: optim.lr 3e-3,
///       beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0, grad_clip 0 (off),
///       warmup_fraction 0.1, min_lr_ratio 0.1; for lowrank / sltrain
///       model.linear.alpha = 0.25 * rank (so the rank must be set first).
/// Throws InvalidArgument for an unknown name.
void apply_preset(const std::string& name, TrainOptions& o);

/// The defaults of sample_text's settings (`lowrank sample` binds its flags
/// to these fields).
struct SampleOptions {
  Index length = 300;        ///< tokens generated after the prompt
  double temperature = 1.0;  ///< > 0
  Index top_k = 0;           ///< 0 = the whole vocabulary
  std::uint64_t seed = 0;
};

/// Generates `length` tokens after `prompt` by sampling from the softmax at
/// temperature (top-k when top_k > 0), using the last `context` tokens.
/// Logits come from Gpt::decode with a KV cache (O(context) per token while
/// the text fits the context; the window is re-run once it slides), equal to
/// a full forward of the window up to rounding. Ctrl-C (interrupt_requested()) stops between tokens and returns the
/// text so far. `device` "cuda" (or "cuda-emulated", the GPU engine's code on the CPU) decodes with the GPU engine's KV
/// cache (GptOnDevice::decode); the sampling itself stays on the host. InvalidArgument for another device or "cuda"
/// without a CUDA build or device.
std::string sample_text(const Gpt<float>& model, const CharTokenizer& tok, const std::string& prompt, Index length,
                        double temperature, Index top_k, std::uint64_t seed, const std::string& device = "cpu");

}  // namespace lowrank::nn
