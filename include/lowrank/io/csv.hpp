#pragma once
// Dense CSV tables with a header row and row names, as R's write.csv and
// pandas' to_csv produce them (the vegan tables dune.csv, mite.csv, ...).
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/types.hpp"

namespace lowrank::io {

/// A dense numeric table. values is rows x cols (column-major, as every
/// Matrix); missing cells are NaN. row_names / col_names are empty when the
/// file has none, else of length rows / cols.
struct DenseTable {
  Matrix<double> values;
  std::vector<std::string> row_names;
  std::vector<std::string> col_names;
  /// Where the table came from, for messages (read_dense_csv fills them):
  /// the file, the line of its header (0 = none) and the line of each row.
  std::string source;
  std::size_t header_line = 0;
  std::vector<std::size_t> row_lines;
};

struct CsvReadOptions {
  /// Field separator; '\0' auto-detects from the first line (the most
  /// frequent of ',', ';', '\t' outside quotes; ',' if none).
  char separator = '\0';
  bool header = true;     ///< the first record holds column names
  bool row_names = true;  ///< the first column holds row names
  /// Cells read as missing (NaN), compared after trimming blanks.
  std::vector<std::string> missing = {"", "NA", "nan", "NaN", "NAN"};
};

/// Reads a dense CSV. Fields may be quoted ("a,b", "say ""hi""", even with
/// line breaks); LF or CRLF endings and a UTF-8 BOM are accepted; blank
/// lines are skipped. A header one field shorter than the data rows is
/// R's convention for "no name above the row names" and is accepted.
/// Throws InputError (file:line: ...) on an empty file, a header with no
/// data rows, a record whose field count differs from the header's, an
/// unterminated quote, and a cell that is neither a number nor a missing
/// marker or is +-Inf (naming the column).
DenseTable read_dense_csv(const std::string& path, const CsvReadOptions& options = {});

/// The table's observed (non-NaN) cells as entries; its names become the
/// IdMaps (left empty where the table has no names). Names must then be
/// unique: a repeated row or column name throws InputError naming the file
/// and the lines (or columns) of both occurrences (a table without a source
/// throws InvalidArgument).
ObservedEntries<double> to_observed(const DenseTable& table);

/// An IdMap holding `names` in order; throws InvalidArgument on a repeat.
IdMap id_map_from_names(const std::vector<std::string>& names);

struct CsvWriteOptions {
  char separator = ',';
  std::string missing = "";  ///< how NaN is written ("" or "NA")
};

/// Writes a header (when col_names is non-empty; with row names its first
/// field is empty) and one line per row (first field = row name when
/// row_names is non-empty). Names are quoted when they contain the
/// separator, a quote or a line break. Numbers use the shortest exact
/// representation; NaN is written as options.missing. Atomic.
/// Throws InvalidArgument when a non-empty name list has the wrong length.
template <class T>
void write_dense_csv(const std::string& path, const Matrix<T>& values, const std::vector<std::string>& row_names = {},
                     const std::vector<std::string>& col_names = {}, const CsvWriteOptions& options = {});
void write_dense_csv(const std::string& path, const DenseTable& table, const CsvWriteOptions& options = {});

}  // namespace lowrank::io
