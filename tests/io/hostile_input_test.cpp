// Inputs an attacker would write (issue 31): each was mishandled before --
// silently misread, allocated out of proportion to the file, or refused
// without a file and line -- and must now be refused with exit-2 errors.
// The last test replays the fuzzers' saved findings (tests/fuzz/regressions).
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "io_test_util.hpp"
#include "lowrank/io/any.hpp"
#include "lowrank/io/csv.hpp"
#include "lowrank/io/file.hpp"
#include "lowrank/io/json.hpp"
#include "lowrank/io/matrix_market.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"
#include "lowrank/io/triplets.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressLimitWorks = false;  // ASan reserves terabytes of shadow memory
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressLimitWorks = false;
#else
constexpr bool kAddressLimitWorks = true;
#endif
#else
constexpr bool kAddressLimitWorks = true;
#endif

// Runs f in a child whose address space may grow by at most `mib` MiB, and
// returns the child's exit status: 0 when f returned or threw InputError, 3
// for any other exception (std::bad_alloc once the limit is hit), 4 when an
// expectation inside f failed, 128 + the signal that killed it. Without the limit (sanitizer builds) f still runs.
template <class F>
int run_with_memory_limit(std::size_t mib, F&& f) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (kAddressLimitWorks) {
      rlimit lim{};
      ::getrlimit(RLIMIT_AS, &lim);
      std::size_t now = 0;
      if (FILE* s = std::fopen("/proc/self/statm", "r")) {
        unsigned long pages = 0;
        if (std::fscanf(s, "%lu", &pages) == 1) now = pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        std::fclose(s);
      }
      lim.rlim_cur = now + (mib << 20);
      ::setrlimit(RLIMIT_AS, &lim);
    }
    try {
      f();
    } catch (const InputError&) {
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(::testing::Test::HasFailure() ? 4 : 0);  // an EXPECT failing in the child
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Issue 31 item 10: a repeat of the name added last (0, 0, 1, 1, ...) made
// get_or_add return size() - 1 and passed the uniqueness check, so rows
// merged silently (or `complete --out` failed after the fit).
TEST(HostileCsv, AdjacentRepeatedRowNamesAreRefusedWithFileAndLine) {
  TempDir dir;
  const auto p = dir.write("adj.csv", "id,a,b\n0,1,2\n0,3,4\n1,5,6\n1,7,8\n");
  const DenseTable t = read_dense_csv(p);
  const auto msg = input_error([&] { (void)to_observed(t); });
  EXPECT_THAT(msg, HasSubstr("adj.csv:3: row name '0' repeats the one on line 2"));
  // Not adjacent, and column names (named at the header line).
  const auto q = dir.write("far.csv", "id,a,a\nr1,1,2\nr2,3,4\n");
  EXPECT_THAT(input_error([&] { (void)to_observed(read_dense_csv(q)); }),
              HasSubstr("far.csv:1: column name 'a' (column 2) repeats column 1"));
  const auto r = dir.write("r1.csv", "id,a\nr1,1\n\nr2,3\nr1,4\n");
  // Item 17: the message names the file and both lines.
  EXPECT_THAT(input_error([&] { (void)to_observed(read_dense_csv(r)); }),
              HasSubstr("r1.csv:5: row name 'r1' repeats the one on line 2"));
  // Without row names the same file reads as numbers.
  CsvReadOptions bare;
  bare.row_names = false;
  EXPECT_EQ(to_observed(read_dense_csv(p, bare)).nnz(), 12u);
  EXPECT_THROW(id_map_from_names({"a", "a"}), InvalidArgument);
  EXPECT_THROW(id_map_from_names({"a", "b", "b"}), InvalidArgument);
}

// Item 11: an out-of-range value on the first line was taken for a header.
TEST(HostileTriplets, OutOfRangeValueOnTheFirstLineIsDataNotAHeader) {
  TempDir dir;
  for (const std::string first : {"1 1 1e400", "1 1 -1e400", "1 1 1e-400"}) {
    const auto p = dir.write("big.txt", first + "\n2 2 3\n");
    EXPECT_THAT(input_error([&] { (void)read_triplets(p); }), HasSubstr("big.txt:1: value")) << first;
    const auto q = dir.write("big2.txt", "2 2 3\n" + first + "\n");
    EXPECT_THAT(input_error([&] { (void)read_triplets(q); }), HasSubstr("big2.txt:2: value")) << first;
  }
  // A real header is still recognised.
  const auto h = dir.write("h.txt", "user item rating\n1 1 2\n");
  TripletReadStats st;
  EXPECT_EQ(read_triplets(h, {}, &st).nnz(), 1u);
  EXPECT_TRUE(st.header);
}

// Safetensors bytes with the given header JSON and `data` bytes of data.
std::string safetensors_bytes(const std::string& header, std::size_t data) {
  std::string out(8, '\0');
  const std::uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  return out + header + std::string(data, '\0');
}

// Item 13: comparing neighbours only, an empty tensor between two
// overlapping ones hid the overlap.
TEST(HostileSafetensors, EmptyTensorCannotHideAnOverlap) {
  TempDir dir;
  const std::string h = R"({"a":{"dtype":"F64","shape":[4],"data_offsets":[0,32]},)"
                        R"("e":{"dtype":"F64","shape":[0],"data_offsets":[8,8]},)"
                        R"("b":{"dtype":"F64","shape":[2],"data_offsets":[16,32]}})";
  const auto p = dir.write("hide.safetensors", safetensors_bytes(h, 32));
  EXPECT_THAT(input_error([&] { SafetensorsFile f(p); }), HasSubstr("tensors 'a' [0, 32) and 'b' [16, 32) overlap"));
  // Empty tensors anywhere, and a long tensor containing two later ones.
  const std::string ok = R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                         R"("e":{"dtype":"F64","shape":[0],"data_offsets":[8,8]},)"
                         R"("b":{"dtype":"F64","shape":[2],"data_offsets":[16,32]}})";
  EXPECT_EQ(SafetensorsFile(dir.write("ok.safetensors", safetensors_bytes(ok, 32))).tensors().size(), 3u);
  const std::string nested = R"({"a":{"dtype":"F64","shape":[4],"data_offsets":[0,32]},)"
                             R"("b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
                             R"("c":{"dtype":"F64","shape":[1],"data_offsets":[24,32]}})";
  EXPECT_THAT(input_error([&] { SafetensorsFile f(dir.write("n.safetensors", safetensors_bytes(nested, 32))); }),
              HasSubstr("overlap"));
}

// Item 15: the array was allocated (rows x cols doubles) before its values
// were read: "out of memory", exit 1.
TEST(HostileMatrixMarket, HugeArrayShapeIsRefusedBeforeAllocating) {
  TempDir dir;
  const auto p = dir.write("huge.mtx", "%%MatrixMarket matrix array real general\n2000000000 2000000000\n1\n");
  EXPECT_THAT(input_error([&] { (void)read_matrix_market(p); }),
              HasSubstr("huge.mtx:2: size line: a 2000000000 x 2000000000 array holds 4000000000000000000 values"));
  const auto s = dir.write("sym.mtx", "%%MatrixMarket matrix array real symmetric\n100000 100000\n1\n2\n");
  EXPECT_THAT(input_error([&] { (void)read_matrix_market(s); }), HasSubstr("sym.mtx:2: size line"));
}

// Item 16: a coordinate file declaring 2^28 x 2^28 for 2 entries made
// `decompose` allocate 4.2 GB of row and column pointers; a tiny file
// announcing 2^26 entries reserved 1.6 GB.
TEST(HostileMatrixMarket, ShapeAndEntryCountMustBeBackedByTheFile) {
  TempDir dir;
  const auto p =
      dir.write("wide.mtx", "%%MatrixMarket matrix coordinate real general\n268435456 268435456 2\n1 1 1\n2 2 2\n");
  EXPECT_THAT(input_error([&] { (void)read_matrix_market(p); }),
              HasSubstr("wide.mtx:2: size line: 268435456 x 268435456 for only 2 entries"));
  // A sparse shape within the slack still reads.
  const auto ok = dir.write("ok.mtx", "%%MatrixMarket matrix coordinate real general\n500000 500000 1\n7 9 1.5\n");
  EXPECT_EQ(read_matrix_market(ok).entries().rows, 500000);
  const auto many =
      dir.write("many.mtx", "%%MatrixMarket matrix coordinate real general\n100000 100000 67108864\n1 1 1\n");
  EXPECT_EQ(run_with_memory_limit(256,
                                  [&] {
                                    EXPECT_THAT(input_error([&] { (void)read_matrix_market(many); }),
                                                HasSubstr("file ends after 1 entries"));
                                  }),
            0);
}

// Item 16: the zip directory's claimed size was allocated up front (4.2 GB
// for a 195-byte archive).
TEST(HostileNpz, ClaimedMemberSizeIsNotAllocated) {
  const int status = run_with_memory_limit(256, [] {
    try {
      (void)read_npz(fixture("bad_size_claim.npz"));
    } catch (const InputError& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr("bad_size_claim.npz"));
    }
  });
  EXPECT_EQ(status, 0);
}

// Item 16: /dev/zero (or a FIFO, a directory) as a file never ends or blocks.
TEST(HostileFiles, DevicesPipesAndDirectoriesAreRefused) {
  TempDir dir;
  const std::string fifo = dir.path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& p : {std::string("/dev/zero"), fifo}) {
    EXPECT_THAT(input_error([&] { (void)read_file(p); }), HasSubstr(p + ": not a regular file"));
    EXPECT_THAT(input_error([&] { (void)read_matrix_any(p); }), HasSubstr("not a regular file"));
    EXPECT_THAT(input_error([&] { (void)read_npz(p); }), HasSubstr("not a regular file"));
    EXPECT_THAT(input_error([&] { (void)read_triplets(p); }), HasSubstr("not a regular file"));
    EXPECT_THAT(input_error([&] { (void)read_npy(p); }), HasSubstr("not a regular file"));
  }
  EXPECT_THAT(input_error([&] { (void)read_file(dir.path("")); }), HasSubstr("is a directory"));
  EXPECT_THAT(input_error([&] { (void)read_matrix_any(dir.path("")); }), HasSubstr("is a directory"));
}

// Found by fuzz_npy: an empty array of shape (0, 3 * 10^13) hung in the
// row-major copy (an empty inner loop run 3 * 10^13 times).
TEST(HostileNpy, EmptyArrayWithAHugeDimension) {
  TempDir dir;
  auto npy = [](const std::string& dict) {
    std::string header = dict;
    header.append(117 - header.size(), ' ');
    header += '\n';
    return std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header;
  };
  const auto p = dir.write("wide.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 32222222222222), }"));
  EXPECT_THAT(input_error([&] { (void)read_npy(p); }), HasSubstr("shape dimension 32222222222222 exceeds 2^31-1"));
  const auto q = dir.write("empty.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2147483647), }"));
  const auto a = read_npy(q);
  EXPECT_EQ(a.values.rows(), 0);
  EXPECT_EQ(a.values.cols(), 2147483647);
  // The same shape as a safetensors tensor.
  const auto st =
      dir.write("wide.safetensors",
                safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,2147483647],"data_offsets":[0,0]}})", 0));
  EXPECT_EQ(SafetensorsFile(st).tensor_matrix<double>("w").cols(), 2147483647);
  const auto st2 =
      dir.write("wider.safetensors",
                safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,32222222222222],"data_offsets":[0,0]}})", 0));
  EXPECT_THAT(input_error([&] { (void)SafetensorsFile(st2).tensor_matrix<double>("w"); }), HasSubstr("exceeds 2^31-1"));
}

// Found by fuzz_safetensors: a number beyond double in a JSON header threw
// nlohmann's out_of_range, which no reader caught (exit 1, or terminate).
TEST(HostileJson, NumberOverflowIsAnInputError) {
  TempDir dir;
  const auto p = dir.write("num.safetensors", safetensors_bytes(R"({"__metadata__":{},"x":1e999})", 0));
  EXPECT_THAT(input_error([&] { SafetensorsFile f(p); }), HasSubstr("num.safetensors: byte 8: malformed JSON header"));
  EXPECT_THAT(input_error([&] { (void)read_json(dir.write("n.json", "[1e999]")); }),
              HasSubstr("n.json: malformed JSON"));
  EXPECT_THAT(input_error(
                  [&] { (void)read_safetensors_index(dir.write("i.json", R"({"weight_map":{},"n":-1e999})")); }),
              HasSubstr("i.json: malformed JSON"));
}

// The sharded index names files beside it, never a path elsewhere.
TEST(HostileSafetensorsIndex, ShardsMustBePlainFileNames) {
  TempDir dir;
  const auto good =
      dir.write("i.json", R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s1.safetensors"}})");
  const auto by_shard = read_safetensors_index(good);
  ASSERT_EQ(by_shard.size(), 2u);
  EXPECT_EQ(by_shard.at("s1.safetensors"), (std::vector<std::string>{"a", "c"}));
  for (const std::string shard : {"/etc/passwd", "../x.safetensors", "..", "", "a\\\\b"}) {
    const auto p = dir.write("i.json", R"({"weight_map":{"w":")" + shard + R"("}})");
    EXPECT_THAT(input_error([&] { (void)read_safetensors_index(p); }),
                HasSubstr("is not a file name in the index's directory"))
        << shard;
  }
  EXPECT_THAT(input_error([&] { (void)read_safetensors_index(dir.write("j.json", R"({"weight_map":[1]})")); }),
              HasSubstr("expected an object with a \"weight_map\" object"));
  EXPECT_THAT(input_error([&] { (void)read_safetensors_index(dir.write("k.json", "{\"weight_map\": {")); }),
              HasSubstr("k.json: byte "));
}

// Every input a fuzzer once broke a reader with (tests/fuzz/regressions/<fuzzer>/)
// is now read or refused with InputError / InvalidArgument, nothing else.
TEST(FuzzRegressions, SavedFindingsAreReadOrRefused) {
  namespace fs = std::filesystem;
  const fs::path root = test::repo_file("tests/fuzz/regressions");
  std::size_t replayed = 0;
  for (const auto& sub : fs::directory_iterator(root)) {
    if (!sub.is_directory()) continue;
    const std::string reader = sub.path().filename().string();
    for (const auto& f : fs::directory_iterator(sub.path())) {
      const std::string p = f.path().string();
      SCOPED_TRACE(p);
      const int status = run_with_memory_limit(512, [&] {
        try {
          if (reader == "csv") (void)to_observed(read_dense_csv(p));
          else if (reader == "triplets") (void)read_triplets(p);
          else if (reader == "matrix_market") (void)read_matrix_market(p);
          else if (reader == "npy") (void)read_npy(p);
          else if (reader == "npz") (void)read_npz(p);
          else if (reader == "safetensors") {
            const SafetensorsFile s(p);
            for (const auto& t : s.tensors())
              if (t.shape.size() <= 2) (void)s.tensor_matrix<double>(t.name);
          } else if (reader == "safetensors_index") (void)read_safetensors_index(p);
          else if (reader == "any") (void)describe(read_matrix_any(p));
        } catch (const InvalidArgument&) {
        }
      });
      EXPECT_EQ(status, 0);
      ++replayed;
    }
  }
  RecordProperty("replayed", static_cast<int>(replayed));
}

}  // namespace
}  // namespace lowrank::io
