#include "lowrank/core/splits.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "lowrank/core/error.hpp"

namespace lowrank {

double uniform01(std::uint64_t& state) {
  // Top 53 bits -> a double in [0, 1) with every value equally likely.
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}

namespace {

void check_fraction(double f, const char* who) {
  if (!(f > 0.0 && f < 1.0))
    throw InvalidArgument(std::string(who) + ": fraction must be in (0, 1), got " + std::to_string(f));
}

Split finish(std::vector<std::size_t> train, std::vector<std::size_t> test) {
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return Split{std::move(train), std::move(test)};
}

}  // namespace

template <class T>
Split random_holdout(const ObservedEntries<T>& e, double fraction, std::uint64_t seed) {
  check_fraction(fraction, "random_holdout");
  const std::size_t n = e.nnz();
  const auto n_test = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  Rng rng(seed);
  rng.shuffle_prefix(perm.begin(), perm.end(), n_test);
  std::vector<std::size_t> test(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n_test));
  std::vector<std::size_t> train(perm.begin() + static_cast<std::ptrdiff_t>(n_test), perm.end());
  return finish(std::move(train), std::move(test));
}

template <class T>
Split per_row_holdout(const ObservedEntries<T>& e, double fraction, std::uint64_t seed, std::size_t min_train) {
  check_fraction(fraction, "per_row_holdout");
  const auto counts = row_counts(e);  // also range-checks the row indices
  // Bucket entry positions by row (counting sort keeps input order per row).
  std::vector<std::size_t> start(counts.size() + 1, 0);
  for (std::size_t r = 0; r < counts.size(); ++r) start[r + 1] = start[r] + static_cast<std::size_t>(counts[r]);
  std::vector<std::size_t> by_row(e.nnz());
  {
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (std::size_t p = 0; p < e.nnz(); ++p) by_row[fill[static_cast<std::size_t>(e.row[p])]++] = p;
  }
  Rng rng(seed);
  std::vector<std::size_t> train, test;
  train.reserve(e.nnz());
  test.reserve(static_cast<std::size_t>(fraction * static_cast<double>(e.nnz())) + counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const std::size_t c = start[r + 1] - start[r];
    if (c == 0) continue;
    auto want = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(c)));
    const std::size_t cap = c > min_train ? c - min_train : 0;
    want = std::min(want, cap);
    auto first = by_row.begin() + static_cast<std::ptrdiff_t>(start[r]);
    auto last = by_row.begin() + static_cast<std::ptrdiff_t>(start[r + 1]);
    rng.shuffle_prefix(first, last, want);
    test.insert(test.end(), first, first + static_cast<std::ptrdiff_t>(want));
    train.insert(train.end(), first + static_cast<std::ptrdiff_t>(want), last);
  }
  return finish(std::move(train), std::move(test));
}

template <class T>
std::vector<Split> k_fold(const ObservedEntries<T>& e, int k, std::uint64_t seed) {
  const std::size_t n = e.nnz();
  if (k < 2) throw InvalidArgument("k_fold: k must be >= 2, got " + std::to_string(k));
  if (static_cast<std::size_t>(k) > n)
    throw InvalidArgument("k_fold: k = " + std::to_string(k) + " exceeds the number of entries (" + std::to_string(n) +
                          ")");
  // The permutation starts from the entries in (row, col) order, not input
  // order, so the same entries listed in any order (a file's lines, a CSR
  // matrix's) fall into the same folds: the CLI and Python then pick the same
  // lambda. Input already in that order (CSR) gives the folds it always had.
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  auto before = [&e](std::size_t a, std::size_t b) {
    if (e.row[a] != e.row[b]) return e.row[a] < e.row[b];
    if (e.col[a] != e.col[b]) return e.col[a] < e.col[b];
    return e.value[a] < e.value[b];  // duplicates: a total order on the data alone
  };
  bool sorted = true;
  for (std::size_t p = 1; p < n && sorted; ++p) sorted = !before(p, p - 1);
  if (!sorted) std::stable_sort(perm.begin(), perm.end(), before);
  Rng rng(seed);
  rng.shuffle_prefix(perm.begin(), perm.end(), n);
  // Fold f holds permutation slots [n f / k, n (f+1) / k): sizes differ by <= 1.
  std::vector<Split> folds(static_cast<std::size_t>(k));
  const auto uk = static_cast<std::size_t>(k);
  for (std::size_t f = 0; f < uk; ++f) {
    const std::size_t lo = n * f / uk, hi = n * (f + 1) / uk;
    std::vector<std::size_t> test(perm.begin() + static_cast<std::ptrdiff_t>(lo),
                                  perm.begin() + static_cast<std::ptrdiff_t>(hi));
    std::vector<std::size_t> train;
    train.reserve(n - (hi - lo));
    train.insert(train.end(), perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(lo));
    train.insert(train.end(), perm.begin() + static_cast<std::ptrdiff_t>(hi), perm.end());
    folds[f] = finish(std::move(train), std::move(test));
  }
  return folds;
}

template <class T>
Split structured_holdout(const ObservedEntries<T>& e, const RowGroups& row_groups,
                         const std::vector<std::size_t>& groups, double keep_fraction, std::uint64_t seed) {
  if (!(keep_fraction >= 0.0 && keep_fraction <= 1.0))
    throw InvalidArgument("structured_holdout: keep_fraction must be in [0, 1], got " + std::to_string(keep_fraction));
  if (row_groups.rows.size() != row_groups.names.size())
    throw InvalidArgument("structured_holdout: RowGroups has " + std::to_string(row_groups.names.size()) +
                          " names but " + std::to_string(row_groups.rows.size()) + " row lists");
  if (e.rows < 0) throw InvalidArgument("structured_holdout: negative row count");
  std::vector<char> in_group(static_cast<std::size_t>(e.rows), 0);
  for (std::size_t g : groups) {
    if (g >= row_groups.size())
      throw InvalidArgument("structured_holdout: group index " + std::to_string(g) + " out of range (" +
                            std::to_string(row_groups.size()) + " groups)");
    for (auto r : row_groups.rows[g]) {
      if (r < 0 || r >= e.rows)
        throw InvalidArgument("structured_holdout: group '" + row_groups.names[g] + "' holds row " + std::to_string(r) +
                              " outside [0, " + std::to_string(e.rows) + ")");
      in_group[static_cast<std::size_t>(r)] = 1;
    }
  }
  Rng rng(seed);
  std::vector<std::size_t> train, test;
  train.reserve(e.nnz());
  for (std::size_t p = 0; p < e.nnz(); ++p) {
    const auto r = e.row[p];
    if (r < 0 || r >= e.rows)
      throw InvalidArgument("structured_holdout: entry " + std::to_string(p) + " has row index " + std::to_string(r) +
                            " out of range");
    // One draw per grouped entry, in input order: the split depends only on
    // the seed and the data, not on how the groups were listed.
    if (in_group[static_cast<std::size_t>(r)] && !(rng.uniform() < keep_fraction)) test.push_back(p);
    else train.push_back(p);
  }
  return Split{std::move(train), std::move(test)};
}

#define LOWRANK_INSTANTIATE(T)                                                                                       \
  template Split random_holdout<T>(const ObservedEntries<T>&, double, std::uint64_t);                                \
  template Split per_row_holdout<T>(const ObservedEntries<T>&, double, std::uint64_t, std::size_t);                  \
  template std::vector<Split> k_fold<T>(const ObservedEntries<T>&, int, std::uint64_t);                              \
  template Split structured_holdout<T>(const ObservedEntries<T>&, const RowGroups&, const std::vector<std::size_t>&, \
                                       double, std::uint64_t);
LOWRANK_INSTANTIATE(float)
LOWRANK_INSTANTIATE(double)
#undef LOWRANK_INSTANTIATE

}  // namespace lowrank
