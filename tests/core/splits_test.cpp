#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"

namespace lowrank {
namespace {

using ::testing::HasSubstr;

template <class T>
class SplitsTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SplitsTyped, Scalars);

// m x n with row i holding 1 + (i * 7) % n entries at pseudo-random columns.
template <class T>
ObservedEntries<T> ragged(Index m, Index n, std::uint64_t seed = 3) {
  ObservedEntries<T> e;
  e.rows = m;
  e.cols = n;
  std::uint64_t s = seed;
  for (Index i = 0; i < m; ++i) {
    const Index c = 1 + (i * 7) % n;
    std::vector<std::int32_t> cols(static_cast<std::size_t>(n));
    std::iota(cols.begin(), cols.end(), 0);
    for (Index k = 0; k < c; ++k) {
      const auto j = static_cast<std::size_t>(k) + splitmix64(s) % static_cast<std::uint64_t>(n - k);
      std::swap(cols[static_cast<std::size_t>(k)], cols[j]);
      e.push_back(static_cast<std::int32_t>(i), cols[static_cast<std::size_t>(k)], static_cast<T>(uniform01(s)));
    }
  }
  return e;
}

// Train and test are sorted, disjoint and their union is 0..n-1.
void expect_partition(const Split& s, std::size_t n) {
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  ASSERT_EQ(s.train.size() + s.test.size(), n);
  std::vector<std::size_t> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i) << "not a partition of 0..n-1";
}

TEST(SplitRng, Splitmix64KnownValues) {
  // splitmix64 from 1234567, values from an independent Python transcription of Vigna's C code.
  std::uint64_t s = 1234567;
  EXPECT_EQ(splitmix64(s), 6457827717110365317ULL);
  EXPECT_EQ(splitmix64(s), 3203168211198807973ULL);
  EXPECT_EQ(splitmix64(s), 9817491932198370423ULL);
  std::uint64_t t = 99;
  double sum = 0.0;
  for (int i = 0; i < 20000; ++i) {
    const double u = uniform01(t);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // mean of 20000 U(0,1): sd = sqrt(1/12/20000) = 0.002; 5 sd.
  EXPECT_NEAR(sum / 20000.0, 0.5, 0.0102);
}

TYPED_TEST(SplitsTyped, RandomHoldoutSizesPartitionDeterminism) {
  const auto e = ragged<TypeParam>(40, 30);
  const std::size_t n = e.nnz();
  const auto s = random_holdout(e, 0.2, 42);
  expect_partition(s, n);
  EXPECT_EQ(s.test.size(), static_cast<std::size_t>(std::llround(0.2 * static_cast<double>(n))));
  const auto again = random_holdout(e, 0.2, 42);
  EXPECT_EQ(s.test, again.test);
  EXPECT_EQ(s.train, again.train);
  EXPECT_NE(random_holdout(e, 0.2, 43).test, s.test);
}

TEST(Splits, RandomHoldoutIsUniformOverEntries) {
  // Each entry lands in test with probability 0.2: over 2000 seeds its count is
  // Binomial(2000, 0.2), mean 400, sd 17.9; allow 5 sd.
  ObservedEntries<double> e;
  e.rows = 5;
  e.cols = 10;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 10; ++j) e.push_back(i, j, 1.0);
  std::vector<int> hits(e.nnz(), 0);
  for (std::uint64_t seed = 0; seed < 2000; ++seed)
    for (auto p : random_holdout(e, 0.2, seed).test) ++hits[p];
  for (std::size_t p = 0; p < hits.size(); ++p) EXPECT_NEAR(hits[p], 400.0, 90.0) << "entry " << p;
}

TYPED_TEST(SplitsTyped, PerRowHoldoutRespectsMinTrain) {
  const auto e = ragged<TypeParam>(50, 12);
  const auto counts = row_counts(e);
  for (std::size_t min_train : {std::size_t{1}, std::size_t{3}}) {
    const auto s = per_row_holdout(e, 0.5, 7, min_train);
    expect_partition(s, e.nnz());
    std::vector<std::int64_t> test_per_row(counts.size(), 0);
    for (auto p : s.test) ++test_per_row[static_cast<std::size_t>(e.row[p])];
    for (std::size_t r = 0; r < counts.size(); ++r) {
      const auto c = static_cast<std::size_t>(counts[r]);
      const std::size_t want =
          std::min<std::size_t>(static_cast<std::size_t>(std::llround(0.5 * static_cast<double>(c))),
                                c > min_train ? c - min_train : 0);
      EXPECT_EQ(static_cast<std::size_t>(test_per_row[r]), want) << "row " << r << " count " << c;
      EXPECT_GE(c - static_cast<std::size_t>(test_per_row[r]), std::min(c, min_train));
    }
    EXPECT_EQ(per_row_holdout(e, 0.5, 7, min_train).test, s.test);
  }
}

TYPED_TEST(SplitsTyped, KFoldCoversEachEntryOnce) {
  const auto e = ragged<TypeParam>(20, 15);
  const std::size_t n = e.nnz();
  const auto folds = k_fold(e, 5, 11);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int> seen(n, 0);
  for (const auto& f : folds) {
    expect_partition(f, n);
    EXPECT_GE(f.test.size(), n / 5);
    EXPECT_LE(f.test.size(), n / 5 + 1);
    for (auto p : f.test) ++seen[p];
  }
  for (std::size_t p = 0; p < n; ++p) EXPECT_EQ(seen[p], 1) << "entry " << p;
  const auto again = k_fold(e, 5, 11);
  for (std::size_t f = 0; f < 5; ++f) EXPECT_EQ(again[f].test, folds[f].test);
}

TYPED_TEST(SplitsTyped, KFoldDoesNotDependOnEntryOrder) {
  // The same entries in another order (a file's lines vs a CSR matrix) must
  // fall into the same folds, entry by entry.
  using T = TypeParam;
  const auto e = ragged<T>(20, 15);
  const std::size_t n = e.nnz();
  std::vector<std::size_t> order(n);
  for (std::size_t p = 0; p < n; ++p) order[p] = (p * 7919 + 13) % n;  // a permutation: 7919 is prime, n < 7919
  std::sort(order.begin(), order.end());
  ASSERT_EQ(std::unique(order.begin(), order.end()), order.end());
  for (std::size_t p = 0; p < n; ++p) order[p] = (p * 7919 + 13) % n;
  ObservedEntries<T> s;
  s.rows = e.rows;
  s.cols = e.cols;
  for (std::size_t p : order) s.push_back(e.row[p], e.col[p], e.value[p]);
  const auto a = k_fold(e, 4, 3), b = k_fold(s, 4, 3);
  auto fold_of = [](const std::vector<Split>& folds, const ObservedEntries<T>& x) {
    std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> m;
    for (std::size_t f = 0; f < folds.size(); ++f)
      for (auto p : folds[f].test) m[{x.row[p], x.col[p]}] = f;
    return m;
  };
  const auto fa = fold_of(a, e), fb = fold_of(b, s);
  ASSERT_EQ(fa.size(), n);
  EXPECT_EQ(fa, fb);
}

TYPED_TEST(SplitsTyped, StructuredHoldoutKeepFraction) {
  using T = TypeParam;
  ObservedEntries<T> e;
  e.rows = 100;
  e.cols = 60;
  for (int i = 0; i < 100; ++i)
    for (int j = 0; j < 60; ++j) e.push_back(i, j, T(1));
  RowGroups g;
  g.names = {"odd", "low", "unused"};
  g.rows = {{}, {}, {99}};
  for (int i = 1; i < 100; i += 2) g.rows[0].push_back(i);
  for (int i = 0; i < 10; ++i) g.rows[1].push_back(i);  // overlaps "odd" on 1,3,5,7,9
  const double keep = 0.3;
  const auto s = structured_holdout(e, g, {0, 1}, keep, 5);
  expect_partition(s, e.nnz());
  std::set<int> grouped;
  for (auto r : g.rows[0]) grouped.insert(r);
  for (auto r : g.rows[1]) grouped.insert(r);
  std::size_t grouped_entries = 0, kept = 0;
  for (auto p : s.test) EXPECT_TRUE(grouped.count(e.row[p])) << "ungrouped row " << e.row[p] << " lost an entry";
  for (auto p : s.train)
    if (grouped.count(e.row[p])) ++kept;
  grouped_entries = grouped.size() * 60;  // 55 rows x 60
  // kept ~ Binomial(3300, 0.3): mean 990, sd 26.3; 5 sd.
  const double sd = std::sqrt(static_cast<double>(grouped_entries) * keep * (1 - keep));
  EXPECT_NEAR(static_cast<double>(kept), keep * static_cast<double>(grouped_entries), 5 * sd);
  EXPECT_EQ(structured_holdout(e, g, {0, 1}, keep, 5).test, s.test);
  // keep 1 -> nothing held out; keep 0 -> every grouped entry held out.
  EXPECT_TRUE(structured_holdout(e, g, {0, 1}, 1.0, 5).test.empty());
  EXPECT_EQ(structured_holdout(e, g, {0, 1}, 0.0, 5).test.size(), grouped_entries);
}

TEST(Splits, BadArguments) {
  const auto e = ragged<double>(10, 5);
  for (double f : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    EXPECT_THROW(random_holdout(e, f, 1), InvalidArgument) << f;
    EXPECT_THROW(per_row_holdout(e, f, 1), InvalidArgument) << f;
  }
  EXPECT_THROW(k_fold(e, 1, 1), InvalidArgument);
  try {
    k_fold(e, static_cast<int>(e.nnz()) + 1, 1);
    FAIL();
  } catch (const InvalidArgument& ex) {
    EXPECT_THAT(ex.what(), HasSubstr("exceeds the number of entries"));
  }
  RowGroups g;
  g.names = {"a"};
  g.rows = {{0, 1}};
  EXPECT_THROW(structured_holdout(e, g, {1}, 0.5, 1), InvalidArgument);
  EXPECT_THROW(structured_holdout(e, g, {0}, 1.5, 1), InvalidArgument);
  g.rows = {{0, 10}};
  try {
    structured_holdout(e, g, {0}, 0.5, 1);
    FAIL();
  } catch (const InvalidArgument& ex) {
    EXPECT_THAT(ex.what(), HasSubstr("group 'a' holds row 10"));
  }
  auto bad = e;
  bad.row[0] = 10;
  EXPECT_THROW(per_row_holdout(bad, 0.5, 1), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
