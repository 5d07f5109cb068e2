#include "lowrank/io/attributes.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

std::optional<std::size_t> AttributeTable::column_index(const std::string& name) const {
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == name) return c;
  return std::nullopt;
}

namespace {

std::string join(const std::vector<std::string>& v, std::size_t limit = 20) {
  std::string out;
  for (std::size_t k = 0; k < v.size() && k < limit; ++k) out += (k ? ", " : "") + v[k];
  if (v.size() > limit) out += ", ... (" + std::to_string(v.size()) + " in all)";
  return out;
}

std::string interval_name(double lo, double hi) {
  auto f = [](double x) {
    if (std::isinf(x)) return std::string(x < 0 ? "-inf" : "inf");
    return detail::format_number(x);
  };
  // (appends, not "[" + ...: GCC 12 warns falsely with -Wrestrict on literal + string)
  std::string s = "[";
  s.append(f(lo)).append(",").append(f(hi)).append(")");
  return s;
}

}  // namespace

AttributeTable read_attribute_table(const std::string& path, const AttributeReadOptions& o) {
  const std::string bytes = detail::read_file(path);
  const std::string_view text = detail::strip_bom(bytes);
  if (detail::is_blank(text)) throw InputError(path, "empty file: expected an attribute table");
  const char sep = o.separator != '\0' ? o.separator : detail::sniff_separator(text, "|,\t;", ' ');
  detail::RecordReader reader(text, sep, path);
  const bool header = o.header.value_or(o.names.empty());

  AttributeTable t;
  t.source = path;
  std::vector<std::string> fields, names = o.names;
  std::size_t line = 0, header_line = 0;
  if (header) {
    reader.next(fields, line);
    header_line = line;
    if (names.empty()) names = fields;
    else if (names.size() != fields.size())
      throw InputError(path, line,
                       std::to_string(names.size()) + " column names were given but the header has " +
                           std::to_string(fields.size()) + " fields");
  }
  std::size_t width = names.size();
  std::unordered_map<std::string, std::size_t> seen;  // id -> row
  while (reader.next(fields, line)) {
    if (width == 0) width = fields.size();
    if (fields.size() != width)
      throw InputError(path, line,
                       "expected " + std::to_string(width) + " fields" +
                           (header ? " like the header" : (o.names.empty() ? "" : " (one per given column name)")) +
                           ", found " + std::to_string(fields.size()));
    if (t.cells.empty()) {
      if (o.id_column >= width)
        throw InputError(path, line,
                         "id column " + std::to_string(o.id_column + 1) + " does not exist (the table has " +
                             std::to_string(width) + " fields)");
      if (width < 2) throw InputError(path, line, "expected an id and at least one attribute, found a single field");
      if (names.empty())
        for (std::size_t k = 0; k < width; ++k) names.push_back(std::string("V").append(std::to_string(k + 1)));
      t.id_name = names[o.id_column];
      for (std::size_t k = 0; k < width; ++k)
        if (k != o.id_column) t.columns.push_back(names[k]);
      t.cells.resize(width - 1);
    }
    const std::string& id = fields[o.id_column];
    if (id.empty()) throw InputError(path, line, "empty id in column " + detail::quoted(t.id_name));
    const auto [it, fresh] = seen.emplace(id, t.ids.size());
    if (!fresh)
      throw InputError(path, line,
                       "id " + detail::quoted(id) + " repeats the row on line " + std::to_string(t.lines[it->second]));
    t.ids.push_back(id);
    t.lines.push_back(line);
    for (std::size_t k = 0, c = 0; k < width; ++k)
      if (k != o.id_column) t.cells[c++].push_back(std::move(fields[k]));
  }
  if (t.ids.empty()) {
    if (header) throw InputError(path, header_line, "header only: no data rows follow the header");
    throw InputError(path, "empty file: no data rows");
  }
  t.numeric.resize(t.columns.size());
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    bool numeric = true, any = false;
    for (const auto& s : t.cells[c]) {
      if (detail::is_missing(s, o.missing)) continue;
      double x;
      any = true;
      if (!detail::parse_double(s, x) || !std::isfinite(x)) {
        numeric = false;
        break;
      }
    }
    t.numeric[c] = numeric && any;
  }
  // Missing markers are normalised to "" so make_row_groups needs no options.
  for (auto& col : t.cells)
    for (auto& s : col)
      if (detail::is_missing(s, o.missing)) s.clear();
  return t;
}

RowGroupResult make_row_groups(const AttributeTable& table, const IdMap& row_ids,
                               const std::vector<std::string>& columns,
                               const std::map<std::string, std::vector<double>>& bins) {
  if (row_ids.empty())
    throw InvalidArgument(
        "make_row_groups: the data's row id map is empty (rows need external ids to match the table)");
  for (const auto& [name, edges] : bins) {
    if (std::find(columns.begin(), columns.end(), name) == columns.end())
      throw InvalidArgument("make_row_groups: bins given for column '" + name +
                            "' which is not among the chosen columns");
    if (edges.size() < 2) throw InvalidArgument("make_row_groups: column '" + name + "' needs at least 2 bin edges");
    for (std::size_t k = 1; k < edges.size(); ++k)
      if (!(edges[k - 1] < edges[k]))
        throw InvalidArgument("make_row_groups: bin edges of column '" + name + "' must be strictly increasing");
  }
  std::vector<std::size_t> col_index;
  for (const auto& name : columns) {
    const auto c = table.column_index(name);
    if (!c) throw InputError(table.source, "no column '" + name + "' (available: " + join(table.columns, 1000) + ")");
    col_index.push_back(*c);
  }

  // Table row of each data row.
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t r = 0; r < table.ids.size(); ++r) by_id.emplace(table.ids[r], r);
  const std::size_t m = row_ids.size();
  std::vector<std::size_t> table_row(m);
  std::vector<std::string> orphans;
  std::vector<char> used(table.ids.size(), 0);
  for (std::size_t i = 0; i < m; ++i) {
    const auto it = by_id.find(row_ids.name(static_cast<std::int32_t>(i)));
    if (it == by_id.end()) {
      orphans.push_back(row_ids.name(static_cast<std::int32_t>(i)));
      continue;
    }
    table_row[i] = it->second;
    used[it->second] = 1;
  }
  if (!orphans.empty())
    throw InputError(table.source, std::to_string(orphans.size()) + " data row(s) have no attribute row, e.g. ids " +
                                       join(orphans, 5));

  RowGroupResult out;
  out.unmatched_attribute_rows = static_cast<std::size_t>(std::count(used.begin(), used.end(), 0));
  if (out.unmatched_attribute_rows > 0)
    out.warnings.push_back(std::to_string(out.unmatched_attribute_rows) +
                           " attribute row(s) have no data row (ignored)");

  for (std::size_t k = 0; k < columns.size(); ++k) {
    const std::string& name = columns[k];
    const auto& cells = table.cells[col_index[k]];
    const bool numeric = table.numeric[col_index[k]];
    std::size_t missing = 0;
    std::vector<std::string> level_names;
    std::vector<std::vector<std::int32_t>> members;
    const auto bin_it = bins.find(name);
    if (bin_it != bins.end()) {
      const auto& edges = bin_it->second;
      members.resize(edges.size() - 1);
      for (std::size_t b = 0; b + 1 < edges.size(); ++b)
        level_names.push_back(name + "=" + interval_name(edges[b], edges[b + 1]));
      for (std::size_t i = 0; i < m; ++i) {
        const std::size_t r = table_row[i];
        const std::string& s = cells[r];
        if (s.empty()) {
          ++missing;
          continue;
        }
        double x;
        if (!detail::parse_double(s, x) || !std::isfinite(x))
          throw InputError(table.source, table.lines[r],
                           "column '" + name + "' is binned but id " + detail::quoted(table.ids[r]) +
                               " has the non-numeric value " + detail::quoted(s));
        const auto up = std::upper_bound(edges.begin(), edges.end(), x);
        if (up == edges.begin() || up == edges.end())
          throw InputError(table.source, table.lines[r],
                           "column '" + name + "': value " + s + " of id " + detail::quoted(table.ids[r]) +
                               " is outside the bins [" + detail::format_number(edges.front()) + ", " +
                               detail::format_number(edges.back()) + ")");
        members[static_cast<std::size_t>(up - edges.begin()) - 1].push_back(static_cast<std::int32_t>(i));
      }
    } else {
      // One group per distinct level, ordered numerically or lexicographically.
      std::vector<std::string> levels;
      for (std::size_t i = 0; i < m; ++i) {
        const std::string& s = cells[table_row[i]];
        if (s.empty()) ++missing;
        else levels.push_back(s);
      }
      std::sort(levels.begin(), levels.end());
      levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
      if (numeric)
        std::stable_sort(levels.begin(), levels.end(), [](const std::string& a, const std::string& b) {
          double x = 0, y = 0;
          detail::parse_double(a, x);
          detail::parse_double(b, y);
          return x < y;
        });
      std::unordered_map<std::string, std::size_t> level_of;
      for (std::size_t l = 0; l < levels.size(); ++l) level_of.emplace(levels[l], l);
      members.resize(levels.size());
      for (const auto& l : levels) level_names.push_back(name + "=" + l);
      for (std::size_t i = 0; i < m; ++i) {
        const std::string& s = cells[table_row[i]];
        if (!s.empty()) members[level_of.at(s)].push_back(static_cast<std::int32_t>(i));
      }
      if (levels.size() == 1)
        out.warnings.push_back("column '" + name + "' has a single level '" + levels[0] + "' among the data rows");
      if (levels.empty()) out.warnings.push_back("column '" + name + "' has no values among the data rows");
    }
    if (missing > 0)
      out.warnings.push_back("column '" + name + "': " + std::to_string(missing) +
                             " data row(s) have a missing value and join no group of it");
    for (std::size_t l = 0; l < members.size(); ++l) {
      if (members[l].empty()) out.warnings.push_back("group '" + level_names[l] + "' is empty");
      out.groups.names.push_back(level_names[l]);
      out.groups.rows.push_back(std::move(members[l]));  // ascending: filled in row order
    }
  }
  return out;
}

}  // namespace lowrank::io
