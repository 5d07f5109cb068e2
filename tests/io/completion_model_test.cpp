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

namespace {

// small_model() plus two group parts: rank 1 on rows {1, 3}, rank 2 on rows
// {0, 1, 2} (row 1 in both, row 3 in the first only).
LowRankModel<double> grouped_model() {
  auto m = small_model();
  m.sparse = {};
  LowRankGroupPart<double> a;
  a.name = "a";
  a.rows = {1, 3};
  a.U = Matrix<double>(2, 1);
  a.U << 0.6, -0.8;
  a.d = Vector<double>::Constant(1, 2.0);
  a.V = Matrix<double>(3, 1);
  a.V << 0.0, 0.0, 1.0;
  LowRankGroupPart<double> b;
  b.name = "b c";
  b.rows = {0, 1, 2};
  b.U = Matrix<double>(3, 2);
  b.U << 1, 0, 0, 1, 0, 0;
  b.d = Vector<double>(2);
  b.d << 1.5, 0.5;
  b.V = Matrix<double>(3, 2);
  b.V << 1, 0, 0, 0, 0, 1;
  m.groups = {a, b};
  return m;
}

}  // namespace

// GAME's Latent model: x_hat = offsets + U d V^T + sum over the groups holding
// the row of U_g d_g V_g^T at the row's position. Checked entry by entry
// against the dense sum written out by hand.
TEST(LowRankModel, GroupPartsAddToTheRowsTheyHold) {
  const auto m = grouped_model();
  m.check("test");
  Matrix<double> want(4, 3);
  for (Index i = 0; i < 4; ++i)
    for (Index j = 0; j < 3; ++j) want(i, j) = 1.0 + m.row_offset(i) + 0.5 * 3.0 * m.V(j, 0);
  want(1, 2) += 0.6 * 2.0;   // group a, position 0
  want(3, 2) += -0.8 * 2.0;  // group a, position 1
  want(0, 0) += 1.5;         // group b, row 0: U(0, :) = (1, 0)
  want(1, 2) += 0.5;         // group b, row 1: U(1, :) = (0, 1), V(2, 1) = 1
  EXPECT_DOUBLE_EQ(m.predict(1, 2), want(1, 2));
  EXPECT_DOUBLE_EQ(m.predict(3, 2), want(3, 2));
  EXPECT_LT((m.to_dense() - want).cwiseAbs().maxCoeff(), 1e-15);
  std::vector<std::int32_t> r, c;
  for (std::int32_t i = 0; i < 4; ++i)
    for (std::int32_t j = 0; j < 3; ++j) r.push_back(i), c.push_back(j);
  const auto p = m.predict(r, c);
  for (std::size_t k = 0; k < p.size(); ++k) EXPECT_DOUBLE_EQ(p[k], want(r[k], c[k])) << k;
  EXPECT_EQ(m.total_rank(), 4);
  const auto f = model_cast<float>(LowRankModel<double>(m));
  EXPECT_EQ(f.groups.size(), 2u);
  EXPECT_NEAR(f.predict(1, 2), want(1, 2), 1e-6);
  auto bad = m;
  bad.groups[1].rows = {0, 2, 1};
  EXPECT_THROW(bad.check("test"), InvalidArgument);
  bad = m;
  bad.groups[0].rows = {1, 4};
  EXPECT_THROW(bad.check("test"), InvalidArgument);
  bad = m;
  bad.groups[0].U = Matrix<double>(3, 1);
  EXPECT_THROW(bad.check("test"), InvalidArgument);
}

TEST(CompletionModelFolder, GroupPartsRoundTripAndOldFoldersLoad) {
  const auto dir = fresh("groups");
  const auto m = grouped_model();
  io::save_completion_model(dir.string(), m, {{"method", "game"}});
  ASSERT_TRUE(fs::exists(dir / "group1_rows.txt"));
  const auto back = io::load_completion_model(dir.string());
  EXPECT_EQ(back.metadata["version"], io::kCompletionModelVersion);
  ASSERT_EQ(back.model.groups.size(), 2u);
  EXPECT_EQ(back.model.groups[1].name, "b c");
  EXPECT_EQ(back.model.groups[1].rows, m.groups[1].rows);
  EXPECT_LT((back.model.to_dense() - m.to_dense()).norm(), 1e-15);
  // A model without groups saved into the same folder removes the group files.
  auto plain = m;
  plain.groups.clear();
  io::save_completion_model(dir.string(), plain, {});
  EXPECT_FALSE(fs::exists(dir / "group0_U.npy"));
  // A version-1 folder (before group parts) still loads.
  {
    std::ifstream in(dir / "model.json");
    auto json = nlohmann::json::parse(in);
    in.close();
    json["version"] = 1;
    std::ofstream(dir / "model.json") << json.dump();
  }
  EXPECT_TRUE(io::load_completion_model(dir.string()).model.groups.empty());
  fs::remove_all(dir);
}

TEST(CompletionModelFolder, MalformedGroupRowsAreRefusedNamingFileAndLine) {
  const auto dir = fresh("badgroups");
  io::save_completion_model(dir.string(), grouped_model(), {});
  auto expect_refused = [&](const std::string& rows, const std::string& what) {
    std::ofstream(dir / "group1_rows.txt") << rows;
    std::ifstream in(dir / "model.json");
    std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    const auto at = json.find("\"checksums\"");
    if (at != std::string::npos) json.replace(at, 11, "\"checksums_off\"");
    std::ofstream(dir / "model.json") << json;
    try {
      io::load_completion_model(dir.string());
      FAIL() << "group rows '" << rows << "' loaded";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("group1_rows.txt:" + what), std::string::npos) << e.what();
    }
  };
  expect_refused("0\n1\nx2\n", "3");  // not a number, line 3
  expect_refused("0\n2\n1\n", "3");   // not increasing
  expect_refused("0\n1\n7\n", "3");   // outside the 4 rows
  expect_refused("0\n1\n", "");       // two rows where model.json says 3
  fs::remove_all(dir);
}
