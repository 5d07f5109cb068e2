#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lowrank/core/error.hpp"
#include "lowrank/core/observed_entries.hpp"

namespace lowrank {
namespace {

using ::testing::HasSubstr;

template <class T>
class ObservedEntriesTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ObservedEntriesTyped, Scalars);

template <class T>
ObservedEntries<T> small_entries() {
  ObservedEntries<T> e;
  e.rows = 3;
  e.cols = 4;
  e.push_back(0, 1, T(1));
  e.push_back(2, 3, T(2));
  e.push_back(1, 0, T(3));
  e.push_back(0, 2, T(4));
  return e;
}

TEST(IdMap, FirstSeenOrderAndLookup) {
  IdMap m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.get_or_add("196"), 0);
  EXPECT_EQ(m.get_or_add("22"), 1);
  EXPECT_EQ(m.get_or_add("196"), 0);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.name(1), "22");
  EXPECT_EQ(m.find("22").value(), 1);
  EXPECT_FALSE(m.find("7").has_value());
  EXPECT_THROW(m.name(5), std::out_of_range);
  const IdMap id = IdMap::identity(3);
  EXPECT_EQ(id.names(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(id.find("2").value(), 2);
}

TEST(DuplicatePolicy, Parse) {
  EXPECT_EQ(parse_duplicate_policy("error"), DuplicatePolicy::Error);
  EXPECT_EQ(parse_duplicate_policy("mean"), DuplicatePolicy::Mean);
  EXPECT_EQ(parse_duplicate_policy("last"), DuplicatePolicy::Last);
  EXPECT_EQ(parse_duplicate_policy("sum"), DuplicatePolicy::Sum);
  try {
    parse_duplicate_policy("median");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& ex) {
    EXPECT_THAT(ex.what(), HasSubstr("median"));
    EXPECT_THAT(ex.what(), HasSubstr("mean"));
  }
}

TYPED_TEST(ObservedEntriesTyped, SubsetKeepsShapeIdsAndOrder) {
  using T = TypeParam;
  auto e = small_entries<T>();
  e.row_ids = IdMap::identity(3);
  const auto s = e.subset({3, 0});
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.cols, 4);
  EXPECT_EQ(s.row_ids.size(), 3u);
  ASSERT_EQ(s.nnz(), 2u);
  EXPECT_EQ(s.row[0], 0);
  EXPECT_EQ(s.col[0], 2);
  EXPECT_EQ(s.value[0], T(4));
  EXPECT_EQ(s.value[1], T(1));
  EXPECT_THROW(e.subset({4}), InvalidArgument);
  EXPECT_DOUBLE_EQ(e.density(), 4.0 / 12.0);
}

TYPED_TEST(ObservedEntriesTyped, CastConverts) {
  const auto e = small_entries<TypeParam>();
  const auto d = e.template cast<double>();
  EXPECT_EQ(d.value, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(d.row, e.row);
}

TYPED_TEST(ObservedEntriesTyped, ValidateAcceptsGoodInput) { EXPECT_NO_THROW(validate(small_entries<TypeParam>())); }

template <class T, class F>
std::string validate_message(F mutate) {
  auto e = small_entries<T>();
  mutate(e);
  try {
    validate(e, "train set");
  } catch (const InvalidArgument& ex) {
    return ex.what();
  }
  return "<no error>";
}

TYPED_TEST(ObservedEntriesTyped, ValidateErrors) {
  using T = TypeParam;
  using E = ObservedEntries<T>;
  EXPECT_THAT(validate_message<T>([](E& e) { e.rows = -1; }), HasSubstr("negative shape"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.value.pop_back(); }), HasSubstr("differ in length"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.row[1] = 3; }), HasSubstr("entry 1 has row index 3 outside [0, 3)"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.row[1] = -2; }), HasSubstr("row index -2"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.col[2] = 4; }), HasSubstr("entry 2 has column index 4"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.value[3] = std::numeric_limits<T>::quiet_NaN(); }),
              HasSubstr("entry 3 (row 0, col 2) has a non-finite value"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.value[0] = std::numeric_limits<T>::infinity(); }),
              HasSubstr("non-finite"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.row_ids = IdMap::identity(2); }), HasSubstr("2 row ids for 3 rows"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.col_ids = IdMap::identity(5); }),
              HasSubstr("5 column ids for 4 columns"));
  EXPECT_THAT(validate_message<T>([](E& e) { e.cols = -3; }), HasSubstr("train set"));
}

template <class T>
ObservedEntries<T> with_duplicates() {
  ObservedEntries<T> e;
  e.rows = 2;
  e.cols = 2;
  e.row_ids.get_or_add("u7");
  e.row_ids.get_or_add("u9");
  e.col_ids.get_or_add("a");
  e.col_ids.get_or_add("b");
  e.push_back(0, 0, T(1));
  e.push_back(1, 1, T(2));
  e.push_back(0, 0, T(4));  // repeats entry 0
  e.push_back(1, 0, T(5));
  e.push_back(0, 0, T(7));  // repeats entry 0 again
  e.push_back(1, 1, T(6));  // repeats entry 1
  return e;
}

TYPED_TEST(ObservedEntriesTyped, DuplicatesErrorNamesPairAndCount) {
  auto e = with_duplicates<TypeParam>();
  try {
    resolve_duplicates(e, DuplicatePolicy::Error);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& ex) {
    const std::string msg = ex.what();
    EXPECT_THAT(msg, HasSubstr("id 'u7'"));
    EXPECT_THAT(msg, HasSubstr("id 'a'"));
    EXPECT_THAT(msg, HasSubstr("entries 0 and 2"));
    EXPECT_THAT(msg, HasSubstr("2 pair(s) repeated, 3 extra"));
  }
  EXPECT_EQ(e.nnz(), 6u);  // untouched on error
}

TYPED_TEST(ObservedEntriesTyped, DuplicatesMeanLastSum) {
  using T = TypeParam;
  struct Case {
    DuplicatePolicy p;
    T v00, v11;
  };
  for (const Case c : {Case{DuplicatePolicy::Mean, T(4), T(4)}, Case{DuplicatePolicy::Last, T(7), T(6)},
                       Case{DuplicatePolicy::Sum, T(12), T(8)}}) {
    auto e = with_duplicates<T>();
    EXPECT_EQ(resolve_duplicates(e, c.p), 3u);
    ASSERT_EQ(e.nnz(), 3u);
    // First occurrences survive, in input order: (0,0), (1,1), (1,0).
    EXPECT_EQ(e.row, (std::vector<std::int32_t>{0, 1, 1}));
    EXPECT_EQ(e.col, (std::vector<std::int32_t>{0, 1, 0}));
    EXPECT_EQ(e.value[0], c.v00);
    EXPECT_EQ(e.value[1], c.v11);
    EXPECT_EQ(e.value[2], T(5));
  }
  auto clean = small_entries<T>();
  EXPECT_EQ(resolve_duplicates(clean, DuplicatePolicy::Error), 0u);
}

TYPED_TEST(ObservedEntriesTyped, Counts) {
  const auto e = small_entries<TypeParam>();
  EXPECT_EQ(row_counts(e), (std::vector<std::int64_t>{2, 1, 1}));
  EXPECT_EQ(col_counts(e), (std::vector<std::int64_t>{1, 1, 1, 1}));
  auto bad = e;
  bad.row[0] = 9;
  EXPECT_THROW(row_counts(bad), InvalidArgument);
  bad = e;
  bad.col[0] = -1;
  EXPECT_THROW(col_counts(bad), InvalidArgument);
}

TYPED_TEST(ObservedEntriesTyped, FromDenseWithNan) {
  using T = TypeParam;
  Matrix<T> a(2, 3);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  a << 1, nan, 3, nan, 5, 0;
  const auto e = from_dense_with_nan(a);
  EXPECT_EQ(e.rows, 2);
  EXPECT_EQ(e.cols, 3);
  ASSERT_EQ(e.nnz(), 4u);  // an explicit 0 is observed
  EXPECT_EQ(e.row, (std::vector<std::int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(e.col, (std::vector<std::int32_t>{0, 2, 1, 2}));
  EXPECT_EQ(e.value, (std::vector<T>{1, 3, 5, 0}));
  EXPECT_NO_THROW(validate(e));
}

}  // namespace
}  // namespace lowrank
