#pragma once
// Triplet text files: one observed entry "row col value" per line.
//
// Covers MovieLens u.data (tab, 4th timestamp column), ratings.dat (`::`),
// ratings.csv (comma, header) and plain whitespace files. Row and column
// fields are external string ids, mapped to 0-based indices through IdMap
// (MovieLens user 196 is not row 196).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"

namespace lowrank::io {

/// Order in which distinct ids receive indices 0, 1, ...
enum class IdOrder {
  FirstSeen,  ///< order of first appearance in the file
  Sorted,     ///< numerically when every id is an integer, else lexicographically
};

struct TripletReadOptions {
  /// Field separator: "" auto-detects from the first data line ("::", then
  /// tab, comma, ';', '|', else runs of blanks); " " means runs of spaces/tabs.
  std::string separator;
  /// Header line: nullopt auto-detects (the first non-comment line is a header
  /// when its value field is not a number); true/false forces it.
  std::optional<bool> header;
  int row_column = 0;    ///< 0-based field index of the row id
  int col_column = 1;    ///< 0-based field index of the column id
  int value_column = 2;  ///< 0-based field index of the value; -1 = no value (pairs; values read as 0)
  DuplicatePolicy duplicates = DuplicatePolicy::Error;
  IdOrder id_order = IdOrder::FirstSeen;
};

/// What the reader saw; filled when a pointer is passed.
struct TripletReadStats {
  std::string separator;   ///< the separator used ("\t", ",", "::", " ", ...)
  bool header = false;     ///< a header line was skipped
  std::size_t fields = 0;  ///< fields per line (extra ones, e.g. timestamps, are ignored)
  std::size_t data_lines = 0;
  std::size_t comment_lines = 0;  ///< '#' comments and blank lines
  std::size_t duplicates_removed = 0;
};

/// Reads a triplet file. Lines may end in LF or CRLF, a UTF-8 BOM is
/// skipped, '#' starts a comment line, blank lines are ignored, and every
/// data line must have the same number of fields (>= 3, or >= 2 without a
/// value column). Values must be finite.
/// Returns entries with rows = #distinct row ids, cols = #distinct column
/// ids and both IdMaps filled.
/// Throws InputError (file:line: ...) on an empty file, a header with no
/// data, ragged or short lines, non-numeric / NaN / Inf values, and (with
/// DuplicatePolicy::Error) a repeated (row, col) pair, naming both lines.
ObservedEntries<double> read_triplets(const std::string& path, const TripletReadOptions& options = {},
                                      TripletReadStats* stats = nullptr);

/// read_triplets storing the values as float: each value is parsed as
/// read_triplets parses it and rounded to the nearest float as it is stored,
/// so the entries take 12 bytes each instead of 16 and never exist in double
/// (completion's float32 storage, CompletionFitOptions::float32). The same
/// checks and file:line errors, plus one: a value beyond float's range
/// (|x| > 3.4e38) is refused naming its line.
ObservedEntries<float> read_triplets_float32(const std::string& path, const TripletReadOptions& options = {},
                                             TripletReadStats* stats = nullptr);

/// The entries of the lines of a triplet file that START in the byte range
/// [lo, hi): a line begun before lo belongs to the range holding its first
/// byte, and a line begun before hi is read to its end, so the ranges
/// [0, b1), [b1, b2), ..., [bk, size) of any cut points read every line
/// exactly once (each MPI rank reads its own: src/distributed; a shard file
/// is the range [0, SIZE_MAX)). Ids are 0-based integer indices, no IdMap:
/// rows in [0, rows) and columns in [0, cols), a bound of 0 meaning
/// 2^31 - 1. The returned shape is (largest row + 1) x (largest column + 1)
/// seen in the range (0 x 0 without entries): the caller combines the
/// ranges'. Lines are split, checked and reported as by read_triplets
/// (the same parser: file:line: ..., lines counted from the start of the
/// file); a header is recognised only on the file's first line; a range
/// without data lines is no error; duplicate pairs are left to the caller
/// (they may lie in different ranges). options.duplicates and id_order are
/// ignored. Throws InputError, or InvalidArgument for bad options.
ObservedEntries<double> read_triplet_range(const std::string& path, std::size_t lo, std::size_t hi, Index rows = 0,
                                           Index cols = 0, const TripletReadOptions& options = {});

/// What to do with a line whose row or column id is not in the given map.
enum class UnseenIdPolicy { Skip, Error };

/// A line dropped by read_triplets_mapped because an id was unseen.
struct UnseenEntry {
  std::size_t line = 0;
  std::string row_id;
  std::string col_id;
  bool row_unseen = false;
  bool col_unseen = false;
};

struct MappedTriplets {
  /// Entries indexed through the given maps: rows = row_ids.size(),
  /// cols = col_ids.size(), and the maps are copied in.
  ObservedEntries<double> entries;
  /// File line of each entry (of its first occurrence when duplicates were
  /// merged), so entries and `unseen` can be put back in file order.
  std::vector<std::size_t> lines;
  std::vector<UnseenEntry> unseen;  ///< skipped lines, in file order
  std::size_t unseen_rows = 0;      ///< distinct unseen row ids
  std::size_t unseen_cols = 0;      ///< distinct unseen column ids
};

/// Reads a triplet (or, with value_column = -1, pair) file whose ids must
/// be looked up in EXISTING maps, e.g. a test set or prediction requests for
/// a model trained on another file. options.id_order is ignored. Both maps
/// must be non-empty (use IdMap::identity(n) for index ids); otherwise
/// InvalidArgument. Lines with unseen ids are skipped and listed
/// (UnseenIdPolicy::Skip) or raise InputError naming line and id (Error).
MappedTriplets read_triplets_mapped(const std::string& path, const IdMap& row_ids, const IdMap& col_ids,
                                    const TripletReadOptions& options = {},
                                    UnseenIdPolicy unseen = UnseenIdPolicy::Skip, TripletReadStats* stats = nullptr);

struct TripletWriteOptions {
  std::string separator = "\t";
  bool header = false;  ///< write "row<sep>col<sep>value" first
  std::vector<std::string> header_names = {"row", "col", "value"};
};

/// Writes one "row col value" line per entry, in entry order, using the
/// external ids where the IdMaps are non-empty and 0-based indices
/// otherwise. Values use the shortest representation that reads back
/// exactly. The file is written atomically (temporary file + rename).
template <class T>
void write_triplets(const std::string& path, const ObservedEntries<T>& entries,
                    const TripletWriteOptions& options = {});

}  // namespace lowrank::io
