// Training loop, memory accounting, options JSON and sampling (train.hpp).
#include "lowrank/nn/train.hpp"

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>
#include <sys/mman.h>
#endif

#include <omp.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <type_traits>

#include "lowrank/core/detail/thread_scope.hpp"

#include "lowrank/cuda/device.hpp"
#include "lowrank/io/json_object.hpp"
#include "lowrank/nn/gpu.hpp"

namespace lowrank::nn {

// Tokens of one step's batch: far above what fits in memory, refused before
// any buffer is sized from it (batch x context would otherwise overflow).
constexpr std::int64_t kMaxBatchTokens = std::int64_t{1} << 28;

void TrainOptions::validate() const {
  model.validate();
  optim.validate();
  if (batch < 1) throw InvalidArgument("batch must be >= 1");
  if (batch > kMaxBatchTokens / std::max<Index>(1, model.context))
    throw InvalidArgument("batch " + std::to_string(batch) + " x context " + std::to_string(model.context) +
                          " tokens per step exceed the limit of 2^28 (" + std::to_string(kMaxBatchTokens) + ")");
  if (steps < 0) throw InvalidArgument("steps must be >= 0");
  if (eval_interval < 0 || eval_batches < 1) throw InvalidArgument("eval_interval >= 0 and eval_batches >= 1 required");
  if (checkpoint_interval < 0) throw InvalidArgument("checkpoint_interval must be >= 0");
  if (!(val_fraction >= 0 && val_fraction < 1)) throw InvalidArgument("val_fraction must be in [0, 1)");
  if (data_path.empty()) throw InvalidArgument("no training text given (data)");
  if (threads < 0) throw InvalidArgument("threads must be >= 0 (0 = one thread)");
  if (device != "cpu" && device != "cuda" && device != "cuda-emulated")
    throw InvalidArgument("device must be cpu or cuda (got '" + device + "')");
}

// ---- memory -----------------------------------------------------------------

namespace {
struct LinearShape {
  Index in, out;
};
std::vector<LinearShape> block_linears(const GptConfig& c) {
  const Index C = c.width, F = c.hidden_size();
  return {{C, C}, {C, C}, {C, C}, {C, C}, {C, F}, {C, F}, {F, C}};
}
std::int64_t sltrain_nnz(const LinearSpec& s, Index in, Index out) {
  return nn::sltrain_nnz(s.delta, static_cast<std::int64_t>(in) * out);
}
}  // namespace

std::int64_t analytic_param_count(const GptConfig& c) {
  const std::int64_t C = c.width, V = c.vocab, r = c.linear.rank;
  std::int64_t n = V * C /*wte*/ + C /*ln_f*/ + V * C /*lm_head*/;
  for (Index l = 0; l < c.n_layer; ++l) {
    n += 2 * C;
    for (const auto& s : block_linears(c)) {
      const std::int64_t mn = static_cast<std::int64_t>(s.in) * s.out;
      switch (c.linear.kind) {
        case Parameterization::Dense:
        case Parameterization::GaLore:
          n += mn;
          break;
        case Parameterization::LowRank:
          n += r * (s.in + s.out);
          break;
        case Parameterization::SLTrain:
          n += r * (s.in + s.out) + sltrain_nnz(c.linear, s.in, s.out);
          break;
      }
    }
  }
  return n;
}

std::size_t analytic_optimizer_bytes(const GptConfig& c, const OptimizerOptions& o) {
  // AdamW: two moments per parameter; GaLore: two moments of the projected
  // gradient (r x max(m, n)) plus the basis (min(m, n) x r) per projected layer.
  std::int64_t n = 2 * analytic_param_count(c);
  if (c.linear.kind == Parameterization::GaLore && !o.muon) {
    const std::int64_t r = c.linear.rank;
    for (Index l = 0; l < c.n_layer; ++l)
      for (const auto& s : block_linears(c)) {
        const std::int64_t mn = static_cast<std::int64_t>(s.in) * s.out;
        const std::int64_t big = std::max(s.in, s.out), small = std::min(s.in, s.out);
        n += -2 * mn + 2 * r * big + small * r;
      }
  }
  return static_cast<std::size_t>(n) * sizeof(float);
}

// ---- trainer ------------------------------------------------------------------

namespace {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
// A step allocates and frees the same activation-sized buffers every time.
// glibc hands blocks over its mmap threshold back to the kernel on free and
// trims the heap top, so each step page-faulted its buffers in again (about
// 5% of a 3.2M-parameter step in perf). Keeping them in the heap makes the
// next step's allocations reuse warm pages; peak memory is unchanged.
void keep_buffers_in_heap() {
  static const bool kept = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)kept;
}

// Start-up of a run is mostly first touches of fresh memory: ~30k 4 KiB page
// faults at 3.2M parameters (model, optimiser, activations), ~0.25 CPU s on
// this VM, more than a step. Growing the heap by about the run's analytic
// footprint at once, advising transparent huge pages on it (the kernel's
// default mode is "madvise") and freeing it back to the heap top (kept by
// the trim threshold) lets the buffers allocated afterwards fault 2 MiB at a
// time. Where THP is off, madvise fails and nothing changes.
void reserve_heap_in_huge_pages(std::size_t bytes) {
  keep_buffers_in_heap();
  constexpr std::size_t kHuge = 2u << 20, kMax = 240u << 20;  // under the mmap threshold: from the heap
  bytes = std::min(bytes, kMax);
  auto* p = static_cast<char*>(std::malloc(bytes));
  if (p == nullptr) return;
  const auto lo = reinterpret_cast<std::uintptr_t>(p), hi = lo + bytes;
  const std::uintptr_t a = (lo + kHuge - 1) / kHuge * kHuge, b = hi / kHuge * kHuge;
  if (b > a) (void)madvise(reinterpret_cast<void*>(a), b - a, MADV_HUGEPAGE);
  std::free(p);
}
#else
void keep_buffers_in_heap() {}
void reserve_heap_in_huge_pages(std::size_t) {}
#endif
}  // namespace

Trainer::Trainer(TrainOptions options) : m_opt(std::move(options)) {
  if (m_opt.data_path.empty()) throw InvalidArgument("no training text given (data)");
  // Checked before the text is split into windows of context + 1 tokens.
  if (m_opt.model.context < 1)
    throw InvalidArgument("context must be >= 1, got " + std::to_string(m_opt.model.context));
  m_data = load_text(m_opt.data_path, m_opt.val_fraction, m_opt.model.context);
  m_baseline_rss = current_rss_bytes();
  m_opt.model.vocab = m_data.tokenizer.size();
  resolve_default_rank(m_opt.model);
  m_opt.validate();
  {
    const auto& c = m_opt.model;
    const std::size_t bytes =
        2 * static_cast<std::size_t>(analytic_param_count(c)) * sizeof(float) +
        analytic_optimizer_bytes(c, m_opt.optim) + gpt_activation_bytes_analytic(c, m_opt.batch, sizeof(float)) +
        gpt_workspace_bytes_analytic(c, m_opt.batch, sizeof(float)) + gpt_weight_cache_bytes_analytic(c, sizeof(float));
    reserve_heap_in_huge_pages(bytes + bytes / 4 + (16u << 20));
  }
  model = Gpt<float>(m_opt.model);
  optimizer = Optimizer<float>(m_opt.optim, model.parameters());
  rng.reseed(m_opt.seed);
}

void Trainer::set_steps(std::int64_t steps, bool keep_schedule) {
  if (steps < 0) throw InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
  auto& o = m_opt.optim;
  const bool follows = o.total_steps == std::max<std::int64_t>(1, m_opt.steps);
  const std::int64_t total = std::max<std::int64_t>(1, steps);
  m_opt.steps = steps;
  if (!follows || total == o.total_steps || keep_schedule) return;
  // learning_rate(o, s) depends on total_steps only for s >= warmup_steps;
  // the updates so far used s = 0 .. steps_taken - 1. A warm-up given as a
  // fraction of total_steps (given, or the default) stretches with it, so only
  // an untouched run is exact.
  const std::int64_t exact_until = o.warmup_fraction > 0 || o.warmup_steps < 0 ? 0 : o.warmup_steps;
  if (optimizer.steps_taken() <= exact_until) {
    o.total_steps = total;
    optimizer.set_total_steps(total);
    return;
  }
  throw InvalidArgument("steps " + std::to_string(steps) + ": this run's cosine schedule spans " +
                        std::to_string(o.total_steps) + " steps and " + std::to_string(optimizer.steps_taken()) +
                        " updates (past the " + std::to_string(exact_until) +
                        "-step warm-up) already followed it, so the curve could not match an uninterrupted " +
                        std::to_string(steps) + "-step run; resume with --steps " + std::to_string(o.total_steps) +
                        ", or add --keep-schedule to continue on the old schedule (after its end the learning rate "
                        "stays at its floor)");
}

double Trainer::evaluate() {
  const detail::ThreadCountScope threads_scope(m_opt.resolved_threads(), detail::ThreadCountScope::Blas::Set);
  return evaluate_on(nullptr);
}

double Trainer::evaluate_on(GptOnDevice* device) {
  const auto& src = m_data.val.size() > static_cast<std::size_t>(m_opt.model.context) ? m_data.val : m_data.train;
  Rng eval_rng(m_opt.seed ^ 0x9E3779B97F4A7C15ULL);
  std::vector<std::int32_t> x, y;
  if (device) device->upload_parameters();  // the host optimiser has stepped since the last upload
  double sum = 0;
  for (std::int64_t i = 0; i < m_opt.eval_batches; ++i) {
    sample_batch(src, m_opt.batch, m_opt.model.context, eval_rng, x, y);
    sum += device ? device->forward(x, y, m_opt.batch, m_opt.model.context)
                  : model.forward(x, y, m_opt.batch, m_opt.model.context);
  }
  return sum / static_cast<double>(m_opt.eval_batches);
}

MemoryReport Trainer::memory() const {
  MemoryReport r;
  auto& m = const_cast<Gpt<float>&>(model);
  for (const auto& p : m.parameters()) {
    r.param_count += p.value->size();
    r.param_bytes += static_cast<std::size_t>(p.value->size()) * sizeof(float);
    r.grad_bytes += static_cast<std::size_t>(p.grad->size()) * sizeof(float);
  }
  for (auto* l : m.linears()) r.index_bytes += l->support.size() * sizeof(std::int64_t);
  r.param_count_analytic = analytic_param_count(m_opt.model);
  GptConfig dense = m_opt.model;
  dense.linear.kind = Parameterization::Dense;
  r.dense_equivalent_params = analytic_param_count(dense);
  r.optimizer_bytes = optimizer.state_bytes();
  r.optimizer_bytes_analytic = analytic_optimizer_bytes(m_opt.model, m_opt.optim);
  r.activation_bytes = model.activation_bytes();
  r.activation_bytes_analytic = gpt_activation_bytes_analytic(m_opt.model, m_opt.batch, sizeof(float));
  r.weight_cache_bytes = model.weight_cache_bytes();
  r.weight_cache_bytes_analytic = gpt_weight_cache_bytes_analytic(m_opt.model, sizeof(float));
  r.workspace_bytes_analytic = gpt_workspace_bytes_analytic(m_opt.model, m_opt.batch, sizeof(float));
  r.peak_rss_bytes = peak_rss_bytes();
  r.baseline_rss_bytes = m_baseline_rss;
  return r;
}

// Capped by OpenMP's current maximum, which the CLI's --threads has already
// limited to the cores present and the address-space budget (cli_common.cpp).
int TrainOptions::resolved_threads() const { return threads > 0 ? std::min(threads, omp_get_max_threads()) : 1; }

TrainResult Trainer::run(const ProgressCallback& progress, const std::function<void(const TrainLogRow&)>& on_log) {
  const detail::ThreadCountScope threads_scope(m_opt.resolved_threads(), detail::ThreadCountScope::Blas::Set);
  keep_buffers_in_heap();  // also for a run resumed from a checkpoint
  TrainResult res;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const Index B = m_opt.batch, T = m_opt.model.context;
  std::vector<std::int32_t> x, y;
  std::int64_t tokens = 0;
  double last_val = std::numeric_limits<double>::quiet_NaN();
  // On the GPU, each step uploads the parameters the host optimiser just
  // updated and brings the gradients back (a few MiB for these models).
  std::unique_ptr<GptOnDevice> device = open_gpt_device(model, m_opt.device);
  // A checkpoint directory that cannot be written is found now, not after the training.
  if (!m_opt.checkpoint_dir.empty() && step < m_opt.steps) check_checkpoint_dir(m_opt.checkpoint_dir);
  while (step < m_opt.steps) {
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      res.message = "interrupted at step " + std::to_string(step);
      break;
    }
    sample_batch(m_data.train, B, T, rng, x, y);
    model.zero_grad();
    double loss;
    if (device) {
      device->upload_parameters();
      device->zero_grad();
      loss = device->forward(x, y, B, T);
    } else {
      loss = model.forward(x, y, B, T);
    }
    if (!std::isfinite(loss)) {
      res.status = Status::NumericalIssue;
      res.message = "training loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at step " +
                    std::to_string(step + 1) + "; stopped (the last checkpoint, if any, is kept)";
      break;
    }
    if (device) {
      device->backward();
      device->download_gradients();
    } else {
      model.backward();
    }
    const double lr = learning_rate(m_opt.optim, optimizer.steps_taken());
    const double gn = optimizer.step(model.parameters());
    ++step;
    tokens += B * T;
    TrainLogRow row;
    row.step = step;
    row.train_loss = loss;
    row.lr = lr;
    row.grad_norm = gn;
    row.val_loss = std::numeric_limits<double>::quiet_NaN();
    if ((m_opt.eval_interval > 0 && step % m_opt.eval_interval == 0) || step == m_opt.steps) {
      row.val_loss = evaluate_on(device.get());
      last_val = row.val_loss;
    }
    row.elapsed_s = elapsed();
    row.tokens_per_s = static_cast<double>(tokens) / std::max(1e-9, row.elapsed_s);
    res.log.push_back(row);
    if (on_log) on_log(row);
    if (progress) {
      ProgressEvent ev;
      ev.stage = "train";
      ev.iteration = static_cast<int>(step);
      ev.objective = loss;
      ev.change = row.val_loss;
      ev.elapsed_s = row.elapsed_s;
      progress(ev);
    }
    if (!m_opt.checkpoint_dir.empty() &&
        ((m_opt.checkpoint_interval > 0 && step % m_opt.checkpoint_interval == 0) || step == m_opt.steps))
      save_checkpoint(m_opt.checkpoint_dir, *this);
  }
  if (res.status == Status::Interrupted && !m_opt.checkpoint_dir.empty()) save_checkpoint(m_opt.checkpoint_dir, *this);
  res.elapsed_s = elapsed();
  res.tokens_per_s = static_cast<double>(tokens) / std::max(1e-9, res.elapsed_s);
  res.final_val_loss = last_val;
  res.memory = memory();
  if (device) res.memory.device_bytes = device->device_bytes();
  return res;
}

// ---- options JSON -------------------------------------------------------------
// The format (parsing, types, ranges, messages) is io::JsonObject's; nn names
// the keys of its own option structs.

namespace {
// JSON strings must be UTF-8 and a path need not be: a path that is not
// goes to KEY with its invalid bytes replaced (for people) and, exactly, as
// hex digits to KEY_hex (what options_from_json reads back).
void put_path(io::JsonObject& j, const std::string& key, const std::string& path) {
  if (find_invalid_utf8(path) == std::string_view::npos) {
    j.set(key, path);
    return;
  }
  std::string shown;
  std::string_view rest = path;
  for (auto k = find_invalid_utf8(rest); k != std::string_view::npos; k = find_invalid_utf8(rest)) {
    shown.append(rest.substr(0, k));
    shown.append("\xEF\xBF\xBD");  // U+FFFD
    rest.remove_prefix(k + 1);
  }
  shown.append(rest);
  j.set(key, shown);
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : path) {
    h.push_back(d[c >> 4]);
    h.push_back(d[c & 15]);
  }
  j.set(key + "_hex", h);
}

std::string path_from_hex(const std::string& h, const std::string& source, const std::string& key) {
  auto digit = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  if (h.size() % 2) throw InputError(source, "\"" + key + "\" has an odd number of hex digits");
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int hi = digit(h[i]), lo = digit(h[i + 1]);
    if (hi < 0 || lo < 0)
      throw InputError(source, "\"" + key + "\" holds a non-hex character at position " + std::to_string(i));
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}
}  // namespace

std::string options_to_json(const TrainOptions& o) {
  const auto& m = o.model;
  const auto& p = o.optim;
  io::JsonObject jm;
  jm.set("vocab", m.vocab);
  jm.set("context", m.context);
  jm.set("n_layer", m.n_layer);
  jm.set("n_head", m.n_head);
  jm.set("width", m.width);
  jm.set("hidden", m.hidden);
  jm.set("rope_theta", m.rope_theta);
  jm.set("norm_eps", m.norm_eps);
  jm.set("parameterization", to_string(m.linear.kind));
  jm.set("rank", m.linear.rank);
  jm.set("alpha", m.linear.alpha);
  jm.set("delta", m.linear.delta);
  jm.set("b_init", to_string(m.linear.b_init));
  jm.set("seed", m.seed);
  io::JsonObject jp;
  jp.set("lr", p.lr);
  jp.set("min_lr_ratio", p.min_lr_ratio);
  jp.set("warmup_steps", p.warmup_steps);
  jp.set("warmup_fraction", p.warmup_fraction);
  jp.set("total_steps", p.total_steps);
  jp.set("beta1", p.beta1);
  jp.set("beta2", p.beta2);
  jp.set("eps", p.eps);
  jp.set("weight_decay", p.weight_decay);
  jp.set("grad_clip", p.grad_clip);
  jp.set("galore_update_interval", p.galore_update_interval);
  jp.set("galore_scale", p.galore_scale);
  jp.set("muon", p.muon);
  if (p.sgd) jp.set("sgd", true);  // only when set: configs of AdamW runs stay as they were
  io::JsonObject j;
  j.set_object("model", jm);
  j.set_object("optim", jp);
  put_path(j, "data", o.data_path);
  j.set("val_fraction", o.val_fraction);
  j.set("batch", o.batch);
  j.set("steps", o.steps);
  j.set("eval_interval", o.eval_interval);
  j.set("eval_batches", o.eval_batches);
  j.set("seed", o.seed);
  put_path(j, "checkpoint_dir", o.checkpoint_dir);
  j.set("checkpoint_interval", o.checkpoint_interval);
  j.set("device", o.device);
  return j.dump(2);
}

TrainOptions options_from_json(const std::string& text, const std::string& source) {
  const io::JsonObject j = io::JsonObject::parse(text, source);
  j.reject_unknown({"model", "optim", "data", "data_hex", "val_fraction", "batch", "steps", "eval_interval",
                    "eval_batches", "seed", "checkpoint_dir", "checkpoint_dir_hex", "checkpoint_interval", "device"});
  TrainOptions o;
  bool total_given = false;
  if (j.has("model")) {
    const io::JsonObject m = j.object("model");
    m.reject_unknown({"vocab", "context", "n_layer", "n_head", "width", "hidden", "rope_theta", "norm_eps",
                      "parameterization", "rank", "alpha", "delta", "b_init", "seed"});
    m.read("vocab", o.model.vocab);
    m.read("context", o.model.context);
    m.read("n_layer", o.model.n_layer);
    m.read("n_head", o.model.n_head);
    m.read("width", o.model.width);
    m.read("hidden", o.model.hidden);
    m.read("rope_theta", o.model.rope_theta);
    m.read("norm_eps", o.model.norm_eps);
    std::string kind = to_string(o.model.linear.kind);
    m.read("parameterization", kind);
    try {
      o.model.linear.kind = parse_parameterization(kind);
    } catch (const InvalidArgument& e) {
      throw InputError(source, e.what());
    }
    m.read("rank", o.model.linear.rank);
    m.read("alpha", o.model.linear.alpha);
    m.read("delta", o.model.linear.delta);
    std::string b_init = to_string(o.model.linear.b_init);
    m.read("b_init", b_init);
    try {
      o.model.linear.b_init = parse_b_init(b_init);
    } catch (const InvalidArgument& e) {
      throw InputError(source, e.what());
    }
    m.read("seed", o.model.seed);
  }
  if (j.has("optim")) {
    const io::JsonObject p = j.object("optim");
    p.reject_unknown({"lr", "min_lr_ratio", "warmup_steps", "warmup_fraction", "total_steps", "beta1", "beta2", "eps",
                      "weight_decay", "grad_clip", "galore_update_interval", "galore_scale", "muon", "sgd"});
    p.read("lr", o.optim.lr);
    p.read("min_lr_ratio", o.optim.min_lr_ratio);
    p.read("warmup_steps", o.optim.warmup_steps);
    p.read("warmup_fraction", o.optim.warmup_fraction);
    total_given = p.has("total_steps");
    p.read("total_steps", o.optim.total_steps);
    p.read("beta1", o.optim.beta1);
    p.read("beta2", o.optim.beta2);
    p.read("eps", o.optim.eps);
    p.read("weight_decay", o.optim.weight_decay);
    p.read("grad_clip", o.optim.grad_clip);
    p.read("galore_update_interval", o.optim.galore_update_interval);
    p.read("galore_scale", o.optim.galore_scale);
    p.read("muon", o.optim.muon);
    p.read("sgd", o.optim.sgd);
  }
  j.read("data", o.data_path);
  j.read("val_fraction", o.val_fraction);
  j.read("batch", o.batch);
  j.read("steps", o.steps);
  j.read("eval_interval", o.eval_interval);
  j.read("eval_batches", o.eval_batches);
  j.read("seed", o.seed);
  j.read("checkpoint_dir", o.checkpoint_dir);
  j.read("checkpoint_interval", o.checkpoint_interval);
  j.read("device", o.device);
  for (auto [key, dst] : {std::pair<const char*, std::string*>{"data_hex", &o.data_path},
                          std::pair<const char*, std::string*>{"checkpoint_dir_hex", &o.checkpoint_dir}}) {
    std::string h;
    j.read(key, h);
    if (!h.empty()) *dst = path_from_hex(h, source, key);
  }
  if (!total_given) o.optim.total_steps = std::max<std::int64_t>(1, o.steps);
  return o;
}

void resolve_default_rank(GptConfig& model) {
  if (model.linear.kind != Parameterization::Dense && model.linear.rank == 0)
    model.linear.rank = std::max<Index>(1, model.width / 4);  // the issue's default: a quarter of the width
}

std::vector<std::string> preset_names() { return {"sltrain-reference"}; }

void apply_preset(const std::string& name, TrainOptions& o) {
  if (name == "sltrain-reference") {
    // SLTrain's reference pre-training recipe (Han et al. 2024, arXiv
    // 2406.02214; its scripts/llm_pretrain/sltrain60m.sh on GaLore's
    // torchrun_main defaults): AdamW at lr 3e-3 with torch's betas
    // (0.9, 0.999) and eps 1e-8, no weight decay, no gradient clipping,
    // 10% linear warm-up (1,100 of 11,000 steps) then cosine to 10% of the
    // peak, and lora_alpha / r = 32 / 128 = 0.25 (its 60M model).
    auto& p = o.optim;
    p.lr = 3e-3;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    p.weight_decay = 0;
    p.grad_clip = 0;
    p.warmup_fraction = 0.1;
    p.min_lr_ratio = 0.1;
    auto& l = o.model.linear;
    if (l.kind == Parameterization::LowRank || l.kind == Parameterization::SLTrain) {
      if (l.rank < 1) throw InvalidArgument("preset sltrain-reference sets alpha = 0.25 * rank: give the rank first");
      l.alpha = kSltrainReferenceAlphaOverRank * static_cast<double>(l.rank);
    }
    return;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw InvalidArgument("unknown preset '" + name + "' (known: " + known + ")");
}

// ---- sampling -------------------------------------------------------------------

std::string sample_text(const Gpt<float>& model, const CharTokenizer& tok, const std::string& prompt, Index length,
                        double temperature, Index top_k, std::uint64_t seed, const std::string& device) {
  if (!(temperature > 0)) throw InvalidArgument("temperature must be > 0");
  if (length < 0) throw InvalidArgument("length must be >= 0");
  std::vector<std::int32_t> ids = prompt.empty() ? std::vector<std::int32_t>{0} : tok.encode(prompt);
  const std::size_t start = prompt.empty() ? 1 : ids.size();
  Rng rng(seed);
  const Index ctx = model.config().context;
  // The next token's logits are those of a full forward of the last
  // min(|ids|, context) tokens. While the text fits the context that window
  // is the cached prefix plus the newest token, so one decode step of
  // O(context) gives them; once it slides, every cached key and value of the
  // deeper layers saw tokens the window has dropped, so the window is run
  // again from position 0 (what a full recompute does).
  KvCache<float> cache = model.new_cache();
  // On a device the cache lives there (GptOnDevice::decode); the engine
  // mirrors a model it may write gradients into, so it gets a copy.
  Gpt<float> copy;
  std::unique_ptr<GptOnDevice> dev;
  if (device != "cpu") {
    copy = model;
    dev = open_gpt_device(copy, device);
  }
  // Logits of `tokens` after the cache, appended to it; reset: from position 0.
  auto decode = [&](const std::vector<std::int32_t>& tokens, bool reset) {
    if (dev) {
      if (reset) dev->reset_cache();
      return dev->decode(tokens);
    }
    if (reset) cache.length = 0;
    return model.decode(cache, tokens);
  };
  auto cached = [&] { return dev ? dev->cache_length() : cache.length; };
  Eigen::VectorXd last;
  // Ctrl-C stops between tokens; the text generated so far is returned.
  for (Index i = 0; i < length && !interrupt_requested(); ++i) {
    if (i == 0 || cached() == ctx) {
      const std::size_t n = std::min<std::size_t>(ids.size(), static_cast<std::size_t>(ctx));
      const Act<float> lg =
          decode(std::vector<std::int32_t>(ids.end() - static_cast<std::ptrdiff_t>(n), ids.end()), true);
      last = lg.row(static_cast<Index>(n) - 1).cast<double>().transpose();
    } else {
      last = decode({ids.back()}, false).row(0).cast<double>().transpose();
    }
    Eigen::VectorXd logits = last / temperature;
    if (top_k > 0 && top_k < logits.size()) {
      Eigen::VectorXd sorted = logits;
      std::sort(sorted.data(), sorted.data() + sorted.size(), std::greater<>());
      const double cut = sorted(top_k - 1);
      for (Index v = 0; v < logits.size(); ++v)
        if (logits(v) < cut) logits(v) = -std::numeric_limits<double>::infinity();
    }
    const double mx = logits.maxCoeff();
    std::vector<double> w(static_cast<std::size_t>(logits.size()));
    for (Index v = 0; v < logits.size(); ++v) w[static_cast<std::size_t>(v)] = std::exp(logits(v) - mx);
    ids.push_back(static_cast<std::int32_t>(rng.categorical(w.data(), w.size())));
  }
  std::vector<std::int32_t> out(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end());
  return (prompt.empty() ? std::string() : prompt) + tok.decode(out);
}

}  // namespace lowrank::nn
