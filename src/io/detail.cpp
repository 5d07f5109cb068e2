#include "detail.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>

#include "lowrank/core/error.hpp"

namespace lowrank::io::detail {

namespace {

// Opens `path` for reading if it is a regular file. O_NONBLOCK keeps open()
// from waiting for a writer on a FIFO; a device such as /dev/zero, a pipe or
// a directory has no size to bound the read and is refused.
int open_regular(const std::string& path, struct stat& sb) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw InputError(path, std::string("cannot open file: ") + std::strerror(errno));
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    const bool dir = S_ISDIR(sb.st_mode);
    ::close(fd);
    throw InputError(path, dir ? "is a directory, expected a file"
                               : "not a regular file (a device, pipe or socket has no size to bound the read)");
  }
  return fd;
}

}  // namespace

std::string read_file(const std::string& path) {
  struct stat sb {};
  const int fd = open_regular(path, sb);
  std::string data(static_cast<std::size_t>(sb.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {  // a file that shrinks meanwhile just ends early
    const ssize_t r = ::read(fd, data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(fd);
      throw InputError(path, std::string("read error: ") + std::strerror(e));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  data.resize(got);
  return data;
}

MappedFile::MappedFile(const std::string& path, bool sequential, bool streaming) {
  struct stat sb {};
  const int fd = open_regular(path, sb);
  m_size = static_cast<std::size_t>(sb.st_size);
  if (m_size > 0) {
    const int populate = sequential && !streaming ? MAP_POPULATE : 0;
    void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw InputError(path, std::string("cannot map file: ") + std::strerror(e));
    }
    if (sequential) ::madvise(p, m_size, MADV_SEQUENTIAL);
    m_data = static_cast<const std::byte*>(p);
  }
  ::close(fd);
}

void MappedFile::release_before(const char* p) {
  const char* base = reinterpret_cast<const char*>(m_data);
  if (m_data == nullptr || p <= base) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t upto = std::min(static_cast<std::size_t>(p - base), m_size) / page * page;
  if (upto <= m_released) return;
  // A private read-only file mapping: MADV_DONTNEED discards the cached
  // copy, and the next access reads the file again (never zeros).
  ::madvise(const_cast<char*>(base) + m_released, upto - m_released, MADV_DONTNEED);
  m_released = upto;
}

MappedFile::~MappedFile() {
  if (m_data != nullptr) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

std::string_view strip_bom(std::string_view text) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

bool LineCursor::next(std::string_view& line) {
  if (m_pos >= m_text.size()) return false;
  const auto nl = m_text.find('\n', m_pos);
  const std::size_t end = nl == std::string_view::npos ? m_text.size() : nl;
  line = m_text.substr(m_pos, end - m_pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  m_pos = nl == std::string_view::npos ? m_text.size() : nl + 1;
  ++m_line;
  return true;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

bool parse_double(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool is_missing(const std::string& cell, const std::vector<std::string>& missing) {
  return std::find(missing.begin(), missing.end(), cell) != missing.end();
}

std::string quoted(std::string_view text) {
  std::string s = "'";
  if (text.size() > 40) {
    s.append(text.substr(0, 37));
    s += "...";
  } else {
    s.append(text);
  }
  return s + "'";
}

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_number(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool RecordReader::next(std::vector<std::string>& fields, std::size_t& line) {
  fields.clear();
  const std::size_t n = m_text.size();
  while (m_pos < n) {  // skip blank lines
    std::size_t e = m_text.find('\n', m_pos);
    if (e == std::string_view::npos) e = n;
    if (!is_blank(m_text.substr(m_pos, e - m_pos))) break;
    m_pos = e + 1;
    ++m_line;
  }
  if (m_pos >= n) return false;
  line = m_line;
  const bool runs = m_sep == ' ';
  // Blanks around a field; in blank-run mode they are also the separator.
  const auto blank = [&](char c) { return c == ' ' || c == '\r' || (c == '\t' && m_sep != '\t'); };
  for (;;) {
    while (m_pos < n && blank(m_text[m_pos])) ++m_pos;
    std::string field;
    if (m_pos < n && m_text[m_pos] == '"') {
      const std::size_t open_line = m_line;
      ++m_pos;
      for (;;) {  // to the closing quote; "" is an escaped quote
        if (m_pos >= n) throw InputError(m_source, open_line, "unterminated quoted field");
        const char q = m_text[m_pos++];
        if (q == '"') {
          if (m_pos < n && m_text[m_pos] == '"') {
            field += '"';
            ++m_pos;
            continue;
          }
          break;
        }
        if (q == '\n') ++m_line;
        field += q;
      }
      const std::size_t after = m_pos;
      while (m_pos < n && blank(m_text[m_pos])) ++m_pos;
      const bool at_end = m_pos >= n || m_text[m_pos] == '\n';
      if (!at_end && !(runs ? m_pos > after : m_text[m_pos] == m_sep))
        throw InputError(m_source, m_line, "unexpected text after a closing quote");
    } else {
      const std::size_t begin = m_pos;
      while (m_pos < n && m_text[m_pos] != '\n' && (runs ? !blank(m_text[m_pos]) : m_text[m_pos] != m_sep)) ++m_pos;
      field = std::string(trim(m_text.substr(begin, m_pos - begin)));
      while (runs && m_pos < n && blank(m_text[m_pos])) ++m_pos;
    }
    fields.push_back(std::move(field));
    if (m_pos >= n) break;
    if (m_text[m_pos] == '\n') {
      ++m_pos;
      ++m_line;
      break;
    }
    if (!runs) ++m_pos;  // the separator
  }
  return true;
}

char sniff_separator(std::string_view text, std::string_view candidates, char fallback) {
  LineCursor lines(text);
  std::string_view line;
  while (lines.next(line))
    if (!is_blank(line)) break;
  std::vector<std::size_t> counts(candidates.size(), 0);
  bool in_quotes = false;
  for (char c : line) {
    if (c == '"') in_quotes = !in_quotes;
    if (in_quotes) continue;
    const auto k = candidates.find(c);
    if (k != std::string_view::npos) ++counts[k];
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < counts.size(); ++k)
    if (counts[k] > counts[best]) best = k;
  return counts.empty() || counts[best] == 0 ? fallback : candidates[best];
}

AtomicFile::AtomicFile(std::string path) : m_path(std::move(path)) {
  m_temp = m_path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(m_temp.data());
  if (fd < 0) throw InputError(m_path, std::string("cannot create file: ") + std::strerror(errno));
  ::fchmod(fd, 0644);
  m_file = ::fdopen(fd, "wb");
  if (!m_file) {
    ::close(fd);
    ::unlink(m_temp.c_str());
    throw InputError(m_path, std::string("cannot open for writing: ") + std::strerror(errno));
  }
  std::setvbuf(m_file, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (m_file) {
    std::fclose(m_file);
    ::unlink(m_temp.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, m_file) != size)
    throw InputError(m_path, std::string("write failed: ") + std::strerror(errno));
}

void AtomicFile::write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

void AtomicFile::write_when_full(std::string& buf) {
  if (buf.size() > (std::size_t{1} << 20)) {
    write(buf);
    buf.clear();
  }
}

void AtomicFile::commit() {
  if (!m_file) return;
  const bool ok = std::fflush(m_file) == 0 && ::fsync(::fileno(m_file)) == 0;
  const int err = errno;
  std::fclose(m_file);
  m_file = nullptr;
  if (!ok) {
    ::unlink(m_temp.c_str());
    throw InputError(m_path, std::string("write failed: ") + std::strerror(err));
  }
  if (std::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    const int e = errno;
    ::unlink(m_temp.c_str());
    throw InputError(m_path, std::string("cannot replace file: ") + std::strerror(e));
  }
}

std::string id_label(const IdMap& ids, std::int32_t index) {
  if (!ids.empty() && index >= 0 && static_cast<std::size_t>(index) < ids.size())
    return detail::quoted(ids.name(index));
  return std::to_string(index);
}

template <class T>
std::size_t resolve_duplicates_with_lines(ObservedEntries<T>& e, const std::vector<std::size_t>& lines,
                                          const std::string& source, DuplicatePolicy policy) {
  const std::function<std::size_t(std::size_t)> line_of = [&lines](std::size_t p) { return lines[p]; };
  return resolve_duplicates_with_lines(e, line_of, source, policy);
}

template <class T>
std::size_t resolve_duplicates_with_lines(ObservedEntries<T>& e, const std::function<std::size_t(std::size_t)>& line_of,
                                          const std::string& source, DuplicatePolicy policy) {
  if (policy != DuplicatePolicy::Error) return resolve_duplicates(e, policy);
  const std::size_t n = e.nnz();
  if (n >= (std::size_t{1} << 14) && e.rows > 0 && static_cast<std::size_t>(e.rows) <= n) {
    // Fast path for large inputs: the columns of each row, bucketed by a
    // counting pass, then sorted row by row and checked for an equal
    // neighbour. The rows go in ranges of about an eighth of the entries,
    // one pass over the entries per range, so the scratch is 0.5 bytes per
    // entry (all rows at once held 4, the peak of reading a 10^7-line file;
    // sorting packed 8-byte keys held 16; issue 32).
    const auto rows = static_cast<std::size_t>(e.rows);
    std::vector<std::size_t> start(rows + 1, 0);
    for (std::size_t k = 0; k < n; ++k) ++start[static_cast<std::size_t>(e.row[k]) + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    const std::size_t target = std::max(n / 8, std::size_t{1} << 16);
    std::vector<std::int32_t> cols;
    std::vector<std::size_t> next;
    bool repeated = false;
    for (std::size_t r0 = 0; r0 < rows && !repeated;) {
      std::size_t r1 = r0 + 1;
      while (r1 < rows && start[r1 + 1] - start[r0] <= target) ++r1;
      cols.resize(start[r1] - start[r0]);
      next.assign(start.begin() + static_cast<std::ptrdiff_t>(r0), start.begin() + static_cast<std::ptrdiff_t>(r1));
      const std::size_t base = start[r0];
      for (std::size_t k = 0; k < n; ++k) {
        const auto r = static_cast<std::size_t>(e.row[k]);
        if (r >= r0 && r < r1) cols[next[r - r0]++ - base] = e.col[k];
      }
      for (std::size_t r = r0; r < r1 && !repeated; ++r) {
        const auto b = cols.begin() + static_cast<std::ptrdiff_t>(start[r] - base);
        const auto f = cols.begin() + static_cast<std::ptrdiff_t>(start[r + 1] - base);
        std::sort(b, f);
        repeated = std::adjacent_find(b, f) != f;
      }
      r0 = r1;
    }
    if (!repeated) return 0;
  } else {
    // Fast path: sort packed (row, col) keys and look for an equal neighbour.
    // Indices are non-negative int32, so a key is exact; an indirect sort of
    // positions (below) took a third of reading a 10^7-line file.
    // Keys row * cols + col need only log2(rows * cols) bits, so an LSD
    // radix sort over 16-bit digits takes 2-3 linear passes where std::sort
    // took 14 % of reading a 10^7-line file.
    const auto ncols = static_cast<std::uint64_t>(std::max<Index>(e.cols, 1));
    std::vector<std::uint64_t> keys(n), tmp;
    std::uint64_t largest = 0;
    for (std::size_t k = 0; k < n; ++k) {
      keys[k] = static_cast<std::uint64_t>(static_cast<std::uint32_t>(e.row[k])) * ncols +
                static_cast<std::uint32_t>(e.col[k]);
      largest = std::max(largest, keys[k]);
    }
    // Below 2^14 keys a comparison sort beats clearing the 512 KiB digit
    // histogram of each radix pass.
    if (n < (std::size_t{1} << 14)) {
      std::sort(keys.begin(), keys.end());
      largest = 0;
    } else {
      tmp.resize(n);
    }
    for (int shift = 0; shift < 64 && (largest >> shift) != 0; shift += 16) {
      std::vector<std::size_t> start(65537, 0);
      for (std::uint64_t key : keys) ++start[((key >> shift) & 0xFFFF) + 1];
      for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
      for (std::uint64_t key : keys) tmp[start[(key >> shift) & 0xFFFF]++] = key;
      keys.swap(tmp);
    }
    if (std::adjacent_find(keys.begin(), keys.end()) == keys.end()) return 0;
  }
  // Some pair repeats: find the first one in file order to name its lines.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (e.row[a] != e.row[b]) return e.row[a] < e.row[b];
    if (e.col[a] != e.col[b]) return e.col[a] < e.col[b];
    return a < b;
  });
  std::size_t first = n, second = n, pairs = 0, extra = 0;
  for (std::size_t i = 0; i + 1 < n;) {
    std::size_t j = i + 1;
    while (j < n && e.row[order[j]] == e.row[order[i]] && e.col[order[j]] == e.col[order[i]]) ++j;
    if (j - i > 1) {
      ++pairs;
      extra += j - i - 1;
      if (order[i + 1] < second) {
        second = order[i + 1];
        first = order[i];
      }
    }
    i = j;
  }
  if (pairs == 0) return 0;
  throw InputError(source, line_of(second),
                   "duplicate entry (row " + id_label(e.row_ids, e.row[second]) + ", col " +
                       id_label(e.col_ids, e.col[second]) + "), first seen on line " + std::to_string(line_of(first)) +
                       "; " + std::to_string(pairs) + " pair(s) repeated, " + std::to_string(extra) +
                       " extra entries (choose how to combine them: duplicates = mean, last or sum)");
}

#define LOWRANK_IO_DUPLICATES(T)                                                                              \
  template std::size_t resolve_duplicates_with_lines<T>(ObservedEntries<T>&, const std::vector<std::size_t>&, \
                                                        const std::string&, DuplicatePolicy);                 \
  template std::size_t resolve_duplicates_with_lines<T>(ObservedEntries<T>&,                                  \
                                                        const std::function<std::size_t(std::size_t)>&,       \
                                                        const std::string&, DuplicatePolicy);
LOWRANK_IO_DUPLICATES(float)
LOWRANK_IO_DUPLICATES(double)
#undef LOWRANK_IO_DUPLICATES

}  // namespace lowrank::io::detail
