#include <cmath>

#include "io_test_util.hpp"
#include "lowrank/io/csv.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::repo_file;
using test::TempDir;
using ::testing::HasSubstr;

TEST(ReadDenseCsv, VeganDuneMatchesPythonCsvModule) {
  const auto t = read_dense_csv(repo_file("data/ecology/dune.csv"));
  ASSERT_EQ(t.values.rows(), 20);
  ASSERT_EQ(t.values.cols(), 30);
  EXPECT_EQ(t.col_names.front(), "Achimill");
  EXPECT_EQ(t.col_names.back(), "Callcusp");
  EXPECT_EQ(t.row_names.front(), "1");
  EXPECT_EQ(t.row_names.back(), "20");
  // Reference: the same file parsed by Python's csv module (make_fixtures.py).
  const auto ref = read_npy(fixture("dune_ref.npy")).values;
  ASSERT_EQ(ref.rows(), 20);
  EXPECT_EQ((t.values - ref).cwiseAbs().maxCoeff(), 0.0);
}

TEST(ReadDenseCsv, VeganMiteAndEnvTables) {
  const auto mite = read_dense_csv(repo_file("data/ecology/mite.csv"));
  EXPECT_EQ(mite.values.rows(), 70);
  EXPECT_EQ(mite.values.cols(), 35);
  EXPECT_EQ(mite.values(0, 0), 17.0);  // site 1, Brachy
  EXPECT_FALSE(mite.values.array().isNaN().any());
  // The env table has text columns: reading it as numbers names the column.
  const auto msg = input_error([&] { read_dense_csv(repo_file("data/ecology/mite_env.csv")); });
  EXPECT_THAT(msg, HasSubstr("mite_env.csv:2:"));
  EXPECT_THAT(msg, HasSubstr("column 'Substrate'"));
  EXPECT_THAT(msg, HasSubstr("'Sphagn1'"));
}

TEST(ReadDenseCsv, MissingCellsQuotesAndNames) {
  const auto t = read_dense_csv(fixture("dense_missing.csv"));
  EXPECT_EQ(t.col_names, (std::vector<std::string>{"x", "y, z", "w"}));
  EXPECT_EQ(t.row_names, (std::vector<std::string>{"r1", "r2", "r 3"}));
  ASSERT_EQ(t.values.rows(), 3);
  EXPECT_EQ(t.values(0, 0), 1.5);
  EXPECT_TRUE(std::isnan(t.values(0, 1)));  // empty
  EXPECT_TRUE(std::isnan(t.values(1, 0)));  // NA
  EXPECT_TRUE(std::isnan(t.values(1, 2)));  // nan
  EXPECT_TRUE(std::isnan(t.values(2, 2)));  // NaN
  EXPECT_EQ(t.values(2, 0), 1000.0);
  EXPECT_EQ(t.values(2, 1), 4.0);  // "+4"
  const auto e = to_observed(t);
  EXPECT_EQ(e.nnz(), 5u);
  EXPECT_EQ(e.row_ids.name(2), "r 3");
  EXPECT_EQ(e.col_ids.name(1), "y, z");
}

TEST(ReadDenseCsv, CrlfBomAndOptions) {
  const auto t = read_dense_csv(fixture("dense_crlf_bom.csv"));
  EXPECT_EQ(t.col_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.row_names, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(t.values(1, 1), 4.0);
  EXPECT_TRUE(std::isnan(t.values(1, 0)));
  TempDir dir;
  // No header, no row names, semicolons, R's short header convention.
  CsvReadOptions o;
  o.header = false;
  o.row_names = false;
  const auto p = dir.write("plain.csv", "1;2\n3;4\n");
  const auto u = read_dense_csv(p, o);
  EXPECT_TRUE(u.col_names.empty());
  EXPECT_TRUE(u.row_names.empty());
  EXPECT_EQ(u.values(1, 0), 3.0);
  const auto q = dir.write("short_header.csv", "a\tb\nx\t1\t2\ny\t3\t4\n");
  const auto s = read_dense_csv(q);
  EXPECT_EQ(s.col_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.row_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.values(1, 1), 4.0);
  const auto ml = dir.write("multiline.csv", "\"\",\"long\nname\"\nr,5\n");
  const auto m = read_dense_csv(ml);
  EXPECT_EQ(m.col_names[0], "long\nname");
  EXPECT_EQ(m.values(0, 0), 5.0);
}

TEST(ReadDenseCsvBad, EmptyFileAndHeaderOnly) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { read_dense_csv(dir.write("e.csv", "")); }), HasSubstr("e.csv: empty file"));
  EXPECT_THAT(input_error([&] { read_dense_csv(dir.write("w.csv", "\xEF\xBB\xBF \r\n")); }),
              HasSubstr("w.csv: empty file"));
  EXPECT_THAT(input_error([&] { read_dense_csv(dir.write("h.csv", "\"\",a,b\r\n\r\n")); }),
              HasSubstr("h.csv:1: header only"));
}

TEST(ReadDenseCsvBad, RaggedRows) {
  TempDir dir;
  const auto msg = input_error([&] { read_dense_csv(dir.write("r.csv", "\"\",a,b\nx,1,2\ny,3\n")); });
  EXPECT_THAT(msg, HasSubstr("r.csv:3:"));
  EXPECT_THAT(msg, HasSubstr("expected 3 fields"));
  EXPECT_THAT(input_error([&] { read_dense_csv(dir.write("r2.csv", "\"\",a,b\nx,1,2,3,4\n")); }),
              HasSubstr("r2.csv:2:"));
  EXPECT_THAT(input_error([&] { read_dense_csv(dir.write("q.csv", "\"\",a\nx,\"1\n")); }),
              HasSubstr("q.csv:2: unterminated quoted field"));
}

TEST(ReadDenseCsvBad, NonNumericAndInfiniteCells) {
  TempDir dir;
  auto msg = input_error([&] { read_dense_csv(dir.write("n.csv", "\"\",height,weight\nx,1,2\ny,3,heavy\n")); });
  EXPECT_THAT(msg, HasSubstr("n.csv:3:"));
  EXPECT_THAT(msg, HasSubstr("column 'weight'"));
  EXPECT_THAT(msg, HasSubstr("'heavy'"));
  msg = input_error([&] { read_dense_csv(dir.write("i.csv", "\"\",a\nx,Inf\n")); });
  EXPECT_THAT(msg, HasSubstr("i.csv:2: column 'a': infinite value 'Inf'"));
}

TEST(WriteDenseCsv, RoundTripNamesAndMissing) {
  TempDir dir;
  const auto t = read_dense_csv(fixture("dense_missing.csv"));
  for (const std::string missing : {"", "NA"}) {
    CsvWriteOptions o;
    o.missing = missing;
    write_dense_csv(dir.path("out.csv"), t, o);
    const auto back = read_dense_csv(dir.path("out.csv"));
    EXPECT_EQ(back.row_names, t.row_names);
    EXPECT_EQ(back.col_names, t.col_names);
    ASSERT_EQ(back.values.rows(), t.values.rows());
    for (Index i = 0; i < t.values.rows(); ++i)
      for (Index j = 0; j < t.values.cols(); ++j) {
        if (std::isnan(t.values(i, j))) EXPECT_TRUE(std::isnan(back.values(i, j)));
        else EXPECT_EQ(back.values(i, j), t.values(i, j));
      }
  }
  // Shortest exact representation for float and double, no names.
  Matrix<float> f(2, 2);
  f << 0.1f, -3.4e38f, 1e-45f, 2.5f;
  write_dense_csv(dir.path("f.csv"), f);
  CsvReadOptions plain;
  plain.header = false;
  plain.row_names = false;
  const auto fb = read_dense_csv(dir.path("f.csv"), plain);
  EXPECT_EQ(fb.values.cast<float>(), f);
  Matrix<double> col(2, 1);
  col << std::nan(""), 1.0;
  write_dense_csv(dir.path("col.csv"), col);
  const auto cb = read_dense_csv(dir.path("col.csv"), plain);
  ASSERT_EQ(cb.values.rows(), 2);  // the missing cell was not written as a blank line
  EXPECT_TRUE(std::isnan(cb.values(0, 0)));
  EXPECT_THROW(write_dense_csv(dir.path("x.csv"), col, {"only one"}, {}), InvalidArgument);
  EXPECT_THROW(write_dense_csv(dir.path("x.csv"), col, {}, {"a", "b"}), InvalidArgument);
}

TEST(IdMapFromNames, RejectsRepeats) {
  EXPECT_EQ(id_map_from_names({"a", "b"}).find("b").value(), 1);
  EXPECT_THROW(id_map_from_names({"a", "b", "a"}), InvalidArgument);
}

}  // namespace
}  // namespace lowrank::io
