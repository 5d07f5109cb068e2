#include "lowrank/io/any.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "detail.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/io/matrix_market.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"

namespace lowrank::io {

const char* to_string(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::Triplets:
      return "triplets";
    case FileFormat::DenseCsv:
      return "csv";
    case FileFormat::MatrixMarket:
      return "matrix-market";
    case FileFormat::Npy:
      return "npy";
    case FileFormat::Npz:
      return "npz";
    case FileFormat::Safetensors:
      return "safetensors";
  }
  return "?";
}

FileFormat parse_file_format(const std::string& name) {
  if (name == "dense") return FileFormat::DenseCsv;
  if (name == "mtx" || name == "mm") return FileFormat::MatrixMarket;
  for (auto f : {FileFormat::Triplets, FileFormat::DenseCsv, FileFormat::MatrixMarket, FileFormat::Npy, FileFormat::Npz,
                 FileFormat::Safetensors})
    if (name == to_string(f)) return f;
  throw InvalidArgument("unknown file format '" + name +
                        "' (expected triplets, dense (or csv), mtx (or matrix-market), npy, npz or safetensors)");
}

namespace {

std::string extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string head(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, std::string("cannot open file: ") + std::strerror(errno));
  std::string buf(n, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(n));
  buf.resize(static_cast<std::size_t>(in.gcount()));
  return buf;
}

bool looks_like_safetensors(const std::string& h, std::uintmax_t file_size) {
  if (h.size() < 9) return false;
  std::uint64_t len = 0;
  std::memcpy(&len, h.data(), 8);
  return len >= 2 && len <= file_size - 8 && h[8] == '{';
}

constexpr std::size_t kSniffBytes = 64 * 1024;

// The text's complete lines: a head cut at kSniffBytes loses its last,
// possibly partial, line.
std::string_view whole_lines(std::string_view text, bool truncated) {
  if (!truncated) return text;
  const auto nl = text.rfind('\n');
  return nl == std::string_view::npos ? std::string_view{} : text.substr(0, nl + 1);
}

std::string_view unquote(std::string_view f) {
  f = detail::trim(f);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

// Fields of one line the way the triplet reader splits them (" " = runs of blanks).
std::vector<std::string_view> split_line(std::string_view line, const std::string& sep) {
  std::vector<std::string_view> out;
  if (sep == " ") {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      const std::size_t b = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      out.push_back(unquote(line.substr(b, i - b)));
    }
    return out;
  }
  std::size_t b = 0;
  for (;;) {
    const std::size_t e = line.find(sep, b);
    out.push_back(unquote(line.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b)));
    if (e == std::string_view::npos) return out;
    b = e + sep.size();
  }
}

bool is_number(std::string_view f) {
  double x;
  return detail::parse_double(f, x);
}

// An id field: a word or an integer, not a decimal ("2.5" is a value).
bool is_id(std::string_view f) {
  if (f.empty()) return false;
  std::int64_t k;
  return detail::parse_int64(f, k) || !is_number(f);
}

std::string lower_alnum(std::string_view f) {
  std::string s;
  for (char c : f)
    if (std::isalnum(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Header names that say "row id, column id, value".
bool names_triplets(const std::vector<std::string_view>& h) {
  static const char* rows[] = {"user", "userid",   "users",      "row",    "rowid", "i",  "source",
                               "from", "customer", "customerid", "reader", "u",     "src"};
  static const char* cols[] = {"item",   "itemid", "items",   "movie",     "movieid", "col",    "column", "colid", "j",
                               "target", "to",     "product", "productid", "book",    "bookid", "isbn",   "dst",   "v"};
  static const char* vals[] = {"rating", "ratings", "value", "score", "count", "weight", "stars", "x", "y", "val", "r"};
  auto in = [](const std::string& s, const auto& list) {
    return std::any_of(std::begin(list), std::end(list), [&](const char* w) { return s == w; });
  };
  const int hits = in(lower_alnum(h[0]), rows) + in(lower_alnum(h[1]), cols) + in(lower_alnum(h[2]), vals);
  return hits >= 2;
}

struct TripletShape {
  bool compatible = false;  ///< every sampled line is (id, id, number[, extra])
  std::string evidence;     ///< why it is surely triplets; empty = shape only
};

// Reads up to 200 data lines of the head of a text file as triplets would.
TripletShape triplet_shape(std::string_view text) {
  TripletShape out;
  detail::LineCursor lines(detail::strip_bom(text));
  std::string_view line;
  std::string sep;
  std::size_t width = 0, n = 0;
  std::vector<std::string_view> header;
  std::unordered_set<std::string_view> seen_rows, seen_cols;
  bool repeat_row = false, repeat_col = false;
  while (lines.next(line) && n < 200) {
    const auto t = detail::trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (sep.empty()) {
      if (t.find("::") != std::string_view::npos) sep = "::";
      else
        for (const char* c : {"\t", ",", ";", "|"})
          if (sep.empty() && t.find(c) != std::string_view::npos) sep = c;
      if (sep.empty()) sep = " ";
    }
    auto f = split_line(t, sep);
    if (f.size() < 3 || f.size() > 4) return out;
    if (width == 0 && header.empty() && !is_number(f[2])) {  // a header line: its value field is a name
      // An unnamed field (the empty corner R and pandas write above row names) marks a dense table.
      if (std::any_of(f.begin(), f.end(), [](std::string_view x) { return x.empty(); })) return out;
      header = f;
      width = f.size();
      continue;
    }
    if (width != 0 && f.size() != width) return out;
    width = f.size();
    if (!is_id(f[0]) || !is_id(f[1]) || !is_number(f[2])) return out;
    repeat_row = repeat_row || !seen_rows.insert(f[0]).second;
    repeat_col = repeat_col || !seen_cols.insert(f[1]).second;
    ++n;
  }
  if (n == 0) return out;
  out.compatible = true;
  if (sep == "::") out.evidence = "'::' separates its fields";
  else if (!header.empty() && names_triplets(header))
    out.evidence = "its header names a row id, a column id and a value";
  else if (repeat_row) out.evidence = "first-column ids repeat";
  else if (repeat_col) out.evidence = "second-column ids repeat";
  return out;
}

bool is_triplet_extension(const std::string& ext) {
  return ext == ".tsv" || ext == ".txt" || ext == ".data" || ext == ".dat";
}

}  // namespace

FormatGuess detect_format_explained(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) throw InputError(path, "is a directory, expected a file");
  if (!ec && !std::filesystem::is_regular_file(status))
    throw InputError(path, "not a regular file (a device, pipe or socket has no size to bound the read)");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(path, "cannot open file: " + ec.message());
  if (size == 0) throw InputError(path, "empty file");
  const std::string h = head(path, kSniffBytes);
  if (h.size() >= 6 && std::memcmp(h.data(), "\x93NUMPY", 6) == 0) return {FileFormat::Npy, ""};
  if (h.size() >= 4 && std::memcmp(h.data(), "PK\x03\x04", 4) == 0) return {FileFormat::Npz, ""};
  const std::string ext = extension(path);
  if (ext == ".npy") return {FileFormat::Npy, ""};
  if (ext == ".npz") return {FileFormat::Npz, ""};
  if (ext == ".safetensors" || looks_like_safetensors(h, size)) return {FileFormat::Safetensors, ""};
  if (ext == ".mtx" || ext == ".mm") return {FileFormat::MatrixMarket, ""};
  const auto body = detail::strip_bom(h);
  if (body.size() >= 14 && body.substr(0, 14) == "%%MatrixMarket") return {FileFormat::MatrixMarket, ""};
  // Text: triplets or a dense table, by content (the extension only breaks ties).
  const TripletShape shape = triplet_shape(whole_lines(h, h.size() == kSniffBytes));
  if (!shape.compatible) return {FileFormat::DenseCsv, ""};
  if (!shape.evidence.empty()) {
    if (ext == ".csv")
      return {FileFormat::Triplets, path + ": read as triplets (row id, column id, value) although it ends in .csv: " +
                                        shape.evidence + "; pass --format dense to read a dense table"};
    return {FileFormat::Triplets, ""};
  }
  if (ext == ".csv")
    return {FileFormat::DenseCsv,
            path +
                ": its lines could be triplets (two ids and a value) but nothing confirms it: "
                "read as a dense table by its .csv extension; pass --format triplets to read entries"};
  return {FileFormat::Triplets,
          path + ": read as triplets (row id, column id, value) from the shape of its lines" +
              (is_triplet_extension(ext) ? std::string(" and its ") + ext + " extension" : std::string()) +
              "; pass --format dense to read a dense table"};
}

FileFormat detect_format(const std::string& path) { return detect_format_explained(path).format; }

namespace {

// Records of the head of a dense text table (the last, possibly cut, one
// dropped when the head is cut); a quoting error ends the sample early.
std::vector<std::vector<std::string>> sample_records(const std::string& path, std::string_view text, char sep,
                                                     bool truncated) {
  std::vector<std::vector<std::string>> records;
  detail::RecordReader reader(text, sep, path);
  std::vector<std::string> fields;
  std::size_t line = 0;
  try {
    while (records.size() < 201 && reader.next(fields, line)) records.push_back(fields);
  } catch (const InputError&) {
    truncated = true;  // an unterminated quote in the head: keep what parsed
  }
  if (truncated && records.size() > 1 && records.size() < 201) records.pop_back();
  return records;
}

}  // namespace

CsvLayout detect_csv_layout(const std::string& path, const CsvReadOptions& given, std::optional<bool> header,
                            std::optional<bool> row_names) {
  CsvLayout out;
  const std::string h = head(path, kSniffBytes);
  const std::string_view text = detail::strip_bom(h);
  out.separator = given.separator;
  if (out.separator == '\0') {
    out.separator = detail::sniff_separator(text, ",;\t", '\0');
    if (out.separator == '\0') {
      // None of , ; tab on the first line: np.savetxt's default blank-separated layout, or one column.
      detail::LineCursor lines(text);
      std::string_view first;
      while (lines.next(first) && detail::is_blank(first)) {
      }
      const auto t = detail::trim(first);
      out.separator = t.find_first_of(" \t") != std::string_view::npos ? ' ' : ',';
    }
  }
  const auto recs = sample_records(path, text, out.separator, h.size() == kSniffBytes);
  auto numeric = [&](const std::string& cell) { return detail::is_missing(cell, given.missing) || is_number(cell); };
  const std::vector<std::string> empty_record;
  const auto& r0 = recs.empty() ? empty_record : recs[0];

  if (header) {
    out.header = *header;
  } else {
    out.header = false;
    for (std::size_t k = r0.size() > 1 ? 1 : 0; k < r0.size(); ++k)
      if (!numeric(r0[k])) out.header = true;
    if (!out.header && r0.size() >= 2 && detail::trim(r0[0]).empty() && recs.size() >= 2 &&
        !detail::trim(recs[1][0]).empty()) {
      out.header = true;  // pandas' DataFrame(x).to_csv(): an empty corner over integer column labels
      out.notes.push_back(
          path +
          ": the first line holds only numbers after an empty first field: read as a header of "
          "column names over a column of row names (pandas' to_csv layout); pass --no-header to read it as data");
    }
  }
  const std::size_t first_data = out.header ? 1 : 0;
  const std::size_t width = recs.size() > first_data ? recs[first_data].size() : r0.size();
  if (row_names) {
    out.row_names = *row_names;
    return out;
  }
  out.row_names = false;
  if (width < 2) return out;
  for (std::size_t i = first_data; i < recs.size(); ++i)
    if (!recs[i].empty() && !numeric(recs[i][0])) {
      out.row_names = true;
      return out;
    }
  if (out.header && (r0.size() + 1 == width || detail::trim(r0[0]).empty())) {
    out.row_names = true;  // R's write.csv and pandas' to_csv: no name above the row names
    return out;
  }
  // A first column counting 0, 1, 2, ... or 1, 2, 3, ... is an index (pandas' to_csv(header=False)).
  const std::size_t n = recs.size() - first_data;
  if (n >= 3) {
    std::int64_t start = 0;
    bool counts = true;
    for (std::size_t i = 0; i < n && counts; ++i) {
      std::int64_t k;
      counts = detail::parse_int64(detail::trim(recs[first_data + i][0]), k) &&
               (i == 0 ? (k == 0 || k == 1) : k == start + static_cast<std::int64_t>(i));
      if (i == 0) start = k;
    }
    if (counts) {
      out.row_names = true;
      out.notes.push_back(path + ": the first column counts " + std::to_string(start) + ", " +
                          std::to_string(start + 1) + ", " + std::to_string(start + 2) +
                          ", ... down the rows: read as row names (an index); "
                          "pass --no-row-names to read it as data");
    }
  }
  return out;
}

namespace {

DenseTable dense_of(Matrix<double> m) {
  DenseTable t;
  t.values = std::move(m);
  return t;
}

std::string npy_dtype_name(const std::string& descr) {
  if (descr == "<f8") return "float64";
  if (descr == "<f4") return "float32";
  if (descr == "<i8") return "int64";
  if (descr == "<i4") return "int32";
  return descr;
}

// "float64 (text, integer values)" or "float64 (text)": what a text file parsed to.
template <class Values>
std::string text_dtype(const Values& values, Index size) {
  for (Index k = 0; k < size; ++k) {
    const double v = values[static_cast<std::size_t>(k)];
    if (!std::isnan(v) && v != std::floor(v)) return "float64 (text)";
  }
  return "float64 (text, integer values)";
}

// Repeated row names cannot be ids: name the file, the line of the repeat
// and of its first occurrence (found again by re-reading, on this error path only).
void check_unique_row_names(const std::string& path, const DenseTable& t, const CsvLayout& layout) {
  std::unordered_map<std::string_view, std::size_t> first;
  std::size_t bad = t.row_names.size();
  for (std::size_t i = 0; i < t.row_names.size() && bad == t.row_names.size(); ++i)
    if (!first.emplace(t.row_names[i], i).second) bad = i;
  if (bad == t.row_names.size()) return;
  const std::string bytes = detail::read_file(path);
  detail::RecordReader reader(detail::strip_bom(bytes), layout.separator, path);
  std::vector<std::string> fields;
  std::size_t line = 0, record = 0, first_line = 0, bad_line = 0;
  const std::size_t want_first = first.at(t.row_names[bad]);
  if (layout.header) reader.next(fields, line);
  while (reader.next(fields, line)) {
    if (record == want_first) first_line = line;
    if (record == bad) {
      bad_line = line;
      break;
    }
    ++record;
  }
  throw InputError(path, bad_line,
                   "repeated row name " + detail::quoted(t.row_names[bad]) + " (first on line " +
                       std::to_string(first_line) +
                       "): row names must be unique to serve as ids; pass --no-row-names if the first column is data");
}

// The given format, or the detected one (its guess, if any, added to notes).
FileFormat format_of(const std::string& path, const ReadAnyOptions& o, std::vector<std::string>& notes) {
  if (o.format) return *o.format;
  FormatGuess g = detect_format_explained(path);
  if (!g.note.empty()) notes.push_back(std::move(g.note));
  return g.format;
}

// Triplet files: the triplet options with --header / --no-header applied.
TripletReadOptions triplet_options(const ReadAnyOptions& o) {
  TripletReadOptions t = o.triplets;
  if (o.header) t.header = o.header;
  return t;
}

}  // namespace

std::optional<FloatTriplets> read_triplets_any_float32(const std::string& path, const ReadAnyOptions& o) {
  FloatTriplets out;
  if (format_of(path, o, out.notes) != FileFormat::Triplets) return std::nullopt;
  TripletReadStats stats;
  out.entries = read_triplets_float32(path, triplet_options(o), &stats);
  out.header = stats.header;
  return out;
}

AnyMatrix read_matrix_any(const std::string& path, const ReadAnyOptions& o) {
  AnyMatrix out;
  out.format = format_of(path, o, out.notes);
  switch (out.format) {
    case FileFormat::Triplets: {
      TripletReadStats stats;
      auto e = read_triplets(path, triplet_options(o), &stats);
      out.header = stats.header;
      out.dtype = text_dtype(e.value, static_cast<Index>(e.value.size()));
      out.data = std::move(e);
      break;
    }
    case FileFormat::DenseCsv: {
      CsvLayout layout = detect_csv_layout(path, o.csv, o.header, o.row_names);
      CsvReadOptions c = o.csv;
      c.separator = layout.separator;
      c.header = layout.header;
      c.row_names = layout.row_names;
      DenseTable t = read_dense_csv(path, c);
      check_unique_row_names(path, t, layout);
      out.header = layout.header;
      out.row_names = layout.row_names;
      for (auto& n : layout.notes) out.notes.push_back(std::move(n));
      out.dtype = text_dtype(t.values.data(), t.values.size());
      out.data = std::move(t);
      break;
    }
    case FileFormat::MatrixMarket: {
      auto mm = read_matrix_market(path, o.mm_duplicates);
      out.dtype = mm.header.field == MmField::Real      ? "real"
                  : mm.header.field == MmField::Integer ? "integer"
                                                        : "pattern";
      if (mm.is_coordinate()) out.data = std::move(std::get<ObservedEntries<double>>(mm.data));
      else out.data = dense_of(std::move(std::get<Matrix<double>>(mm.data)));
      break;
    }
    case FileFormat::Npy: {
      auto a = read_npy(path);
      out.dtype = npy_dtype_name(a.dtype);
      out.data = dense_of(std::move(a.values));
      break;
    }
    case FileFormat::Npz: {
      auto arrays = read_npz(path);
      for (const auto& a : arrays) out.arrays.push_back(a.name);
      auto it = o.array_name.empty() ? arrays.begin()
                                     : std::find_if(arrays.begin(), arrays.end(),
                                                    [&](const NamedArray& a) { return a.name == o.array_name; });
      if (it == arrays.end()) throw InvalidArgument(path + ": no array named '" + o.array_name + "'");
      out.array_name = it->name;
      out.dtype = npy_dtype_name(it->array.dtype);
      out.data = dense_of(std::move(it->array.values));
      break;
    }
    case FileFormat::Safetensors: {
      SafetensorsFile f(path);
      for (const auto& t : f.tensors()) out.arrays.push_back(t.name);
      if (f.tensors().empty()) throw InputError(path, "the file holds no tensors");
      const TensorInfo& t = o.array_name.empty() ? f.tensors().front() : f.info(o.array_name);
      if (t.shape.size() > 2)
        throw InputError(path, "tensor '" + t.name + "' has " + std::to_string(t.shape.size()) +
                                   " dimensions; a matrix needs at most 2");
      out.array_name = t.name;
      const char* names[] = {"float64", "float32", "float16", "bfloat16"};
      out.dtype = names[static_cast<int>(t.dtype)];
      out.data = dense_of(f.tensor_matrix<double>(t.name));
      break;
    }
  }
  return out;
}

MatrixInfo describe(const AnyMatrix& a) {
  MatrixInfo info;
  info.format = a.format;
  info.dtype = a.dtype;
  info.sparse = a.is_sparse();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::size_t finite = 0;
  auto see = [&](double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++finite;
  };
  if (a.is_sparse()) {
    const auto& e = a.entries();
    info.rows = e.rows;
    info.cols = e.cols;
    info.nnz = e.nnz();
    for (double v : e.value) {
      see(v);
      if (std::isinf(v)) ++info.nonfinite;
    }
  } else {
    const auto& m = a.dense().values;
    info.rows = m.rows();
    info.cols = m.cols();
    for (Index k = 0; k < m.size(); ++k) {
      const double v = m.data()[k];
      if (std::isnan(v)) continue;
      ++info.nnz;
      if (std::isinf(v)) ++info.nonfinite;
      see(v);
    }
  }
  const double cells = static_cast<double>(info.rows) * static_cast<double>(info.cols);
  info.missing = static_cast<std::size_t>(info.rows) * static_cast<std::size_t>(info.cols) - info.nnz;
  info.density = cells > 0 ? static_cast<double>(info.nnz) / cells : 0.0;
  info.min = finite ? lo : std::nan("");
  info.max = finite ? hi : std::nan("");
  return info;
}

nlohmann::json to_json(const MatrixInfo& i) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"format", to_string(i.format)},
          {"dtype", i.dtype},
          {"rows", i.rows},
          {"cols", i.cols},
          {"sparse", i.sparse},
          {"nnz", i.nnz},
          {"missing", i.missing},
          {"nonfinite", i.nonfinite},
          {"density", i.density},
          {"min", num(i.min)},
          {"max", num(i.max)}};
}

}  // namespace lowrank::io
