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
/// Parses the names above and the aliases "dense" (= csv: a dense delimited
/// table, any separator) and "mtx" / "mm" (= matrix-market); throws
/// InvalidArgument.
FileFormat parse_file_format(const std::string& name);

/// A detected format and, when the decision was a guess, a sentence saying
/// what was guessed and which flag overrides it (printed as a warning).
struct FormatGuess {
  FileFormat format = FileFormat::Triplets;
  std::string note;  ///< empty when magic bytes, a banner or clear content decided
};

/// Format of `path` (docs/errors.md, "How input files are read"): binary
/// formats by their magic bytes, then by extension (.npy, .npz,
/// .safetensors, .mtx/.mm), a "%%MatrixMarket" banner; text files by
/// content. A text file is triplets when every sampled data line has 3 or 4
/// fields (separated by "::", tab, comma, ';' or blanks) whose first two are
/// ids (integers or words, not decimals) and whose third is a number; it is
/// a dense table otherwise. Triplet-shaped text counts as triplets without a
/// note when "::" separates it, a header names its fields (user/item/rating,
/// row/col/value, ...) or a first-column id repeats (row names of a dense
/// table are unique); else the extension decides (.csv = dense, others =
/// triplets) and the note says so. Throws InputError when the file cannot be
/// opened or is empty.
FormatGuess detect_format_explained(const std::string& path);
/// detect_format_explained(path).format.
FileFormat detect_format(const std::string& path);

/// Layout of a dense text table, as read_matrix_any decides it.
struct CsvLayout {
  char separator = ',';
  bool header = true;
  bool row_names = true;
  std::vector<std::string> notes;  ///< guesses made (empty when the layout was clear or given)
};

/// Decides the separator (the most frequent of ',', ';', tab in the first
/// line; runs of blanks when none occurs), whether the first record is a
/// header and whether the first column holds row names, from the first 64
/// KiB of `path`; `header` / `row_names` given are used as they are.
/// Header: the first record is one when a field (other than the first) is
/// neither a number nor a missing marker; or, all numbers, when its first
/// field is empty above a named first column (pandas' to_csv of integer
/// column labels: noted). Row names: the first column holds them when one of
/// its data cells is not a number; or when the header leaves its name empty
/// or is one field short (R's write.csv, pandas' to_csv); or, all numbers,
/// when it counts 0, 1, 2, ... or 1, 2, 3, ... down the rows (an index
/// written without a header: noted). Otherwise every field is a value: a
/// header-less numeric file written by np.savetxt keeps its shape.
CsvLayout detect_csv_layout(const std::string& path, const CsvReadOptions& given, std::optional<bool> header = {},
                            std::optional<bool> row_names = {});

struct ReadAnyOptions {
  std::optional<FileFormat> format;  ///< skip detection (`--format`)
  /// Dense tables and triplet files: the first record is a header (true),
  /// is data (false), or detect (nullopt, `--header` / `--no-header`).
  std::optional<bool> header;
  /// Dense tables: the first column holds row names (true), is data
  /// (false), or detect (nullopt, `--row-names` / `--no-row-names`).
  std::optional<bool> row_names;
  TripletReadOptions triplets;  ///< used for triplet files (its header is replaced by `header` when set)
  CsvReadOptions csv;           ///< dense files: missing markers, separator ('\0' = detect); header /
                                ///< row_names are replaced by the options above or detection
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
  /// (Matrix Market); text files (triplets, dense tables) are parsed to
  /// float64: "float64 (text, integer values)" when every value read is an
  /// integer, else "float64 (text)".
  std::string dtype;
  std::string array_name;           ///< npz / safetensors: the array read
  std::vector<std::string> arrays;  ///< npz / safetensors: every array in the file
  /// Guesses detection made (format, header, row names), one sentence each
  /// naming the file and the flag that overrides it; the CLI prints them as
  /// warnings and Python raises them as UserWarning.
  std::vector<std::string> notes;
  bool header = false;     ///< text formats: a header record was read
  bool row_names = false;  ///< dense text: the first column was taken as row names
  std::variant<ObservedEntries<double>, DenseTable> data;

  bool is_sparse() const { return std::holds_alternative<ObservedEntries<double>>(data); }
  const ObservedEntries<double>& entries() const { return std::get<ObservedEntries<double>>(data); }
  const DenseTable& dense() const { return std::get<DenseTable>(data); }
};

/// Reads `path` in its detected (or the given) format. Throws what the
/// format's reader throws; InputError for a 3-D or larger array, and for a
/// dense table whose row names repeat (file:line of the repeat and of its
/// first occurrence); InvalidArgument for an array_name that is not in the file.
AnyMatrix read_matrix_any(const std::string& path, const ReadAnyOptions& options = {});

/// A triplet file read in float (read_triplets_any_float32).
struct FloatTriplets {
  ObservedEntries<float> entries;
  std::vector<std::string> notes;  ///< the format guess, as AnyMatrix::notes
  bool header = false;             ///< a header record was read
};

/// read_matrix_any for a fit stored in float (completion's float32 storage,
/// CompletionFitOptions::float32): the same format decision (options.format
/// or detection, with its note) and the same options (--header replaces
/// triplets.header). A triplet file's entries are read by
/// read_triplets_float32: values parsed to double and rounded once,
/// duplicates combined in float, the same file:line errors plus one for a
/// value beyond float's range. Any other format returns nullopt (nothing
/// read, no note), for the caller to read with read_matrix_any.
std::optional<FloatTriplets> read_triplets_any_float32(const std::string& path, const ReadAnyOptions& options = {});

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
