#include "lowrank/diagnostics/inspect.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>

#include <re2/re2.h>

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"
#include "lowrank/linalg/svd.hpp"
#include "lowrank/nn/train.hpp"

namespace lowrank::diagnostics {

namespace fs = std::filesystem;

namespace {

bool glob_match(const char* p, const char* s) {
  // Iterative wildcard match with one backtrack point for the last '*'.
  const char* star = nullptr;
  const char* retry = nullptr;
  while (*s) {
    if (*p == '*') {
      star = p++;
      retry = s;
    } else if (*p == '?' || *p == *s) {
      ++p;
      ++s;
    } else if (star) {
      p = star + 1;
      s = ++retry;
    } else {
      return false;
    }
  }
  while (*p == '*') ++p;
  return *p == '\0';
}

std::string join_names(const std::vector<std::string>& names, std::size_t max = 12) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out.empty() ? "(nothing)" : out;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// An nn-engine checkpoint: model weights only, factored layers as one
// effective weight (see inspect.hpp).
void list_engine_checkpoint(const io::SafetensorsFile& st, std::vector<WeightTensor>& out,
                            std::vector<std::string>& all, const std::vector<std::string>* only) {
  const std::string& file = st.path();
  // The tensor layout read below is that of the checkpoint format version
  // this build writes; a newer one is refused rather than misread.
  const auto& meta = st.metadata();
  if (meta.count("version"))
    check_format_version(file, "engine checkpoint", meta.at("version"), nn::kCheckpointFormatVersion,
                         meta.count("lowrank_version") ? meta.at("lowrank_version") : std::string());
  const auto opt = meta.find("options");
  if (opt == meta.end())
    throw InputError(file, "engine checkpoint: the metadata holds no \"options\" (its training options)");
  // nn reads its own options (the JSON lives in one place); their model.alpha
  // scales the low-rank factors.
  const double alpha = nn::options_from_json(opt->second, file + " (metadata \"options\")").model.linear.alpha;
  auto wanted = [&](const std::string& name) {
    return !only || std::find(only->begin(), only->end(), name) != only->end();
  };
  for (const auto& info : st.tensors()) {
    all.push_back(info.name + " " + shape_string(info.shape));
    if (info.name.rfind("model.", 0) != 0 || !wanted(info.name)) continue;
    const std::string p = info.name.substr(6);
    WeightTensor t;
    t.file = file;
    t.dtype = io::to_string(info.dtype);
    if (info.shape.size() != 2) continue;
    if (ends_with(p, ".W") || p == "wte") {
      t.name = p;
      t.stored = info.name;
      t.shape = info.shape;
      t.rows = info.shape[0];
      t.cols = info.shape[1];
      out.push_back(std::move(t));
    } else if (ends_with(p, ".A")) {
      const std::string prefix = p.substr(0, p.size() - 2);
      const io::TensorInfo* b = st.find("model." + prefix + ".B");
      if (!b || b->shape.size() != 2 || b->shape[1] != info.shape[0]) {
        throw InputError(file, "engine checkpoint: factor model." + p + " " + shape_string(info.shape) +
                                   " needs model." + prefix + ".B of shape [out, " + std::to_string(info.shape[0]) +
                                   "]" + (b ? ", found " + shape_string(b->shape) : ", which is missing"));
      }
      t.name = prefix + ".W";
      t.rows = b->shape[0];
      t.cols = info.shape[1];
      t.shape = {t.rows, t.cols};
      t.factor_a = info.name;
      t.factor_b = b->name;
      t.factor_rank = info.shape[0];
      t.factor_scale = alpha / static_cast<double>(info.shape[0]);
      if (st.find("model." + prefix + ".S")) {
        t.sparse_values = "model." + prefix + ".S";
        t.sparse_support = "sltrain." + prefix + ".S.support";
        if (!st.find(t.sparse_support)) {
          throw InputError(file, "engine checkpoint: sparse values " + t.sparse_values + " without their support " +
                                     t.sparse_support);
        }
      }
      out.push_back(std::move(t));
    }
  }
}

// Raw listing (no filter) of one file, appended to `out`; `all` collects every
// tensor name with its shape for the "no 2-D tensor" message.
void list_file(const std::string& file, std::vector<WeightTensor>& out, std::vector<std::string>& all,
               const std::vector<std::string>* only = nullptr) {
  const std::string ext = fs::path(file).extension().string();
  auto add = [&](const std::string& name, const std::string& dtype, const std::vector<std::int64_t>& shape) {
    all.push_back(name + " " + shape_string(shape));
    if (only && std::find(only->begin(), only->end(), name) == only->end()) return;
    WeightTensor t;
    t.name = name;
    t.file = file;
    t.dtype = dtype;
    t.shape = shape;
    if (shape.size() >= 2) {
      t.rows = shape[0];
      t.cols = 1;
      for (std::size_t i = 1; i < shape.size(); ++i) t.cols *= shape[i];
    }
    out.push_back(std::move(t));
  };
  if (ext == ".npy") {
    const io::NpyArray a = io::read_npy(file);
    add(fs::path(file).stem().string(), a.dtype, a.shape);
  } else if (ext == ".npz") {
    for (const auto& m : io::read_npz(file)) add(m.name, m.array.dtype, m.array.shape);
  } else {
    const io::SafetensorsFile st(file);
    const auto format = st.metadata().find("format");
    if (format != st.metadata().end() && format->second == "lowrank-nn-checkpoint") {
      list_engine_checkpoint(st, out, all, only);
      return;
    }
    for (const auto& t : st.tensors()) add(t.name, io::to_string(t.dtype), t.shape);
  }
}

// Tensors of a sharded directory: model.safetensors.index.json's weight_map,
// else every *.safetensors file in name order.
void list_directory(const std::string& dir, std::vector<WeightTensor>& out, std::vector<std::string>& all) {
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const auto by_shard = io::read_safetensors_index(index.string());
    for (const auto& [shard, names] : by_shard) {
      const fs::path file = fs::path(dir) / shard;
      if (!fs::exists(file)) {
        throw InputError(index.string(), "shard '" + shard + "' (holding " + names.front() + ") does not exist");
      }
      std::vector<std::string> seen_before = all;
      list_file(file.string(), out, all, &names);
      for (const auto& name : names) {
        const bool found = std::any_of(out.begin(), out.end(), [&](const WeightTensor& t) {
          return t.name == name && t.file == file.string();
        });
        if (!found) throw InputError(index.string(), "tensor '" + name + "' is not in shard '" + shard + "'");
      }
    }
    return;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    throw InputError(dir, "directory holds neither model.safetensors.index.json nor *.safetensors files");
  }
  for (const auto& f : files) list_file(f, out, all);
}

bool is_double_dtype(const std::string& dtype) { return dtype == "F64" || dtype == "<f8" || dtype == "<i8"; }

template <class T>
Matrix<T> load_as(const WeightTensor& t, std::map<std::string, std::shared_ptr<io::SafetensorsFile>>* cache) {
  const std::string ext = fs::path(t.file).extension().string();
  if (ext == ".npy" || ext == ".npz") {
    Matrix<double> v;
    if (ext == ".npy") {
      v = io::read_npy(t.file).values;
    } else {
      for (auto& m : io::read_npz(t.file)) {
        if (m.name == t.name) v = std::move(m.array.values);
      }
    }
    return v.cast<T>();
  }
  std::shared_ptr<io::SafetensorsFile> file;
  if (cache) {
    auto it = cache->find(t.file);
    if (it != cache->end()) file = it->second;
  }
  if (!file) file = std::make_shared<io::SafetensorsFile>(t.file);
  if (!t.factor_a.empty()) {
    // W = scale * B A (+ S): B [rows, r] and A [r, cols] stored row-major.
    const std::vector<T> a = file->tensor_values<T>(t.factor_a), b = file->tensor_values<T>(t.factor_b);
    const Index r = t.factor_rank;
    const Matrix<T> am = Eigen::Map<const Matrix<T>>(a.data(), t.cols, r).transpose();
    const Matrix<T> bm = Eigen::Map<const Matrix<T>>(b.data(), r, t.rows).transpose();
    Matrix<T> w = static_cast<T>(t.factor_scale) * (bm * am);
    if (!t.sparse_values.empty()) {
      const std::vector<double> vals = file->tensor_values<double>(t.sparse_values);
      const std::vector<double> sup = file->tensor_values<double>(t.sparse_support);
      if (vals.size() != sup.size()) {
        throw InputError(t.file, t.sparse_values + " holds " + std::to_string(vals.size()) + " values but " +
                                     t.sparse_support + " " + std::to_string(sup.size()) + " indices");
      }
      const double total = static_cast<double>(t.rows) * static_cast<double>(t.cols);
      for (std::size_t k = 0; k < vals.size(); ++k) {
        if (!(sup[k] >= 0 && sup[k] < total) || sup[k] != std::floor(sup[k])) {
          throw InputError(t.file, t.sparse_support + "[" + std::to_string(k) + "] = " + std::to_string(sup[k]) +
                                       " is not an index into a " + std::to_string(t.rows) + " x " +
                                       std::to_string(t.cols) + " weight");
        }
        const auto idx = static_cast<std::int64_t>(sup[k]);
        w(idx / t.cols, idx % t.cols) += static_cast<T>(vals[k]);
      }
    }
    return w;
  }
  const std::vector<T> flat = file->tensor_values<T>(t.stored.empty() ? t.name : t.stored);
  // Stored row-major (C order) as rows x cols: the transpose view of a
  // column-major cols x rows map.
  return Eigen::Map<const Matrix<T>>(flat.data(), t.cols, t.rows).transpose();
}

// BLAS runs serial while layers run in parallel (one gesdd per core beats
// one gesdd spread over cores for these sizes, and the two thread pools do
// not spin against each other): detail/serial_blas.hpp.
using SerialBlas = lowrank::detail::SerialBlasScope;

}  // namespace

namespace {

// A compiled --filter. Regexes go to RE2, whose automaton matches in time
// linear in the name with no recursion (std::regex overflowed the stack on
// '.*' against a 30,000-character name and took minutes on '^(a+)+$').
class NameFilter {
 public:
  explicit NameFilter(const std::string& pattern) : m_pattern(pattern) {
    if (pattern.size() > kMaxFilterBytes)
      throw InvalidArgument("filter: " + std::to_string(pattern.size()) + " bytes; at most " +
                            std::to_string(kMaxFilterBytes) + " are accepted");
    if (pattern.rfind("re:", 0) != 0) return;
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(std::int64_t{32} << 20);  // bounds the compiled program and the DFA cache
    m_re = std::make_unique<RE2>(pattern.substr(3), o);
    if (!m_re->ok())
      throw InvalidArgument("filter: malformed regular expression '" + pattern.substr(3) + "': " + m_re->error() +
                            " (RE2 syntax: no backreferences or lookaround)");
  }
  bool operator()(const std::string& name) const {
    if (m_pattern.empty()) return true;
    if (m_re) return RE2::PartialMatch(name, *m_re);
    return glob_match(m_pattern.c_str(), name.c_str());
  }

 private:
  static constexpr std::size_t kMaxFilterBytes = 4096;
  std::string m_pattern;
  std::unique_ptr<RE2> m_re;
};

}  // namespace

bool name_matches(const std::string& name, const std::string& pattern) { return NameFilter(pattern)(name); }

std::vector<WeightTensor> list_weight_tensors(const std::string& path, const WeightSelection& selection) {
  if (!fs::exists(path)) throw InputError(path, "no such file or directory");
  std::vector<WeightTensor> raw;
  std::vector<std::string> all;
  if (fs::is_directory(path)) {
    list_directory(path, raw, all);
  } else {
    list_file(path, raw, all);
  }
  std::vector<WeightTensor> layers;
  for (auto& t : raw) {
    if (t.shape.size() < 2) continue;
    if (t.shape.size() > 2 && !selection.reshape_conv) continue;
    layers.push_back(std::move(t));
  }
  if (layers.empty()) {
    throw InputError(path, std::string("no 2-D tensor to inspect") +
                               (selection.reshape_conv ? "" : " (rank >= 3 tensors need --reshape-conv)") +
                               "; the file holds: " + join_names(all));
  }
  std::vector<std::string> names;
  for (const auto& t : layers) {
    // A name longer than any real layer's is refused before it is matched or printed.
    if (t.name.size() > kMaxTensorNameBytes)
      throw InputError(t.file, "tensor name of " + std::to_string(t.name.size()) + " bytes (starting '" +
                                   t.name.substr(0, 40) + "...'); at most " + std::to_string(kMaxTensorNameBytes) +
                                   " are accepted");
    names.push_back(t.name);
  }
  const NameFilter filter(selection.filter);  // compiled (and validated) once
  std::vector<WeightTensor> kept;
  for (auto& t : layers) {
    if (filter(t.name)) kept.push_back(std::move(t));
  }
  if (kept.empty()) {
    throw InvalidArgument("filter '" + selection.filter + "' matches none of the layers: " + join_names(names));
  }
  for (const auto& t : kept) {
    if (t.rows == 0 || t.cols == 0) {
      throw InputError(t.file, "layer '" + t.name + "' has an empty shape " + shape_string(t.shape));
    }
  }
  return kept;
}

Matrix<double> load_weight(const WeightTensor& t) { return load_as<double>(t, nullptr); }

InspectReport inspect_weights(const std::string& path, const InspectOptions& options,
                              const ProgressCallback& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  InspectReport report;
  report.path = path;
  RankSparseBoundOptions bound_options = options.bound;
  if (!options.inputs.empty()) {
    if (options.bound.input_norm != 0)
      throw InvalidArgument("give the bound's input norm B or the inputs to estimate it from, not both");
    bound_options.input_norm = input_norm_bound(load_nfa_inputs(options.inputs));
  }
  const std::vector<WeightTensor> layers = list_weight_tensors(path, options.selection);
  std::vector<WeightTensor> refs(layers.size());
  if (!options.reference.empty()) {
    WeightSelection all_sel;
    all_sel.reshape_conv = options.selection.reshape_conv;
    const auto ref_list = list_weight_tensors(options.reference, all_sel);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      auto it = std::find_if(ref_list.begin(), ref_list.end(),
                             [&](const WeightTensor& r) { return r.name == layers[i].name; });
      if (it == ref_list.end()) {
        throw InputError(options.reference, "reference weights lack layer '" + layers[i].name + "'");
      }
      if (it->rows != layers[i].rows || it->cols != layers[i].cols) {
        throw InputError(options.reference, "reference layer '" + layers[i].name + "' is " + shape_string(it->shape) +
                                                " but the weights are " + shape_string(layers[i].shape));
      }
      refs[i] = *it;
    }
  }
  // Open every safetensors file once; the mappings are shared read-only.
  std::map<std::string, std::shared_ptr<io::SafetensorsFile>> cache;
  for (const std::vector<WeightTensor>* list : {&layers, const_cast<const std::vector<WeightTensor>*>(&refs)}) {
    for (const auto& t : *list) {
      const auto ext = fs::path(t.file).extension().string();
      if (!t.file.empty() && ext != ".npy" && ext != ".npz" && !cache.count(t.file)) {
        cache[t.file] = std::make_shared<io::SafetensorsFile>(t.file);
      }
    }
  }
  // Largest layers first, for load balance.
  std::vector<std::size_t> order(layers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return layers[a].rows * layers[a].cols > layers[b].rows * layers[b].cols;
  });
  std::vector<SpectrumDiagnostics> spectra(layers.size());
  std::vector<BoundLayer> bound_layers(layers.size());
  std::vector<char> done(layers.size(), 0);
  std::vector<std::exception_ptr> errors(layers.size());
  std::mutex progress_mutex;
  int finished = 0;
  SpectrumOptions delta_options;  // singular values of A - M only feed the bound
  delta_options.p_grid.clear();
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  {
    SerialBlas serial(threads > 1 && layers.size() > 1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::size_t i = order[k];
      if (interrupt_requested()) continue;
      try {
        const WeightTensor& t = layers[i];
        BoundLayer& bl = bound_layers[i];
        bl.name = t.name;
        bl.fan_out = t.rows;
        bl.fan_in = t.cols;
        // Double tensors in double, every other dtype in float.
        const auto diagnose = [&]<class S>() {
          const Matrix<S> w = load_as<S>(t, &cache);
          spectra[i] = diagnose_matrix(w, options.spectrum, t.file + ": layer '" + t.name + "'");
          if (!options.reference.empty()) {
            const Matrix<S> m = load_as<S>(refs[i], &cache);
            const auto d = diagnose_matrix<S>(w - m, delta_options, refs[i].file + ": layer '" + t.name + "'");
            bl.delta_sv = d.singular_values;
            bl.rank_tol = d.rank_tolerance;
          }
        };
        if (is_double_dtype(t.dtype)) diagnose.template operator()<double>();
        else diagnose.template operator()<float>();
        bl.spectral = spectra[i].spectral;
        if (options.reference.empty()) {
          bl.delta_sv = spectra[i].singular_values;
          bl.rank_tol = spectra[i].rank_tolerance;
        }
        done[i] = 1;
        if (progress) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          ++finished;
          ProgressEvent ev;
          ev.stage = "inspect";
          ev.iteration = finished;
          ev.objective = std::numeric_limits<double>::quiet_NaN();
          ev.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          ev.rank = static_cast<int>(spectra[i].numerical_rank);
          progress(ev);
        }
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  std::vector<BoundLayer> finished_layers;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!done[i]) continue;
    report.layers.push_back(LayerReport{layers[i], std::move(spectra[i])});
    finished_layers.push_back(std::move(bound_layers[i]));
  }
  if (report.layers.size() < layers.size()) report.status = Status::Interrupted;
  if (!finished_layers.empty()) report.bound = rank_sparse_bound(finished_layers, bound_options);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

std::string singular_value_svg(const std::string& title, const SpectrumDiagnostics& d) {
  const double W = 480, H = 320, L = 60, R = 20, T = 30, B = 45;
  std::vector<std::pair<double, double>> pts;  // (log10 i, log10 sigma)
  for (Index i = 0; i < d.singular_values.size(); ++i) {
    if (d.singular_values[i] > 0) pts.emplace_back(std::log10(double(i + 1)), std::log10(d.singular_values[i]));
  }
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  auto esc = [](const std::string& in) {
    std::string o;
    for (char c : in) {
      if (c == '<') o += "&lt;";
      else if (c == '>') o += "&gt;";
      else if (c == '&') o += "&amp;";
      else o += c;
    }
    return o;
  };
  s << "<text x=\"" << W / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">" << esc(title) << "</text>\n";
  if (pts.empty()) {
    s << "</svg>\n";
    return s.str();
  }
  double x0 = 0, x1 = std::max(pts.back().first, 1e-9), y0 = pts.front().second, y1 = pts.front().second;
  for (const auto& p : pts) {
    y0 = std::min(y0, p.second);
    y1 = std::max(y1, p.second);
  }
  if (y1 - y0 < 1e-9) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (y1 - y) / (y1 - y0) * (H - T - B); };
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  s << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
  for (const auto& p : pts) s << px(p.first) << ',' << py(p.second) << ' ';
  s << "\"/>\n";
  if (d.decay.last > d.decay.first) {
    auto fit = [&](double i) { return std::log10(d.decay.c) - d.decay.alpha * std::log10(i); };
    const double a = std::log10(double(d.decay.first)), b = std::log10(double(d.decay.last));
    s << "<line x1=\"" << px(a) << "\" y1=\"" << py(fit(d.decay.first)) << "\" x2=\"" << px(b) << "\" y2=\""
      << py(fit(d.decay.last)) << "\" stroke=\"#d62728\" stroke-dasharray=\"5,3\"/>\n";
  }
  s << "<text x=\"" << L << "\" y=\"" << H - 25 << "\" font-size=\"11\">1</text>\n"
    << "<text x=\"" << W - R << "\" y=\"" << H - 25 << "\" font-size=\"11\" text-anchor=\"end\">" << pts.size()
    << "</text>\n"
    << "<text x=\"" << W / 2 << "\" y=\"" << H - 8
    << "\" font-size=\"12\" text-anchor=\"middle\">index i (log scale); dashed: sigma_i = " << d.decay.c << " i^-"
    << d.decay.alpha << "</text>\n"
    << "<text x=\"" << L - 5 << "\" y=\"" << py(y1) + 4 << "\" font-size=\"11\" text-anchor=\"end\">1e"
    << std::round(y1 * 10) / 10 << "</text>\n"
    << "<text x=\"" << L - 5 << "\" y=\"" << py(y0) << "\" font-size=\"11\" text-anchor=\"end\">1e"
    << std::round(y0 * 10) / 10 << "</text>\n"
    << "<text x=\"14\" y=\"" << H / 2 << "\" font-size=\"12\" transform=\"rotate(-90 14 " << H / 2
    << ")\" text-anchor=\"middle\">sigma_i</text>\n"
    << "</svg>\n";
  return s.str();
}

}  // namespace lowrank::diagnostics
