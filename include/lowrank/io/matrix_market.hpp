#pragma once
// NIST Matrix Market exchange format (https://math.nist.gov/MatrixMarket/formats.html):
//   %%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric|skew-symmetric>
// Indices in the file are 1-based; in memory they are 0-based.
#include <string>
#include <variant>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/types.hpp"

namespace lowrank::io {

enum class MmFormat { Coordinate, Array };
enum class MmField { Real, Integer, Pattern };
enum class MmSymmetry { General, Symmetric, SkewSymmetric };

struct MatrixMarketHeader {
  MmFormat format = MmFormat::Coordinate;
  MmField field = MmField::Real;
  MmSymmetry symmetry = MmSymmetry::General;
};

/// A Matrix Market file's content: coordinate files give entries (ids left
/// empty: the index is the id), array files a dense matrix. Symmetric and
/// skew-symmetric storage is expanded to the full matrix; pattern entries
/// have value 1.
struct MatrixMarketData {
  MatrixMarketHeader header;
  std::variant<ObservedEntries<double>, Matrix<double>> data;

  bool is_coordinate() const { return std::holds_alternative<ObservedEntries<double>>(data); }
  const ObservedEntries<double>& entries() const { return std::get<ObservedEntries<double>>(data); }
  const Matrix<double>& dense() const { return std::get<Matrix<double>>(data); }
};

/// Reads a Matrix Market file. Validates the banner (object "matrix",
/// supported format / field / symmetry; complex and hermitian are
/// rejected), the size line (M N NNZ for coordinate, M N for array;
/// non-negative, square when symmetric), every index (1 <= i <= M,
/// 1 <= j <= N), the number of entries against the size line, and that
/// values are finite numbers (integers for the integer field). Duplicate
/// coordinates follow `duplicates` (the MM spec leaves them undefined; the
/// default is an error naming both lines). CRLF and a BOM are accepted.
/// Sizes are checked before anything is allocated: an array's values must
/// fit in the bytes after the size line (two per value at least), and a
/// coordinate shape must be backed by its entries (rows + cols <= 2 NNZ +
/// 2^20), so memory follows the file, not the size line.
/// Throws InputError (file:line: ...).
MatrixMarketData read_matrix_market(const std::string& path, DuplicatePolicy duplicates = DuplicatePolicy::Error);

/// Writes `coordinate real general` with 1-based indices, entries in order
/// (ids are not written; use write_triplets to keep them). Atomic.
template <class T>
void write_matrix_market(const std::string& path, const ObservedEntries<T>& entries);
/// Writes `array real general` (column-major values). Atomic.
template <class T>
void write_matrix_market(const std::string& path, const Matrix<T>& matrix);

}  // namespace lowrank::io
