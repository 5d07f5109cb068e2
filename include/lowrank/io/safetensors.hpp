#pragma once
// safetensors (https://github.com/huggingface/safetensors):
//   [8 bytes: header length N, uint64 little-endian]
//   [N bytes: JSON {"name": {"dtype": "F32", "shape": [m, n], "data_offsets": [b, e]}, ...,
//                   "__metadata__": {"key": "value"}}]
//   [data region: tensor bytes, row-major (C order), little-endian;
//    data_offsets are relative to the start of the data region]
// The file is memory-mapped; nothing is copied until a tensor is converted.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/core/types.hpp"

namespace lowrank::io {

enum class TensorDType { F64, F32, F16, BF16 };
/// "F64", "F32", "F16", "BF16" (the safetensors spelling).
const char* to_string(TensorDType dtype) noexcept;
std::size_t dtype_size(TensorDType dtype) noexcept;

/// IEEE 754 binary16 <-> binary32, exact for every half (subnormals, +-0,
/// +-inf, NaN). float_to_half rounds to nearest, ties to even, overflowing to
/// +-inf.
float half_to_float(std::uint16_t bits) noexcept;
std::uint16_t float_to_half(float value) noexcept;
/// bfloat16 (the top 16 bits of a binary32) <-> binary32; float_to_bfloat16
/// rounds to nearest, ties to even, and keeps NaN a NaN.
float bfloat16_to_float(std::uint16_t bits) noexcept;
std::uint16_t float_to_bfloat16(float value) noexcept;

struct TensorInfo {
  std::string name;
  TensorDType dtype = TensorDType::F64;
  std::vector<std::int64_t> shape;  ///< row-major shape as stored
  std::size_t begin = 0;            ///< data_offsets[0], relative to the data region
  std::size_t end = 0;              ///< data_offsets[1]
  std::int64_t numel() const;
};

/// An open, validated, memory-mapped safetensors file. Move-only.
///
/// Validation at open (each failure is an InputError with a byte offset):
/// the file holds the 8-byte length; the header length fits in the file;
/// the header is a JSON object; each tensor has a supported dtype
/// (F64/F32/F16/BF16; others are named in the message), a shape of
/// non-negative integers, data_offsets [begin, end] with begin <= end inside
/// the data region, shape product * dtype size == end - begin, and no two
/// tensors overlap; "__metadata__" is an object of strings.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return m_path; }
  /// Tensors in data-offset order.
  const std::vector<TensorInfo>& tensors() const { return m_tensors; }
  /// nullptr when absent.
  const TensorInfo* find(std::string_view name) const;
  /// Throws InvalidArgument naming the available tensors when absent.
  const TensorInfo& info(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return m_metadata; }

  /// The tensor as an m x n matrix (shape [m, n]; [n] gives n x 1 and []
  /// gives 1 x 1), converted from its dtype to T and from row-major to our
  /// column-major order. Throws InvalidArgument for rank > 2 or an unknown name,
  /// InputError for a dimension above 2^31-1.
  template <class T>
  Matrix<T> tensor_matrix(std::string_view name) const;
  /// The tensor's values in stored (row-major) order, converted to T.
  template <class T>
  std::vector<T> tensor_values(std::string_view name) const;

 private:
  struct Mapping;
  std::string m_path;
  std::unique_ptr<Mapping> m_map;
  std::size_t m_data_start = 0;  // 8 + header length
  std::vector<TensorInfo> m_tensors;
  std::map<std::string, std::string> m_metadata;
};

/// A tensor to write: values (m x n, column-major) are stored row-major with
/// shape [m, n], or [m] when `vector` is set (values must then be m x 1),
/// converted to `dtype` (F16/BF16 round to nearest even).
struct SafetensorsEntry {
  std::string name;
  TensorDType dtype = TensorDType::F64;
  Matrix<double> values;
  bool vector = false;
};

/// Writes a safetensors file atomically (temporary file + rename): header
/// padded with spaces to a multiple of 8 bytes, tensors laid out in the given
/// order with no gaps. Throws InvalidArgument on an empty, repeated or
/// reserved ("__metadata__") name, or a `vector` entry with more than one
/// column.
void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// The weight_map of a sharded checkpoint's model.safetensors.index.json
/// ({"weight_map": {tensor: shard file}, ...}), grouped as shard file ->
/// tensor names. Throws InputError (with the byte offset of a JSON syntax
/// error) unless the file is an object with a "weight_map" object of
/// strings, and when a shard is not a plain file name of the index's own
/// directory (empty, absolute, holding '/', '\\' or a NUL byte, or "." / "..").
std::map<std::string, std::vector<std::string>> read_safetensors_index(const std::string& path);

}  // namespace lowrank::io
