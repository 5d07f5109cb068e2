#pragma once
// Internal helpers shared by the io readers and writers (not installed).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/core/observed_entries.hpp"

namespace lowrank::io::detail {

/// Whole file as bytes; InputError(path, ...) when it cannot be read.
std::string read_file(const std::string& path);

/// A regular file mapped read-only for the lifetime of the object (empty
/// files map to an empty view). Text readers parse it in place: a copy into a
/// std::string first zero-fills and then copies the whole file.
class MappedFile {
 public:
  /// `sequential` hints the kernel to read ahead and pre-faults the pages;
  /// `streaming` (with sequential) reads ahead without pre-faulting, for a
  /// caller that reads front to back and calls release_before().
  explicit MappedFile(const std::string& path, bool sequential = false, bool streaming = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const std::byte* data() const { return m_data; }
  std::size_t size() const { return m_size; }
  std::string_view text() const { return {reinterpret_cast<const char*>(m_data), m_size}; }
  /// Drops the pages wholly before `p` (a pointer into text()) from the
  /// process's memory: a later read of them faults them in again from the
  /// file, so views into the text stay valid. Keeps a 10^7-line file's
  /// 200 MB from counting in the reader's peak memory on top of the entries.
  void release_before(const char* p);

 private:
  std::size_t m_released = 0;
  const std::byte* m_data = nullptr;
  std::size_t m_size = 0;
};

/// The text without a leading UTF-8 byte-order mark.
std::string_view strip_bom(std::string_view text);

/// Iterates the lines of a text: LF or CRLF endings, 1-based numbers.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : m_text(text) {}
  /// Next line without its ending; false at the end of the text.
  bool next(std::string_view& line);
  std::size_t line_number() const { return m_line; }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  std::size_t m_line = 0;
};

std::string_view trim(std::string_view s);
bool is_blank(std::string_view s);

/// Whole-field number parsing (std::from_chars: locale-independent).
/// Accepts a leading '+', "inf", "nan" (the caller decides about finiteness).
bool parse_double(std::string_view s, double& out);
bool parse_int64(std::string_view s, std::int64_t& out);

/// 'text' shortened to ~40 characters, quoted, for messages.
std::string quoted(std::string_view text);

/// True if the (trimmed) cell is one of the missing-value markers.
bool is_missing(const std::string& cell, const std::vector<std::string>& missing);

/// Shortest decimal representation that parses back to the same value.
std::string format_number(double v);
std::string format_number(float v);

/// Delimited records with RFC 4180 quoting ("a,b", "x""y", quoted line
/// breaks). Fields are trimmed of blanks outside quotes. Blank lines are
/// skipped. With sep == ' ' fields are separated by runs of blanks.
class RecordReader {
 public:
  RecordReader(std::string_view text, char sep, std::string source)
      : m_text(text), m_sep(sep), m_source(std::move(source)) {}
  /// Next record; `line` is the 1-based line where it starts. False at end.
  bool next(std::vector<std::string>& fields, std::size_t& line);

 private:
  std::string_view m_text;
  char m_sep;
  std::string m_source;
  std::size_t m_pos = 0;
  std::size_t m_line = 1;
};

/// Most frequent of `candidates` outside quotes in the first non-blank line
/// of `text`; `fallback` when none occurs.
char sniff_separator(std::string_view text, std::string_view candidates, char fallback);

/// Writes to a temporary file beside `path` and renames it over `path` on
/// commit(), so readers never see a partial file. Destroying an uncommitted
/// AtomicFile removes the temporary. Errors are InputError(path, ...).
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  std::FILE* get() { return m_file; }
  void write(std::string_view bytes);
  void write(const void* data, std::size_t size);
  /// For writers that format into a string: writes `buf` out and clears it
  /// once it holds more than 1 MiB, so memory stays bounded on large outputs.
  void write_when_full(std::string& buf);
  void commit();

 private:
  std::string m_path;
  std::string m_temp;
  std::FILE* m_file = nullptr;
};

/// With DuplicatePolicy::Error: throws InputError on the line of the first
/// repeated (row, col) pair naming the pair and the line of its first
/// occurrence. Otherwise resolves like lowrank::resolve_duplicates.
/// `lines[p]` is the line of entry p. Returns the number of entries removed.
template <class T>
std::size_t resolve_duplicates_with_lines(ObservedEntries<T>& e, const std::vector<std::size_t>& lines,
                                          const std::string& source, DuplicatePolicy policy);
/// The same with `line_of(p)`, the line of entry p, asked only when a pair
/// repeats (a reader can then find lines again instead of storing one per
/// entry). The check itself needs 4 bytes per entry of scratch.
template <class T>
std::size_t resolve_duplicates_with_lines(ObservedEntries<T>& e, const std::function<std::size_t(std::size_t)>& line_of,
                                          const std::string& source, DuplicatePolicy policy);

/// Label of an index for messages: the external id when the map has one.
std::string id_label(const IdMap& ids, std::int32_t index);

}  // namespace lowrank::io::detail
