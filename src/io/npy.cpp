#include "lowrank/io/npy.hpp"

#include <zip.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

static_assert(std::endian::native == std::endian::little, "lowrank's binary readers assume a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes

std::uint32_t read_le(const std::byte* p, int n) {
  std::uint32_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<std::uint32_t>(p[k]);
  return v;
}

// Parser of the header dict, a Python literal such as
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// Errors carry the byte offset in the file.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::size_t base, const std::string& source)
      : m_s(text), m_base(base), m_source(source) {}

  void parse(std::string& descr, bool& fortran, std::vector<std::int64_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip();
    expect('{');
    for (;;) {
      skip();
      if (peek() == '}') break;
      const std::size_t key_at = m_i;
      const std::string key = string_literal();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        if (peek() == '[') fail(m_i, "unsupported dtype: structured arrays (a field list) are not supported");
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_order = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        fail(key_at, "unexpected key '" + key + "' in the header dict");
      }
      skip();
      if (peek() == ',') {
        ++m_i;
        continue;
      }
      skip();
      if (peek() != '}') fail(m_i, "expected ',' or '}' in the header dict");
    }
    if (!have_descr || !have_order || !have_shape)
      fail(0, "the header dict lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw InputError::at_byte(m_source, m_base + at, what);
  }
  char peek() const { return m_i < m_s.size() ? m_s[m_i] : '\0'; }
  void skip() {
    while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r')) ++m_i;
  }
  void expect(char c) {
    if (peek() != c) fail(m_i, std::string("malformed header dict: expected '") + c + "'");
    ++m_i;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail(m_i, "malformed header dict: expected a quoted string");
    const std::size_t b = ++m_i;
    while (m_i < m_s.size() && m_s[m_i] != q) ++m_i;
    if (m_i >= m_s.size()) fail(b - 1, "malformed header dict: unterminated string");
    return std::string(m_s.substr(b, m_i++ - b));
  }
  bool boolean() {
    if (m_s.substr(m_i, 4) == "True") {
      m_i += 4;
      return true;
    }
    if (m_s.substr(m_i, 5) == "False") {
      m_i += 5;
      return false;
    }
    fail(m_i, "malformed header dict: fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    std::vector<std::int64_t> out;
    expect('(');
    for (;;) {
      skip();
      if (peek() == ')') {
        ++m_i;
        break;
      }
      const std::size_t b = m_i;
      while (m_i < m_s.size() && m_s[m_i] >= '0' && m_s[m_i] <= '9') ++m_i;
      std::int64_t v;
      if (m_i == b || !detail::parse_int64(m_s.substr(b, m_i - b), v))
        fail(b, "malformed shape: expected a non-negative integer");
      if (peek() == 'L') ++m_i;  // Python 2 long suffix
      out.push_back(v);
      skip();
      if (peek() == ',') {
        ++m_i;
        continue;
      }
      skip();
      if (peek() != ')') fail(m_i, "malformed shape: expected ',' or ')'");
    }
    return out;
  }

  std::string_view m_s;
  std::size_t m_base;
  const std::string& m_source;
  std::size_t m_i = 0;
};

template <class S>
void convert(const std::byte* data, Index count, double* out) {
  for (Index k = 0; k < count; ++k) {
    S v;
    std::memcpy(&v, data + k * static_cast<Index>(sizeof(S)), sizeof(S));
    out[k] = static_cast<double>(v);
  }
}

template <class T>
std::string npy_bytes(const T* data, const std::vector<std::int64_t>& shape) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  std::string dict =
      std::string("{'descr': '") + (sizeof(T) == 8 ? "<f8" : "<f4") + "', 'fortran_order': True, 'shape': (";
  for (std::size_t k = 0; k < shape.size(); ++k)
    dict += std::to_string(shape[k]) + (shape.size() == 1 || k + 1 < shape.size() ? "," : "") +
            (k + 1 < shape.size() ? " " : "");
  dict += "), }";
  // Pad with spaces so magic + version + length + dict + '\n' is a multiple of 64 (numpy >= 1.x).
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw InvalidArgument("write_npy: header too long");
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  std::string out;
  out.reserve(10 + dict.size() + static_cast<std::size_t>(count) * sizeof(T));
  out.append(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  if (count > 0) out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(count) * sizeof(T));
  return out;
}

}  // namespace

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& source) {
  const std::size_t size = bytes.size();
  if (size == 0) throw InputError::at_byte(source, 0, "empty file: expected an .npy array");
  if (size < 6 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    throw InputError::at_byte(source, 0, "not an .npy file: missing the magic string \\x93NUMPY");
  if (size < 10) throw InputError::at_byte(source, size, "truncated .npy: the file ends inside the preamble");
  const int major = static_cast<int>(bytes[6]), minor = static_cast<int>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw InputError::at_byte(source, 6,
                              "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                                  " (1.0, 2.0 and 3.0 are)");
  const int len_bytes = major == 1 ? 2 : 4;
  if (size < 8u + static_cast<std::size_t>(len_bytes))
    throw InputError::at_byte(source, size, "truncated .npy: the file ends inside the header length");
  const std::size_t header_len = read_le(bytes.data() + 8, len_bytes);
  const std::size_t header_start = 8 + static_cast<std::size_t>(len_bytes);
  if (header_len > size - header_start)
    throw InputError::at_byte(source, size,
                              "truncated .npy: the header needs " + std::to_string(header_len) + " bytes from byte " +
                                  std::to_string(header_start) + " but the file ends at byte " + std::to_string(size));
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + header_start, header_len);

  NpyArray a;
  HeaderParser(header, header_start, source).parse(a.dtype, a.fortran_order, a.shape);
  std::size_t item = 0;
  if (a.dtype == "<f8" || a.dtype == "<i8") item = 8;
  else if (a.dtype == "<f4" || a.dtype == "<i4") item = 4;
  else
    throw InputError::at_byte(source, header_start,
                              "unsupported dtype '" + a.dtype + "' (supported: <f4, <f8, <i4, <i8)");
  if (a.shape.empty() || a.shape.size() > 2)
    throw InputError::at_byte(source, header_start,
                              "unsupported array of " + std::to_string(a.shape.size()) +
                                  " dimensions (1-D and 2-D are supported)");
  const std::int64_t m = a.shape[0], n = a.shape.size() == 2 ? a.shape[1] : 1;
  // As for every matrix lowrank reads (Matrix Market, triplet ids): beyond
  // this, an empty array of shape (0, 3 * 10^13) sent the row-major copy
  // below round an empty loop 3 * 10^13 times (found by fuzz_npy).
  if (m > std::numeric_limits<std::int32_t>::max() || n > std::numeric_limits<std::int32_t>::max())
    throw InputError::at_byte(source, header_start,
                              "shape dimension " + std::to_string(std::max(m, n)) + " exceeds 2^31-1");
  if (n > 0 && m > std::numeric_limits<std::int64_t>::max() / n / static_cast<std::int64_t>(item))
    throw InputError::at_byte(source, header_start, "shape too large");
  const std::size_t count = static_cast<std::size_t>(m * n);
  const std::size_t data_start = header_start + header_len;
  const std::size_t need = count * item;
  if (size - data_start < need)
    throw InputError::at_byte(source, size,
                              "truncated .npy: the data needs " + std::to_string(need) + " bytes from byte " +
                                  std::to_string(data_start) + " but the file ends at byte " + std::to_string(size));
  const std::byte* data = bytes.data() + data_start;
  // Values in file order, then placed: Fortran order is our column-major order.
  std::vector<double> flat(count);
  if (a.dtype == "<f8") convert<double>(data, static_cast<Index>(count), flat.data());
  else if (a.dtype == "<f4") convert<float>(data, static_cast<Index>(count), flat.data());
  else if (a.dtype == "<i8") convert<std::int64_t>(data, static_cast<Index>(count), flat.data());
  else convert<std::int32_t>(data, static_cast<Index>(count), flat.data());
  if (count == 0) a.values.resize(m, n);
  else if (a.fortran_order || a.shape.size() == 1) a.values = Eigen::Map<const Matrix<double>>(flat.data(), m, n);
  else a.values = Eigen::Map<const RowMajorMatrix<double>>(flat.data(), m, n);
  return a;
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = detail::read_file(path);
  return parse_npy(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), path);
}

template <class T>
void write_npy(const std::string& path, const Matrix<T>& matrix) {
  detail::AtomicFile file(path);
  file.write(npy_bytes(matrix.data(), {matrix.rows(), matrix.cols()}));
  file.commit();
}

template <class T>
void write_npy(const std::string& path, const Vector<T>& vector) {
  detail::AtomicFile file(path);
  file.write(npy_bytes(vector.data(), {vector.size()}));
  file.commit();
}

template void write_npy<float>(const std::string&, const Matrix<float>&);
template void write_npy<double>(const std::string&, const Matrix<double>&);
template void write_npy<float>(const std::string&, const Vector<float>&);
template void write_npy<double>(const std::string&, const Vector<double>&);

namespace {

std::string zip_message(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string msg = zip_error_strerror(&err);
  zip_error_fini(&err);
  return msg;
}

struct ZipCloser {
  void operator()(zip_t* z) const {
    if (z) zip_discard(z);
  }
};

}  // namespace

std::vector<NamedArray> read_npz(const std::string& path) {
  // libzip reads the mapped bytes: the same refusal of directories, devices
  // and pipes as every other reader, and no second open of the path.
  const detail::MappedFile file(path);
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(file.data(), file.size(), 0, &error);
  if (!source) {
    zip_error_fini(&error);
    throw InputError(path, "cannot read the archive");
  }
  std::unique_ptr<zip_t, ZipCloser> za(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (!za) {
    zip_source_free(source);
    const int code = zip_error_code_zip(&error);
    zip_error_fini(&error);
    throw InputError(path, "not a valid .npz (zip) archive: " + zip_message(code));
  }
  zip_error_fini(&error);
  const zip_int64_t n = zip_get_num_entries(za.get(), 0);
  std::vector<NamedArray> out;
  zip_uint64_t compressed = 0;  // of the members so far
  for (zip_int64_t k = 0; k < n; ++k) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za.get(), static_cast<zip_uint64_t>(k), 0, &st) != 0)
      throw InputError(path, std::string("cannot read archive entry: ") + zip_strerror(za.get()));
    std::string name = st.name ? st.name : "";
    if (!name.empty() && name.back() == '/') continue;  // a directory
    const std::string member = path + ":" + name;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
      throw InputError(path, "archive member '" + name + "' is not an .npy array");
    // Members that share compressed bytes (overlapping entries) multiply
    // what a small archive decompresses to; a real archive's members fit in it.
    if (st.valid & ZIP_STAT_COMP_SIZE) {
      if (st.comp_size > file.size() - compressed)
        throw InputError(member, "the members so far claim " + std::to_string(compressed) + " + " +
                                     std::to_string(st.comp_size) + " compressed bytes but the archive holds " +
                                     std::to_string(file.size()) + " (overlapping members)");
      compressed += st.comp_size;
    }
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen_index(za.get(), static_cast<zip_uint64_t>(k), 0),
                                                         &zip_fclose);
    if (!f) throw InputError(member, std::string("cannot open archive member: ") + zip_strerror(za.get()));
    // The buffer grows with what decompresses (doubling from 64 KiB), never
    // to the size the zip directory claims: a 368-byte archive claiming a
    // 4 GB member allocated 4 GB up front.
    const zip_uint64_t limit = (st.valid & ZIP_STAT_SIZE) ? st.size : std::numeric_limits<zip_uint64_t>::max();
    std::string buf;
    while (buf.size() < limit) {
      const std::size_t at = buf.size();
      const auto want =
          static_cast<std::size_t>(std::min<zip_uint64_t>(limit - at, std::max<std::size_t>(std::size_t{1} << 16, at)));
      buf.resize(at + want);
      const zip_int64_t r = zip_fread(f.get(), buf.data() + at, want);
      if (r < 0)
        throw InputError::at_byte(member, at,
                                  std::string("cannot decompress archive member: ") + zip_file_strerror(f.get()));
      buf.resize(at + static_cast<std::size_t>(r));
      if (r == 0) break;
    }
    name.resize(name.size() - 4);
    out.push_back(NamedArray{name, parse_npy(std::as_bytes(std::span<const char>(buf.data(), buf.size())), member)});
  }
  if (out.empty()) throw InputError(path, "the archive holds no arrays");
  return out;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, Matrix<double>>>& arrays,
               bool compress) {
  std::set<std::string> names;
  for (const auto& [name, a] : arrays) {
    if (name.empty()) throw InvalidArgument("write_npz: empty array name");
    if (!names.insert(name).second) throw InvalidArgument("write_npz: repeated array name '" + name + "'");
  }
  // libzip writes to a temporary file and renames it on zip_close: atomic.
  int code = 0;
  std::unique_ptr<zip_t, ZipCloser> za(zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!za) throw InputError(path, "cannot create archive: " + zip_message(code));
  std::vector<std::string> buffers;  // must outlive zip_close
  buffers.reserve(arrays.size());
  for (const auto& [name, a] : arrays) {
    buffers.push_back(npy_bytes(a.data(), {a.rows(), a.cols()}));
    zip_source_t* src = zip_source_buffer(za.get(), buffers.back().data(), buffers.back().size(), 0);
    if (!src) throw InputError(path, std::string("cannot add member: ") + zip_strerror(za.get()));
    const zip_int64_t idx = zip_file_add(za.get(), (name + ".npy").c_str(), src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(src);
      throw InputError(path, std::string("cannot add member: ") + zip_strerror(za.get()));
    }
    if (zip_set_file_compression(za.get(), static_cast<zip_uint64_t>(idx), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                 0) != 0)
      throw InputError(path, std::string("cannot set compression: ") + zip_strerror(za.get()));
  }
  if (zip_close(za.get()) != 0) throw InputError(path, std::string("cannot write archive: ") + zip_strerror(za.get()));
  za.release();
}

}  // namespace lowrank::io
