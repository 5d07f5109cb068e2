// Parallel reading of triplet files and shard directories (one slice per rank).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "distributed/common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/distributed/completion.hpp"

namespace lowrank::distributed {

namespace dd = distributed::detail;
namespace fs = std::filesystem;

namespace {

bool is_sep(char ch) { return ch == ' ' || ch == '\t' || ch == ',' || ch == ';' || ch == ':' || ch == '\r'; }

struct Parsed {
  std::vector<std::int32_t> row, col;
  std::vector<double> value;
  long long max_row = -1, max_col = -1;
};

// Parses text[lo, hi): whole lines. `where(offset, line)` names a position
// for an error; `first_line_may_be_header` for the start of a file or shard.
template <class Where>
void parse(const std::string& text, std::size_t lo, std::size_t hi, bool first_line_may_be_header, Index rows,
           Index cols, Parsed& out, const Where& where) {
  std::size_t pos = lo, line = 1;
  bool first = true;
  std::string_view fields[3];
  while (pos < hi) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos || end > hi) end = hi;
    const std::string_view ln(text.data() + pos, end - pos);
    const std::size_t at = pos;
    pos = end + 1;
    const std::size_t this_line = line++;
    std::size_t b = 0;
    while (b < ln.size() && (ln[b] == ' ' || ln[b] == '\t' || ln[b] == '\r')) ++b;
    if (b == ln.size() || ln[b] == '#') continue;
    int nf = 0;
    std::size_t s = b;
    while (s < ln.size() && nf < 3) {
      while (s < ln.size() && is_sep(ln[s])) ++s;
      if (s == ln.size()) break;
      std::size_t e = s;
      while (e < ln.size() && !is_sep(ln[e])) ++e;
      fields[nf++] = ln.substr(s, e - s);
      s = e;
    }
    const bool header_ok = first && first_line_may_be_header;
    first = false;
    if (nf < 3) {
      if (header_ok) continue;
      throw std::runtime_error(where(at, this_line) + "expected 'row col value', found " + std::to_string(nf) +
                               " field(s)");
    }
    long long r = -1, c = -1;
    double v = 0.0;
    const auto pr = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), r);
    const auto pc = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), c);
    const auto pv = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), v);
    const bool ok_r = pr.ec == std::errc() && pr.ptr == fields[0].data() + fields[0].size();
    const bool ok_c = pc.ec == std::errc() && pc.ptr == fields[1].data() + fields[1].size();
    const bool ok_v = pv.ec == std::errc() && pv.ptr == fields[2].data() + fields[2].size();
    if (!(ok_r && ok_c && ok_v)) {
      if (header_ok) continue;  // e.g. "user,item,rating"
      throw std::runtime_error(where(at, this_line) + "expected integer row and column ids and a number, found '" +
                               std::string(ln.substr(b)) + "'");
    }
    if (!std::isfinite(v)) throw std::runtime_error(where(at, this_line) + "the value is not finite");
    const long long row_cap = rows > 0 ? rows : INT32_MAX, col_cap = cols > 0 ? cols : INT32_MAX;
    if (r < 0 || r >= row_cap) {
      throw std::runtime_error(where(at, this_line) + "row id " + std::to_string(r) + " out of range [0, " +
                               std::to_string(row_cap) + ")");
    }
    if (c < 0 || c >= col_cap) {
      throw std::runtime_error(where(at, this_line) + "column id " + std::to_string(c) + " out of range [0, " +
                               std::to_string(col_cap) + ")");
    }
    out.row.push_back(static_cast<std::int32_t>(r));
    out.col.push_back(static_cast<std::int32_t>(c));
    out.value.push_back(v);
    out.max_row = std::max(out.max_row, r);
    out.max_col = std::max(out.max_col, c);
  }
}

std::string read_range(const std::string& path, std::size_t lo, std::size_t hi) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string buf(hi - lo, '\0');
  in.seekg(static_cast<std::streamoff>(lo));
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  if (static_cast<std::size_t>(in.gcount()) != buf.size()) throw std::runtime_error(path + ": short read");
  return buf;
}

// Rank p's slice of one file: the lines starting in [S p / P, S (p+1) / P).
void read_slice(const dd::Comm& c, const std::string& path, Index rows, Index cols, Parsed& out) {
  const std::size_t size = fs::file_size(path);
  const std::size_t lo = size * static_cast<std::size_t>(c.rank) / static_cast<std::size_t>(c.size);
  const std::size_t hi = size * (static_cast<std::size_t>(c.rank) + 1) / static_cast<std::size_t>(c.size);
  if (lo == hi) return;  // no byte, so no line starts here
  // One byte before lo (to see whether lo starts a line), and the rest of
  // the last line when it runs past hi.
  const std::size_t from = lo > 0 ? lo - 1 : 0;
  std::string text = read_range(path, from, hi);
  if (text.back() != '\n' && hi < size) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(hi));
    std::string tail;
    std::getline(in, tail);
    text += tail;
  }
  std::size_t start = 0;
  if (lo > 0) {
    const std::size_t nl = text.find('\n');
    start = nl == std::string::npos ? text.size() : nl + 1;  // a line begun before lo is rank p-1's
    if (from + start >= hi) return;                          // no line starts in [lo, hi)
  }
  parse(text, start, text.size(), lo == 0, rows, cols, out, [&](std::size_t at, std::size_t) {
    return path + ": byte " + std::to_string(from + at) + ": ";
  });
}

}  // namespace

ObservedEntries<double> read_entries(MPI_Comm comm, const std::string& path, const DistributedReadOptions& o) {
  const dd::Comm c(comm);
  Index rows = o.rows, cols = o.cols;
  Parsed parsed;
  std::string error;
  try {
    if (!fs::exists(path)) throw std::runtime_error(path + ": no such file or directory");
    if (fs::is_directory(path)) {
      // The shard list, the same on every rank.
      std::map<long long, std::string> shards;
      long long expected = -1;
      for (const auto& entry : fs::directory_iterator(path)) {
        const std::string name = entry.path().filename().string();
        if (name == "manifest") {
          std::ifstream in(entry.path());
          std::string key;
          long long value = 0;
          while (in >> key >> value) {
            if (key == "rows" && rows == 0) rows = static_cast<Index>(value);
            else if (key == "cols" && cols == 0) cols = static_cast<Index>(value);
            else if (key == "shards") expected = value;
          }
          continue;
        }
        if (name.rfind("part-", 0) != 0) continue;
        long long id = -1;
        const char* b = name.data() + 5;
        const auto r = std::from_chars(b, name.data() + name.size(), id);
        if (r.ec != std::errc() || r.ptr == b) continue;
        if (!shards.emplace(id, entry.path().string()).second) {
          throw std::runtime_error(path + ": shard " + std::to_string(id) + " appears twice (" + shards[id] + " and " +
                                   entry.path().string() + ")");
        }
      }
      if (shards.empty()) throw std::runtime_error(path + ": no shard files part-NNNNN");
      const long long count = expected >= 0 ? expected : shards.rbegin()->first + 1;
      for (long long s = 0; s < count; ++s) {
        if (!shards.count(s)) {
          char name[32];
          std::snprintf(name, sizeof name, "part-%05lld", s);
          throw std::runtime_error(path + ": shard " + name + " (" + std::to_string(s) + " of 0.." +
                                   std::to_string(count - 1) + ") is missing");
        }
      }
      if (shards.rbegin()->first >= count) {
        throw std::runtime_error(shards.rbegin()->second + ": shard number " + std::to_string(shards.rbegin()->first) +
                                 " beyond the manifest's " + std::to_string(count) + " shards");
      }
      for (const auto& [id, file] : shards) {
        if (id % c.size != c.rank) continue;
        const std::string text = read_range(file, 0, fs::file_size(file));
        parse(text, 0, text.size(), true, rows, cols, parsed, [&](std::size_t, std::size_t line) {
          return file + ":" + std::to_string(line) + ": ";
        });
      }
    } else {
      read_slice(c, path, rows, cols, parsed);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  dd::agree(c, error, true);
  long long mx[2] = {parsed.max_row, parsed.max_col}, all[2];
  MPI_Allreduce(mx, all, 2, MPI_LONG_LONG, MPI_MAX, c.comm);
  dd::agree(c, all[0] < 0 ? path + ": no observed entry" : std::string(), true);
  ObservedEntries<double> out;
  out.rows = rows > 0 ? rows : static_cast<Index>(all[0] + 1);
  out.cols = cols > 0 ? cols : static_cast<Index>(all[1] + 1);
  out.row = std::move(parsed.row);
  out.col = std::move(parsed.col);
  out.value = std::move(parsed.value);
  return out;
}

}  // namespace lowrank::distributed
