#include "lowrank/io/any.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "detail.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/io/matrix_market.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"

namespace lowrank::io {

const char* to_string(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::Triplets: return "triplets";
    case FileFormat::DenseCsv: return "csv";
    case FileFormat::MatrixMarket: return "matrix-market";
    case FileFormat::Npy: return "npy";
    case FileFormat::Npz: return "npz";
    case FileFormat::Safetensors: return "safetensors";
  }
  return "?";
}

FileFormat parse_file_format(const std::string& name) {
  for (auto f : {FileFormat::Triplets, FileFormat::DenseCsv, FileFormat::MatrixMarket, FileFormat::Npy, FileFormat::Npz,
                 FileFormat::Safetensors})
    if (name == to_string(f)) return f;
  throw InvalidArgument("unknown file format '" + name + "' (expected triplets, csv, matrix-market, npy, npz or safetensors)");
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

// First data line of a text file split the way triplets are: "::", tab,
// or blanks, with 3-4 fields -> triplets.
bool looks_like_triplets(std::string_view text) {
  detail::LineCursor lines(detail::strip_bom(text));
  std::string_view line;
  while (lines.next(line)) {
    const auto t = detail::trim(line);
    if (t.empty() || t.front() == '#') continue;
    std::size_t fields = 0;
    if (t.find("::") != std::string_view::npos) {
      fields = 1;
      for (std::size_t p = t.find("::"); p != std::string_view::npos; p = t.find("::", p + 2)) ++fields;
    } else if (t.find(',') != std::string_view::npos || t.find(';') != std::string_view::npos) {
      return false;
    } else {
      bool in = false;
      for (char c : t) {
        const bool blank = c == ' ' || c == '\t';
        if (!blank && !in) ++fields;
        in = !blank;
      }
    }
    return fields == 3 || fields == 4;
  }
  return false;
}

}  // namespace

FileFormat detect_format(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) throw InputError(path, "is a directory, expected a file");
  if (!ec && !std::filesystem::is_regular_file(status))
    throw InputError(path, "not a regular file (a device, pipe or socket has no size to bound the read)");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(path, "cannot open file: " + ec.message());
  if (size == 0) throw InputError(path, "empty file");
  const std::string h = head(path, 4096);
  if (h.size() >= 6 && std::memcmp(h.data(), "\x93NUMPY", 6) == 0) return FileFormat::Npy;
  if (h.size() >= 4 && std::memcmp(h.data(), "PK\x03\x04", 4) == 0) return FileFormat::Npz;
  const std::string ext = extension(path);
  if (ext == ".npy") return FileFormat::Npy;
  if (ext == ".npz") return FileFormat::Npz;
  if (ext == ".safetensors" || looks_like_safetensors(h, size)) return FileFormat::Safetensors;
  if (ext == ".mtx" || ext == ".mm") return FileFormat::MatrixMarket;
  const auto body = detail::strip_bom(h);
  if (body.size() >= 14 && body.substr(0, 14) == "%%MatrixMarket") return FileFormat::MatrixMarket;
  if (ext == ".csv") return FileFormat::DenseCsv;
  if (ext == ".tsv" || ext == ".txt" || ext == ".data" || ext == ".dat") return FileFormat::Triplets;
  return looks_like_triplets(h) ? FileFormat::Triplets : FileFormat::DenseCsv;
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

}  // namespace

AnyMatrix read_matrix_any(const std::string& path, const ReadAnyOptions& o) {
  AnyMatrix out;
  out.format = o.format ? *o.format : detect_format(path);
  switch (out.format) {
    case FileFormat::Triplets:
      out.dtype = "text";
      out.data = read_triplets(path, o.triplets);
      break;
    case FileFormat::DenseCsv:
      out.dtype = "text";
      out.data = read_dense_csv(path, o.csv);
      break;
    case FileFormat::MatrixMarket: {
      auto mm = read_matrix_market(path, o.mm_duplicates);
      out.dtype = mm.header.field == MmField::Real ? "real" : mm.header.field == MmField::Integer ? "integer" : "pattern";
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
                                     : std::find_if(arrays.begin(), arrays.end(), [&](const NamedArray& a) { return a.name == o.array_name; });
      if (it == arrays.end())
        throw InvalidArgument(path + ": no array named '" + o.array_name + "'");
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
        throw InputError(path, "tensor '" + t.name + "' has " + std::to_string(t.shape.size()) + " dimensions; a matrix needs at most 2");
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
  return {{"format", to_string(i.format)}, {"dtype", i.dtype},       {"rows", i.rows},
          {"cols", i.cols},                {"sparse", i.sparse},     {"nnz", i.nnz},
          {"missing", i.missing},          {"nonfinite", i.nonfinite}, {"density", i.density},
          {"min", num(i.min)},             {"max", num(i.max)}};
}

}  // namespace lowrank::io
