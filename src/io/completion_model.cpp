#include "lowrank/io/completion_model.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>

#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/io/checksum.hpp"
#include "lowrank/io/json.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::io {

namespace fs = std::filesystem;

namespace {

void write_ids(const std::string& path, const IdMap& ids, Index n) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw InputError(path, "cannot open for writing");
    for (Index i = 0; i < n; ++i)
      out << (ids.empty() ? std::to_string(i) : ids.name(static_cast<std::int32_t>(i))) << '\n';
    if (!out) throw InputError(path, "write failed");
  }
  fs::rename(tmp, path);
}

IdMap read_ids(const std::string& path, Index expected) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "missing: the model directory is incomplete");
  IdMap ids;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (ids.find(line)) throw InputError(path, lineno, "repeated id '" + line + "'");
    ids.get_or_add(line);
  }
  if (static_cast<Index>(ids.size()) != expected) {
    throw InputError(path, "holds " + std::to_string(ids.size()) + " ids, model.json says " + std::to_string(expected));
  }
  return ids;
}

Matrix<double> read_matrix(const std::string& dir, const std::string& name, Index rows, Index cols) {
  const std::string path = (fs::path(dir) / name).string();
  if (!fs::exists(path)) throw InputError(path, "missing: the model directory is incomplete");
  NpyArray a = read_npy(path);
  if (a.values.rows() != rows || a.values.cols() != cols) {
    throw InputError(path, "has shape " + std::to_string(a.values.rows()) + " x " + std::to_string(a.values.cols()) +
                               ", model.json implies " + std::to_string(rows) + " x " + std::to_string(cols));
  }
  return std::move(a.values);
}

// Group k's files: group<k>_rows.txt (member rows, 0-based, one a line,
// increasing) and group<k>_U.npy / _d.npy / _V.npy.
std::string group_file(std::size_t k, const char* what) { return "group" + std::to_string(k) + "_" + what; }

bool is_group_file(const std::string& name) {
  return name.rfind("group", 0) == 0 && name.size() > 5 && std::isdigit(static_cast<unsigned char>(name[5])) &&
         name.find('_') != std::string::npos;
}

void write_rows(const std::string& path, const std::vector<Index>& rows) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw InputError(path, "cannot open for writing");
    for (const Index i : rows) out << i << '\n';
    if (!out) throw InputError(path, "write failed");
  }
  fs::rename(tmp, path);
}

std::vector<Index> read_rows(const std::string& path, Index model_rows, Index expected) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "missing: the model directory is incomplete");
  std::vector<Index> rows;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Index v = 0;
    const char* end = line.data() + line.size();
    const auto [ptr, ec] = std::from_chars(line.data(), end, v);
    if (line.empty() || ec != std::errc() || ptr != end)
      throw InputError(path, lineno, "expected a row index (a whole number), got '" + line + "'");
    if (v < 0 || v >= model_rows)
      throw InputError(path, lineno,
                       "row " + std::to_string(v) + " is outside the model's " + std::to_string(model_rows) + " rows");
    if (!rows.empty() && v <= rows.back())
      throw InputError(path, lineno,
                       "rows must increase (row " + std::to_string(v) + " after " + std::to_string(rows.back()) + ")");
    rows.push_back(v);
  }
  if (static_cast<Index>(rows.size()) != expected)
    throw InputError(path,
                     "holds " + std::to_string(rows.size()) + " rows, model.json says " + std::to_string(expected));
  return rows;
}

Vector<double> read_optional_vector(const std::string& dir, const std::string& name, Index n) {
  if (!fs::exists(fs::path(dir) / name)) return {};
  return read_matrix(dir, name, n, 1).col(0);
}

}  // namespace

void save_completion_model(const std::string& dir, const LowRankModel<double>& model, const nlohmann::json& metadata) {
  save_completion_model(dir, model, model.row_ids, model.col_ids, metadata);
}

void save_completion_model(const std::string& dir, const LowRankModel<double>& model, const IdMap& row_ids,
                           const IdMap& col_ids, const nlohmann::json& metadata) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir, "cannot create the model directory: " + ec.message());
  auto p = [&](const char* name) { return (fs::path(dir) / name).string(); };
  write_npy(p("U.npy"), model.U);
  write_npy(p("d.npy"), model.d);
  write_npy(p("V.npy"), model.V);
  // Remove optional parts of an older model in the same directory first.
  for (const char* n : {"row_offset.npy", "col_offset.npy", "row_scale.npy", "col_scale.npy", "sparse.npy"})
    fs::remove(p(n), ec);
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_group_file(e.path().filename().string())) fs::remove(e.path(), ec);
  if (model.row_offset.size()) write_npy(p("row_offset.npy"), model.row_offset);
  if (model.col_offset.size()) write_npy(p("col_offset.npy"), model.col_offset);
  if (model.row_scale.size()) write_npy(p("row_scale.npy"), model.row_scale);
  if (model.col_scale.size()) write_npy(p("col_scale.npy"), model.col_scale);
  if (!model.sparse.empty()) {
    Matrix<double> s(static_cast<Index>(model.sparse.nnz()), 3);
    for (std::size_t k = 0; k < model.sparse.nnz(); ++k) {
      const auto q = static_cast<Index>(k);
      s(q, 0) = model.sparse.row[k];
      s(q, 1) = model.sparse.col[k];
      s(q, 2) = model.sparse.value[k];
    }
    write_npy(p("sparse.npy"), s);
  }
  nlohmann::json groups = nlohmann::json::array();
  std::vector<std::string> group_files;
  for (std::size_t k = 0; k < model.groups.size(); ++k) {
    const LowRankGroupPart<double>& g = model.groups[k];
    for (const char* what : {"rows.txt", "U.npy", "d.npy", "V.npy"}) group_files.push_back(group_file(k, what));
    write_rows(p(group_file(k, "rows.txt").c_str()), g.rows);
    write_npy(p(group_file(k, "U.npy").c_str()), g.U);
    write_npy(p(group_file(k, "d.npy").c_str()), g.d);
    write_npy(p(group_file(k, "V.npy").c_str()), g.V);
    groups.push_back({{"name", g.name}, {"rows", g.rows.size()}, {"rank", g.rank()}});
  }
  write_ids(p("row_ids.txt"), row_ids, model.rows);
  write_ids(p("col_ids.txt"), col_ids, model.cols);
  nlohmann::json j = metadata.is_object() ? metadata : nlohmann::json::object();
  // CRC-32 of every file written above, checked by load_completion_model.
  nlohmann::json sums = nlohmann::json::object();
  for (const char* n : {"U.npy", "d.npy", "V.npy", "row_offset.npy", "col_offset.npy", "row_scale.npy", "col_scale.npy",
                        "sparse.npy", "row_ids.txt", "col_ids.txt"})
    if (fs::exists(p(n))) sums[n] = crc32_hex(crc32_file(p(n)));
  for (const std::string& n : group_files) sums[n] = crc32_hex(crc32_file(p(n.c_str())));
  j["checksums"] = sums;
  if (groups.empty()) j.erase("groups");
  else j["groups"] = groups;
  j["format"] = "lowrank-completion-model";
  j["version"] = kCompletionModelVersion;
  j["lowrank_version"] = kVersion;
  j["rows"] = model.rows;
  j["cols"] = model.cols;
  j["rank"] = model.rank();
  j["global_offset"] = model.global_offset;
  if (model.clipped()) j["clip"] = {model.clip_low, model.clip_high};
  else j.erase("clip");
  write_json(p("model.json"), j);
}

SavedCompletionModel load_completion_model(const std::string& dir) {
  const std::string meta_path = (fs::path(dir) / "model.json").string();
  if (!fs::is_directory(dir))
    throw InputError(dir, "not a directory (expected a model written by `lowrank complete --out`)");
  if (!fs::exists(meta_path)) throw InputError(meta_path, "missing: not a lowrank model directory");
  SavedCompletionModel out;
  out.metadata = read_json(meta_path);
  const auto& j = out.metadata;
  if (!j.is_object() || j.value("format", "") != "lowrank-completion-model") {
    throw InputError(meta_path, "is not a lowrank completion model (format tag missing or different)");
  }
  if (!j.contains("version")) throw InputError(meta_path, "field 'version' (the model format version) missing");
  const auto& v = j["version"];
  // Version 1 (before group parts) has the same files less the groups.
  if (!(v.is_number_integer() && v.get<long long>() == 1))
    check_format_version(meta_path, "completion model",
                         v.is_number_integer() ? std::to_string(v.get<long long>()) : v.dump(), kCompletionModelVersion,
                         j.value("lowrank_version", ""));
  for (const char* key : {"rows", "cols", "rank", "global_offset"}) {
    if (!j.contains(key) || !j[key].is_number())
      throw InputError(meta_path, std::string("field '") + key + "' missing or not a number");
  }
  // Models written before the checksums existed have no "checksums" and load unchecked.
  if (j.contains("checksums")) {
    if (!j["checksums"].is_object()) throw InputError(meta_path, "field 'checksums' must be an object");
    for (const auto& [name, crc] : j["checksums"].items()) {
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' || !crc.is_string())
        throw InputError(meta_path, "field 'checksums' holds a bad entry '" + name + "'");
      const std::string file = (fs::path(dir) / name).string();
      if (!fs::exists(file)) throw InputError(file, "missing: the model directory is incomplete");
      const std::string got = crc32_hex(crc32_file(file));
      if (got != crc.get<std::string>())
        throw InputError(file, "fails its checksum (CRC-32 " + got + ", model.json says " + crc.get<std::string>() +
                                   "): the file was changed or damaged after it was written");
    }
  }
  LowRankModel<double>& m = out.model;
  m.rows = j["rows"].get<Index>();
  m.cols = j["cols"].get<Index>();
  const Index r = j["rank"].get<Index>();
  if (m.rows <= 0 || m.cols <= 0 || r < 0 || r > std::min(m.rows, m.cols)) {
    throw InputError(meta_path, "inconsistent shape: rows, cols, rank = " + std::to_string(m.rows) + ", " +
                                    std::to_string(m.cols) + ", " + std::to_string(r));
  }
  m.global_offset = j["global_offset"].get<double>();
  if (j.contains("clip")) {
    const auto& c = j["clip"];
    if (!c.is_array() || c.size() != 2 || !c[0].is_number() || !c[1].is_number() ||
        !(c[0].get<double>() <= c[1].get<double>()))
      throw InputError(meta_path, "field 'clip' must be [low, high] with low <= high");
    m.clip_low = c[0].get<double>();
    m.clip_high = c[1].get<double>();
  }
  m.U = read_matrix(dir, "U.npy", m.rows, r);
  m.d = read_matrix(dir, "d.npy", r, 1).col(0);
  m.V = read_matrix(dir, "V.npy", m.cols, r);
  m.row_offset = read_optional_vector(dir, "row_offset.npy", m.rows);
  m.col_offset = read_optional_vector(dir, "col_offset.npy", m.cols);
  m.row_scale = read_optional_vector(dir, "row_scale.npy", m.rows);
  m.col_scale = read_optional_vector(dir, "col_scale.npy", m.cols);
  if (fs::exists(fs::path(dir) / "sparse.npy")) {
    const std::string sp = (fs::path(dir) / "sparse.npy").string();
    const NpyArray a = read_npy(sp);
    if (a.values.cols() != 3)
      throw InputError(sp, "has " + std::to_string(a.values.cols()) + " columns, expected 3 (row, col, value)");
    for (Index k = 0; k < a.values.rows(); ++k) {
      const double r = a.values(k, 0), c = a.values(k, 1), v = a.values(k, 2);
      if (!(r >= 0 && r < static_cast<double>(m.rows) && r == std::floor(r)) ||
          !(c >= 0 && c < static_cast<double>(m.cols) && c == std::floor(c)))
        throw InputError(sp, "row " + std::to_string(k) + ": (" + std::to_string(r) + ", " + std::to_string(c) +
                                 ") is not an entry of the " + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
                                 " model");
      if (!std::isfinite(v)) throw InputError(sp, "row " + std::to_string(k) + ": value is not finite");
      const auto ri = static_cast<std::int32_t>(r), ci = static_cast<std::int32_t>(c);
      if (k > 0 && std::make_pair(m.sparse.row.back(), m.sparse.col.back()) >= std::make_pair(ri, ci))
        throw InputError(sp, "row " + std::to_string(k) + ": entries must be sorted by (row, col) without repeats");
      m.sparse.row.push_back(ri);
      m.sparse.col.push_back(ci);
      m.sparse.value.push_back(v);
    }
  }
  if (j.contains("groups")) {
    const auto& gs = j["groups"];
    if (!gs.is_array()) throw InputError(meta_path, "field 'groups' must be an array of {name, rows, rank}");
    for (std::size_t k = 0; k < gs.size(); ++k) {
      const auto& g = gs[k];
      const std::string at = "field 'groups' entry " + std::to_string(k);
      if (!g.is_object() || !g.contains("name") || !g["name"].is_string() || !g.contains("rows") ||
          !g["rows"].is_number_integer() || !g.contains("rank") || !g["rank"].is_number_integer())
        throw InputError(meta_path, at + ": expected {\"name\": string, \"rows\": integer, \"rank\": integer}");
      const Index gm = g["rows"].get<Index>(), gr = g["rank"].get<Index>();
      if (gm < 0 || gm > m.rows || gr < 0 || gr > std::min(gm, m.cols))
        throw InputError(meta_path, at + ": inconsistent shape: rows, rank = " + std::to_string(gm) + ", " +
                                        std::to_string(gr) + " in a " + std::to_string(m.rows) + " x " +
                                        std::to_string(m.cols) + " model");
      LowRankGroupPart<double> part;
      part.name = g["name"].get<std::string>();
      part.rows = read_rows((fs::path(dir) / group_file(k, "rows.txt")).string(), m.rows, gm);
      part.U = read_matrix(dir, group_file(k, "U.npy"), gm, gr);
      part.d = read_matrix(dir, group_file(k, "d.npy"), gr, 1).col(0);
      part.V = read_matrix(dir, group_file(k, "V.npy"), m.cols, gr);
      auto finite_part = [&](const auto& a, const char* what) {
        if (!a.allFinite())
          throw InputError((fs::path(dir) / group_file(k, what)).string(), "holds a NaN or infinite value");
      };
      finite_part(part.U, "U.npy");
      finite_part(part.d, "d.npy");
      finite_part(part.V, "V.npy");
      m.groups.push_back(std::move(part));
    }
  }
  // Shapes were checked file by file above; values must be finite (the same
  // rule as LowRankModel::check).
  auto finite = [&](const auto& v, const char* file) {
    if (!v.allFinite()) throw InputError((fs::path(dir) / file).string(), "holds a NaN or infinite value");
  };
  finite(m.U, "U.npy");
  finite(m.d, "d.npy");
  finite(m.V, "V.npy");
  finite(m.row_offset, "row_offset.npy");
  finite(m.col_offset, "col_offset.npy");
  finite(m.row_scale, "row_scale.npy");
  finite(m.col_scale, "col_scale.npy");
  if (!std::isfinite(m.global_offset)) throw InputError(meta_path, "global_offset is not finite");
  out.row_ids = read_ids((fs::path(dir) / "row_ids.txt").string(), m.rows);
  out.col_ids = read_ids((fs::path(dir) / "col_ids.txt").string(), m.cols);
  m.row_ids = out.row_ids;
  m.col_ids = out.col_ids;
  return out;
}

}  // namespace lowrank::io
