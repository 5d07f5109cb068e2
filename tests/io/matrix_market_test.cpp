#include <cmath>

#include "io_test_util.hpp"
#include "lowrank/io/matrix_market.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

Matrix<double> densify(const MatrixMarketData& d) {
  if (!d.is_coordinate()) return d.dense();
  const auto& e = d.entries();
  Matrix<double> a = Matrix<double>::Zero(e.rows, e.cols);
  for (std::size_t p = 0; p < e.nnz(); ++p) a(e.row[p], e.col[p]) += e.value[p];
  return a;
}

// Each fixture was written by scipy.io.mmwrite; the reference is scipy.io.mmread's dense result.
TEST(ReadMatrixMarket, MatchesScipyOnEveryKind) {
  struct Case {
    const char* name;
    MmFormat format;
    MmField field;
    MmSymmetry symmetry;
    std::size_t nnz;
  };
  for (const Case c : {Case{"mm_general", MmFormat::Coordinate, MmField::Real, MmSymmetry::General, 4},
                       Case{"mm_symmetric", MmFormat::Coordinate, MmField::Real, MmSymmetry::Symmetric, 6},
                       Case{"mm_integer", MmFormat::Coordinate, MmField::Integer, MmSymmetry::General, 3},
                       Case{"mm_pattern", MmFormat::Coordinate, MmField::Pattern, MmSymmetry::General, 3},
                       Case{"mm_array", MmFormat::Array, MmField::Real, MmSymmetry::General, 0},
                       Case{"mm_array_sym", MmFormat::Array, MmField::Real, MmSymmetry::Symmetric, 0}}) {
    SCOPED_TRACE(c.name);
    const auto d = read_matrix_market(fixture(std::string(c.name) + ".mtx"));
    EXPECT_EQ(d.header.format, c.format);
    EXPECT_EQ(d.header.field, c.field);
    EXPECT_EQ(d.header.symmetry, c.symmetry);
    if (d.is_coordinate()) {
      EXPECT_EQ(d.entries().nnz(), c.nnz);
      EXPECT_NO_THROW(validate(d.entries()));
    }
    const auto ref = read_npy(fixture(std::string(c.name) + "_ref.npy")).values;
    const auto a = densify(d);
    ASSERT_EQ(a.rows(), ref.rows());
    ASSERT_EQ(a.cols(), ref.cols());
    EXPECT_EQ((a - ref).cwiseAbs().maxCoeff(), 0.0);
  }
}

TEST(ReadMatrixMarket, SkewSymmetricAndCrlfBom) {
  TempDir dir;
  const auto p = dir.write(
      "skew.mtx",
      "\xEF\xBB\xBF%%MatrixMarket matrix coordinate real skew-symmetric\r\n% c\r\n3 3 2\r\n2 1 1.5\r\n3 2 -2\r\n");
  const auto a = densify(read_matrix_market(p));
  Matrix<double> ref(3, 3);
  ref << 0, -1.5, 0, 1.5, 0, 2, 0, -2, 0;
  EXPECT_EQ(a, ref);
  const auto q = dir.write("skewa.mtx", "%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n");
  Matrix<double> refa(3, 3);
  refa << 0, -1, -2, 1, 0, -3, 2, 3, 0;
  EXPECT_EQ(read_matrix_market(q).dense(), refa);
}

TEST(ReadMatrixMarketBad, BannerThatIsNotOne) {
  TempDir dir;
  struct Case {
    std::string text, expect;
  };
  for (const Case& c : {Case{"3 3 1\n1 1 1\n", "bad.mtx:1: expected a banner"},
                        Case{"%MatrixMarket matrix coordinate real general\n1 1 0\n", "bad.mtx:1: expected a banner"},
                        Case{"%%MatrixMarket matrix coordinate real\n1 1 0\n", "banner has 4 words"},
                        Case{"%%MatrixMarket vector coordinate real general\n1 1 0\n", "unsupported object 'vector'"},
                        Case{"%%MatrixMarket matrix sparse real general\n1 1 0\n", "unknown format 'sparse'"},
                        Case{"%%MatrixMarket matrix coordinate complex general\n1 1 0\n", "complex"},
                        Case{"%%MatrixMarket matrix coordinate real upper\n1 1 0\n", "unknown symmetry 'upper'"},
                        Case{"%%MatrixMarket matrix array pattern general\n1 1\n", "not a valid"}}) {
    const auto p = dir.write("bad.mtx", c.text);
    EXPECT_THAT(input_error([&] { read_matrix_market(p); }), HasSubstr(c.expect)) << c.text;
  }
  EXPECT_THAT(input_error([&] { read_matrix_market(dir.write("e.mtx", "")); }), HasSubstr("e.mtx: empty file"));
}

TEST(ReadMatrixMarketBad, SizeLineIndicesAndCounts) {
  TempDir dir;
  const std::string banner = "%%MatrixMarket matrix coordinate real general\n";
  struct Case {
    std::string body, expect;
  };
  for (const Case& c :
       {Case{"% only comments\n", "missing size line"},
        Case{"3 3\n", "m.mtx:2: size line: expected 'rows cols entries'"},
        Case{"3 x 1\n1 1 1\n", "m.mtx:2: size line: cols 'x'"}, Case{"-3 3 1\n1 1 1\n", "size line: rows is negative"},
        Case{"2 2 5\n", "5 entries exceed rows x cols"}, Case{"3 3 1\n0 1 1\n", "m.mtx:3: row index 0 outside 1..3"},
        Case{"3 3 1\n-1 1 1\n", "m.mtx:3: row index -1 outside 1..3"},
        Case{"3 3 1\n1 4 1\n", "m.mtx:3: column index 4 outside 1..3"},
        Case{"3 3 2\n1 1 1\n", "file ends after 1 entries"},
        Case{"3 3 1\n1 1 1\n2 2 2\n", "m.mtx:4: more entries than the 1"},
        Case{"3 3 1\n1 1\n", "m.mtx:3: expected 'row col value'"},
        Case{"3 3 1\n1 1 abc\n", "m.mtx:3: expected a real value, found 'abc'"},
        Case{"3 3 1\n1 1 nan\n", "m.mtx:3: value 'nan' is not finite"},
        Case{"3 3 2\n1 1 1\n% dup\n1 1 2\n", "m.mtx:5: duplicate entry (row 0, col 0), first seen on line 3"}}) {
    const auto p = dir.write("m.mtx", banner + c.body);
    EXPECT_THAT(input_error([&] { read_matrix_market(p); }), HasSubstr(c.expect)) << c.body;
  }
  const auto sq = dir.write("s.mtx", "%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n");
  EXPECT_THAT(input_error([&] { read_matrix_market(sq); }), HasSubstr("must be square"));
  const auto in = dir.write("i.mtx", "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 1.5\n");
  EXPECT_THAT(input_error([&] { read_matrix_market(in); }), HasSubstr("i.mtx:3: expected an integer value"));
  const auto ar = dir.write("a.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n");
  EXPECT_THAT(input_error([&] { read_matrix_market(ar); }), HasSubstr("file ends after 3 values"));
  const auto ar2 = dir.write("a2.mtx", "%%MatrixMarket matrix array real general\n1 1\n1\n2\n");
  EXPECT_THAT(input_error([&] { read_matrix_market(ar2); }), HasSubstr("a2.mtx:4: more values"));
  // Duplicates resolved on request.
  const auto dup = dir.write("d.mtx", banner + "3 3 2\n1 1 1\n1 1 2\n");
  EXPECT_EQ(read_matrix_market(dup, DuplicatePolicy::Sum).entries().value, std::vector<double>{3.0});
}

TEST(WriteMatrixMarket, RoundTripCoordinateAndArray) {
  TempDir dir;
  ObservedEntries<double> e;
  e.rows = 4;
  e.cols = 3;
  e.push_back(3, 2, 0.1);
  e.push_back(0, 0, -7e-310);  // subnormal
  e.push_back(1, 2, 12345.678);
  write_matrix_market(dir.path("c.mtx"), e);
  const auto back = read_matrix_market(dir.path("c.mtx"));
  ASSERT_TRUE(back.is_coordinate());
  EXPECT_EQ(back.entries().rows, 4);
  EXPECT_EQ(back.entries().row, e.row);
  EXPECT_EQ(back.entries().col, e.col);
  EXPECT_EQ(back.entries().value, e.value);
  Matrix<float> a(2, 3);
  a << 1.f, 0.1f, -2.f, 3.5f, 1e-8f, 6.f;
  write_matrix_market(dir.path("a.mtx"), a);
  const auto ab = read_matrix_market(dir.path("a.mtx"));
  ASSERT_FALSE(ab.is_coordinate());
  EXPECT_EQ(ab.dense().cast<float>(), a);
  a(0, 0) = std::nanf("");
  EXPECT_THROW(write_matrix_market(dir.path("n.mtx"), a), InvalidArgument);
  e.col[0] = 3;
  EXPECT_THROW(write_matrix_market(dir.path("n.mtx"), e), InvalidArgument);
}

}  // namespace
}  // namespace lowrank::io
