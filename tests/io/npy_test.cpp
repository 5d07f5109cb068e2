#include <cmath>
#include <filesystem>

#include "io_test_util.hpp"
#include "lowrank/io/npy.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

// np.arange(12).reshape(3, 4) * 0.5 - 1.25, as written by make_fixtures.py.
Matrix<double> a34() {
  Matrix<double> a(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) a(i, j) = (4 * i + j) * 0.5 - 1.25;
  return a;
}

TEST(ReadNpy, VersionsOrdersAndDtypes) {
  struct Case {
    const char* file;
    const char* dtype;
    bool fortran;
  };
  for (const Case c : {Case{"c_f8.npy", "<f8", false}, Case{"fortran_f4.npy", "<f4", true},
                       Case{"v2_f8.npy", "<f8", false}, Case{"v3_f8.npy", "<f8", true}}) {
    SCOPED_TRACE(c.file);
    const auto a = read_npy(fixture(c.file));
    EXPECT_EQ(a.dtype, c.dtype);
    EXPECT_EQ(a.fortran_order, c.fortran);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(a.values, a34());  // all values exact in binary32 too
  }
  const auto v = read_npy(fixture("vec_i4.npy"));
  EXPECT_EQ(v.dtype, "<i4");
  EXPECT_EQ(v.shape, (std::vector<std::int64_t>{4}));
  ASSERT_EQ(v.values.rows(), 4);
  ASSERT_EQ(v.values.cols(), 1);
  EXPECT_EQ(v.values(3, 0), 2147483647.0);
  EXPECT_EQ(v.values(1, 0), -1.0);
  const auto m = read_npy(fixture("mat_i8.npy"));
  EXPECT_EQ(m.dtype, "<i8");
  EXPECT_EQ(m.values(1, 1), 9007199254740992.0);  // 2^53
  EXPECT_EQ(m.values(0, 1), -2.0);
}

TEST(ReadNpyBad, TruncatedFileNamesByteOffset) {
  const auto msg = input_error([] { read_npy(fixture("truncated.npy")); });
  EXPECT_THAT(msg, HasSubstr("truncated.npy: byte 204: truncated .npy"));
  EXPECT_THAT(msg, HasSubstr("needs 96 bytes from byte 128"));
  TempDir dir;
  const std::string good = test::read_bytes(fixture("c_f8.npy"));
  EXPECT_THAT(input_error([&] { read_npy(dir.write("t1.npy", good.substr(0, 8))); }),
              HasSubstr("t1.npy: byte 8: truncated"));
  EXPECT_THAT(input_error([&] { read_npy(dir.write("t2.npy", good.substr(0, 60))); }),
              HasSubstr("t2.npy: byte 60: truncated .npy: the header needs"));
  EXPECT_THAT(input_error([&] { read_npy(dir.write("t3.npy", "")); }), HasSubstr("t3.npy: byte 0: empty file"));
}

TEST(ReadNpyBad, UnsupportedDtypesAreNamed) {
  EXPECT_THAT(input_error([] { read_npy(fixture("bad_dtype_u1.npy")); }), HasSubstr("unsupported dtype '|u1'"));
  EXPECT_THAT(input_error([] { read_npy(fixture("bad_dtype_be.npy")); }), HasSubstr("unsupported dtype '>f8'"));
  EXPECT_THAT(input_error([] { read_npy(fixture("bad_3d.npy")); }), HasSubstr("3 dimensions"));
}

TEST(ReadNpyBad, MagicVersionAndHeaderDict) {
  TempDir dir;
  std::string good = test::read_bytes(fixture("c_f8.npy"));
  EXPECT_THAT(input_error([&] { read_npy(dir.write("m.npy", "PK\x03\x04 not npy")); }),
              HasSubstr("m.npy: byte 0: not an .npy file"));
  std::string v = good;
  v[6] = 4;
  EXPECT_THAT(input_error([&] { read_npy(dir.write("v.npy", v)); }),
              HasSubstr("v.npy: byte 6: unsupported .npy format version 4.0"));
  std::string h = good;
  const auto at = h.find("'shape'");
  h[at + 10] = 'x';  // inside the shape tuple
  const auto msg = input_error([&] { read_npy(dir.write("h.npy", h)); });
  EXPECT_THAT(msg, HasSubstr("h.npy: byte " + std::to_string(at + 10) + ": malformed shape"));
  std::string k = good;
  k.replace(k.find("'descr'"), 7, "'dtype'");
  EXPECT_THAT(input_error([&] { read_npy(dir.write("k.npy", k)); }), HasSubstr("unexpected key 'dtype'"));
}

TEST(WriteNpy, RoundTripFloatDoubleVector) {
  TempDir dir;
  write_npy(dir.path("d.npy"), a34());
  const auto d = read_npy(dir.path("d.npy"));
  EXPECT_EQ(d.dtype, "<f8");
  EXPECT_TRUE(d.fortran_order);
  EXPECT_EQ(d.values, a34());
  EXPECT_EQ(test::read_bytes(dir.path("d.npy")).find('\n'), 127u);  // header padded to 128 bytes (v1, 64-aligned)
  Matrix<float> f = Matrix<float>::Random(5, 2);
  f(0, 0) = std::nanf("");
  write_npy(dir.path("f.npy"), f);
  const auto fb = read_npy(dir.path("f.npy"));
  EXPECT_EQ(fb.dtype, "<f4");
  EXPECT_TRUE(std::isnan(fb.values(0, 0)));
  EXPECT_EQ(fb.values.bottomRows(4).cast<float>(), f.bottomRows(4));
  Vector<double> s(3);
  s << 3, 2, 1;
  write_npy(dir.path("s.npy"), s);
  const auto sb = read_npy(dir.path("s.npy"));
  EXPECT_EQ(sb.shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(sb.values.col(0), s);
  write_npy(dir.path("empty.npy"), Matrix<double>(0, 4));
  EXPECT_EQ(read_npy(dir.path("empty.npy")).shape, (std::vector<std::int64_t>{0, 4}));
  EXPECT_THAT(input_error([&] { write_npy(dir.path("no/such/dir.npy"), s); }), HasSubstr("dir.npy: cannot create"));
}

TEST(Npz, ReadStoredAndDeflated) {
  const auto b = read_npy(fixture("npz_b_ref.npy")).values;
  for (const char* f : {"stored.npz", "deflated.npz"}) {
    SCOPED_TRACE(f);
    const auto arrays = read_npz(fixture(f));
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays[0].name, "a");
    EXPECT_EQ(arrays[0].array.values, a34());
    EXPECT_EQ(arrays[1].name, "b");
    EXPECT_EQ(arrays[1].array.values, b);
  }
}

TEST(Npz, WriteRoundTrip) {
  TempDir dir;
  for (bool compress : {false, true}) {
    write_npz(dir.path("w.npz"), {{"U", a34()}, {"S", Matrix<double>::Constant(3, 1, 2.5)}}, compress);
    const auto back = read_npz(dir.path("w.npz"));
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].name, "U");
    EXPECT_EQ(back[0].array.values, a34());
    EXPECT_EQ(back[1].array.values, Matrix<double>::Constant(3, 1, 2.5));
  }
  EXPECT_THROW(write_npz(dir.path("x.npz"), {{"a", a34()}, {"a", a34()}}), InvalidArgument);
  EXPECT_THROW(write_npz(dir.path("x.npz"), {{"", a34()}}), InvalidArgument);
}

TEST(NpzBad, NotZipBadMemberAndCorruption) {
  EXPECT_THAT(input_error([] { read_npz(fixture("c_f8.npy")); }), HasSubstr("c_f8.npy: not a valid .npz"));
  EXPECT_THAT(input_error([] { read_npz(fixture("bad_member.npz")); }), HasSubstr("member 'notes.txt' is not an .npy"));
  TempDir dir;
  // Cut the stored archive inside a member: zip's central directory is gone.
  const std::string z = test::read_bytes(fixture("stored.npz"));
  EXPECT_THAT(input_error([&] { read_npz(dir.write("cut.npz", z.substr(0, 300))); }),
              HasSubstr("cut.npz: not a valid .npz"));
  // Flip a data byte inside a deflated member: CRC or inflate fails, or the npy inside is damaged.
  std::string d = test::read_bytes(fixture("deflated.npz"));
  d[60] = static_cast<char>(d[60] ^ 0x5a);
  const auto msg = input_error([&] { read_npz(dir.write("crc.npz", d)); });
  EXPECT_THAT(msg, HasSubstr("crc.npz"));
}

}  // namespace
}  // namespace lowrank::io
