#pragma once
// Observed entries of a partially observed m x n matrix, with the external
// identifiers of its rows and columns.
//
// COO storage (row, col, value) is the canonical form: readers produce it,
// splits partition it, and solvers build their CSR/CSC views from it once
// (see SparseOperator). Indices are 0-based int32 to keep 10^7-entry problems
// compact; external ids (MovieLens user 196, a site name) live in IdMap.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lowrank/core/types.hpp"

namespace lowrank {

/// Bidirectional map between external string ids and 0-based indices, in
/// first-seen order. An empty map means "the index is the id".
class IdMap {
 public:
  /// Index of `id`, adding it at the end if unseen.
  std::int32_t get_or_add(std::string_view id);
  std::optional<std::int32_t> find(std::string_view id) const;
  const std::string& name(std::int32_t index) const { return m_names.at(static_cast<std::size_t>(index)); }
  const std::vector<std::string>& names() const { return m_names; }
  std::size_t size() const { return m_names.size(); }
  bool empty() const { return m_names.empty(); }
  /// Ids "0", "1", ..., "n-1".
  static IdMap identity(std::size_t n);

 private:
  std::vector<std::string> m_names;
  std::unordered_map<std::string, std::int32_t> m_index;
};

/// What to do when the same (row, col) appears more than once.
enum class DuplicatePolicy { Error, Mean, Last, Sum };
/// Parses "error" | "mean" | "last" | "sum"; throws InvalidArgument.
DuplicatePolicy parse_duplicate_policy(std::string_view name);
/// Inverse of parse_duplicate_policy.
const char* to_string(DuplicatePolicy policy) noexcept;

template <class T>
struct ObservedEntries {
  Index rows = 0;
  Index cols = 0;
  std::vector<std::int32_t> row;
  std::vector<std::int32_t> col;
  std::vector<T> value;
  IdMap row_ids;  ///< external id of each row (size rows, or empty)
  IdMap col_ids;  ///< external id of each column (size cols, or empty)

  std::size_t nnz() const { return value.size(); }
  double density() const {
    return rows > 0 && cols > 0 ? static_cast<double>(nnz()) / (static_cast<double>(rows) * static_cast<double>(cols))
                                : 0.0;
  }
  void reserve(std::size_t n) {
    row.reserve(n);
    col.reserve(n);
    value.reserve(n);
  }
  void push_back(std::int32_t r, std::int32_t c, T v) {
    row.push_back(r);
    col.push_back(c);
    value.push_back(v);
  }

  /// Subset by entry positions, keeping shape and id maps.
  ObservedEntries subset(const std::vector<std::size_t>& positions) const;
  /// Same entries, converted scalar type.
  template <class U>
  ObservedEntries<U> cast() const {
    ObservedEntries<U> out;
    out.rows = rows;
    out.cols = cols;
    out.row = row;
    out.col = col;
    out.value.assign(value.begin(), value.end());
    out.row_ids = row_ids;
    out.col_ids = col_ids;
    return out;
  }
};

/// Checks shape, index ranges and finiteness; throws InvalidArgument naming
/// the first offending entry. `what` names the data in the message.
template <class T>
void validate(const ObservedEntries<T>& e, std::string_view what = "observed entries");

/// Finds repeated (row, col) pairs and resolves them per `policy`; with
/// DuplicatePolicy::Error throws InvalidArgument naming the first repeated
/// pair (by external id where available) and how many there are.
/// Returns the number of entries removed.
template <class T>
std::size_t resolve_duplicates(ObservedEntries<T>& e, DuplicatePolicy policy);

/// Per-row and per-column observation counts.
template <class T>
std::vector<std::int64_t> row_counts(const ObservedEntries<T>& e);
template <class T>
std::vector<std::int64_t> col_counts(const ObservedEntries<T>& e);

/// Observed entries of a dense matrix whose missing cells are NaN.
template <class T>
ObservedEntries<T> from_dense_with_nan(const Matrix<T>& a);

/// Groups of rows: group g holds the rows rows[g]; a row may belong to many.
struct RowGroups {
  std::vector<std::string> names;               ///< e.g. "gender=F", "age=[25,35)"
  std::vector<std::vector<std::int32_t>> rows;  ///< sorted row indices per group
  std::size_t size() const { return names.size(); }
};

}  // namespace lowrank
