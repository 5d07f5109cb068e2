#include <cmath>
#include <filesystem>
#include <limits>

#include "io_test_util.hpp"
#include "lowrank/io/triplets.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

// Value of (row id, col id), NaN when absent.
double at(const ObservedEntries<double>& e, const std::string& r, const std::string& c) {
  for (std::size_t p = 0; p < e.nnz(); ++p)
    if (e.row_ids.name(e.row[p]) == r && e.col_ids.name(e.col[p]) == c) return e.value[p];
  return std::nan("");
}

TEST(ReadTriplets, MovieLensTabWithTimestamp) {
  TripletReadStats st;
  const auto e = read_triplets(fixture("ratings_tab.data"), {}, &st);
  EXPECT_EQ(st.separator, "\t");
  EXPECT_FALSE(st.header);
  EXPECT_EQ(st.fields, 4u);
  EXPECT_EQ(st.data_lines, 5u);
  EXPECT_EQ(e.rows, 4);  // users 196, 186, 22, 244 in first-seen order
  EXPECT_EQ(e.cols, 4);  // items 242, 302, 377, 51
  EXPECT_EQ(e.row_ids.names(), (std::vector<std::string>{"196", "186", "22", "244"}));
  EXPECT_EQ(e.col_ids.names(), (std::vector<std::string>{"242", "302", "377", "51"}));
  ASSERT_EQ(e.nnz(), 5u);
  EXPECT_EQ(at(e, "196", "377"), 4.5);
  EXPECT_EQ(at(e, "22", "377"), 1.0);
  EXPECT_NO_THROW(validate(e));
}

TEST(ReadTriplets, SortedIdOrderIsNumeric) {
  TripletReadOptions o;
  o.id_order = IdOrder::Sorted;
  const auto e = read_triplets(fixture("ratings_tab.data"), o);
  EXPECT_EQ(e.row_ids.names(), (std::vector<std::string>{"22", "186", "196", "244"}));
  EXPECT_EQ(e.col_ids.names(), (std::vector<std::string>{"51", "242", "302", "377"}));
  EXPECT_EQ(at(e, "196", "377"), 4.5);
  EXPECT_EQ(at(e, "244", "51"), 2.0);
  EXPECT_EQ(e.row[0], 2);  // first line is user 196 -> row 2
  EXPECT_EQ(e.col[0], 1);
}

TEST(ReadTriplets, DoubleColonRatingsDat) {
  TripletReadStats st;
  const auto e = read_triplets(fixture("ratings.dat"), {}, &st);
  EXPECT_EQ(st.separator, "::");
  EXPECT_EQ(e.rows, 2);
  EXPECT_EQ(e.cols, 2);
  EXPECT_EQ(at(e, "1", "661"), 3.0);
  EXPECT_EQ(at(e, "2", "1193"), 4.0);
}

TEST(ReadTriplets, CommaWithHeaderAutoDetected) {
  TripletReadStats st;
  const auto e = read_triplets(fixture("ratings_header.csv"), {}, &st);
  EXPECT_TRUE(st.header);
  EXPECT_EQ(st.separator, ",");
  ASSERT_EQ(e.nnz(), 3u);
  EXPECT_EQ(at(e, "1", "1029"), 3.0);
  EXPECT_DOUBLE_EQ(at(e, "7", "31"), -0.1);
  // Forcing "no header" turns the header into a non-numeric value error.
  TripletReadOptions o;
  o.header = false;
  const auto msg = input_error([&] { read_triplets(fixture("ratings_header.csv"), o); });
  EXPECT_THAT(msg, HasSubstr("ratings_header.csv:1:"));
  EXPECT_THAT(msg, HasSubstr("'rating'"));
}

TEST(ReadTriplets, BlanksCommentsAndStringIds) {
  TripletReadStats st;
  const auto e = read_triplets(fixture("ratings_space.txt"), {}, &st);
  EXPECT_EQ(st.separator, " ");
  EXPECT_EQ(st.comment_lines, 4u);  // 2 comments, 2 blank lines
  EXPECT_EQ(e.row_ids.names(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(at(e, "bob", "matrix"), 3.0);
  EXPECT_EQ(at(e, "alice", "heat"), 2.5);
}

TEST(ReadTriplets, CrlfAndBomAccepted) {
  TripletReadStats st;
  const auto e = read_triplets(fixture("ratings_crlf_bom.tsv"), {}, &st);
  EXPECT_TRUE(st.header);                                                // the BOM does not hide the header
  EXPECT_EQ(e.row_ids.names(), (std::vector<std::string>{"u1", "u2"}));  // no "\xEF\xBB\xBF" or '\r' in ids
  EXPECT_EQ(e.col_ids.names(), (std::vector<std::string>{"i1", "i2"}));
  EXPECT_EQ(at(e, "u2", "i1"), 3.5);
  EXPECT_EQ(at(e, "u1", "i2"), 1.0);  // last field had "\r"
}

TEST(ReadTriplets, ExplicitColumnsAndSeparator) {
  TempDir dir;
  const auto p = dir.write("cols.txt", "5;x;u9\n7;y;u9\n");
  TripletReadOptions o;
  o.separator = ";";
  o.value_column = 0;
  o.row_column = 2;
  o.col_column = 1;
  const auto e = read_triplets(p, o);
  EXPECT_EQ(e.rows, 1);
  EXPECT_EQ(at(e, "u9", "y"), 7.0);
  o.row_column = 1;
  EXPECT_THROW(read_triplets(p, o), InvalidArgument);  // row and col the same field
}

TEST(ReadTriplets, IntegerLookingIdsStayDistinctStrings) {
  TempDir dir;
  const auto p = dir.write("ids.tsv", "007\ta\t1\n7\ta\t2\n0\ta\t3\n99999999\ta\t4\n7\tb\t5\n-7\tb\t6\n");
  const auto e = read_triplets(p);
  EXPECT_EQ(e.row_ids.names(), (std::vector<std::string>{"007", "7", "0", "99999999", "-7"}));
  EXPECT_EQ(e.row, (std::vector<std::int32_t>{0, 1, 2, 3, 1, 4}));
  EXPECT_EQ(at(e, "7", "b"), 5.0);
}

// ---- bad input -----------------------------------------------------------------

TEST(ReadTripletsBad, EmptyFile) {
  TempDir dir;
  const auto p = dir.write("empty.tsv", "");
  EXPECT_THAT(input_error([&] { read_triplets(p); }), HasSubstr("empty.tsv: empty file"));
  const auto q = dir.write("comments.tsv", "# nothing\n\n   \n");
  EXPECT_THAT(input_error([&] { read_triplets(q); }), HasSubstr("comments.tsv: empty file"));
  EXPECT_THAT(input_error([&] { read_triplets(dir.path("missing.tsv")); }), HasSubstr("missing.tsv: cannot open"));
}

TEST(ReadTripletsBad, HeaderOnly) {
  TempDir dir;
  const auto p = dir.write("h.csv", "user,item,rating\n");
  EXPECT_THAT(input_error([&] { read_triplets(p); }), HasSubstr("h.csv:1: header only"));
}

TEST(ReadTripletsBad, RaggedAndShortLines) {
  TempDir dir;
  const auto p = dir.write("ragged.tsv", "1\t2\t3\t100\n1\t3\t4\n");
  const auto msg = input_error([&] { read_triplets(p); });
  EXPECT_THAT(msg, HasSubstr("ragged.tsv:2:"));
  EXPECT_THAT(msg, HasSubstr("expected 4 fields"));
  const auto q = dir.write("short.tsv", "# c\n1\t2\n");
  EXPECT_THAT(input_error([&] { read_triplets(q); }), HasSubstr("short.tsv:2: expected at least 3 fields"));
  const auto r = dir.write("emptyid.csv", "1,2,3\n,2,3\n");
  EXPECT_THAT(input_error([&] { read_triplets(r); }), HasSubstr("emptyid.csv:2: empty row id"));
}

TEST(ReadTripletsBad, NonNumericValue) {
  TempDir dir;
  const auto p = dir.write("nn.tsv", "1\t2\t3\n1\t3\tfour\n");
  const auto msg = input_error([&] { read_triplets(p); });
  EXPECT_THAT(msg, HasSubstr("nn.tsv:2:"));
  EXPECT_THAT(msg, HasSubstr("'four'"));
}

TEST(ReadTripletsBad, NanAndInfRejected) {
  TempDir dir;
  for (const std::string v : {"nan", "NaN", "inf", "-Infinity"}) {
    const auto p = dir.write("v.tsv", "1 2 3\n\n2 2 " + v + "\n");
    const auto msg = input_error([&] { read_triplets(p); });
    EXPECT_THAT(msg, HasSubstr("v.tsv:3:")) << v;
    EXPECT_THAT(msg, HasSubstr("not finite")) << v;
  }
}

TEST(ReadTripletsBad, DuplicatesErrorByDefaultNamingBothLines) {
  TempDir dir;
  const auto p = dir.write("dup.tsv", "u1\ti1\t1\nu2\ti1\t2\nu1\ti2\t3\nu1\ti1\t5\nu2\ti1\t4\n");
  const auto msg = input_error([&] { read_triplets(p); });
  EXPECT_THAT(msg, HasSubstr("dup.tsv:4:"));
  EXPECT_THAT(msg, HasSubstr("row 'u1', col 'i1'"));
  EXPECT_THAT(msg, HasSubstr("first seen on line 1"));
  EXPECT_THAT(msg, HasSubstr("2 pair(s) repeated"));
  struct Case {
    DuplicatePolicy policy;
    double u1i1, u2i1;
  };
  for (const Case c : {Case{DuplicatePolicy::Mean, 3.0, 3.0}, Case{DuplicatePolicy::Last, 5.0, 4.0},
                       Case{DuplicatePolicy::Sum, 6.0, 6.0}}) {
    TripletReadOptions o;
    o.duplicates = c.policy;
    TripletReadStats st;
    const auto e = read_triplets(p, o, &st);
    EXPECT_EQ(st.duplicates_removed, 2u);
    ASSERT_EQ(e.nnz(), 3u);
    EXPECT_EQ(at(e, "u1", "i1"), c.u1i1);
    EXPECT_EQ(at(e, "u2", "i1"), c.u2i1);
    EXPECT_EQ(at(e, "u1", "i2"), 3.0);
  }
}

// 2^16+ lines (over a MiB): the streaming read drops parsed pages as it goes,
// the duplicate check buckets columns by row, and the lines of a repeated
// pair are found again by a second scan. Comment lines shift line numbers
// away from entry numbers.
TEST(ReadTripletsBad, DuplicateInALargeFileNamesBothLines) {
  TempDir dir;
  std::string text = "# ratings\n";
  const int n = 70000;
  for (int k = 0; k < n; ++k) {
    text += std::to_string(k % 700) + "\t" + std::to_string(k / 700) + "\t" + std::to_string(k % 5 + 1) + ".5\n";
    if (k % 1000 == 999) text += "# block\n";
  }
  const auto clean = dir.write("big.tsv", text);
  const auto e = read_triplets(clean);
  ASSERT_EQ(e.nnz(), static_cast<std::size_t>(n));
  EXPECT_EQ(e.rows, 700);
  EXPECT_EQ(e.cols, 100);
  for (int k : {0, 12345, 65536, n - 1}) {
    EXPECT_EQ(e.row[static_cast<std::size_t>(k)], k % 700) << k;
    EXPECT_EQ(e.col[static_cast<std::size_t>(k)], k / 700) << k;
    EXPECT_EQ(e.value[static_cast<std::size_t>(k)], k % 5 + 1.5) << k;
  }
  // Entry 3 (row 3, col 0, line 5) again after every other line.
  const auto p = dir.write("bigdup.tsv", text + "3\t0\t2\n");
  const std::size_t last_line = 1 + static_cast<std::size_t>(n) + n / 1000 + 1;
  const auto msg = input_error([&] { read_triplets(p); });
  EXPECT_THAT(msg, HasSubstr("bigdup.tsv:" + std::to_string(last_line) + ":"));
  EXPECT_THAT(msg, HasSubstr("first seen on line 5;"));
  EXPECT_THAT(msg, HasSubstr("1 pair(s) repeated"));
  // The check goes through the rows in ranges of about an eighth of the
  // entries (at least 2^16): a repeat in the last row's range is found too.
  const auto late = dir.write("latedup.tsv", text + "699\t99\t1\n");
  const auto msg_late = input_error([&] { read_triplets(late); });
  EXPECT_THAT(msg_late, HasSubstr("latedup.tsv:" + std::to_string(last_line) + ":"));
  EXPECT_THAT(msg_late, HasSubstr("duplicate entry (row '699', col '99')"));
  std::string wide = text;  // 200,000 more entries: five ranges of about 2^16
  for (int k = 0; k < 200000; ++k) wide += std::to_string(700 + k % 1000) + "\t" + std::to_string(k / 1000) + "\t1\n";
  EXPECT_EQ(read_triplets(dir.write("wide.tsv", wide)).nnz(), static_cast<std::size_t>(n + 200000));
  const auto msg_wide = input_error([&] { read_triplets(dir.write("widedup.tsv", wide + "1500\t150\t2\n")); });
  EXPECT_THAT(msg_wide, HasSubstr("duplicate entry (row '1500', col '150')"));
}

// ---- float32 storage ---------------------------------------------------------------

// The float reader keeps the double reader's ids, order and checks; each
// value is the double reader's rounded to float (not parsed as a float,
// which could round differently). Over 2^16 lines so the streaming release
// of parsed pages runs, with values that round (0.1, 1/3), are exact
// (ratings), fall below float's normal range (1e-40) or near its top.
TEST(ReadTripletsFloat32, ValuesAreTheDoubleReadersRoundedToFloat) {
  TempDir dir;
  const char* values[] = {"0.1",
                          "3.5",
                          "-0.333333333333333314829616256247",
                          "1e-40",
                          "-2.5e30",
                          "3.4e38",
                          "123456789.123456789",
                          "4",
                          "7.000000000000001"};
  std::string text = "# u i v\n";
  for (int k = 0; k < 70000; ++k)
    text += "u" + std::to_string(k % 997) + "\t" + std::to_string(k / 997) + "\t" + values[k % 9] + "\n";
  const auto p = dir.write("f.tsv", text);
  for (IdOrder order : {IdOrder::FirstSeen, IdOrder::Sorted}) {
    TripletReadOptions o;
    o.id_order = order;
    TripletReadStats sd, sf;
    const ObservedEntries<double> d = read_triplets(p, o, &sd);
    const ObservedEntries<float> f = read_triplets_float32(p, o, &sf);
    EXPECT_EQ(sf.data_lines, sd.data_lines);
    EXPECT_EQ(sf.comment_lines, 1u);
    EXPECT_EQ(f.rows, d.rows);
    EXPECT_EQ(f.cols, d.cols);
    EXPECT_EQ(f.row_ids.names(), d.row_ids.names());
    EXPECT_EQ(f.col_ids.names(), d.col_ids.names());
    EXPECT_EQ(f.row, d.row);
    EXPECT_EQ(f.col, d.col);
    ASSERT_EQ(f.value.size(), d.value.size());
    std::size_t differ = 0;
    for (std::size_t k = 0; k < d.value.size(); ++k) differ += f.value[k] != static_cast<float>(d.value[k]);
    EXPECT_EQ(differ, 0u);
    // Rounding happened (0.1 is not a float) and kept subnormals.
    EXPECT_NE(static_cast<double>(f.value[0]), d.value[0]);
    EXPECT_GT(f.value[3], 0.0f);
    EXPECT_NO_THROW(validate(f));
  }
}

TEST(ReadTripletsFloat32, DuplicatePoliciesCombineTheFloatValues) {
  TempDir dir;
  const auto p = dir.write("dup.tsv", "u1\ti1\t1\nu2\ti1\t2\nu1\ti2\t3\nu1\ti1\t5\nu2\ti1\t4\n");
  TripletReadOptions o;
  o.duplicates = DuplicatePolicy::Last;
  const auto f = read_triplets_float32(p, o);
  const auto d = read_triplets(p, o);
  ASSERT_EQ(f.nnz(), 3u);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(f.value[k], static_cast<float>(d.value[k]));
}

TEST(ReadTripletsFloat32Bad, SameFileLineErrorsAsTheDoubleReader) {
  TempDir dir;
  const std::vector<std::string> bad = {dir.write("ragged.tsv", "1\t2\t3\t100\n1\t3\t4\n"),
                                        dir.write("nn.tsv", "1\t2\t3\n1\t3\tfour\n"),
                                        dir.write("inf.tsv", "1 2 3\n\n2 2 -Infinity\n"),
                                        dir.write("dup.tsv", "a\tb\t1\nc\tb\t2\na\tb\t3\n"),
                                        dir.write("empty.tsv", "# nothing\n"),
                                        dir.write("range.tsv", "1 2 3\n1 3 1e400\n")};
  for (const auto& p : bad) {
    const auto expected = input_error([&] { read_triplets(p); });
    EXPECT_THAT(expected, HasSubstr(std::filesystem::path(p).filename().string() + ":")) << p;
    EXPECT_EQ(input_error([&] { read_triplets_float32(p); }), expected) << p;
  }
}

TEST(ReadTripletsFloat32Bad, ValueBeyondFloatRangeNamesItsLine) {
  TempDir dir;
  const auto p = dir.write("big.tsv", "1 2 3\n1 3 -1e39\n2 2 1\n");
  EXPECT_EQ(read_triplets(p).nnz(), 3u);  // fine in double
  const auto msg = input_error([&] { read_triplets_float32(p); });
  EXPECT_THAT(msg, HasSubstr("big.tsv:2:"));
  EXPECT_THAT(msg, HasSubstr("outside the range of a float"));
  // 3.4e38 still rounds to float's largest finite value: accepted.
  EXPECT_EQ(read_triplets_float32(dir.write("top.tsv", "1 2 3.4e38\n")).value[0], 3.4e38f);
}

// ---- mapped reading --------------------------------------------------------------

TEST(ReadTripletsMapped, UsesExistingMapsAndReportsUnseen) {
  const auto train = read_triplets(fixture("ratings_tab.data"));
  TempDir dir;
  const auto p = dir.write("test.tsv", "22\t242\t5\n999\t242\t1\n196\t51\t2\n196\t1\t3\n");
  const auto m = read_triplets_mapped(p, train.row_ids, train.col_ids);
  EXPECT_EQ(m.entries.rows, train.rows);
  EXPECT_EQ(m.entries.cols, train.cols);
  ASSERT_EQ(m.entries.nnz(), 2u);
  EXPECT_EQ(m.entries.row[0], *train.row_ids.find("22"));
  EXPECT_EQ(m.entries.col[1], *train.col_ids.find("51"));
  ASSERT_EQ(m.unseen.size(), 2u);
  EXPECT_EQ(m.unseen[0].line, 2u);
  EXPECT_EQ(m.unseen[0].row_id, "999");
  EXPECT_TRUE(m.unseen[0].row_unseen);
  EXPECT_FALSE(m.unseen[0].col_unseen);
  EXPECT_TRUE(m.unseen[1].col_unseen);
  EXPECT_EQ(m.unseen_rows, 1u);
  EXPECT_EQ(m.unseen_cols, 1u);
  EXPECT_EQ(m.lines, (std::vector<std::size_t>{1, 3}));
  const auto msg =
      input_error([&] { read_triplets_mapped(p, train.row_ids, train.col_ids, {}, UnseenIdPolicy::Error); });
  EXPECT_THAT(msg, HasSubstr("test.tsv:2: row id '999'"));
  EXPECT_THROW(read_triplets_mapped(p, IdMap{}, train.col_ids), InvalidArgument);
}

TEST(ReadTripletsMapped, LinesFollowTheKeptEntriesWhenDuplicatesMerge) {
  const auto train = read_triplets(fixture("ratings_tab.data"));
  TempDir dir;
  const auto p = dir.write("test.tsv", "196\t51\t2\n22\t242\t5\n999\t1\t1\n196\t51\t4\n22\t242\t1\n196\t242\t3\n");
  TripletReadOptions o;
  o.duplicates = DuplicatePolicy::Last;
  const auto m = read_triplets_mapped(p, train.row_ids, train.col_ids, o);
  ASSERT_EQ(m.entries.nnz(), 3u);
  EXPECT_EQ(m.lines, (std::vector<std::size_t>{1, 2, 6}));
  EXPECT_EQ(m.entries.value[0], 4.0);
  EXPECT_EQ(train.col_ids.name(m.entries.col[2]), "242");
}

TEST(ReadTripletsMapped, PairsWithoutValues) {
  const auto train = read_triplets(fixture("ratings_space.txt"));
  TempDir dir;
  const auto p = dir.write("pairs.txt", "user item\nbob heat\nalice matrix\n");
  TripletReadOptions o;
  o.value_column = -1;
  // String ids everywhere: auto-detection cannot tell a header, so the first
  // line is data and its ids are unseen.
  TripletReadStats st;
  auto m = read_triplets_mapped(p, train.row_ids, train.col_ids, o, UnseenIdPolicy::Skip, &st);
  EXPECT_FALSE(st.header);
  ASSERT_EQ(m.unseen.size(), 1u);
  EXPECT_EQ(m.unseen[0].line, 1u);
  o.header = true;
  m = read_triplets_mapped(p, train.row_ids, train.col_ids, o, UnseenIdPolicy::Error, &st);
  EXPECT_TRUE(st.header);
  ASSERT_EQ(m.entries.nnz(), 2u);
  EXPECT_EQ(train.row_ids.name(m.entries.row[0]), "bob");
  EXPECT_EQ(train.col_ids.name(m.entries.col[0]), "heat");
  EXPECT_EQ(m.entries.value[0], 0.0);
}

TEST(ReadTripletsMapped, PairsHeaderDetectedWithNumericIds) {
  const auto train = read_triplets(fixture("ratings_tab.data"));
  TempDir dir;
  const auto p = dir.write("pairs.tsv", "user\titem\n196\t302\n22\t242\n");
  TripletReadOptions o;
  o.value_column = -1;
  TripletReadStats st;
  const auto m = read_triplets_mapped(p, train.row_ids, train.col_ids, o, UnseenIdPolicy::Error, &st);
  EXPECT_TRUE(st.header);
  ASSERT_EQ(m.entries.nnz(), 2u);
  EXPECT_EQ(m.entries.value[0], 0.0);
  EXPECT_EQ(train.row_ids.name(m.entries.row[1]), "22");
}

// ---- writer --------------------------------------------------------------------

TEST(WriteTriplets, RoundTripWithIdsFloatAndDouble) {
  TempDir dir;
  auto e = read_triplets(fixture("ratings_tab.data"));
  e.value[1] = 0.1;  // shortest repr must still read back exactly
  e.value[2] = -1e-300;
  write_triplets(dir.path("out.tsv"), e);
  const auto back = read_triplets(dir.path("out.tsv"));
  EXPECT_EQ(back.row_ids.names(), e.row_ids.names());
  EXPECT_EQ(back.col_ids.names(), e.col_ids.names());
  EXPECT_EQ(back.row, e.row);
  EXPECT_EQ(back.col, e.col);
  EXPECT_EQ(back.value, e.value);  // exact

  auto f = e.cast<float>();
  f.value[1] = 0.1f;
  TripletWriteOptions o;
  o.separator = ",";
  o.header = true;
  write_triplets(dir.path("out.csv"), f, o);
  TripletReadStats st;
  const auto fb = read_triplets(dir.path("out.csv"), {}, &st);
  EXPECT_TRUE(st.header);
  for (std::size_t p = 0; p < f.nnz(); ++p) EXPECT_EQ(static_cast<float>(fb.value[p]), f.value[p]);

  ObservedEntries<double> plain;  // no ids: indices are written
  plain.rows = 3;
  plain.cols = 2;
  plain.push_back(2, 1, 7.0);
  write_triplets(dir.path("plain.txt"), plain);
  EXPECT_EQ(test::read_bytes(dir.path("plain.txt")), "2\t1\t7\n");
  ObservedEntries<double> tabbed = plain;
  tabbed.row_ids = IdMap::identity(3);
  tabbed.col_ids.get_or_add("a\tb");
  tabbed.col_ids.get_or_add("c");
  EXPECT_THROW(write_triplets(dir.path("bad.txt"), tabbed), InvalidArgument);
  plain.value[0] = std::nan("");
  EXPECT_THROW(write_triplets(dir.path("bad.txt"), plain), InvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.path("bad.txt")));
}

TEST(ReadTriplets, MovieLens100k) {
  const std::string path = "/work/shared/data/movielens-100k/u.data";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << "MovieLens 100k not found at " << path << " (not redistributable)";
  TripletReadStats st;
  const auto e = read_triplets(path, {}, &st);
  EXPECT_EQ(e.rows, 943);
  EXPECT_EQ(e.cols, 1682);
  EXPECT_EQ(e.nnz(), 100000u);
  EXPECT_EQ(st.fields, 4u);
  double lo = 10, hi = -10;
  for (double v : e.value) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    EXPECT_EQ(v, std::round(v));
  }
  EXPECT_EQ(lo, 1.0);
  EXPECT_EQ(hi, 5.0);
  EXPECT_EQ(e.row_ids.name(0), "196");
  EXPECT_NO_THROW(validate(e));
}

// Byte ranges (the MPI ranks' slices): every cut of the file reads each
// line exactly once, and errors carry the file's line number.
TEST(ReadTripletRange, AnyCutReadsEveryLineOnce) {
  TempDir dir;
  std::string text = "user\titem\trating\n# comment\n\n";
  double total = 0;
  for (int s = 0; s < 23; ++s) {
    text += std::to_string(s % 7) + "\t" + std::to_string((s * 3) % 5) + "\t" + std::to_string(s) + ".25\t99\n";
    total += s + 0.25;
  }
  const std::string path = dir.write("t.tsv", text);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const auto a = read_triplet_range(path, 0, cut);
    const auto b = read_triplet_range(path, cut, text.size());
    ASSERT_EQ(a.nnz() + b.nnz(), 23u) << "cut at byte " << cut;
    double sum = 0;
    for (const auto* e : {&a, &b})
      for (const double v : e->value) sum += v;
    EXPECT_DOUBLE_EQ(sum, total);
  }
  const auto all = read_triplet_range(path, 0, std::numeric_limits<std::size_t>::max(), 7, 5);
  EXPECT_EQ(all.nnz(), 23u);
  EXPECT_EQ(all.rows, 7);  // largest index + 1
  EXPECT_EQ(all.cols, 5);
  EXPECT_EQ(all.row[3], 3);
  EXPECT_EQ(all.col[3], 4);
  EXPECT_EQ(all.value[3], 3.25);
  EXPECT_EQ(read_triplet_range(path, 5, 5).nnz(), 0u);  // an empty range is no error
}

TEST(ReadTripletRange, ErrorsNameTheFileLineFromTheStart) {
  TempDir dir;
  const std::string path = dir.write("bad.tsv", "0 0 1\n1 1 2\n2 9 3\n3 x 4\n4 1 nan\n");
  // Line 3 lies in the second half's range; its number counts from the file's start.
  EXPECT_THAT(input_error([&] { read_triplet_range(path, 8, 100, 0, 5); }),
              HasSubstr("bad.tsv:3: column id 9 out of range [0, 5)"));
  EXPECT_THAT(input_error([&] { read_triplet_range(path, 0, 7, 1, 0); }),
              HasSubstr("bad.tsv:2: row id 1 out of range [0, 1)"));
  EXPECT_THAT(input_error([&] { read_triplet_range(path, 18, 19); }),
              HasSubstr("bad.tsv:4: expected an integer column id (a 0-based index), found 'x'"));
  EXPECT_THAT(input_error([&] { read_triplet_range(path, 24, 25); }),
              HasSubstr("bad.tsv:5: value 'nan' is not finite"));
  // A header is the file's first line only: in a later range it is bad data.
  const std::string h = dir.write("h.tsv", "0 0 1\nrow col value\n");
  EXPECT_THAT(input_error([&] { read_triplet_range(h, 6, 100); }), HasSubstr("h.tsv:2: expected a number in field 3"));
}

}  // namespace
}  // namespace lowrank::io
