#pragma once
// Row attribute tables (MovieLens u.user: id|age|gender|occupation|zip;
// vegan's mite_env.csv: site, SubsDens, WatrCont, Substrate, Shrub, Topo)
// and the row groups made from them: each level of each chosen column is a
// group ("gender=F", "Shrub=Few"), numeric columns can be binned
// ("age=[25,35)"), and a row belongs to one group per chosen column.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"

namespace lowrank::io {

/// A text table keyed by its id column. cells[c][r] is the raw (trimmed,
/// unquoted) text of column c in row r; a column is numeric when every
/// non-missing cell parses as a finite number.
struct AttributeTable {
  std::string source;                           ///< file name, for messages
  std::string id_name;                          ///< name of the id column
  std::vector<std::string> ids;                 ///< one per row, unique
  std::vector<std::size_t> lines;               ///< 1-based line of each row
  std::vector<std::string> columns;             ///< attribute column names (id column excluded)
  std::vector<std::vector<std::string>> cells;  ///< [column][row]
  std::vector<bool> numeric;                    ///< per column

  std::size_t rows() const { return ids.size(); }
  /// Index of a column; nullopt when absent.
  std::optional<std::size_t> column_index(const std::string& name) const;
};

struct AttributeReadOptions {
  /// '\0' auto-detects from the first line: the most frequent of '|', ',',
  /// '\t', ';' outside quotes, else runs of blanks.
  char separator = '\0';
  /// Column names (id column included) for a file without header, e.g.
  /// {"user", "age", "gender", "occupation", "zip"} for u.user.
  std::vector<std::string> names;
  /// nullopt: a header is expected exactly when `names` is empty. true with
  /// `names` given skips the file's header and uses `names`.
  std::optional<bool> header;
  std::size_t id_column = 0;  ///< which column holds the row ids
  /// Cells treated as missing (a row with a missing cell joins no group of that column).
  std::vector<std::string> missing = {"", "NA", "nan", "NaN"};
};

/// Reads an attribute table (CSV with header, or u.user-style without).
/// Throws InputError (file:line: ...) on an empty file, no data rows, ragged
/// rows, a repeated id (naming both lines), a `names` list whose length
/// differs from the field count, or an id_column out of range.
AttributeTable read_attribute_table(const std::string& path, const AttributeReadOptions& options = {});

struct RowGroupResult {
  RowGroups groups;
  /// Non-fatal findings, e.g. "12 attribute rows have no data row (ignored)",
  /// "column 'Shrub' has a single level 'Few'".
  std::vector<std::string> warnings;
  std::size_t unmatched_attribute_rows = 0;  ///< attribute rows whose id is not a data row
};

/// Groups of the data rows `row_ids` (the IdMap of the observed entries)
/// from `columns` of `table`. For a column with bin edges in `bins`
/// (e0 < e1 < ... < ek, +-inf allowed) the groups are "col=[e0,e1)", ...,
/// "col=[e(k-1),ek)"; otherwise one group "col=level" per distinct value
/// (levels in numeric order for numeric columns, else lexicographic).
/// Groups are listed column by column; each holds sorted row indices.
/// Throws InputError (the table's file) when a column is missing (listing the
/// available ones), when data rows have no attribute row (naming some), or
/// when a value falls outside the bins or is not numeric in a binned column
/// (naming line and id); InvalidArgument for an empty row_ids, bins for a
/// column not listed, or edges that are not strictly increasing.
RowGroupResult make_row_groups(const AttributeTable& table, const IdMap& row_ids,
                               const std::vector<std::string>& columns,
                               const std::map<std::string, std::vector<double>>& bins = {});

}  // namespace lowrank::io
