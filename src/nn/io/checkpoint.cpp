// Checkpoints of the nn engine: one safetensors file with JSON metadata,
// written through io::write_safetensors (temporary file + rename).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "lowrank/core/version.hpp"
#include "lowrank/io/checksum.hpp"
#include "lowrank/io/json_object.hpp"
#include "lowrank/io/safetensors.hpp"
#include "lowrank/nn/train.hpp"

namespace lowrank::nn {

namespace {

constexpr const char* kFormat = "lowrank-nn-checkpoint";
constexpr int kVersion = kCheckpointFormatVersion;

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unhex(const std::string& h, const std::string& source) {
  if (h.size() % 2)
    throw InputError(source,
                     "metadata \"vocab_hex\" has an odd number of hex digits (" + std::to_string(h.size()) + ")");
  std::string o;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int hi = hex_digit(h[i]), lo = hex_digit(h[i + 1]);
    if (hi < 0 || lo < 0)
      throw InputError(source, "metadata \"vocab_hex\" holds a non-hex character at position " +
                                   std::to_string(hi < 0 ? i : i + 1));
    o.push_back(static_cast<char>(hi * 16 + lo));
  }
  return o;
}

// A whole-string decimal integer of metadata (std::stoll would accept "12abc").
std::int64_t meta_int(const std::map<std::string, std::string>& meta, const char* key, const std::string& source) {
  const std::string& v = meta.at(key);
  std::int64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size())
    throw InputError(source, std::string("metadata \"") + key + "\" is not an integer ('" + v + "')");
  if (x < 0) throw InputError(source, std::string("metadata \"") + key + "\" is negative (" + v + ")");
  return x;
}

// CRC-32 of a tensor's stored bytes: F32 values as float, F64 as double
// (little-endian, as write_safetensors stores them).
std::uint32_t tensor_crc(const io::SafetensorsEntry& e) {
  const RowMajorMatrix<double> rm = e.values;
  if (e.dtype == io::TensorDType::F64)
    return io::crc32(rm.data(), static_cast<std::size_t>(rm.size()) * sizeof(double));
  std::vector<float> f(static_cast<std::size_t>(rm.size()));
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = static_cast<float>(rm.data()[k]);
  return io::crc32(f.data(), f.size() * sizeof(float));
}

std::uint32_t tensor_crc(const io::SafetensorsFile& f, const io::TensorInfo& t) {
  if (t.dtype == io::TensorDType::F64) {
    const auto v = f.tensor_values<double>(t.name);
    return io::crc32(v.data(), v.size() * sizeof(double));
  }
  if (t.dtype != io::TensorDType::F32)
    throw InputError(f.path(), "tensor \"" + t.name + "\" has dtype " + io::to_string(t.dtype) +
                                   "; lowrank checkpoints hold F32 and F64 only");
  const auto v = f.tensor_values<float>(t.name);
  return io::crc32(v.data(), v.size() * sizeof(float));
}

// Bit flips in the data region: every tensor's CRC-32 against the one saved.
void verify_checksums(const io::SafetensorsFile& f) {
  const auto it = f.metadata().find("tensor_crc32");
  if (it == f.metadata().end()) return;  // written before the checksums existed
  const io::JsonObject crcs = io::JsonObject::parse(it->second, f.path() + " (metadata \"tensor_crc32\")");
  for (const auto& t : f.tensors()) {
    std::string want;
    if (!crcs.has(t.name)) throw InputError(f.path(), "tensor \"" + t.name + "\" has no checksum in the metadata");
    crcs.read(t.name, want);
    const std::string got = io::crc32_hex(tensor_crc(f, t));
    if (got != want)
      throw InputError(f.path(), "tensor \"" + t.name + "\" fails its checksum (CRC-32 " + got + ", saved " + want +
                                     "): the file was damaged after it was written");
  }
  if (crcs.keys().size() != f.tensors().size())
    throw InputError(f.path(), "metadata \"tensor_crc32\" lists " + std::to_string(crcs.keys().size()) +
                                   " tensors, the file holds " + std::to_string(f.tensors().size()));
}

// The fields of two option sets that change the loss curve, each named with
// both values ("model.width: checkpoint 64, requested 32").
std::vector<std::string> curve_differences(const TrainOptions& stored, const TrainOptions& requested) {
  const auto a = io::JsonObject::parse(options_to_json(stored), "checkpoint options");
  const auto b = io::JsonObject::parse(options_to_json(requested), "requested options");
  std::vector<std::string> out;
  auto cmp = [&](const io::JsonObject& x, const io::JsonObject& y, const std::string& prefix, const std::string& key) {
    if (x.has(key) && y.has(key) && x.dump_value(key) != y.dump_value(key))
      out.push_back(prefix + key + ": checkpoint " + x.dump_value(key) + ", requested " + y.dump_value(key));
  };
  const auto am = a.object("model"), bm = b.object("model"), ao = a.object("optim"), bo = b.object("optim");
  for (const auto& k : am.keys())
    if (k != "vocab") cmp(am, bm, "model.", k);
  for (const auto& k : ao.keys())
    if (k != "total_steps") cmp(ao, bo, "optim.", k);
  for (const char* k : {"batch", "val_fraction", "seed"}) cmp(a, b, "", k);
  return out;
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint.safetensors.tmp-", 0) == 0 || name == "config.json.tmp" ||
        name.rfind(".write-probe-", 0) == 0)
      std::filesystem::remove(e.path(), ec);
  }
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
      case Parameterization::LowRank:
        return r * (in + out);
      case Parameterization::SLTrain:
        return r * (in + out) + (c.linear.delta > 0 ? std::max(1.0, c.linear.delta * in * out) : 0.0);
      default:
        return in * out;
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
  for (std::size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]))
      throw InputError(f.path(), "tensor \"" + name + "\" holds " + (std::isnan(v[k]) ? "NaN" : "an infinite value") +
                                     " at flat index " + std::to_string(k) +
                                     "; a checkpoint is written only from finite weights");
  std::copy(v.begin(), v.end(), dst.data());
}

}  // namespace

void check_checkpoint_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(dir, "checkpoint directory: a file of this name exists (checkpoints go into a directory)");
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir, "checkpoint directory: cannot create it: " + ec.message());
  std::string probe = (fs::path(dir) / ".write-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) throw InputError(dir, std::string("checkpoint directory: cannot write into it: ") + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

TrainOptions checkpoint_options(const std::string& dir) {
  const std::string path = dir + "/checkpoint.safetensors";
  if (!std::filesystem::exists(path)) throw InputError(path, "no checkpoint here (file missing)");
  io::SafetensorsFile f(path);
  const auto it = f.metadata().find("options");
  if (it == f.metadata().end()) throw InputError(path, "checkpoint metadata lacks \"options\"");
  return options_from_json(it->second, path + " (metadata)");
}

void save_checkpoint(const std::string& dir, Trainer& t) {
  std::filesystem::create_directories(dir);
  remove_stale_temporaries(dir);
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
        for (std::size_t k = 0; k < l->support.size(); ++k)
          e.values(static_cast<Index>(k), 0) = static_cast<double>(l->support[k]);
        e.vector = true;
        entries.push_back(std::move(e));
      }
  }
  std::map<std::string, std::string> meta;
  meta["format"] = kFormat;
  meta["version"] = std::to_string(kVersion);
  meta["lowrank_version"] = lowrank::kVersion;
  meta["options"] = options_to_json(t.options());
  meta["step"] = std::to_string(t.step);
  meta["optimizer_step"] = std::to_string(t.optimizer.steps_taken());
  meta["rng"] = rng_state(t.rng);
  meta["vocab_hex"] = hex(t.data().tokenizer.vocab());
  io::JsonObject crcs;
  for (const auto& e : entries) crcs.set(e.name, io::crc32_hex(tensor_crc(e)));
  meta["tensor_crc32"] = crcs.dump();
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
  if (meta.at("format") != kFormat)
    throw InputError(path, "not a lowrank nn checkpoint (format " + meta.at("format") + ")");
  check_format_version(path, "checkpoint", meta.at("version"), kVersion,
                       meta.count("lowrank_version") ? meta.at("lowrank_version") : std::string());
  const std::int64_t step = meta_int(meta, "step", path);
  const std::int64_t optimizer_step = meta_int(meta, "optimizer_step", path);
  verify_checksums(f);
  TrainOptions stored = options_from_json(meta.at("options"), path + " (metadata)");
  // Checkpoints go where this one was read from, not where the run that
  // wrote it kept them (a copied run must not overwrite the original).
  stored.checkpoint_dir = dir;
  std::int64_t steps = stored.steps;
  if (override_options) {
    const auto& o = *override_options;
    const auto diff = curve_differences(stored, o);
    if (!diff.empty()) {
      std::string list;
      for (const auto& d : diff) list += (list.empty() ? "" : "; ") + d;
      throw InputError(path, "the checkpoint's configuration differs from the requested one (" + list +
                                 "); resume without those flags, or start a new run");
    }
    steps = o.steps;
    stored.eval_interval = o.eval_interval;
    stored.eval_batches = o.eval_batches;
    if (!o.checkpoint_dir.empty()) stored.checkpoint_dir = o.checkpoint_dir;
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
                                           " symbols) differs from the checkpoint's (" + std::to_string(vocab.size()) +
                                           ")");
  t.m_opt.model.vocab = t.m_data.tokenizer.size();
  try {
    t.m_opt.validate();
  } catch (const InvalidArgument& e) {
    // The value came from the checkpoint, not from a flag: name the file.
    throw InputError(path, std::string("stored config (metadata \"options\"): ") + e.what());
  }
  const double need = 4 * param_count_bound(t.m_opt.model),
               have = static_cast<double>(std::filesystem::file_size(path));
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
  t.step = step;
  t.optimizer.set_steps_taken(optimizer_step);
  try {
    set_rng_state(t.rng, meta.at("rng"));
  } catch (const std::exception& e) {
    throw InputError(path, std::string("bad RNG state in metadata: ") + e.what());
  }
  t.set_steps(steps);
  return t;
}

}  // namespace lowrank::nn
