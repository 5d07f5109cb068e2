#pragma once
// NumPy .npy (format versions 1.0, 2.0, 3.0) and .npz archives.
//
// Format: "\x93NUMPY", major, minor, header length (uint16 LE for v1, uint32
// LE for v2/v3), a Python dict literal {'descr': '<f8', 'fortran_order':
// False, 'shape': (m, n), } padded with spaces and '\n', then the raw data.
// See numpy/lib/format.py.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lowrank/core/types.hpp"

namespace lowrank::io {

/// A 1-D or 2-D numeric array read from .npy.
struct NpyArray {
  std::string dtype;                ///< descr as stored: "<f4", "<f8", "<i4" or "<i8"
  std::vector<std::int64_t> shape;  ///< as stored: {n} or {m, n}
  bool fortran_order = false;       ///< storage order in the file
  /// The values as m x n (a 1-D array of length n is n x 1). Integers are
  /// converted to double (exact up to 2^53).
  Matrix<double> values;
};

/// Reads an .npy file. Supported dtypes: <f4 <f8 <i4 <i8 (others are
/// rejected naming the dtype), C or Fortran order, 1-D or 2-D.
/// Throws InputError with a byte offset (file: byte N: ...) on a bad magic,
/// an unsupported version, a malformed header dict, a dimension above
/// 2^31-1 and a truncated file.
NpyArray read_npy(const std::string& path);

/// Parses .npy bytes held in memory; `source` names them in messages.
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& source);

/// Writes a 2-D array as .npy version 1.0, dtype <f8 (double) or <f4
/// (float), fortran_order True (our storage order: no copy). Atomic.
template <class T>
void write_npy(const std::string& path, const Matrix<T>& matrix);
/// Writes a 1-D array (shape (n,)). Atomic.
template <class T>
void write_npy(const std::string& path, const Vector<T>& vector);

/// One array of an .npz archive; name without the ".npy" suffix.
struct NamedArray {
  std::string name;
  NpyArray array;
};

/// Reads every member of an .npz (zip; members stored or deflated) in
/// archive order. Messages name "file.npz:member.npy".
/// Throws InputError on a file that is not a zip archive, a member that is
/// not .npy, members that overlap (their compressed sizes add up to more
/// than the file), or a bad member. Memory follows what the members
/// decompress to, not the sizes the zip directory claims.
std::vector<NamedArray> read_npz(const std::string& path);

/// Writes an .npz: member "<name>.npy" per array, .npy v1 <f8 Fortran order,
/// deflated when `compress` (np.savez_compressed) else stored (np.savez).
/// Throws InvalidArgument on an empty or repeated name. Atomic.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, Matrix<double>>>& arrays,
               bool compress = false);

}  // namespace lowrank::io
