#include <cmath>

#include "io_test_util.hpp"
#include "lowrank/io.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::TempDir;
using ::testing::HasSubstr;

TEST(DetectFormat, ByMagicExtensionAndContent) {
  EXPECT_EQ(detect_format(fixture("c_f8.npy")), FileFormat::Npy);
  EXPECT_EQ(detect_format(fixture("stored.npz")), FileFormat::Npz);
  EXPECT_EQ(detect_format(fixture("good.safetensors")), FileFormat::Safetensors);
  EXPECT_EQ(detect_format(fixture("mm_general.mtx")), FileFormat::MatrixMarket);
  EXPECT_EQ(detect_format(fixture("dense_missing.csv")), FileFormat::DenseCsv);
  EXPECT_EQ(detect_format(fixture("ratings_tab.data")), FileFormat::Triplets);
  EXPECT_EQ(detect_format(fixture("ratings.dat")), FileFormat::Triplets);
  TempDir dir;
  // No telling extension: decided by content.
  const std::string npy = test::read_bytes(fixture("c_f8.npy"));
  EXPECT_EQ(detect_format(dir.write("array.bin", npy)), FileFormat::Npy);
  EXPECT_EQ(detect_format(dir.write("st.bin", test::read_bytes(fixture("good.safetensors")))), FileFormat::Safetensors);
  EXPECT_EQ(detect_format(dir.write("m", "%%MatrixMarket matrix array real general\n1 1\n2\n")),
            FileFormat::MatrixMarket);
  EXPECT_EQ(detect_format(dir.write("r", "# ratings\n1 2 3\n")), FileFormat::Triplets);
  EXPECT_EQ(detect_format(dir.write("d", "\"\",a,b\nx,1,2\n")), FileFormat::DenseCsv);
  EXPECT_THAT(input_error([&] { detect_format(dir.write("z", "")); }), HasSubstr("z: empty file"));
  EXPECT_THAT(input_error([&] { detect_format(dir.path("none")); }), HasSubstr("none: cannot open"));
  EXPECT_EQ(parse_file_format("matrix-market"), FileFormat::MatrixMarket);
  EXPECT_THROW(parse_file_format("xls"), InvalidArgument);
}

TEST(ReadMatrixAny, DescribeDenseWithMissing) {
  const auto a = read_matrix_any(fixture("dense_missing.csv"));
  EXPECT_FALSE(a.is_sparse());
  const auto info = describe(a);
  EXPECT_EQ(info.format, FileFormat::DenseCsv);
  EXPECT_EQ(info.dtype, "float64 (text)");
  EXPECT_EQ(info.rows, 3);
  EXPECT_EQ(info.cols, 3);
  EXPECT_EQ(info.nnz, 5u);
  EXPECT_EQ(info.missing, 4u);
  EXPECT_DOUBLE_EQ(info.density, 5.0 / 9.0);
  EXPECT_EQ(info.min, -2.0);
  EXPECT_EQ(info.max, 1000.0);
  const auto j = to_json(info);
  EXPECT_EQ(j["format"], "csv");
  EXPECT_EQ(j["missing"], 4);
  EXPECT_EQ(j["max"], 1000.0);
}

TEST(ReadMatrixAny, DescribeSparseAndBinary) {
  const auto t = describe(read_matrix_any(fixture("ratings_tab.data")));
  EXPECT_TRUE(t.sparse);
  EXPECT_EQ(t.rows, 4);
  EXPECT_EQ(t.cols, 4);
  EXPECT_EQ(t.nnz, 5u);
  EXPECT_EQ(t.missing, 11u);
  EXPECT_EQ(t.min, 1.0);
  EXPECT_EQ(t.max, 4.5);
  const auto mm = describe(read_matrix_any(fixture("mm_integer.mtx")));
  EXPECT_EQ(mm.dtype, "integer");
  EXPECT_EQ(mm.min, -3.0);
  const auto arr = describe(read_matrix_any(fixture("mm_array.mtx")));
  EXPECT_FALSE(arr.sparse);
  EXPECT_EQ(arr.nnz, 12u);
  const auto npy = describe(read_matrix_any(fixture("fortran_f4.npy")));
  EXPECT_EQ(npy.dtype, "float32");
  EXPECT_EQ(npy.missing, 0u);
  EXPECT_EQ(npy.min, -1.25);
  EXPECT_EQ(npy.max, 4.25);

  ReadAnyOptions o;
  o.array_name = "b";
  const auto npz = read_matrix_any(fixture("deflated.npz"), o);
  EXPECT_EQ(npz.arrays, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(npz.array_name, "b");
  EXPECT_EQ(npz.dense().values.rows(), 5);
  o.array_name = "zz";
  EXPECT_THROW(read_matrix_any(fixture("deflated.npz"), o), InvalidArgument);

  const auto st = read_matrix_any(fixture("good.safetensors"));
  EXPECT_EQ(st.array_name, "m23");  // the first by data offset
  EXPECT_EQ(st.arrays.size(), 5u);
  const auto sti = describe(st);
  EXPECT_EQ(sti.dtype, "float64");
  EXPECT_EQ(sti.rows, 2);
  EXPECT_EQ(sti.cols, 3);
  o.array_name = "f16";
  const auto f16 = describe(read_matrix_any(fixture("good.safetensors"), o));
  EXPECT_EQ(f16.dtype, "float16");
  EXPECT_EQ(f16.nonfinite, 2u);  // +-inf
  EXPECT_EQ(f16.nnz, 10u);
  EXPECT_EQ(f16.max, 65504.0);
  EXPECT_EQ(f16.min, -2.5);
}

TEST(ReadMatrixAny, ForcedFormatAndErrorsPropagate) {
  TempDir dir;
  // A comma triplet file (MovieLens ratings.csv) is read as dense CSV by
  // extension; forcing the format reads it as triplets.
  ReadAnyOptions o;
  o.format = FileFormat::Triplets;
  EXPECT_TRUE(read_matrix_any(fixture("ratings_header.csv"), o).is_sparse());
  EXPECT_THAT(input_error([&] { read_matrix_any(fixture("truncated.npy")); }), HasSubstr("truncated.npy: byte 204"));
  const Matrix<double> cube = Matrix<double>::Constant(1, 1, 2.0);
  write_safetensors(dir.path("ok.safetensors"), {{"m", TensorDType::F32, cube}});
  EXPECT_EQ(read_matrix_any(dir.path("ok.safetensors")).dtype, "float32");
}

// Detection (docs/errors.md, "How input files are read"): the layouts
// numpy, pandas and R write keep their shape; guesses come back as notes.
TEST(ReadMatrixAny, HeaderlessNumericCsvKeepsItsShape) {
  TempDir dir;
  std::string s;  // np.savetxt(delimiter=","): 5 x 4, no header, no row names
  for (int i = 0; i < 5; ++i) s += std::to_string(i) + ".5e+00,-2.0e-01," + std::to_string(i) + ".25,7\n";
  const auto a = read_matrix_any(dir.write("x.csv", s));
  ASSERT_FALSE(a.is_sparse());
  EXPECT_EQ(a.dense().values.rows(), 5);
  EXPECT_EQ(a.dense().values.cols(), 4);
  EXPECT_EQ(a.dense().values(3, 2), 3.25);
  EXPECT_FALSE(a.header);
  EXPECT_FALSE(a.row_names);
  EXPECT_TRUE(a.notes.empty());
  EXPECT_EQ(a.dtype, "float64 (text)");
  // Blank-separated (np.savetxt's default) and forced layouts.
  std::string b;
  for (int i = 0; i < 5; ++i) b += "1 2 3 " + std::to_string(i + 5) + " 9\n";
  const auto blank = read_matrix_any(dir.write("x.txt", b));
  EXPECT_EQ(blank.format, FileFormat::DenseCsv);
  EXPECT_EQ(blank.dense().values.cols(), 5);
  EXPECT_EQ(blank.dtype, "float64 (text, integer values)");
  ReadAnyOptions forced;
  forced.header = true;
  forced.row_names = true;
  const auto old = read_matrix_any(dir.path("x.csv"), forced);
  EXPECT_EQ(old.dense().values.rows(), 4);
  EXPECT_EQ(old.dense().values.cols(), 3);
}

TEST(ReadMatrixAny, LayoutRules) {
  TempDir dir;
  CsvReadOptions plain;
  // R's write.csv / dune.csv: quoted empty corner, numeric row names -> names, no note.
  auto l = detect_csv_layout(test::repo_file("data/ecology/dune.csv"), plain);
  EXPECT_TRUE(l.header);
  EXPECT_TRUE(l.row_names);
  EXPECT_TRUE(l.notes.empty());
  // Header one field short (R's write.table): names.
  l = detect_csv_layout(dir.write("short.csv", "a,b\nr1,1,2\nr2,3,4\n"), plain);
  EXPECT_TRUE(l.header);
  EXPECT_TRUE(l.row_names);
  // A named header over numbers only: no row names.
  l = detect_csv_layout(dir.write("named.csv", "a,b,c\n0.5,1,2\n3.5,4,5\n"), plain);
  EXPECT_TRUE(l.header);
  EXPECT_FALSE(l.row_names);
  // Word row names without a header.
  l = detect_csv_layout(dir.write("words.csv", "x,1,2\ny,3,4\n"), plain);
  EXPECT_FALSE(l.header);
  EXPECT_TRUE(l.row_names);
  EXPECT_TRUE(l.notes.empty());
  // Guesses: an all-number header after an empty corner; a counting first column.
  l = detect_csv_layout(dir.write("pd.csv", ",0,1\n0,0.5,2\n1,1.5,3\n"), plain);
  EXPECT_TRUE(l.header);
  EXPECT_TRUE(l.row_names);
  ASSERT_EQ(l.notes.size(), 1u);
  EXPECT_THAT(l.notes[0], HasSubstr("pd.csv: the first line holds only numbers"));
  l = detect_csv_layout(dir.write("idx.csv", "1,0.5,2\n2,1.5,3\n3,2.5,1\n"), plain);
  EXPECT_FALSE(l.header);
  EXPECT_TRUE(l.row_names);
  ASSERT_EQ(l.notes.size(), 1u);
  EXPECT_THAT(l.notes[0], HasSubstr("counts 1, 2, 3"));
  // Tab-separated with an empty corner (pandas' to_csv(sep="\t")).
  l = detect_csv_layout(dir.write("t.tsv", "\tA\tB\nr1\t1\t2\n"), plain);
  EXPECT_EQ(l.separator, '\t');
  EXPECT_TRUE(l.header);
  EXPECT_TRUE(l.row_names);
}

TEST(DetectFormat, TripletsAgainstDenseTables) {
  TempDir dir;
  // A ratings CSV with a header naming its fields is triplets despite .csv.
  const auto r = detect_format_explained(fixture("ratings_header.csv"));
  EXPECT_EQ(r.format, FileFormat::Triplets);
  EXPECT_THAT(r.note, HasSubstr("--format dense"));
  EXPECT_TRUE(read_matrix_any(fixture("ratings_header.csv")).is_sparse());
  // Repeating first-column ids, no header: triplets, quietly for .tsv.
  const auto t = detect_format_explained(dir.write("r.tsv", "7\t1\t4\n7\t2\t5\n8\t1\t3\n"));
  EXPECT_EQ(t.format, FileFormat::Triplets);
  EXPECT_EQ(t.note, "");
  // A dense TSV (more than 4 fields) is a table whatever the extension.
  EXPECT_EQ(detect_format(dir.write("d.tsv", "\ta\tb\tc\td\nx\t1\t2\t3\t4\n")), FileFormat::DenseCsv);
  // Decimals in the id fields: values, so a table.
  EXPECT_EQ(detect_format(dir.write("v.tsv", "0.5\t1.5\t2\n0.5\t2.5\t3\n")), FileFormat::DenseCsv);
  // Triplet-shaped with nothing to confirm it: the extension decides, with a note.
  const auto c = detect_format_explained(dir.write("u.csv", "1,2,3\n4,5,6\n"));
  EXPECT_EQ(c.format, FileFormat::DenseCsv);
  EXPECT_THAT(c.note, HasSubstr("--format triplets"));
  EXPECT_EQ(parse_file_format("dense"), FileFormat::DenseCsv);
  EXPECT_EQ(parse_file_format("mtx"), FileFormat::MatrixMarket);
}

// The float form takes read_matrix_any's format decision and options: a
// triplet file gives read_triplets_float32's entries (and detection's note),
// --header applies, any other format is left to read_matrix_any.
TEST(ReadTripletsAnyFloat32, SameDecisionAndOptionsAsReadMatrixAny) {
  const std::string ratings = fixture("ratings_header.csv");
  const auto f = read_triplets_any_float32(ratings);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->header);
  EXPECT_EQ(f->notes, read_matrix_any(ratings).notes);
  ASSERT_EQ(f->notes.size(), 1u);
  const auto direct = read_triplets_float32(ratings);
  EXPECT_EQ(f->entries.value, direct.value);
  EXPECT_EQ(f->entries.row, direct.row);
  EXPECT_EQ(f->entries.col, direct.col);
  EXPECT_EQ(f->entries.rows, direct.rows);
  ReadAnyOptions given;
  given.format = FileFormat::Triplets;  // no guess, no note
  EXPECT_TRUE(read_triplets_any_float32(ratings, given)->notes.empty());
  TempDir dir;
  const std::string plain = dir.write("r.tsv", "7\t1\t4\n7\t2\t5\n8\t1\t3\n");
  ReadAnyOptions header;
  header.header = true;  // --header: the first line is skipped
  EXPECT_EQ(read_triplets_any_float32(plain, header)->entries.nnz(), 2u);
  EXPECT_EQ(read_triplets_any_float32(plain)->entries.nnz(), 3u);
  EXPECT_FALSE(read_triplets_any_float32(fixture("dense_missing.csv")).has_value());
  EXPECT_FALSE(read_triplets_any_float32(fixture("c_f8.npy")).has_value());
  // The triplet reader's errors, file:line.
  EXPECT_THAT(input_error([&] { read_triplets_any_float32(dir.write("bad.tsv", "1\t2\t3\n1\t2\tx\n"), given); }),
              HasSubstr("bad.tsv:2"));
}

TEST(ReadMatrixAny, RepeatedRowNameNamesFileAndLines) {
  TempDir dir;
  const auto msg = input_error([&] { read_matrix_any(dir.write("rep.csv", ",a,b\n291,1,2\nx,3,4\n\n291,5,6\n")); });
  EXPECT_THAT(msg, HasSubstr("rep.csv:5: repeated row name '291' (first on line 2)"));
}

TEST(Json, WriteReadRoundTripAndErrors) {
  TempDir dir;
  nlohmann::json j = {{"rank", 5}, {"residual", 0.125}, {"bad", std::nan("")}, {"list", {1.5, INFINITY}}};
  write_json(dir.path("s.json"), j);
  const auto back = read_json(dir.path("s.json"));
  EXPECT_EQ(back["rank"], 5);
  EXPECT_EQ(back["residual"], 0.125);
  EXPECT_TRUE(back["bad"].is_null());
  EXPECT_TRUE(back["list"][1].is_null());
  EXPECT_EQ(test::read_bytes(dir.path("s.json")).back(), '\n');
  const auto msg = input_error([&] { read_json(dir.write("b.json", "{\"a\": [1, 2,, 3]}")); });
  EXPECT_THAT(msg, HasSubstr("b.json: byte 12: malformed JSON"));
  EXPECT_THAT(input_error([&] { write_json(dir.path("missing/dir/x.json"), j); }), HasSubstr("x.json: cannot create"));
}

}  // namespace
}  // namespace lowrank::io
