// The model folder (io/completion_model): LowRankModel lives in core, so io
// saves and loads it without completion; the sparse part is an optional file.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/io/completion_model.hpp"
#include "lowrank/io/npy.hpp"

using namespace lowrank;
namespace fs = std::filesystem;

namespace {

fs::path fresh(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("lowrank_io_model_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

// A 4 x 3 rank-1 model with row offsets, two sparse entries and ids.
LowRankModel<double> small_model() {
  LowRankModel<double> m;
  m.rows = 4;
  m.cols = 3;
  m.U = Matrix<double>(4, 1);
  m.U << 0.5, 0.5, 0.5, 0.5;
  m.d = Vector<double>::Constant(1, 3.0);
  m.V = Matrix<double>(3, 1);
  m.V << 0.6, 0.8, 0.0;
  m.global_offset = 1.0;
  m.row_offset = Vector<double>::LinSpaced(4, 0.0, 0.3);
  m.sparse.row = {0, 2};
  m.sparse.col = {1, 0};
  m.sparse.value = {5.0, -2.0};
  for (const char* id : {"u7", "u8", "u9", "u10"}) m.row_ids.get_or_add(id);
  for (const char* id : {"a", "b", "c"}) m.col_ids.get_or_add(id);
  return m;
}

}  // namespace

TEST(LowRankModel, PredictAddsTheSparsePartAndChecksIt) {
  auto m = small_model();
  m.check("test");
  // 1 + row_offset(0) + 0.5 * 3 * 0.8 + 5 = 1 + 0 + 1.2 + 5
  EXPECT_DOUBLE_EQ(m.predict(0, 1), 7.2);
  EXPECT_DOUBLE_EQ(m.predict(2, 0), 1.0 + 0.2 + 0.9 - 2.0);
  EXPECT_DOUBLE_EQ(m.predict(1, 1), 1.0 + 0.1 + 1.2);  // no sparse entry
  const Matrix<double> z = m.to_dense();
  const auto p = m.predict(std::vector<std::int32_t>{0, 2, 3}, std::vector<std::int32_t>{1, 0, 2});
  EXPECT_DOUBLE_EQ(p[0], z(0, 1));
  EXPECT_DOUBLE_EQ(p[1], z(2, 0));
  EXPECT_DOUBLE_EQ(p[2], z(3, 2));
  auto bad = m;
  std::swap(bad.sparse.row[0], bad.sparse.row[1]);  // (2, 1) before (0, 0): unsorted
  EXPECT_THROW(bad.check("test"), InvalidArgument);
  bad = m;
  bad.sparse.col[1] = 3;
  EXPECT_THROW(bad.check("test"), InvalidArgument);
}

// A float32 fit's model comes back in double through model_cast: every
// field survives, the sparse part and the ids included (a field-by-field copy
// elsewhere once dropped them).
TEST(LowRankModel, CastToFloatAndBackKeepsEveryPart) {
  auto m = small_model();
  m.col_offset = Vector<double>::Constant(3, -0.25);
  m.clip_low = 0.0;
  m.clip_high = 6.5;
  const auto f = model_cast<float>(LowRankModel<double>(m));
  const auto back = model_cast<double>(LowRankModel<float>(f));
  back.check("cast");
  EXPECT_EQ(back.sparse.row, m.sparse.row);
  EXPECT_EQ(back.sparse.col, m.sparse.col);
  EXPECT_EQ(back.sparse.value, m.sparse.value);  // 5 and -2 are exact in float
  EXPECT_EQ(back.row_ids.names(), m.row_ids.names());
  EXPECT_EQ(back.col_ids.names(), m.col_ids.names());
  EXPECT_EQ(back.clip_high, 6.5);
  EXPECT_LT((back.to_dense() - m.to_dense()).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_DOUBLE_EQ(back.predict(0, 1), std::min(6.5, 7.2 - 0.25));  // clipped after the sparse part
}

TEST(CompletionModelFolder, SparsePartAndIdsRoundTrip) {
  const auto dir = fresh("sparse");
  const auto m = small_model();
  io::save_completion_model(dir.string(), m, {{"method", "test"}});
  ASSERT_TRUE(fs::exists(dir / "sparse.npy"));
  const auto back = io::load_completion_model(dir.string());
  EXPECT_EQ(back.model.sparse.row, m.sparse.row);
  EXPECT_EQ(back.model.sparse.col, m.sparse.col);
  EXPECT_EQ(back.model.sparse.value, m.sparse.value);
  EXPECT_EQ(back.model.row_ids.names(), m.row_ids.names());
  EXPECT_EQ(back.col_ids.names(), m.col_ids.names());
  EXPECT_LT((back.model.to_dense() - m.to_dense()).norm(), 1e-15);
  // Saving a model without a sparse part into the same folder removes the
  // old file, and a folder without sparse.npy (all older ones) loads with none.
  auto plain = m;
  plain.sparse = {};
  io::save_completion_model(dir.string(), plain, {});
  EXPECT_FALSE(fs::exists(dir / "sparse.npy"));
  EXPECT_TRUE(io::load_completion_model(dir.string()).model.sparse.empty());
  fs::remove_all(dir);
}

TEST(CompletionModelFolder, BadSparseFileIsRefusedNamingIt) {
  const auto dir = fresh("badsparse");
  io::save_completion_model(dir.string(), small_model(), {});
  // Rewrite sparse.npy unsorted and drop the checksums so the content check answers.
  Matrix<double> s(2, 3);
  s << 2, 0, -2, 0, 1, 5;
  io::write_npy((dir / "sparse.npy").string(), s);
  std::ifstream in(dir / "model.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const auto at = json.find("\"checksums\"");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 11, "\"checksums_off\"");
  std::ofstream(dir / "model.json") << json;
  try {
    io::load_completion_model(dir.string());
    FAIL() << "an unsorted sparse.npy loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sparse.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sorted"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
