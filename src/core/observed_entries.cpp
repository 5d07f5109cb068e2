#include "lowrank/core/observed_entries.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "lowrank/core/error.hpp"

namespace lowrank {

// ---- IdMap ------------------------------------------------------------------

std::int32_t IdMap::get_or_add(std::string_view id) {
  std::string key(id);
  auto it = m_index.find(key);
  if (it != m_index.end()) return it->second;
  if (m_names.size() >= static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument("IdMap: more than 2^31-1 distinct ids");
  const auto index = static_cast<std::int32_t>(m_names.size());
  m_names.push_back(key);
  m_index.emplace(std::move(key), index);
  return index;
}

std::optional<std::int32_t> IdMap::find(std::string_view id) const {
  auto it = m_index.find(std::string(id));
  if (it == m_index.end()) return std::nullopt;
  return it->second;
}

IdMap IdMap::identity(std::size_t n) {
  IdMap map;
  map.m_names.reserve(n);
  map.m_index.reserve(n);
  for (std::size_t i = 0; i < n; ++i) map.get_or_add(std::to_string(i));
  return map;
}

const char* to_string(DuplicatePolicy policy) noexcept {
  switch (policy) {
    case DuplicatePolicy::Mean:
      return "mean";
    case DuplicatePolicy::Last:
      return "last";
    case DuplicatePolicy::Sum:
      return "sum";
    case DuplicatePolicy::Error:
      break;
  }
  return "error";
}

DuplicatePolicy parse_duplicate_policy(std::string_view name) {
  if (name == "error") return DuplicatePolicy::Error;
  if (name == "mean") return DuplicatePolicy::Mean;
  if (name == "last") return DuplicatePolicy::Last;
  if (name == "sum") return DuplicatePolicy::Sum;
  throw InvalidArgument("unknown duplicate policy '" + std::string(name) + "' (expected error, mean, last or sum)");
}

// ---- ObservedEntries ----------------------------------------------------------

template <class T>
ObservedEntries<T> ObservedEntries<T>::subset(const std::vector<std::size_t>& positions) const {
  ObservedEntries out;
  out.rows = rows;
  out.cols = cols;
  out.row_ids = row_ids;
  out.col_ids = col_ids;
  out.reserve(positions.size());
  const std::size_t n = value.size();
  for (std::size_t p : positions) {
    if (p >= n)
      throw InvalidArgument("ObservedEntries::subset: position " + std::to_string(p) + " out of range (nnz " +
                            std::to_string(n) + ")");
    out.push_back(row[p], col[p], value[p]);
  }
  return out;
}

namespace {

template <class T>
std::string describe_pair(const ObservedEntries<T>& e, std::size_t p) {
  std::string s = "(row " + std::to_string(e.row[p]);
  if (!e.row_ids.empty() && e.row[p] >= 0 && static_cast<std::size_t>(e.row[p]) < e.row_ids.size())
    s += " id '" + e.row_ids.name(e.row[p]) + "'";
  s += ", col " + std::to_string(e.col[p]);
  if (!e.col_ids.empty() && e.col[p] >= 0 && static_cast<std::size_t>(e.col[p]) < e.col_ids.size())
    s += " id '" + e.col_ids.name(e.col[p]) + "'";
  return s + ")";
}

// Entry positions sorted by (row, col, position): equal pairs become adjacent
// and keep their input order, which is what "last" and the error message need.
template <class T>
std::vector<std::size_t> sorted_by_pair(const ObservedEntries<T>& e) {
  std::vector<std::size_t> order(e.nnz());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (e.row[a] != e.row[b]) return e.row[a] < e.row[b];
    if (e.col[a] != e.col[b]) return e.col[a] < e.col[b];
    return a < b;
  });
  return order;
}

}  // namespace

template <class T>
void validate(const ObservedEntries<T>& e, std::string_view what) {
  const std::string w(what);
  if (e.rows < 0 || e.cols < 0)
    throw InvalidArgument(w + ": negative shape " + std::to_string(e.rows) + " x " + std::to_string(e.cols));
  if (e.rows > INT32_MAX || e.cols > INT32_MAX)
    throw InvalidArgument(w + ": shape " + std::to_string(e.rows) + " x " + std::to_string(e.cols) +
                          " exceeds the int32 index range");
  if (e.row.size() != e.value.size() || e.col.size() != e.value.size())
    throw InvalidArgument(w + ": row/col/value arrays differ in length (" + std::to_string(e.row.size()) + ", " +
                          std::to_string(e.col.size()) + ", " + std::to_string(e.value.size()) + ")");
  if (!e.row_ids.empty() && e.row_ids.size() != static_cast<std::size_t>(e.rows))
    throw InvalidArgument(w + ": " + std::to_string(e.row_ids.size()) + " row ids for " + std::to_string(e.rows) +
                          " rows");
  if (!e.col_ids.empty() && e.col_ids.size() != static_cast<std::size_t>(e.cols))
    throw InvalidArgument(w + ": " + std::to_string(e.col_ids.size()) + " column ids for " + std::to_string(e.cols) +
                          " columns");
  for (std::size_t p = 0; p < e.value.size(); ++p) {
    if (e.row[p] < 0 || e.row[p] >= e.rows)
      throw InvalidArgument(w + ": entry " + std::to_string(p) + " has row index " + std::to_string(e.row[p]) +
                            " outside [0, " + std::to_string(e.rows) + ")");
    if (e.col[p] < 0 || e.col[p] >= e.cols)
      throw InvalidArgument(w + ": entry " + std::to_string(p) + " has column index " + std::to_string(e.col[p]) +
                            " outside [0, " + std::to_string(e.cols) + ")");
    if (!std::isfinite(e.value[p]))
      throw InvalidArgument(w + ": entry " + std::to_string(p) + " " + describe_pair(e, p) + " has a non-finite value");
  }
}

template <class T>
std::size_t resolve_duplicates(ObservedEntries<T>& e, DuplicatePolicy policy) {
  const std::size_t n = e.nnz();
  if (n < 2) return 0;
  const auto order = sorted_by_pair(e);
  auto same = [&](std::size_t a, std::size_t b) { return e.row[a] == e.row[b] && e.col[a] == e.col[b]; };

  // keep[p]: entry p survives (it is the first occurrence of its pair) and
  // carries the resolved value.
  std::vector<char> keep(n, 1);
  std::size_t removed = 0, repeated_pairs = 0;
  std::size_t first_dup = n, first_dup_of = n;  // earliest second occurrence in input order
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && same(order[i], order[j])) ++j;
    if (j - i > 1) {
      ++repeated_pairs;
      removed += j - i - 1;
      if (order[i + 1] < first_dup) {
        first_dup = order[i + 1];
        first_dup_of = order[i];
      }
      if (policy != DuplicatePolicy::Error) {
        double acc = 0.0;
        for (std::size_t k = i; k < j; ++k) acc += static_cast<double>(e.value[order[k]]);
        T resolved{};
        switch (policy) {
          case DuplicatePolicy::Mean:
            resolved = static_cast<T>(acc / static_cast<double>(j - i));
            break;
          case DuplicatePolicy::Sum:
            resolved = static_cast<T>(acc);
            break;
          case DuplicatePolicy::Last:
            resolved = e.value[order[j - 1]];
            break;
          case DuplicatePolicy::Error:
            break;
        }
        e.value[order[i]] = resolved;
        for (std::size_t k = i + 1; k < j; ++k) keep[order[k]] = 0;
      }
    }
    i = j;
  }
  if (removed == 0) return 0;
  if (policy == DuplicatePolicy::Error)
    throw InvalidArgument("duplicate entry " + describe_pair(e, first_dup) + " at entries " +
                          std::to_string(first_dup_of) + " and " + std::to_string(first_dup) + "; " +
                          std::to_string(repeated_pairs) + " pair(s) repeated, " + std::to_string(removed) +
                          " extra entries (choose a duplicate policy: mean, last or sum)");
  // Compact in input order, so surviving entries keep their relative order.
  std::size_t out = 0;
  for (std::size_t p = 0; p < n; ++p) {
    if (!keep[p]) continue;
    e.row[out] = e.row[p];
    e.col[out] = e.col[p];
    e.value[out] = e.value[p];
    ++out;
  }
  e.row.resize(out);
  e.col.resize(out);
  e.value.resize(out);
  return removed;
}

namespace {
// How often each index in [0, extent) occurs; `what` names the axis in errors.
std::vector<std::int64_t> index_counts(const std::vector<std::int32_t>& indices, Index extent, const char* what) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(std::max<Index>(extent, 0)), 0);
  for (auto i : indices) {
    if (i < 0 || i >= extent)
      throw InvalidArgument(std::string(what) + " index " + std::to_string(i) + " out of range");
    ++counts[static_cast<std::size_t>(i)];
  }
  return counts;
}
}  // namespace

template <class T>
std::vector<std::int64_t> row_counts(const ObservedEntries<T>& e) {
  return index_counts(e.row, e.rows, "row_counts: row");
}

template <class T>
std::vector<std::int64_t> col_counts(const ObservedEntries<T>& e) {
  return index_counts(e.col, e.cols, "col_counts: column");
}

template <class T>
ObservedEntries<T> from_dense_with_nan(const Matrix<T>& a) {
  if (a.rows() > INT32_MAX || a.cols() > INT32_MAX)
    throw InvalidArgument("from_dense_with_nan: matrix exceeds the int32 index range");
  ObservedEntries<T> e;
  e.rows = a.rows();
  e.cols = a.cols();
  std::size_t n = 0;
  for (Index j = 0; j < a.cols(); ++j)
    for (Index i = 0; i < a.rows(); ++i) n += std::isnan(a(i, j)) ? 0 : 1;
  e.reserve(n);
  // Row-major order: entries of a row are contiguous, as readers produce them.
  for (Index i = 0; i < a.rows(); ++i)
    for (Index j = 0; j < a.cols(); ++j)
      if (!std::isnan(a(i, j))) e.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), a(i, j));
  return e;
}

#define LOWRANK_INSTANTIATE(T)                                                      \
  template struct ObservedEntries<T>;                                               \
  template void validate<T>(const ObservedEntries<T>&, std::string_view);           \
  template std::size_t resolve_duplicates<T>(ObservedEntries<T>&, DuplicatePolicy); \
  template std::vector<std::int64_t> row_counts<T>(const ObservedEntries<T>&);      \
  template std::vector<std::int64_t> col_counts<T>(const ObservedEntries<T>&);      \
  template ObservedEntries<T> from_dense_with_nan<T>(const Matrix<T>&);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
