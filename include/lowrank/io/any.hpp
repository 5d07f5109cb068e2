#pragma once
// Format detection and a one-call reader, for `lowrank info` and every
// command that takes "a matrix file".
#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/io/csv.hpp"
#include "lowrank/io/triplets.hpp"

namespace lowrank::io {

enum class FileFormat { Triplets, DenseCsv, MatrixMarket, Npy, Npz, Safetensors };
/// "triplets", "csv", "matrix-market", "npy", "npz", "safetensors".
const char* to_string(FileFormat format) noexcept;
/// Parses the names above; throws InvalidArgument.
FileFormat parse_file_format(const std::string& name);

/// Format of `path`: binary formats by their magic bytes, then by extension
/// (.mtx/.mm, .npy, .npz, .safetensors, .csv = dense CSV, .tsv/.txt/.data/.dat
/// = triplets), then by content (a "%%MatrixMarket" banner; a text file
/// whose first data line has 3-4 fields separated by "::", tabs or blanks is
/// triplets; otherwise dense CSV). Throws InputError when the file cannot be
/// opened or is empty.
FileFormat detect_format(const std::string& path);

struct ReadAnyOptions {
  std::optional<FileFormat> format;  ///< skip detection
  TripletReadOptions triplets;       ///< used for triplet files
  CsvReadOptions csv;                ///< used for dense CSV files
  /// npz / safetensors: the array to read; empty = the first one (archive
  /// order for npz, data-offset order for safetensors).
  std::string array_name;
  DuplicatePolicy mm_duplicates = DuplicatePolicy::Error;  ///< Matrix Market coordinate files
};

/// A matrix read from any supported file: sparse entries (triplets, Matrix
/// Market coordinate) or a dense table (everything else; NaN = missing).
struct AnyMatrix {
  FileFormat format = FileFormat::Triplets;
  /// Stored element type: "float64", "float32", "float16", "bfloat16",
  /// "int32", "int64" (binary formats), "real", "integer", "pattern"
  /// (Matrix Market), "text" (triplets, CSV).
  std::string dtype;
  std::string array_name;           ///< npz / safetensors: the array read
  std::vector<std::string> arrays;  ///< npz / safetensors: every array in the file
  std::variant<ObservedEntries<double>, DenseTable> data;

  bool is_sparse() const { return std::holds_alternative<ObservedEntries<double>>(data); }
  const ObservedEntries<double>& entries() const { return std::get<ObservedEntries<double>>(data); }
  const DenseTable& dense() const { return std::get<DenseTable>(data); }
};

/// Reads `path` in its detected (or the given) format. Throws what the
/// format's reader throws; InputError for a 3-D or larger array; InvalidArgument
/// for an array_name that is not in the file.
AnyMatrix read_matrix_any(const std::string& path, const ReadAnyOptions& options = {});

/// What `lowrank info` prints.
struct MatrixInfo {
  FileFormat format = FileFormat::Triplets;
  std::string dtype;
  Index rows = 0;
  Index cols = 0;
  bool sparse = false;        ///< entries (true) or dense table (false)
  std::size_t nnz = 0;        ///< observed cells: entries, or non-NaN dense cells
  std::size_t missing = 0;    ///< rows * cols - nnz (unobserved / NaN cells)
  std::size_t nonfinite = 0;  ///< +-Inf among observed cells (dense binary formats only)
  double density = 0.0;       ///< nnz / (rows * cols); 0 for an empty shape
  double min = 0.0;           ///< over observed finite values; NaN when there are none
  double max = 0.0;
};

MatrixInfo describe(const AnyMatrix& matrix);
/// {"format", "dtype", "rows", "cols", "sparse", "nnz", "missing", "nonfinite",
///  "density", "min", "max"} (min/max null when NaN).
nlohmann::json to_json(const MatrixInfo& info);

}  // namespace lowrank::io
