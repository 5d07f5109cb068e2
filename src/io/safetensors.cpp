#include "lowrank/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

const char* to_string(TensorDType d) noexcept {
  switch (d) {
    case TensorDType::F64:
      return "F64";
    case TensorDType::F32:
      return "F32";
    case TensorDType::F16:
      return "F16";
    case TensorDType::BF16:
      return "BF16";
  }
  return "?";
}

std::size_t dtype_size(TensorDType d) noexcept {
  switch (d) {
    case TensorDType::F64:
      return 8;
    case TensorDType::F32:
      return 4;
    case TensorDType::F16:
    case TensorDType::BF16:
      return 2;
  }
  return 0;
}

float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);  // rebias 15 -> 127
  } else {
    // Zero or subnormal: mant * 2^-24, exact in binary32.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(bits);
}

std::uint16_t float_to_half(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or NaN (NaN stays quiet NaN)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u | ((abs >> 13) & 0x3ffu) : 0u));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: overflow
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): value / 2^-24 rounded to nearest even.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25): +-0
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - e;  // m * 2^(e-150) / 2^-24 = m >> (126 - e)
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  // Normal: rebias and round the 13 dropped bits to nearest even (a carry
  // into the exponent is the correct result, up to inf).
  std::uint32_t r = ((abs >> 13) - (112u << 10));
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return static_cast<std::uint16_t>(sign | r);
}

float bfloat16_to_float(std::uint16_t b) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

std::uint16_t float_to_bfloat16(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// ---- reading -------------------------------------------------------------------

struct SafetensorsFile::Mapping {
  explicit Mapping(const std::string& path) : file(path) {}
  detail::MappedFile file;
};

namespace {

std::optional<TensorDType> parse_dtype(const std::string& s) {
  if (s == "F64") return TensorDType::F64;
  if (s == "F32") return TensorDType::F32;
  if (s == "F16") return TensorDType::F16;
  if (s == "BF16") return TensorDType::BF16;
  return std::nullopt;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : m_path(path), m_map(std::make_unique<Mapping>(path)) {
  const std::size_t size = m_map->file.size();
  if (size < 8)
    throw InputError::at_byte(path, size, "truncated safetensors file: fewer than the 8 bytes of the header length");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, m_map->file.data(), 8);
  if (header_len > size - 8)
    throw InputError::at_byte(path, 0,
                              "header length " + std::to_string(header_len) + " exceeds the " +
                                  std::to_string(size - 8) + " bytes that follow it (file size " +
                                  std::to_string(size) + ")");
  if (header_len < 2)
    throw InputError::at_byte(path, 0,
                              "header length " + std::to_string(header_len) + " is too small for a JSON object");
  m_data_start = 8 + static_cast<std::size_t>(header_len);
  const std::size_t data_size = size - m_data_start;
  const char* h = reinterpret_cast<const char*>(m_map->file.data()) + 8;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(h, h + header_len);
  } catch (const nlohmann::json::parse_error& ex) {
    throw InputError::at_byte(path, 8 + (ex.byte > 0 ? ex.byte - 1 : 0),
                              std::string("malformed JSON header: ") + ex.what());
  } catch (const nlohmann::json::exception& ex) {  // out_of_range: a number beyond double (found by fuzz_safetensors)
    throw InputError::at_byte(path, 8, std::string("malformed JSON header: ") + ex.what());
  }
  if (!header.is_object()) throw InputError::at_byte(path, 8, "the header is not a JSON object");

  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw InputError::at_byte(path, 8, "__metadata__ must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw InputError::at_byte(path, 8, "__metadata__ value for '" + k + "' is not a string");
        m_metadata[k] = s.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw InputError::at_byte(path, 8, where + "expected an object with dtype, shape and data_offsets");
    TensorInfo t;
    t.name = name;
    if (!v["dtype"].is_string()) throw InputError::at_byte(path, 8, where + "dtype is not a string");
    const auto dtype = parse_dtype(v["dtype"].get<std::string>());
    if (!dtype)
      throw InputError::at_byte(path, 8,
                                where + "unsupported dtype '" + v["dtype"].get<std::string>() +
                                    "' (supported: F64, F32, F16, BF16)");
    t.dtype = *dtype;
    if (!v["shape"].is_array()) throw InputError::at_byte(path, 8, where + "shape is not an array");
    std::int64_t numel = 1;
    bool overflow = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned())
        throw InputError::at_byte(path, 8, where + "shape holds a value that is not a non-negative integer");
      const auto x = d.get<std::uint64_t>();
      if (x > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) overflow = true;
      const auto xi = static_cast<std::int64_t>(x);
      if (xi != 0 && numel > std::numeric_limits<std::int64_t>::max() / 8 / xi) overflow = true;
      if (!overflow) numel *= xi;
      t.shape.push_back(xi);
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw InputError::at_byte(path, 8, where + "data_offsets must be two non-negative integers");
    const auto b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
    if (b > e || e > data_size)
      throw InputError::at_byte(path, m_data_start + std::min<std::uint64_t>(b, data_size),
                                where + "data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                                    "] are not inside the data region of " + std::to_string(data_size) +
                                    " bytes (bytes " + std::to_string(m_data_start) + ".." + std::to_string(size) +
                                    " of the file)");
    t.begin = static_cast<std::size_t>(b);
    t.end = static_cast<std::size_t>(e);
    if (overflow || static_cast<std::uint64_t>(numel) * dtype_size(t.dtype) != e - b)
      throw InputError::at_byte(path, m_data_start + t.begin,
                                where + "shape " + v["shape"].dump() + " of " + to_string(t.dtype) + " needs " +
                                    (overflow
                                         ? std::string("more than 2^63")
                                         : std::to_string(numel * static_cast<std::int64_t>(dtype_size(t.dtype)))) +
                                    " bytes but data_offsets span " + std::to_string(e - b));
    m_tensors.push_back(std::move(t));
  }
  std::sort(m_tensors.begin(), m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Sorted by begin, a non-empty tensor overlaps an earlier one exactly when
  // it begins before the furthest end so far. Comparing neighbours only let
  // an empty tensor placed between two overlapping ones hide the overlap.
  const TensorInfo* reach = nullptr;  // the earlier non-empty tensor ending last
  for (const auto& cur : m_tensors) {
    if (cur.end == cur.begin) continue;
    if (reach != nullptr && cur.begin < reach->end)
      throw InputError::at_byte(path, m_data_start + cur.begin,
                                "tensors '" + reach->name + "' [" + std::to_string(reach->begin) + ", " +
                                    std::to_string(reach->end) + ") and '" + cur.name + "' [" +
                                    std::to_string(cur.begin) + ", " + std::to_string(cur.end) + ") overlap");
    if (reach == nullptr || cur.end > reach->end) reach = &cur;
  }
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : m_tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& SafetensorsFile::info(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  std::string names;
  for (const auto& t : m_tensors) names += (names.empty() ? "" : ", ") + t.name;
  throw InvalidArgument(m_path + ": no tensor named '" + std::string(name) +
                        "' (tensors: " + (names.empty() ? "none" : names) + ")");
}

template <class T>
std::vector<T> SafetensorsFile::tensor_values(std::string_view name) const {
  const TensorInfo& t = info(name);
  const std::byte* p = m_map->file.data() + m_data_start + t.begin;
  const auto n = static_cast<std::size_t>(t.numel());
  std::vector<T> out(n);
  switch (t.dtype) {
    case TensorDType::F64:
      for (std::size_t k = 0; k < n; ++k) {
        double v;
        std::memcpy(&v, p + 8 * k, 8);
        out[k] = static_cast<T>(v);
      }
      break;
    case TensorDType::F32:
      for (std::size_t k = 0; k < n; ++k) {
        float v;
        std::memcpy(&v, p + 4 * k, 4);
        out[k] = static_cast<T>(v);
      }
      break;
    case TensorDType::F16:
      for (std::size_t k = 0; k < n; ++k) {
        std::uint16_t v;
        std::memcpy(&v, p + 2 * k, 2);
        out[k] = static_cast<T>(half_to_float(v));
      }
      break;
    case TensorDType::BF16:
      for (std::size_t k = 0; k < n; ++k) {
        std::uint16_t v;
        std::memcpy(&v, p + 2 * k, 2);
        out[k] = static_cast<T>(bfloat16_to_float(v));
      }
      break;
  }
  return out;
}

template <class T>
Matrix<T> SafetensorsFile::tensor_matrix(std::string_view name) const {
  const TensorInfo& t = info(name);
  if (t.shape.size() > 2)
    throw InvalidArgument(m_path + ": tensor '" + t.name + "' has " + std::to_string(t.shape.size()) +
                          " dimensions; a matrix needs at most 2");
  const Index m = t.shape.empty() ? 1 : t.shape[0];
  const Index n = t.shape.size() == 2 ? t.shape[1] : 1;
  if (m > std::numeric_limits<std::int32_t>::max() || n > std::numeric_limits<std::int32_t>::max())
    throw InputError(m_path, "tensor '" + t.name + "' of shape [" + std::to_string(m) + ", " + std::to_string(n) +
                                 "]: a matrix dimension exceeds 2^31-1");
  // An empty [0, n] tensor would otherwise run the row-major copy's outer
  // loop n times over nothing.
  if (m == 0 || n == 0) return Matrix<T>(m, n);
  const auto flat = tensor_values<T>(name);
  return Eigen::Map<const RowMajorMatrix<T>>(flat.data(), m, n);  // row-major on disk -> column-major
}

template std::vector<float> SafetensorsFile::tensor_values<float>(std::string_view) const;
template std::vector<double> SafetensorsFile::tensor_values<double>(std::string_view) const;
template Matrix<float> SafetensorsFile::tensor_matrix<float>(std::string_view) const;
template Matrix<double> SafetensorsFile::tensor_matrix<double>(std::string_view) const;

// ---- writing -------------------------------------------------------------------

void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty()) throw InvalidArgument("write_safetensors: empty tensor name");
    if (t.name == "__metadata__") throw InvalidArgument("write_safetensors: '__metadata__' is reserved");
    if (!names.insert(t.name).second) throw InvalidArgument("write_safetensors: repeated tensor name '" + t.name + "'");
    if (t.vector && t.values.cols() != 1)
      throw InvalidArgument("write_safetensors: tensor '" + t.name + "' is marked as a vector but has " +
                            std::to_string(t.values.cols()) + " columns");
    const std::size_t bytes = static_cast<std::size_t>(t.values.size()) * dtype_size(t.dtype);
    nlohmann::ordered_json shape = t.vector ? nlohmann::ordered_json::array({t.values.rows()})
                                            : nlohmann::ordered_json::array({t.values.rows(), t.values.cols()});
    header[t.name] = {{"dtype", to_string(t.dtype)}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data region starts 8-byte aligned
  const std::uint64_t len = h.size();
  detail::AtomicFile file(path);
  file.write(&len, 8);
  file.write(h);
  std::string buf;
  for (const auto& t : tensors) {
    const RowMajorMatrix<double> rm = t.values;  // on-disk order
    const auto n = static_cast<std::size_t>(rm.size());
    buf.resize(n * dtype_size(t.dtype));
    char* out = buf.data();
    for (std::size_t k = 0; k < n; ++k) {
      const double v = rm.data()[k];
      switch (t.dtype) {
        case TensorDType::F64:
          std::memcpy(out + 8 * k, &v, 8);
          break;
        case TensorDType::F32: {
          const float f = static_cast<float>(v);
          std::memcpy(out + 4 * k, &f, 4);
          break;
        }
        case TensorDType::F16: {
          const auto b = float_to_half(static_cast<float>(v));
          std::memcpy(out + 2 * k, &b, 2);
          break;
        }
        case TensorDType::BF16: {
          const auto b = float_to_bfloat16(static_cast<float>(v));
          std::memcpy(out + 2 * k, &b, 2);
          break;
        }
      }
    }
    file.write(buf);
  }
  file.commit();
}

std::map<std::string, std::vector<std::string>> read_safetensors_index(const std::string& path) {
  const std::string bytes = detail::read_file(path);
  const std::string_view text = detail::strip_bom(bytes);
  const std::size_t skipped = bytes.size() - text.size();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& ex) {
    throw InputError::at_byte(path, skipped + (ex.byte > 0 ? ex.byte - 1 : 0),
                              std::string("malformed JSON: ") + ex.what());
  } catch (const nlohmann::json::exception& ex) {  // out_of_range: a number beyond double
    throw InputError(path, std::string("malformed JSON: ") + ex.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(path, "expected an object with a \"weight_map\" object {tensor: shard file}");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : j["weight_map"].items()) {
    if (!shard.is_string()) throw InputError(path, "weight_map[" + detail::quoted(name) + "] is not a file name");
    const auto& file = shard.get_ref<const std::string&>();
    // A shard lives beside the index: a path would let an index name any
    // file on the machine.
    if (file.empty() || file == "." || file == ".." || file.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
      throw InputError(path, "weight_map[" + detail::quoted(name) + "] = " + detail::quoted(file) +
                                 " is not a file name in the index's directory");
    by_shard[file].push_back(name);
  }
  return by_shard;
}

}  // namespace lowrank::io
