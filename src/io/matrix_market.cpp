#include "lowrank/io/matrix_market.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

namespace {

using detail::quoted;

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t b = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

MatrixMarketHeader parse_banner(const std::string& path, std::string_view line) {
  const std::string expected =
      "expected a banner '%%MatrixMarket matrix <coordinate|array> <real|integer|pattern> "
      "<general|symmetric|skew-symmetric>'";
  const auto t = tokens(line);
  if (t.empty() || lower(t[0]) != "%%matrixmarket") throw InputError(path, 1, expected + ", found " + quoted(line));
  if (t.size() != 5) throw InputError(path, 1, expected + ": the banner has " + std::to_string(t.size()) + " words");
  if (lower(t[1]) != "matrix") throw InputError(path, 1, "unsupported object " + quoted(t[1]) + " (only 'matrix')");
  MatrixMarketHeader h;
  const auto format = lower(t[2]), field = lower(t[3]), symmetry = lower(t[4]);
  if (format == "coordinate") h.format = MmFormat::Coordinate;
  else if (format == "array") h.format = MmFormat::Array;
  else throw InputError(path, 1, "unknown format " + quoted(t[2]) + " (expected coordinate or array)");
  if (field == "real" || field == "double") h.field = MmField::Real;
  else if (field == "integer") h.field = MmField::Integer;
  else if (field == "pattern") h.field = MmField::Pattern;
  else if (field == "complex") throw InputError(path, 1, "complex matrices are not supported");
  else throw InputError(path, 1, "unknown field " + quoted(t[3]) + " (expected real, integer or pattern)");
  if (symmetry == "general") h.symmetry = MmSymmetry::General;
  else if (symmetry == "symmetric" || symmetry == "hermitian") h.symmetry = MmSymmetry::Symmetric;  // real hermitian
  else if (symmetry == "skew-symmetric") h.symmetry = MmSymmetry::SkewSymmetric;
  else
    throw InputError(path, 1, "unknown symmetry " + quoted(t[4]) + " (expected general, symmetric or skew-symmetric)");
  if (h.format == MmFormat::Array && h.field == MmField::Pattern)
    throw InputError(path, 1, "'array pattern' is not a valid Matrix Market type");
  if (h.field == MmField::Pattern && h.symmetry == MmSymmetry::SkewSymmetric)
    throw InputError(path, 1, "'pattern skew-symmetric' is not a valid Matrix Market type");
  return h;
}

std::int64_t parse_count(const std::string& path, std::size_t ln, std::string_view tok, const char* what) {
  std::int64_t v;
  if (!detail::parse_int64(tok, v))
    throw InputError(path, ln, std::string("size line: ") + what + " " + quoted(tok) + " is not an integer");
  if (v < 0) throw InputError(path, ln, std::string("size line: ") + what + " is negative (" + std::string(tok) + ")");
  return v;
}

double parse_value(const std::string& path, std::size_t ln, std::string_view tok, MmField field) {
  double x;
  if (field == MmField::Integer) {
    std::int64_t k;
    if (!detail::parse_int64(tok, k)) throw InputError(path, ln, "expected an integer value, found " + quoted(tok));
    return static_cast<double>(k);
  }
  if (!detail::parse_double(tok, x)) throw InputError(path, ln, "expected a real value, found " + quoted(tok));
  if (!std::isfinite(x)) throw InputError(path, ln, "value " + quoted(tok) + " is not finite");
  return x;
}

}  // namespace

MatrixMarketData read_matrix_market(const std::string& path, DuplicatePolicy duplicates) {
  const std::string bytes = detail::read_file(path);
  const std::string_view text = detail::strip_bom(bytes);
  if (detail::is_blank(text)) throw InputError(path, "empty file: expected a '%%MatrixMarket' banner");
  detail::LineCursor lines(text);
  std::string_view line;
  lines.next(line);
  MatrixMarketData out;
  out.header = parse_banner(path, line);
  const auto& h = out.header;

  // Next non-comment, non-blank line: the size line.
  auto next_data = [&](std::string_view& l) {
    while (lines.next(l)) {
      const auto t = detail::trim(l);
      if (!t.empty() && t.front() != '%') return true;
    }
    return false;
  };
  if (!next_data(line)) throw InputError(path, lines.line_number(), "missing size line after the banner");
  const std::size_t size_line = lines.line_number();
  const auto st = tokens(line);
  const std::size_t want = h.format == MmFormat::Coordinate ? 3 : 2;
  if (st.size() != want)
    throw InputError(path, size_line,
                     std::string("size line: expected ") + (want == 3 ? "'rows cols entries'" : "'rows cols'") +
                         ", found " + std::to_string(st.size()) + " numbers");
  const std::int64_t m = parse_count(path, size_line, st[0], "rows");
  const std::int64_t n = parse_count(path, size_line, st[1], "cols");
  if (m > std::numeric_limits<std::int32_t>::max() || n > std::numeric_limits<std::int32_t>::max())
    throw InputError(path, size_line, "size line: dimensions exceed 2^31-1");
  if (h.symmetry != MmSymmetry::General && m != n)
    throw InputError(path, size_line,
                     "size line: a symmetric matrix must be square, found " + std::to_string(m) + " x " +
                         std::to_string(n));

  // Bytes after the size line: every announced entry or value needs some of
  // them, so sizes are checked against the file before anything is allocated.
  const std::size_t rest =
      text.size() - std::min(text.size(), static_cast<std::size_t>(line.data() + line.size() - text.data()));
  if (h.format == MmFormat::Coordinate) {
    const std::int64_t nnz = parse_count(path, size_line, st[2], "entries");
    const bool general = h.symmetry == MmSymmetry::General;
    if (general && m > 0 && n > 0 && static_cast<double>(nnz) > static_cast<double>(m) * static_cast<double>(n))
      throw InputError(path, size_line, "size line: " + std::to_string(nnz) + " entries exceed rows x cols");
    // Empty rows and columns cost memory in every command (factors, CSR row
    // pointers), so the shape must be backed by entries; the slack keeps
    // legitimately sparse matrices with some empty rows and columns.
    constexpr std::int64_t kShapeSlack = std::int64_t{1} << 20;
    if (m + n > 2 * nnz + kShapeSlack)
      throw InputError(path, size_line,
                       "size line: " + std::to_string(m) + " x " + std::to_string(n) + " for only " +
                           std::to_string(nnz) + " entries (rows + cols may exceed twice the entries by at most " +
                           std::to_string(kShapeSlack) + "; the empty rows and columns would still cost memory)");
    ObservedEntries<double> e;
    e.rows = m;
    e.cols = n;
    std::vector<std::size_t> entry_lines;
    // An entry line takes at least 4 bytes ("i j\n"): reserve no more than
    // the file can hold (a small file announcing 2^26 entries reserved 1.6 GB).
    const auto reserve =
        static_cast<std::size_t>(std::min<std::int64_t>(nnz, static_cast<std::int64_t>(rest / 4 + 1))) *
        (general ? 1 : 2);
    e.reserve(reserve);
    entry_lines.reserve(reserve);
    const std::size_t fields = h.field == MmField::Pattern ? 2 : 3;
    std::int64_t seen = 0;
    while (next_data(line)) {
      const std::size_t ln = lines.line_number();
      if (seen == nnz)
        throw InputError(path, ln,
                         "more entries than the " + std::to_string(nnz) + " announced on line " +
                             std::to_string(size_line));
      const auto t = tokens(line);
      if (t.size() != fields)
        throw InputError(path, ln,
                         "expected " + std::string(fields == 2 ? "'row col'" : "'row col value'") + ", found " +
                             std::to_string(t.size()) + " fields");
      std::int64_t i, j;
      if (!detail::parse_int64(t[0], i)) throw InputError(path, ln, "row index " + quoted(t[0]) + " is not an integer");
      if (!detail::parse_int64(t[1], j))
        throw InputError(path, ln, "column index " + quoted(t[1]) + " is not an integer");
      if (i < 1 || i > m)
        throw InputError(path, ln,
                         "row index " + std::to_string(i) + " outside 1.." + std::to_string(m) +
                             " (indices are 1-based)");
      if (j < 1 || j > n)
        throw InputError(path, ln,
                         "column index " + std::to_string(j) + " outside 1.." + std::to_string(n) +
                             " (indices are 1-based)");
      const double v = h.field == MmField::Pattern ? 1.0 : parse_value(path, ln, t[2], h.field);
      const auto r = static_cast<std::int32_t>(i - 1), c = static_cast<std::int32_t>(j - 1);
      if (h.symmetry == MmSymmetry::SkewSymmetric && r == c)
        throw InputError(path, ln,
                         "skew-symmetric matrices have no diagonal entries, found (" + std::to_string(i) + ", " +
                             std::to_string(j) + ")");
      e.push_back(r, c, v);
      entry_lines.push_back(ln);
      if (!general && r != c) {  // the other triangle: a_ji = a_ij (symmetric) or -a_ij (skew)
        e.push_back(c, r, h.symmetry == MmSymmetry::SkewSymmetric ? -v : v);
        entry_lines.push_back(ln);
      }
      ++seen;
    }
    if (seen < nnz)
      throw InputError(path, lines.line_number(),
                       "file ends after " + std::to_string(seen) + " entries; the size line (line " +
                           std::to_string(size_line) + ") announced " + std::to_string(nnz));
    detail::resolve_duplicates_with_lines(e, entry_lines, path, duplicates);
    out.data = std::move(e);
    return out;
  }

  // Array: column-major values; symmetric stores the lower triangle with the
  // diagonal, skew-symmetric the strict lower triangle.
  std::int64_t expected = m * n;
  if (h.symmetry == MmSymmetry::Symmetric) expected = n * (n + 1) / 2;
  if (h.symmetry == MmSymmetry::SkewSymmetric) expected = n * (n - 1) / 2;
  // Each value takes at least 2 bytes ("0\n", the last one 1): refuse a
  // size line the file cannot back before allocating rows x cols doubles.
  if (expected > static_cast<std::int64_t>((rest + 1) / 2))
    throw InputError(path, size_line,
                     "size line: a " + std::to_string(m) + " x " + std::to_string(n) + " array holds " +
                         std::to_string(expected) + " values but the " + std::to_string(rest) +
                         " bytes after the size line hold at most " + std::to_string((rest + 1) / 2));
  Matrix<double> a = Matrix<double>::Zero(m, n);
  std::int64_t seen = 0;
  Index i = 0, j = 0;
  auto advance = [&] {  // to the next stored position, column by column
    ++i;
    if (i >= m) {
      ++j;
      i = h.symmetry == MmSymmetry::General ? 0 : j + (h.symmetry == MmSymmetry::SkewSymmetric ? 1 : 0);
    }
  };
  if (h.symmetry == MmSymmetry::SkewSymmetric) i = 1;
  while (next_data(line)) {
    const std::size_t ln = lines.line_number();
    if (seen == expected)
      throw InputError(path, ln, "more values than the " + std::to_string(expected) + " an array of this size holds");
    const auto t = tokens(line);
    if (t.size() != 1)
      throw InputError(path, ln, "expected one value per line, found " + std::to_string(t.size()) + " fields");
    const double v = parse_value(path, ln, t[0], h.field);
    a(i, j) = v;
    if (h.symmetry == MmSymmetry::Symmetric) a(j, i) = v;
    if (h.symmetry == MmSymmetry::SkewSymmetric) a(j, i) = -v;
    advance();
    ++seen;
  }
  if (seen < expected)
    throw InputError(path, lines.line_number(),
                     "file ends after " + std::to_string(seen) + " values; an array of this size holds " +
                         std::to_string(expected));
  out.data = std::move(a);
  return out;
}

template <class T>
void write_matrix_market(const std::string& path, const ObservedEntries<T>& e) {
  validate(e, "write_matrix_market");
  detail::AtomicFile file(path);
  std::string buf = "%%MatrixMarket matrix coordinate real general\n% written by lowrank\n";
  buf += std::to_string(e.rows) + " " + std::to_string(e.cols) + " " + std::to_string(e.nnz()) + "\n";
  for (std::size_t p = 0; p < e.nnz(); ++p) {
    buf += std::to_string(e.row[p] + 1);
    buf += ' ';
    buf += std::to_string(e.col[p] + 1);
    buf += ' ';
    buf += detail::format_number(e.value[p]);
    buf += '\n';
    file.write_when_full(buf);
  }
  file.write(buf);
  file.commit();
}

template <class T>
void write_matrix_market(const std::string& path, const Matrix<T>& a) {
  for (Index j = 0; j < a.cols(); ++j)
    for (Index i = 0; i < a.rows(); ++i)
      if (!std::isfinite(a(i, j)))
        throw InvalidArgument(
            "write_matrix_market: entry (" + std::to_string(i) + ", " + std::to_string(j) +
            ") is not finite; Matrix Market has no missing values (write the observed entries instead)");
  detail::AtomicFile file(path);
  std::string buf = "%%MatrixMarket matrix array real general\n% written by lowrank\n";
  buf += std::to_string(a.rows()) + " " + std::to_string(a.cols()) + "\n";
  for (Index j = 0; j < a.cols(); ++j)
    for (Index i = 0; i < a.rows(); ++i) {
      buf += detail::format_number(a(i, j));
      buf += '\n';
      file.write_when_full(buf);
    }
  file.write(buf);
  file.commit();
}

template void write_matrix_market<float>(const std::string&, const ObservedEntries<float>&);
template void write_matrix_market<double>(const std::string&, const ObservedEntries<double>&);
template void write_matrix_market<float>(const std::string&, const Matrix<float>&);
template void write_matrix_market<double>(const std::string&, const Matrix<double>&);

}  // namespace lowrank::io
