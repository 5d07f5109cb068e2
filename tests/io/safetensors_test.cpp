#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "io_test_util.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

// IEEE binary16 decoded from its definition, independently of half_to_float.
double half_reference(std::uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0x1f)
    return mant ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(HalfFloat, DecodeEveryBitPattern) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const double ref = half_reference(static_cast<std::uint16_t>(h));
    const float got = half_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(got)) << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), ref) << "bits " << h;
    ASSERT_EQ(std::signbit(got), (h >> 15) != 0) << h;
    // Every half survives the trip back.
    ASSERT_EQ(float_to_half(got), h) << h;
  }
}

TEST(HalfFloat, RoundsToNearestEvenIncludingSubnormals) {
  for (std::uint16_t h = 0; h < 0x7bff; ++h) {  // up to the largest finite half
    const double lo = half_reference(h), hi = half_reference(static_cast<std::uint16_t>(h + 1));
    const auto mid = static_cast<float>((lo + hi) / 2);  // 12 significant bits: exact in float
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    ASSERT_EQ(float_to_half(mid), (h & 1) ? h + 1 : h) << "tie above bits " << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.f)), h) << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 1e9f)), h + 1) << h;
    ASSERT_EQ(float_to_half(-mid), ((h & 1) ? h + 1 : h) | 0x8000) << h;
  }
  EXPECT_EQ(float_to_half(65519.99f), 0x7bff);  // below the overflow threshold 65520
  EXPECT_EQ(float_to_half(65520.f), 0x7c00);    // ties to even -> inf
  EXPECT_EQ(float_to_half(1e30f), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
  EXPECT_EQ(float_to_half(std::ldexp(1.f, -26)), 0);  // below half the smallest subnormal
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0);
}

TEST(BFloat16, DecodeAndRound) {
  for (std::uint32_t b = 0; b < 0x7f80; ++b) {  // positive finite bfloat16
    const float v = bfloat16_to_float(static_cast<std::uint16_t>(b));
    ASSERT_EQ(std::bit_cast<std::uint32_t>(v), b << 16);
    ASSERT_EQ(float_to_bfloat16(v), b);
    if (b + 1 == 0x7f80) continue;  // the next value is inf: no finite midpoint
    const float next = bfloat16_to_float(static_cast<std::uint16_t>(b + 1));
    const float mid = std::bit_cast<float>((b << 16) | 0x8000u);  // exact midpoint
    ASSERT_EQ(static_cast<double>(mid), (static_cast<double>(v) + next) / 2);
    ASSERT_EQ(float_to_bfloat16(mid), (b & 1) ? b + 1 : b) << b;
    ASSERT_EQ(float_to_bfloat16(std::nextafter(mid, 0.f)), b) << b;
  }
  EXPECT_EQ(float_to_bfloat16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf
  const auto nan = float_to_bfloat16(std::bit_cast<float>(0x7f800001u));    // payload only in the low bits
  EXPECT_TRUE(std::isnan(bfloat16_to_float(nan)));
}

TEST(ReadSafetensors, GoodFileAllDtypes) {
  const SafetensorsFile f(fixture("good.safetensors"));
  ASSERT_EQ(f.tensors().size(), 5u);
  std::vector<std::string> names;
  for (const auto& t : f.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"m23", "f32", "f16", "bf16", "scalar"}));  // data-offset order
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "lowrank fixture");
  const auto& m = f.info("m23");
  EXPECT_EQ(m.dtype, TensorDType::F64);
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{2, 3}));
  Matrix<double> m23(2, 3);
  m23 << 1.5, -2.0, 3.25, 4.0, 0.0, -6.5;
  EXPECT_EQ(f.tensor_matrix<double>("m23"), m23);  // row-major on disk -> (i, j) preserved
  EXPECT_EQ(f.tensor_matrix<float>("m23"), m23.cast<float>());
  EXPECT_EQ(f.tensor_values<double>("m23"), (std::vector<double>{1.5, -2.0, 3.25, 4.0, 0.0, -6.5}));
  // References: numpy's own float16 -> float32 conversion, and float32 values.
  EXPECT_EQ(f.tensor_matrix<float>("f16"), read_npy(fixture("good_f16_ref.npy")).values.cast<float>());
  EXPECT_EQ(f.tensor_matrix<float>("f32"), read_npy(fixture("good_f32_ref.npy")).values.cast<float>());
  const auto bf = f.tensor_matrix<double>("bf16");
  const auto bf_ref = read_npy(fixture("good_bf16_ref.npy")).values;
  EXPECT_EQ(bf, bf_ref);
  EXPECT_EQ(bf(2, 0), std::ldexp(1.0, -130));  // a float32 subnormal
  EXPECT_TRUE(std::isinf(bf(4, 0)));
  const auto s = f.tensor_matrix<double>("scalar");
  ASSERT_EQ(s.size(), 1);
  EXPECT_EQ(s(0, 0), 42.0);
  EXPECT_EQ(f.find("nope"), nullptr);
  try {
    (void)f.tensor_matrix<double>("nope");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no tensor named 'nope' (tensors: m23, f32, f16, bf16, scalar)"));
  }
}

TEST(ReadSafetensorsBad, HeaderLengthOffsetsShapeDtypeJsonTruncation) {
  struct Case {
    const char* file;
    const char* expect;
  };
  for (const Case c :
       {Case{"bad_header_len.safetensors", "bad_header_len.safetensors: byte 0: header length 1000000 exceeds"},
        Case{"bad_offsets.safetensors", "tensor 'x': data_offsets [0, 64] are not inside the data region of 32 bytes"},
        Case{"bad_overlap.safetensors", "tensors 'x' [0, 16) and 'y' [8, 24) overlap"},
        Case{"bad_shape.safetensors", "tensor 'x': shape [3] of F64 needs 24 bytes but data_offsets span 32"},
        Case{"bad_dtype.safetensors", "unsupported dtype 'I32'"},
        Case{"bad_json.safetensors", "bad_json.safetensors: byte "},
        Case{"bad_short.safetensors", "bad_short.safetensors: byte 3: truncated"}}) {
    const auto msg = input_error([&] { SafetensorsFile f(fixture(c.file)); });
    EXPECT_THAT(msg, HasSubstr(c.expect)) << c.file;
  }
  // The offsets error points at the byte where the tensor claims to start.
  const std::string good = test::read_bytes(fixture("bad_offsets.safetensors"));
  std::uint64_t len = 0;
  std::memcpy(&len, good.data(), 8);
  EXPECT_THAT(input_error([] { SafetensorsFile f(fixture("bad_offsets.safetensors")); }),
              HasSubstr("byte " + std::to_string(8 + len) + ":"));
  EXPECT_THAT(input_error([] { SafetensorsFile f(fixture("bad_json.safetensors")); }),
              HasSubstr("malformed JSON header"));
  TempDir dir;
  EXPECT_THAT(input_error([&] { SafetensorsFile f(dir.write("empty.safetensors", "")); }),
              HasSubstr("byte 0: truncated"));
  EXPECT_THAT(input_error([&] { SafetensorsFile f(dir.path("absent.safetensors")); }), HasSubstr("cannot open"));
  std::string arr("\x02\0\0\0\0\0\0\0[]", 10);
  EXPECT_THAT(input_error([&] { SafetensorsFile f(dir.write("arr.safetensors", arr)); }),
              HasSubstr("not a JSON object"));
}

TEST(WriteSafetensors, RoundTripEveryDtypeAtomically) {
  TempDir dir;
  Matrix<double> a(3, 2);
  a << 1.0 / 3, -2.5, 1e-6, 7e3, -0.0, 123.456;  // all within half range
  Matrix<double> v(4, 1);
  v << 1, 2, 3, 4;
  std::vector<SafetensorsEntry> ts = {{"a64", TensorDType::F64, a, false},
                                      {"a32", TensorDType::F32, a, false},
                                      {"a16", TensorDType::F16, a, false},
                                      {"abf", TensorDType::BF16, a, false},
                                      {"vec", TensorDType::F32, v, true}};
  const std::string path = dir.path("ck.safetensors");
  write_safetensors(path, ts, {{"lambda", "0.5"}});
  const SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("lambda"), "0.5");
  EXPECT_EQ(f.tensor_matrix<double>("a64"), a);
  EXPECT_EQ(f.tensor_matrix<float>("a32"), a.cast<float>());
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 2; ++j) {
      const auto x = static_cast<float>(a(i, j));
      EXPECT_EQ(f.tensor_matrix<float>("a16")(i, j), half_to_float(float_to_half(x)));
      EXPECT_EQ(f.tensor_matrix<float>("abf")(i, j), bfloat16_to_float(float_to_bfloat16(x)));
      EXPECT_NEAR(f.tensor_matrix<double>("a16")(i, j), a(i, j), std::abs(a(i, j)) * 1e-3 + 6e-8);
    }
  EXPECT_EQ(f.info("vec").shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(f.info("a16").shape, (std::vector<std::int64_t>{3, 2}));
  const std::string bytes = test::read_bytes(path);
  std::uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  EXPECT_EQ(len % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + len + 6 * (8 + 4 + 2 + 2) + 4 * 4);
  // Only the final file is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path(""))) ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_THROW(write_safetensors(path, {{"x", TensorDType::F64, a, true}}), InvalidArgument);
  EXPECT_THROW(write_safetensors(path, {{"x", TensorDType::F64, a}, {"x", TensorDType::F64, a}}), InvalidArgument);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", TensorDType::F64, a}}), InvalidArgument);
  EXPECT_EQ(SafetensorsFile(path).tensors().size(), 5u);  // the failed writes left it intact
}

}  // namespace
}  // namespace lowrank::io
