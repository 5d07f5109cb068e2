#include "lowrank/io/triplets.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>
#include <unordered_set>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

namespace {

using detail::quoted;

std::string_view unquote(std::string_view f) {
  f = detail::trim(f);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

// Splits one line; " " means runs of blanks. Fields are trimmed and lose one
// pair of surrounding double quotes.
void split_fields(std::string_view line, const std::string& sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep == " ") {
    std::size_t i = 0;
    const std::size_t n = line.size();
    for (;;) {
      while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= n) break;
      const std::size_t b = i;
      while (i < n && line[i] != ' ' && line[i] != '\t') ++i;
      out.push_back(unquote(line.substr(b, i - b)));
    }
    return;
  }
  std::size_t b = 0;
  for (;;) {
    const std::size_t e = line.find(sep, b);
    if (e == std::string_view::npos) {
      out.push_back(unquote(line.substr(b)));
      return;
    }
    out.push_back(unquote(line.substr(b, e - b)));
    b = e + sep.size();
  }
}

std::string detect_separator(std::string_view line) {
  if (line.find("::") != std::string_view::npos) return "::";
  for (const char* s : {"\t", ",", ";", "|"})
    if (line.find(s) != std::string_view::npos) return s;
  return " ";
}

std::string describe_separator(const std::string& sep) {
  if (sep == "\t") return "tab";
  if (sep == " ") return "blanks";
  return "'" + sep + "'";
}

// A number, also one beyond double's range such as 1e400: a first line whose
// value is one is data (and refused as not finite), not a header.
bool numeric_syntax(std::string_view s) {
  double x;
  if (detail::parse_double(s, x)) return true;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), x);
  return r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size();
}

bool is_comment(std::string_view line) {
  const auto t = detail::trim(line);
  return t.empty() || t.front() == '#';
}

void check_options(const TripletReadOptions& o) {
  if (o.row_column < 0 || o.col_column < 0 || o.row_column == o.col_column)
    throw InvalidArgument("triplets: row_column and col_column must be distinct and >= 0");
  if (o.value_column < -1 || o.value_column == o.row_column || o.value_column == o.col_column)
    throw InvalidArgument("triplets: value_column must be -1 (none) or a field other than the id fields");
}

// Reads the lines of a triplet file and hands every data line to
// on_entry(line, row_id, col_id, value). Everything about the text format is
// checked here; the caller only maps ids. `part`: the bytes are a range of
// the file (read_triplet_range), which may hold no data line.
template <class OnEntry>
void scan_triplets(const std::string& path, std::string_view bytes, const TripletReadOptions& o, TripletReadStats& st,
                   OnEntry on_entry, detail::MappedFile* streamed = nullptr, bool part = false) {
  check_options(o);
  const std::string_view text = detail::strip_bom(bytes);
  if (detail::is_blank(text)) {
    if (part) return;
    throw InputError(path, "empty file: expected lines of 'row col value'");
  }

  const std::size_t needed = static_cast<std::size_t>(std::max({o.row_column, o.col_column, o.value_column})) + 1;
  const auto r = static_cast<std::size_t>(o.row_column);
  const auto c = static_cast<std::size_t>(o.col_column);
  const bool has_value = o.value_column >= 0;
  const auto v = static_cast<std::size_t>(std::max(o.value_column, 0));

  detail::LineCursor lines(text);
  std::string_view line;
  std::vector<std::string_view> f;
  bool first = true;
  std::size_t header_line = 0;
  st = TripletReadStats{};
  while (lines.next(line)) {
    if (is_comment(line)) {
      ++st.comment_lines;
      continue;
    }
    const std::size_t ln = lines.line_number();
    if (first) {
      first = false;
      st.separator = o.separator.empty() ? detect_separator(line) : o.separator;
      split_fields(line, st.separator, f);
      bool header = false;
      if (o.header) {
        header = *o.header;
      } else if (f.size() >= needed) {
        double x;
        if (has_value) {
          header = !numeric_syntax(f[v]);
        } else if (!detail::parse_double(f[r], x) && !detail::parse_double(f[c], x)) {
          // Pairs: a header only if the next data line has a numeric id.
          detail::LineCursor peek = lines;
          std::string_view next;
          std::vector<std::string_view> g;
          while (peek.next(next))
            if (!is_comment(next)) {
              split_fields(next, st.separator, g);
              header = g.size() >= needed && (detail::parse_double(g[r], x) || detail::parse_double(g[c], x));
              break;
            }
        }
      }
      if (header) {
        st.header = true;
        header_line = ln;
        continue;
      }
    } else {
      split_fields(line, st.separator, f);
    }
    if (st.fields == 0) {
      if (f.size() < needed)
        throw InputError(path, ln,
                         "expected at least " + std::to_string(needed) + " fields separated by " +
                             describe_separator(st.separator) + " (row, col" + (has_value ? ", value" : "") +
                             "), found " + std::to_string(f.size()));
      st.fields = f.size();
    } else if (f.size() != st.fields) {
      throw InputError(path, ln,
                       "expected " + std::to_string(st.fields) + " fields separated by " +
                           describe_separator(st.separator) + " like the first data line, found " +
                           std::to_string(f.size()));
    }
    if (f[r].empty()) throw InputError(path, ln, "empty row id in field " + std::to_string(r + 1));
    if (f[c].empty()) throw InputError(path, ln, "empty column id in field " + std::to_string(c + 1));
    double value = 0.0;
    if (has_value) {
      if (!detail::parse_double(f[v], value) && numeric_syntax(f[v]))
        throw InputError(path, ln, "value " + quoted(f[v]) + " is outside the range of a double");
      if (!detail::parse_double(f[v], value))
        throw InputError(path, ln,
                         "expected a number in field " + std::to_string(v + 1) + " (value), found " + quoted(f[v]));
      if (!std::isfinite(value))
        throw InputError(path, ln,
                         "value " + quoted(f[v]) +
                             " is not finite (a missing entry is simply left out of a triplet file)");
    }
    ++st.data_lines;
    on_entry(ln, f[r], f[c], value);
    // Every 2^16 lines (~1-2 MB), the text behind is done with.
    if (streamed && (st.data_lines & 0xFFFF) == 0) streamed->release_before(line.data());
  }
  if (st.data_lines == 0 && !part) {
    if (st.header) throw InputError(path, header_line, "header only: no data lines follow the header");
    throw InputError(path, "empty file: only comments and blank lines");
  }
}

// First-seen numbering of the ids of one file. Canonical non-negative
// integer ids (MovieLens) index a flat table; other ids go through a hash
// map of views into the file buffer, which must outlive the interner. The
// IdMap is built once at the end, so no string is copied per line.
class IdInterner {
 public:
  std::int32_t get(std::string_view id) {
    if (id.size() <= 7 && !id.empty() && (id[0] != '0' || id.size() == 1)) {
      std::uint32_t k = 0;
      bool digits = true;
      for (char ch : id) {
        if (ch < '0' || ch > '9') {
          digits = false;
          break;
        }
        k = k * 10 + static_cast<std::uint32_t>(ch - '0');
      }
      if (digits && k < kDenseLimit) {
        // Pages of the table appear as ids fall in them: one id 4194303 in a
        // small file costs a page, not the 16 MiB of the whole table.
        auto& page = m_pages[k >> kPageBits];
        if (!page) {
          page = std::make_unique<std::int32_t[]>(kPage);
          std::fill_n(page.get(), kPage, -1);
        }
        auto& slot = page[k & (kPage - 1)];
        if (slot < 0) slot = add(id);
        return slot;
      }
    }
    const auto [it, fresh] = m_hashed.try_emplace(id, 0);
    if (fresh) it->second = add(id);
    return it->second;
  }
  IdMap finish() const {
    IdMap m;
    for (const auto& n : m_names) m.get_or_add(n);
    return m;
  }

 private:
  std::int32_t add(std::string_view id) {
    if (m_names.size() >= static_cast<std::size_t>(INT32_MAX)) throw InvalidArgument("more than 2^31-1 distinct ids");
    m_names.push_back(id);
    return static_cast<std::int32_t>(m_names.size() - 1);
  }
  static constexpr std::uint32_t kDenseLimit = 1u << 22;  // table of at most 16 MiB
  static constexpr std::uint32_t kPageBits = 12;
  static constexpr std::uint32_t kPage = 1u << kPageBits;
  std::vector<std::unique_ptr<std::int32_t[]>> m_pages =
      std::vector<std::unique_ptr<std::int32_t[]>>(kDenseLimit / kPage);
  std::unordered_map<std::string_view, std::int32_t> m_hashed;
  std::vector<std::string_view> m_names;
};

// Renumbers ids in sorted order (numeric when all are integers).
void sort_ids(IdMap& ids, std::vector<std::int32_t>& index) {
  const auto& names = ids.names();
  std::vector<std::int32_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::int64_t> num(names.size());
  bool numeric = true;
  for (std::size_t i = 0; i < names.size() && numeric; ++i) numeric = detail::parse_int64(names[i], num[i]);
  if (numeric)
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return num[static_cast<std::size_t>(a)] < num[static_cast<std::size_t>(b)]; });
  else
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return names[static_cast<std::size_t>(a)] < names[static_cast<std::size_t>(b)]; });
  std::vector<std::int32_t> new_of_old(names.size());
  IdMap sorted;
  for (std::size_t k = 0; k < order.size(); ++k) {
    new_of_old[static_cast<std::size_t>(order[k])] = static_cast<std::int32_t>(k);
    sorted.get_or_add(names[static_cast<std::size_t>(order[k])]);
  }
  for (auto& i : index) i = new_of_old[static_cast<std::size_t>(i)];
  ids = std::move(sorted);
}

// Entries a file of this size probably holds, from the mean length of its
// first lines (+10 %): reserving once saves the copies and page faults of
// growing four vectors of 10^7 elements (a quarter of the read time).
std::size_t estimated_entries(std::string_view bytes) {
  const std::string_view head = bytes.substr(0, 1 << 16);
  const auto newlines = static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
  if (newlines == 0) return 0;
  // At least "1 2\n" per entry: blank or comment lines must not inflate the
  // estimate (a file of newlines reserved 26 bytes per byte).
  const double per_line = std::max(4.0, static_cast<double>(head.size()) / static_cast<double>(newlines));
  return static_cast<std::size_t>(1.1 * static_cast<double>(bytes.size()) / per_line) + 16;
}

// read_triplets with values stored as T. Values are parsed as doubles in
// either case; float storage rounds each one as it is stored, so the file's
// entries never exist in double (12 bytes per entry instead of 16; issue 32).
template <class T>
ObservedEntries<T> read_triplets_as(const std::string& path, const TripletReadOptions& options,
                                    TripletReadStats* stats) {
  // Streaming: the entries go straight into their final arrays (16 bytes
  // each, 12 with float values) and the pages of text already parsed are
  // dropped as the scan goes; line numbers are found again only if a
  // duplicate must be reported.
  ObservedEntries<T> e;
  TripletReadStats st;
  IdInterner rows, cols;
  detail::MappedFile file(path, true, true);
  const std::string_view bytes = file.text();
  e.reserve(estimated_entries(bytes));
  scan_triplets(
      path, bytes, options, st,
      [&](std::size_t ln, std::string_view r, std::string_view c, double v) {
        const T stored = static_cast<T>(v);
        if constexpr (!std::is_same_v<T, double>)
          if (!std::isfinite(stored))
            throw InputError(path, ln,
                             "value " + detail::format_number(v) + " is outside the range of a float (" +
                                 detail::format_number(static_cast<double>(std::numeric_limits<T>::max())) +
                                 "); read it without float32 storage");
        e.push_back(rows.get(r), cols.get(c), stored);
      },
      &file);
  e.row_ids = rows.finish();
  e.col_ids = cols.finish();
  if (options.id_order == IdOrder::Sorted) {
    sort_ids(e.row_ids, e.row);
    sort_ids(e.col_ids, e.col);
  }
  e.rows = static_cast<Index>(e.row_ids.size());
  e.cols = static_cast<Index>(e.col_ids.size());
  const auto line_of = [&](std::size_t entry) {
    struct Found {};  // stops the rescan at the entry
    std::size_t seen = 0, found = 0;
    TripletReadStats again;
    try {
      scan_triplets(path, bytes, options, again, [&](std::size_t ln, std::string_view, std::string_view, double) {
        if (seen++ == entry) {
          found = ln;
          throw Found{};
        }
      });
    } catch (const Found&) {
    }
    return found;
  };
  st.duplicates_removed = detail::resolve_duplicates_with_lines(e, line_of, path, options.duplicates);
  if (stats) *stats = st;
  return e;
}

}  // namespace

ObservedEntries<double> read_triplets(const std::string& path, const TripletReadOptions& options,
                                      TripletReadStats* stats) {
  return read_triplets_as<double>(path, options, stats);
}

ObservedEntries<float> read_triplets_float32(const std::string& path, const TripletReadOptions& options,
                                             TripletReadStats* stats) {
  return read_triplets_as<float>(path, options, stats);
}

MappedTriplets read_triplets_mapped(const std::string& path, const IdMap& row_ids, const IdMap& col_ids,
                                    const TripletReadOptions& options, UnseenIdPolicy unseen, TripletReadStats* stats) {
  if (row_ids.empty() || col_ids.empty())
    throw InvalidArgument(
        "read_triplets_mapped: the row and column id maps must be non-empty "
        "(use IdMap::identity(n) when ids are indices)");
  MappedTriplets out;
  auto& e = out.entries;
  e.rows = static_cast<Index>(row_ids.size());
  e.cols = static_cast<Index>(col_ids.size());
  e.row_ids = row_ids;
  e.col_ids = col_ids;
  std::vector<std::size_t> lines;
  std::unordered_set<std::string> unseen_rows, unseen_cols;
  TripletReadStats st;
  const detail::MappedFile file(path, true);
  const std::string_view bytes = file.text();
  e.reserve(estimated_entries(bytes));
  lines.reserve(e.value.capacity());
  scan_triplets(path, bytes, options, st, [&](std::size_t ln, std::string_view r, std::string_view c, double v) {
    const auto ri = row_ids.find(r);
    const auto ci = col_ids.find(c);
    if (ri && ci) {
      e.push_back(*ri, *ci, v);
      lines.push_back(ln);
      return;
    }
    if (unseen == UnseenIdPolicy::Error)
      throw InputError(path, ln,
                       std::string(!ri ? "row id " + quoted(r) : "column id " + quoted(c)) +
                           " does not occur in the training data");
    if (!ri) unseen_rows.emplace(r);
    if (!ci) unseen_cols.emplace(c);
    out.unseen.push_back(UnseenEntry{ln, std::string(r), std::string(c), !ri, !ci});
  });
  out.unseen_rows = unseen_rows.size();
  out.unseen_cols = unseen_cols.size();
  // Merging keeps the first occurrence of each pair, in input order: keep the
  // lines of those.
  std::vector<std::size_t> first_lines;
  if (options.duplicates != DuplicatePolicy::Error) {
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(e.nnz());
    for (std::size_t k = 0; k < e.nnz(); ++k)
      if (seen.insert((static_cast<std::uint64_t>(static_cast<std::uint32_t>(e.row[k])) << 32) |
                      static_cast<std::uint32_t>(e.col[k]))
              .second)
        first_lines.push_back(lines[k]);
  }
  st.duplicates_removed = detail::resolve_duplicates_with_lines(e, lines, path, options.duplicates);
  out.lines = options.duplicates != DuplicatePolicy::Error ? std::move(first_lines) : std::move(lines);
  if (stats) *stats = st;
  return out;
}

ObservedEntries<double> read_triplet_range(const std::string& path, std::size_t lo, std::size_t hi, Index rows,
                                           Index cols, const TripletReadOptions& options) {
  check_options(options);
  if (rows < 0 || cols < 0) throw InvalidArgument("read_triplet_range: rows and cols must be >= 0");
  ObservedEntries<double> e;
  detail::MappedFile file(path, true, true);
  const std::string_view all = file.text();
  hi = std::min(hi, all.size());
  if (lo >= hi) return e;
  // The lines that start in [lo, hi): from the first line start at or after
  // lo to the end of the line holding byte hi - 1.
  std::size_t start = lo;
  if (lo > 0 && all[lo - 1] != '\n') {
    const std::size_t nl = all.find('\n', lo);
    start = nl == std::string_view::npos ? all.size() : nl + 1;
  }
  if (start >= hi) return e;
  std::size_t end = hi;
  if (all[hi - 1] != '\n') {
    const std::size_t nl = all.find('\n', hi);
    end = nl == std::string_view::npos ? all.size() : nl + 1;
  }
  const std::string_view text = all.substr(start, end - start);
  TripletReadOptions o = options;
  if (start > 0) o.header = false;  // a header is the file's first line
  const std::int64_t row_cap = rows > 0 ? rows : INT32_MAX, col_cap = cols > 0 ? cols : INT32_MAX;
  std::int64_t max_row = -1, max_col = -1;
  auto index = [&](std::string_view id, std::int64_t cap, const char* what, std::size_t ln) {
    std::int64_t k = -1;
    if (!detail::parse_int64(id, k))
      throw InputError(path, ln,
                       std::string("expected an integer ") + what + " id (a 0-based index), found " + quoted(id));
    if (k < 0 || k >= cap)
      throw InputError(path, ln,
                       std::string(what) + " id " + std::to_string(k) + " out of range [0, " + std::to_string(cap) +
                           ")");
    return static_cast<std::int32_t>(k);
  };
  e.reserve(estimated_entries(text));
  TripletReadStats st;
  try {
    scan_triplets(
        path, text, o, st,
        [&](std::size_t ln, std::string_view r, std::string_view c, double v) {
          const std::int32_t i = index(r, row_cap, "row", ln), j = index(c, col_cap, "column", ln);
          max_row = std::max<std::int64_t>(max_row, i);
          max_col = std::max<std::int64_t>(max_col, j);
          e.push_back(i, j, v);
        },
        &file, true);
  } catch (const InputError& err) {
    if (err.where() != InputError::Where::Line || start == 0) throw;
    // Lines are numbered from the start of the file: count the ones before
    // the range, only when an error is reported.
    const auto before =
        static_cast<std::size_t>(std::count(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(start), '\n'));
    throw InputError(path, before + err.position(), err.detail());
  }
  e.rows = static_cast<Index>(max_row + 1);
  e.cols = static_cast<Index>(max_col + 1);
  return e;
}

template <class T>
void write_triplets(const std::string& path, const ObservedEntries<T>& e, const TripletWriteOptions& o) {
  if (o.separator.empty()) throw InvalidArgument("write_triplets: empty separator");
  if (o.header && o.header_names.size() != 3) throw InvalidArgument("write_triplets: header_names must hold 3 names");
  validate(e, "write_triplets");
  for (const IdMap* ids : {&e.row_ids, &e.col_ids})
    for (const auto& id : ids->names())
      if (id.empty() || id.find(o.separator) != std::string::npos || id.find_first_of("\r\n") != std::string::npos ||
          detail::trim(id) != id)
        throw InvalidArgument(
            "write_triplets: id " + detail::quoted(id) +
            " is empty, has surrounding blanks, or holds the separator or a line break; it would not read back");
  detail::AtomicFile file(path);
  std::string buf;
  if (o.header) buf = o.header_names[0] + o.separator + o.header_names[1] + o.separator + o.header_names[2] + "\n";
  for (std::size_t p = 0; p < e.nnz(); ++p) {
    buf += e.row_ids.empty() ? std::to_string(e.row[p]) : e.row_ids.name(e.row[p]);
    buf += o.separator;
    buf += e.col_ids.empty() ? std::to_string(e.col[p]) : e.col_ids.name(e.col[p]);
    buf += o.separator;
    buf += detail::format_number(e.value[p]);
    buf += '\n';
    file.write_when_full(buf);
  }
  file.write(buf);
  file.commit();
}

template void write_triplets<float>(const std::string&, const ObservedEntries<float>&, const TripletWriteOptions&);
template void write_triplets<double>(const std::string&, const ObservedEntries<double>&, const TripletWriteOptions&);

}  // namespace lowrank::io
