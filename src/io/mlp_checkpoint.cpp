// The NFA's MLP checkpoint format (mlp_checkpoint.hpp).
#include "lowrank/io/mlp_checkpoint.hpp"

#include <filesystem>
#include <sstream>

#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/io/safetensors.hpp"

namespace lowrank::io {

namespace {
constexpr const char* kFormat = "lowrank-nn-mlp-checkpoint";
constexpr const char* kGptFormat = "lowrank-nn-checkpoint";
constexpr int kVersion = 1;
std::string layer_name(std::size_t l) { return "layers." + std::to_string(l); }
std::string shape_str(Index r, Index c) { return "[" + std::to_string(r) + ", " + std::to_string(c) + "]"; }
}  // namespace

void write_mlp_checkpoint(const std::string& dir, const MlpCheckpointFile& net,
                          const std::map<std::string, std::string>& extra, bool f64) {
  std::map<std::string, std::string> meta;
  meta["format"] = kFormat;
  meta["version"] = std::to_string(kVersion);
  meta["lowrank_version"] = lowrank::kVersion;
  meta["activation"] = net.activation;
  std::string sizes = std::to_string(net.weights.empty() ? 0 : net.weights.front().cols());
  for (const auto& w : net.weights) {
    sizes += ',';  // appended in two steps: "," + to_string() trips GCC 12's -Wstringop-overflow false positive
    sizes += std::to_string(w.rows());
  }
  meta["sizes"] = sizes;
  meta["step"] = std::to_string(net.step);
  for (const auto& [k, v] : extra) {
    if (meta.count(k)) throw InvalidArgument("checkpoint metadata key \"" + k + "\" is reserved");
    meta[k] = v;
  }
  std::vector<io::SafetensorsEntry> entries;
  const auto dtype = f64 ? io::TensorDType::F64 : io::TensorDType::F32;
  for (std::size_t l = 0; l < net.weights.size(); ++l) {
    io::SafetensorsEntry w;
    w.name = "model." + layer_name(l) + ".W";
    w.dtype = dtype;
    w.values = net.weights[l];
    entries.push_back(std::move(w));
    if (l < net.biases.size() && net.biases[l].size()) {
      io::SafetensorsEntry b;
      b.name = "model." + layer_name(l) + ".b";
      b.dtype = dtype;
      b.values = net.biases[l];
      b.vector = true;
      entries.push_back(std::move(b));
    }
  }
  std::filesystem::create_directories(dir);
  io::write_safetensors((std::filesystem::path(dir) / "checkpoint.safetensors").string(), entries, meta);
}

MlpCheckpointFile read_mlp_checkpoint(const std::string& path_in) {
  namespace fs = std::filesystem;
  fs::path path = path_in;
  if (fs::is_directory(path)) path /= "checkpoint.safetensors";
  const std::string p = path.string();
  if (!fs::exists(path))
    throw InputError(p, "no such file (expected an MLP checkpoint directory or .safetensors file)");
  io::SafetensorsFile f(p);
  const auto& meta = f.metadata();
  const auto fmt = meta.find("format");
  if (fmt == meta.end())
    throw InputError(p, "not an MLP checkpoint: the safetensors metadata has no \"format\" (expected \"" +
                            std::string(kFormat) + "\")");
  if (fmt->second == kGptFormat)
    throw InputError(p, "this is a GPT checkpoint of `lowrank train`; the NFA needs an MLP checkpoint (format \"" +
                            std::string(kFormat) + "\", see docs/nfa.md)");
  if (fmt->second != kFormat)
    throw InputError(p, "not an MLP checkpoint (format \"" + fmt->second + "\", expected \"" + kFormat + "\")");
  for (const char* k : {"version", "activation", "sizes", "step"})
    if (!meta.count(k)) throw InputError(p, std::string("checkpoint metadata lacks \"") + k + "\"");
  check_format_version(p, "checkpoint", meta.at("version"), kVersion,
                       meta.count("lowrank_version") ? meta.at("lowrank_version") : std::string());
  MlpCheckpointFile ck;
  ck.metadata = meta;
  ck.path = p;
  ck.activation = meta.at("activation");
  std::vector<Index> sizes;
  {
    std::stringstream ss(meta.at("sizes"));
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      std::size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(tok, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != tok.size() || v < 1)
        throw InputError(p, "metadata \"sizes\" = \"" + meta.at("sizes") + "\" is not a list of positive integers");
      sizes.push_back(static_cast<Index>(v));
    }
    if (sizes.size() < 2)
      throw InputError(p,
                       "metadata \"sizes\" = \"" + meta.at("sizes") + "\" needs at least an input and an output size");
  }
  try {
    std::size_t used = 0;
    ck.step = std::stoll(meta.at("step"), &used);
    if (used != meta.at("step").size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw InputError(p, "metadata \"step\" = \"" + meta.at("step") + "\" is not an integer");
  }
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::string wn = "model." + layer_name(l) + ".W", bn = "model." + layer_name(l) + ".b";
    const auto* wi = f.find(wn);
    if (!wi) throw InputError(p, "checkpoint has no tensor \"" + wn + "\" (sizes " + meta.at("sizes") + ")");
    const std::vector<std::int64_t> want{sizes[l + 1], sizes[l]};
    if (wi->shape != want) {
      std::string got = "[";
      for (std::size_t i = 0; i < wi->shape.size(); ++i) got += (i ? ", " : "") + std::to_string(wi->shape[i]);
      throw InputError(p, "tensor \"" + wn + "\" has shape " + got + "], sizes " + meta.at("sizes") + " need " +
                              shape_str(sizes[l + 1], sizes[l]));
    }
    ck.weights.push_back(f.tensor_matrix<double>(wn));
    if (const auto* bi = f.find(bn)) {
      if (bi->shape != std::vector<std::int64_t>{sizes[l + 1]})
        throw InputError(p, "tensor \"" + bn + "\" should have shape [" + std::to_string(sizes[l + 1]) + "]");
      ck.biases.push_back(f.tensor_matrix<double>(bn).col(0));
    } else {
      ck.biases.emplace_back();
    }
  }
  const fs::path dir = path.parent_path();
  auto resolve = [&](const char* key) -> std::string {
    const auto it = meta.find(key);
    if (it == meta.end() || it->second.empty()) return {};
    const fs::path v = it->second;
    return (v.is_absolute() ? v : dir / v).lexically_normal().string();
  };
  ck.inputs = resolve("inputs");
  ck.init = resolve("init");
  return ck;
}

}  // namespace lowrank::io
