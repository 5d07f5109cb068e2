// Checkpoints of the nn engine: one safetensors file with JSON metadata,
// written through io::write_safetensors (temporary file + rename).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lowrank/io/safetensors.hpp"
#include "lowrank/nn/train.hpp"

namespace lowrank::nn {

namespace {

constexpr const char* kFormat = "lowrank-nn-checkpoint";
constexpr int kVersion = 1;

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

std::string unhex(const std::string& h, const std::string& source) {
  if (h.size() % 2) throw InputError(source, "malformed vocabulary in checkpoint metadata");
  // Digit by digit: std::stoi threw std::invalid_argument on "zz" and took "+f" or " f".
  const auto digit = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw InputError(source, "malformed vocabulary in checkpoint metadata (vocab_hex holds a non-hex character)");
  };
  std::string o;
  for (std::size_t i = 0; i < h.size(); i += 2) o.push_back(static_cast<char>(digit(h[i]) * 16 + digit(h[i + 1])));
  return o;
}

// Parameters the config's model holds (analytic_param_count, in double so that
// a hostile width or layer count cannot overflow): each is stored as float32,
// so a checkpoint smaller than 4 bytes per parameter is refused before the
// model is allocated (a 300-byte file could otherwise ask for terabytes).
double param_count_bound(const GptConfig& c) {
  const double C = static_cast<double>(c.width), F = static_cast<double>(c.hidden_size()),
               V = static_cast<double>(c.vocab), r = static_cast<double>(c.linear.rank);
  const auto linear = [&](double in, double out) {
    switch (c.linear.kind) {
      case Parameterization::LowRank: return r * (in + out);
      case Parameterization::SLTrain: return r * (in + out) + std::max(1.0, c.linear.delta * in * out);
      default: return in * out;
    }
  };
  const double block = 2 * C + 4 * linear(C, C) + 2 * linear(C, F) + linear(F, C);
  return 2 * V * C + C + static_cast<double>(c.n_layer) * block;
}

io::SafetensorsEntry entry(const std::string& name, const Act<float>& m) {
  io::SafetensorsEntry e;
  e.name = name;
  e.dtype = io::TensorDType::F32;
  e.values = m.cast<double>();  // row-major -> column-major copy; float -> double is exact
  return e;
}

void read_into(const io::SafetensorsFile& f, const std::string& name, Act<float>& dst) {
  const auto* info = f.find(name);
  if (!info) throw InputError(f.path(), "checkpoint has no tensor \"" + name + "\"");
  const std::vector<std::int64_t> want{dst.rows(), dst.cols()};
  if (info->shape != want)
    throw InputError(f.path(), "tensor \"" + name + "\" has shape [" +
                                   (info->shape.empty() ? std::string() : std::to_string(info->shape[0])) +
                                   (info->shape.size() > 1 ? ", " + std::to_string(info->shape[1]) : std::string()) +
                                   "], the config needs [" + std::to_string(dst.rows()) + ", " +
                                   std::to_string(dst.cols()) + "]");
  const auto v = f.tensor_values<float>(name);
  std::copy(v.begin(), v.end(), dst.data());
}

}  // namespace

void save_checkpoint(const std::string& dir, Trainer& t) {
  std::filesystem::create_directories(dir);
  std::vector<io::SafetensorsEntry> entries;
  auto params = t.model.parameters();
  const auto& st = t.optimizer.state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    entries.push_back(entry("model." + p.name, *p.value));
    if (st[i].m.size()) entries.push_back(entry("opt.m." + p.name, st[i].m));
    if (st[i].v.size()) entries.push_back(entry("opt.v." + p.name, st[i].v));
    if (st[i].proj.size()) entries.push_back(entry("opt.proj." + p.name, st[i].proj));
  }
  auto lins = t.model.linears();
  auto all = t.model.parameters();
  // SLTrain supports, named after the layer's S tensor.
  for (const auto& p : all) {
    if (p.kind != ParamKind::Sparse) continue;
    for (auto* l : lins)
      if (&l->S == p.value) {
        io::SafetensorsEntry e;
        e.name = "sltrain." + p.name + ".support";
        e.dtype = io::TensorDType::F64;
        e.values.resize(static_cast<Index>(l->support.size()), 1);
        for (std::size_t k = 0; k < l->support.size(); ++k) e.values(static_cast<Index>(k), 0) = static_cast<double>(l->support[k]);
        e.vector = true;
        entries.push_back(std::move(e));
      }
  }
  std::map<std::string, std::string> meta;
  meta["format"] = kFormat;
  meta["version"] = std::to_string(kVersion);
  meta["options"] = options_to_json(t.options());
  meta["step"] = std::to_string(t.step);
  meta["optimizer_step"] = std::to_string(t.optimizer.steps_taken());
  meta["rng"] = rng_state(t.rng);
  meta["vocab_hex"] = hex(t.data().tokenizer.vocab());
  io::write_safetensors(dir + "/checkpoint.safetensors", entries, meta);
  const std::string cfg = dir + "/config.json", tmp = cfg + ".tmp";
  {
    std::ofstream out(tmp);
    out << meta["options"] << "\n";
  }
  std::filesystem::rename(tmp, cfg);
}

Trainer load_checkpoint(const std::string& dir, const TrainOptions* override_options) {
  const std::string path = dir + "/checkpoint.safetensors";
  if (!std::filesystem::exists(path)) throw InputError(path, "no checkpoint here (file missing)");
  io::SafetensorsFile f(path);
  const auto& meta = f.metadata();
  for (const char* k : {"format", "version", "options", "step", "optimizer_step", "rng", "vocab_hex"})
    if (!meta.count(k)) throw InputError(path, std::string("checkpoint metadata lacks \"") + k + "\"");
  if (meta.at("format") != kFormat) throw InputError(path, "not a lowrank nn checkpoint (format " + meta.at("format") + ")");
  if (meta.at("version") != std::to_string(kVersion))
    throw InputError(path, "checkpoint version " + meta.at("version") + " is not supported (expected " +
                               std::to_string(kVersion) + ")");
  TrainOptions stored = options_from_json(meta.at("options"), path + " (metadata)");
  if (override_options) {
    const auto& o = *override_options;
    GptConfig a = o.model, b = stored.model;
    a.vocab = b.vocab;  // the vocabulary comes from the data
    TrainOptions ta, tb;
    ta.model = a;
    tb.model = b;
    const auto m1 = options_to_json(ta), m2 = options_to_json(tb);
    if (m1 != m2)
      throw InputError(path, "the checkpoint's model (" + std::string(to_string(b.linear.kind)) + ", width " +
                                 std::to_string(b.width) + ", " + std::to_string(b.n_layer) + " layers, rank " +
                                 std::to_string(b.linear.rank) + ") differs from the requested config (" +
                                 to_string(a.linear.kind) + ", width " + std::to_string(a.width) + ", " +
                                 std::to_string(a.n_layer) + " layers, rank " + std::to_string(a.linear.rank) + ")");
    stored.steps = o.steps;
    stored.eval_interval = o.eval_interval;
    stored.eval_batches = o.eval_batches;
    stored.checkpoint_dir = o.checkpoint_dir;
    stored.checkpoint_interval = o.checkpoint_interval;
    stored.device = o.device;
    if (!o.data_path.empty()) stored.data_path = o.data_path;
  }
  Trainer t;
  t.m_opt = stored;
  t.m_data = load_text(stored.data_path, stored.val_fraction, stored.model.context);
  t.m_baseline_rss = current_rss_bytes();
  const std::string vocab = unhex(meta.at("vocab_hex"), path);
  if (t.m_data.tokenizer.vocab() != vocab)
    throw InputError(stored.data_path, "the text's vocabulary (" + std::to_string(t.m_data.tokenizer.size()) +
                                           " symbols) differs from the checkpoint's (" + std::to_string(vocab.size()) + ")");
  t.m_opt.model.vocab = t.m_data.tokenizer.size();
  t.m_opt.validate();
  const double need = 4 * param_count_bound(t.m_opt.model), have = static_cast<double>(std::filesystem::file_size(path));
  if (!(need <= have))
    throw InputError(path, "the stored config describes a model of " + std::to_string(need / 4) +
                               " float32 parameters but the checkpoint holds " + std::to_string(have) + " bytes");
  t.model = Gpt<float>(t.m_opt.model);
  auto params = t.model.parameters();
  for (auto& p : params) read_into(f, "model." + p.name, *p.value);
  for (auto* l : t.model.linears()) {
    if (l->support.empty()) continue;
    for (auto& p : params)
      if (p.value == &l->S) {
        const std::string name = "sltrain." + p.name + ".support";
        if (!f.find(name)) throw InputError(path, "checkpoint has no tensor \"" + name + "\"");
        const auto v = f.tensor_values<double>(name);
        if (v.size() != l->support.size()) throw InputError(path, "tensor \"" + name + "\" has the wrong length");
        const double limit = static_cast<double>(l->in()) * static_cast<double>(l->out());
        for (std::size_t k = 0; k < v.size(); ++k) {
          if (!(v[k] >= 0 && v[k] < limit) || v[k] != std::floor(v[k]))
            throw InputError(path, "tensor \"" + name + "\" holds an index outside the layer");
          l->support[k] = static_cast<std::int64_t>(v[k]);
        }
      }
  }
  t.optimizer = Optimizer<float>(t.m_opt.optim, params);
  auto& st = t.optimizer.state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (st[i].m.size()) read_into(f, "opt.m." + params[i].name, st[i].m);
    if (st[i].v.size()) read_into(f, "opt.v." + params[i].name, st[i].v);
    if (const auto* info = f.find("opt.proj." + params[i].name)) {
      if (info->shape.size() != 2) throw InputError(path, "bad GaLore basis tensor");
      st[i].proj.resize(info->shape[0], info->shape[1]);
      read_into(f, "opt.proj." + params[i].name, st[i].proj);
    }
  }
  try {
    t.step = std::stoll(meta.at("step"));
    t.optimizer.set_steps_taken(std::stoll(meta.at("optimizer_step")));
    set_rng_state(t.rng, meta.at("rng"));
  } catch (const std::exception& e) {
    throw InputError(path, std::string("bad step or RNG state in metadata: ") + e.what());
  }
  return t;
}

}  // namespace lowrank::nn
