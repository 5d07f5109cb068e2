#include "lowrank/io/csv.hpp"

#include <algorithm>
#include <cmath>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

namespace {

std::string separator_name(char sep) {
  if (sep == '\t') return "tab";
  return std::string("'") + sep + "'";
}

std::string quote_if_needed(const std::string& s, char sep) {
  if (s.find_first_of(std::string("\"\r\n") + sep) == std::string::npos && detail::trim(s) == s) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace

DenseTable read_dense_csv(const std::string& path, const CsvReadOptions& o) {
  const std::string bytes = detail::read_file(path);
  const std::string_view text = detail::strip_bom(bytes);
  if (detail::is_blank(text)) throw InputError(path, "empty file: expected a CSV table");
  const char sep = o.separator != '\0' ? o.separator : detail::sniff_separator(text, ",;\t", ',');
  detail::RecordReader reader(text, sep, path);

  DenseTable t;
  t.source = path;
  std::vector<std::string> fields;
  std::size_t line = 0, header_line = 0;
  std::size_t width = 0;  // fields per data record, once known
  bool short_header = false;
  if (o.header) {
    reader.next(fields, line);
    header_line = line;
    t.header_line = line;
    t.col_names = fields;
  }
  std::vector<double> cells;  // row-major while reading
  std::size_t n_rows = 0;
  while (reader.next(fields, line)) {
    if (width == 0) {
      width = fields.size();
      if (o.header) {
        if (o.row_names && t.col_names.size() + 1 == width) {
          short_header = true;  // R's write.table(col.names = TRUE): no name above the row names
        } else if (t.col_names.size() != width) {
          throw InputError(path, line,
                           "expected " + std::to_string(t.col_names.size()) + " fields separated by " +
                               separator_name(sep) + " like the header on line " + std::to_string(header_line) +
                               ", found " + std::to_string(width));
        }
      }
      if (o.row_names && width < 2)
        throw InputError(path, line, "expected a row name and at least one value, found a single field");
    } else if (fields.size() != width) {
      throw InputError(path, line,
                       "expected " + std::to_string(width) + " fields separated by " + separator_name(sep) +
                           ", found " + std::to_string(fields.size()) + " (ragged row)");
    }
    const std::size_t first = o.row_names ? 1 : 0;
    if (o.row_names) t.row_names.push_back(fields[0]);
    t.row_lines.push_back(line);
    for (std::size_t k = first; k < width; ++k) {
      const std::string& cell = fields[k];
      if (detail::is_missing(cell, o.missing)) {
        cells.push_back(std::nan(""));
        continue;
      }
      double x;
      const std::size_t col = k - first;
      auto column_name = [&] {
        if (!o.header) return "column " + std::to_string(col + 1);
        return "column " + detail::quoted(t.col_names[short_header ? col : k]);
      };
      if (!detail::parse_double(cell, x))
        throw InputError(path, line,
                         column_name() + ": expected a number or a missing marker (empty, NA, nan), found " +
                             detail::quoted(cell));
      if (std::isinf(x))
        throw InputError(path, line,
                         column_name() + ": infinite value " + detail::quoted(cell) + " (values must be finite)");
      cells.push_back(x);
    }
    ++n_rows;
  }
  if (n_rows == 0) {
    if (o.header) throw InputError(path, header_line, "header only: no data rows follow the header");
    throw InputError(path, "empty file: no data rows");
  }
  const std::size_t n_cols = width - (o.row_names ? 1 : 0);
  if (o.header && o.row_names && !short_header) t.col_names.erase(t.col_names.begin());
  t.values.resize(static_cast<Index>(n_rows), static_cast<Index>(n_cols));
  for (std::size_t i = 0; i < n_rows; ++i)
    for (std::size_t j = 0; j < n_cols; ++j)
      t.values(static_cast<Index>(i), static_cast<Index>(j)) = cells[i * n_cols + j];
  return t;
}

namespace {

// The names as an IdMap; `repeated(first, second)` throws for the first
// name that repeats, given the positions of its two occurrences. A repeat is
// told by the map not growing: get_or_add's index of a repeat of the name
// added last equals size() - 1, which is how adjacent repeats (0, 0, 1, 1
// as row names) once passed.
template <class OnRepeat>
IdMap unique_ids(const std::vector<std::string>& names, OnRepeat repeated) {
  IdMap m;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::size_t before = m.size();
    const auto index = static_cast<std::size_t>(m.get_or_add(names[k]));
    if (m.size() == before) repeated(index, k);
  }
  return m;
}

}  // namespace

IdMap id_map_from_names(const std::vector<std::string>& names) {
  return unique_ids(names, [&](std::size_t, std::size_t k) -> void {
    throw InvalidArgument("repeated name " + detail::quoted(names[k]) + " cannot serve as an id");
  });
}

ObservedEntries<double> to_observed(const DenseTable& table) {
  auto e = from_dense_with_nan(table.values);
  const bool located = !table.source.empty();
  if (!table.row_names.empty()) {
    e.row_ids = unique_ids(table.row_names, [&](std::size_t first, std::size_t k) -> void {
      const std::string what = "row name " + detail::quoted(table.row_names[k]) + " repeats ";
      if (!located || table.row_lines.size() != table.row_names.size())
        throw InvalidArgument(what + "row " + std::to_string(first + 1) + ": row names must be unique to serve as ids");
      throw InputError(table.source, table.row_lines[k],
                       what + "the one on line " + std::to_string(table.row_lines[first]) +
                           ": row names must be unique to serve as ids (or read the file without row names)");
    });
  }
  if (!table.col_names.empty()) {
    e.col_ids = unique_ids(table.col_names, [&](std::size_t first, std::size_t k) -> void {
      const std::string what = "column name " + detail::quoted(table.col_names[k]) + " (column " +
                               std::to_string(k + 1) + ") repeats column " + std::to_string(first + 1) +
                               ": column names must be unique to serve as ids";
      if (!located) throw InvalidArgument(what);
      throw InputError(table.source, table.header_line, what);
    });
  }
  return e;
}

template <class T>
void write_dense_csv(const std::string& path, const Matrix<T>& values, const std::vector<std::string>& row_names,
                     const std::vector<std::string>& col_names, const CsvWriteOptions& o) {
  if (!row_names.empty() && row_names.size() != static_cast<std::size_t>(values.rows()))
    throw InvalidArgument("write_dense_csv: " + std::to_string(row_names.size()) + " row names for " +
                          std::to_string(values.rows()) + " rows");
  if (!col_names.empty() && col_names.size() != static_cast<std::size_t>(values.cols()))
    throw InvalidArgument("write_dense_csv: " + std::to_string(col_names.size()) + " column names for " +
                          std::to_string(values.cols()) + " columns");
  const char sep = o.separator;
  detail::AtomicFile file(path);
  std::string buf;
  if (!col_names.empty()) {
    if (!row_names.empty()) buf += "\"\"";
    for (std::size_t j = 0; j < col_names.size(); ++j) {
      if (j > 0 || !row_names.empty()) buf += sep;
      buf += quote_if_needed(col_names[j], sep);
    }
    buf += '\n';
  }
  for (Index i = 0; i < values.rows(); ++i) {
    if (!row_names.empty()) buf += quote_if_needed(row_names[static_cast<std::size_t>(i)], sep);
    for (Index j = 0; j < values.cols(); ++j) {
      if (j > 0 || !row_names.empty()) buf += sep;
      const T x = values(i, j);
      if (!std::isnan(x)) buf += detail::format_number(x);
      else if (o.missing.empty() && values.cols() == 1 && row_names.empty())
        buf += "\"\"";  // a bare empty line would be skipped as blank on reading
      else buf += o.missing;
    }
    buf += '\n';
    file.write_when_full(buf);
  }
  file.write(buf);
  file.commit();
}

void write_dense_csv(const std::string& path, const DenseTable& table, const CsvWriteOptions& options) {
  write_dense_csv(path, table.values, table.row_names, table.col_names, options);
}

template void write_dense_csv<float>(const std::string&, const Matrix<float>&, const std::vector<std::string>&,
                                     const std::vector<std::string>&, const CsvWriteOptions&);
template void write_dense_csv<double>(const std::string&, const Matrix<double>&, const std::vector<std::string>&,
                                      const std::vector<std::string>&, const CsvWriteOptions&);

}  // namespace lowrank::io
