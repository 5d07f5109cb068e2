// End-to-end tests of `lowrank complete --method game` on the bundled vegan
// mite table and its environment table, and its bad-input errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/cli_run.hpp"
#include "lowrank/game/path.hpp"
#include "lowrank/io/any.hpp"
#include "lowrank/io/attributes.hpp"
#include "lowrank/io/csv.hpp"
#include "test_paths.hpp"

namespace lowrank::test {
namespace {

const std::string kMiteEnv = std::string(LOWRANK_SOURCE_DIR) + "/data/ecology/mite_env.csv";

TEST(CliGame, MiteWithThreeCategoriesReportsEveryGroup) {
  TempDir dir;
  const auto r = run_cli("complete --train " + kMite + " --holdout 0.2 --seed 0 --method game --groups " + kMiteEnv +
                         " --group-cols Substrate,Shrub,Topo --lambda-path 6 --cv 3 --subspaces " + (dir / "sub") +
                         " --out " + (dir / "model") + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "game");
  const auto& groups = j["game"]["groups"];
  // Substrate has 7 levels, Shrub 3, Topo 2, plus the global group
  ASSERT_EQ(groups.size(), 13u);
  EXPECT_EQ(groups.back()["name"], "all");
  std::size_t substrate_test = 0;
  for (std::size_t k = 0; k < 7; ++k) substrate_test += groups[k]["test"]["count"].get<std::size_t>();
  EXPECT_EQ(substrate_test, j["test"]["count"].get<std::size_t>());  // a category partitions the rows
  EXPECT_TRUE(std::isfinite(j["test"]["rmse"].get<double>()));
  EXPECT_GT(j["lambda"].get<double>(), 0.0);
  EXPECT_LE(j["lambda"].get<double>(), j["game"]["lambda_max"].get<double>());
  // every KKT residual is reported, and max is the largest of them
  const auto& kkt = j["game"]["kkt"];
  double largest = 0;
  for (const char* key : {"stationarity", "dual_feasibility", "complementarity", "consensus"})
    largest = std::max(largest, std::abs(kkt[key].get<double>()));
  EXPECT_DOUBLE_EQ(kkt["max"].get<double>(), largest);
  EXPECT_LT(largest, 0.05);
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(dir / "sub/groups.json"));
  EXPECT_TRUE(fs::exists(dir / "sub/12_all_V.npy"));
  EXPECT_TRUE(fs::exists(dir / "model/completed.csv"));
  EXPECT_TRUE(fs::exists(dir / "model/cv.csv"));
}

// The README's GAME example with the CLI's default CV. On the raw mite
// counts single folds rise once near the top of the path and fall again;
// with patience 1 they stopped there and the CV table, which compares only
// the lambdas every fold reached, chose the zero fit (lambda_max, test RMSE
// 8.96). Patience 2 reaches the interior (lambda 4.3, test RMSE 7.57, with
// the Sum variant, the default then; the Latent default since issue 35:
// lambda 29.25 of lambda_max 947, test RMSE 6.169, centring biases).
TEST(CliGame, DefaultCvOnRawMiteCountsDoesNotStopAtTheZeroFit) {
  const auto r = run_cli("complete --train " + kMite + " --holdout 0.2 --seed 0 --method game --groups " + kMiteEnv +
                         " --group-cols Substrate,Shrub,Topo --json -q --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["lambda"].get<double>(), 0.1 * j["game"]["lambda_max"].get<double>());
  EXPECT_GT(j["rank"].get<int>(), 0);
  EXPECT_LT(j["test"]["rmse"].get<double>(), 8.0);
}

// Progress (issue 34): GAME's CV reports at most one line per lambda of a
// fold ("game-cv fold f/F, lambda l/L (... ~T s left)"), and the refit on all
// entries at most one per lambda of its path ("game-path lambda l/L ..."),
// never one per solver iteration; every other stderr line is a "lowrank:"
// message. (How many lines appear depends on speed: at most two a second.)
TEST(CliGame, CvProgressIsOneLinePerLambdaAtMostWithTimeLeft) {
  const auto r = run_cli("complete --train " + kMite + " --holdout 0.2 --seed 0 --method game --groups " + kMiteEnv +
                         " --group-cols Substrate,Shrub,Topo --threads 1 --lambda-path 10 --cv 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream err(r.err);
  std::string line;
  int cv = 0, refit = 0;
  bool time_left = false;
  while (std::getline(err, line)) {
    if (line.rfind("lowrank:", 0) == 0) continue;
    if (line.rfind("game-path lambda ", 0) == 0) {
      ++refit;
      continue;
    }
    EXPECT_EQ(line.rfind("game-cv fold ", 0), 0u) << line;
    EXPECT_NE(line.find(", lambda "), std::string::npos) << line;
    time_left = time_left || line.find(" s left)") != std::string::npos;
    ++cv;
  }
  EXPECT_GT(cv, 0);
  EXPECT_LE(cv, 5 * 10);
  EXPECT_LE(refit, 10);
  EXPECT_TRUE(time_left) << r.err;
}

// --weight-cv schemes (issue 35): the given scheme, the two others and the
// sampling-aware weights, each scored by CV on the same folds; the JSON names
// the winner (the lowest CV RMSE) and lists every candidate; without CV it
// is a usage error.
TEST(CliGame, WeightCvReportsEveryCandidateAndPicksTheLowestCvError) {
  const std::string base = "complete --train " + kMite + " --holdout 0.2 --seed 0 --method game --groups " + kMiteEnv +
                           " --group-cols Substrate,Shrub,Topo --threads 1 --json -q --weight-cv schemes ";
  const auto r = run_cli(base + "--lambda-path 4 --cv 2 --centering none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& ws = j["game"]["weight_scores"];
  ASSERT_EQ(ws.size(), 4u);
  EXPECT_EQ(ws[0]["candidate"], "sqrt-size-plus-sqrt-cols");
  EXPECT_EQ(ws[3]["candidate"], "sampled");
  std::size_t best = 0;
  for (std::size_t c = 1; c < ws.size(); ++c)
    if (ws[c]["cv_rmse"].get<double>() < ws[best]["cv_rmse"].get<double>()) best = c;
  EXPECT_EQ(j["game"]["weighting"], ws[best]["candidate"]);
  EXPECT_EQ(j["lambda"].get<double>(), ws[best]["lambda"].get<double>());
  const auto& groups = j["game"]["groups"];
  ASSERT_EQ(groups.size(), ws[best]["weights"].size());
  for (std::size_t k = 0; k < groups.size(); ++k)
    EXPECT_EQ(groups[k]["weight"].get<double>(), ws[best]["weights"][k].get<double>());
  const auto bad = run_cli(base + "--lambda 1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("weight search needs cross-validation"), std::string::npos) << bad.err;
}

TEST(CliGame, BadGroupInputsAreUsageErrors) {
  TempDir dir;
  const std::string base = "complete --train " + kMite + " --method game --lambda 1 -q ";
  auto r = run_cli(base + "--group-cols Shrub");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--groups"), std::string::npos) << r.err;
  r = run_cli(base + "--groups " + kMiteEnv + " --group-cols Colour");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Colour"), std::string::npos) << r.err;
  r = run_cli(base + "--groups " + kMiteEnv + " --group-cols WatrCont --bins WatrCont=0,x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a number"), std::string::npos) << r.err;
  // a data row without an attribute row
  write_file(dir / "env.csv", "\"\",Shrub\n\"1\",Few\n\"2\",Many\n");
  r = run_cli(base + "--groups " + (dir / "env.csv") + " --group-cols Shrub");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("env.csv"), std::string::npos) << r.err;
}

TEST(CliGame, SingleLevelCategoryAndUnmatchedAttributeRowsAreWarnings) {
  TempDir dir;
  // every mite site gets the same level; one extra site has no data row
  std::string env = "site,Kind\n";
  for (int i = 1; i <= 70; ++i) env += "\"" + std::to_string(i) + "\",same\n";
  env += "\"999\",same\n";
  write_file(dir / "env.csv", env);
  const auto r = run_cli("complete --train " + kMite + " --method game --lambda 50 --groups " + (dir / "env.csv") +
                         " --group-cols Kind --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("single level"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("same rows"), std::string::npos) << r.err;  // the group equals the global one
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["game"]["unmatched_attribute_rows"].get<int>(), 1);
}

// A saved GAME model (Latent: one group part per group, format version 2)
// predicts what the fit itself predicts: `complete --out` then `predict` on
// every cell, against fit_game_path's own GamePathFit::predict in this
// process on the same data, groups and settings, to 1e-12.
TEST(CliGame, SavedModelPredictsTheFitsOwnPredictions) {
  TempDir dir;
  const auto r = run_cli("complete --train " + kMite + " --method game --groups " + kMiteEnv +
                         " --group-cols Substrate,Shrub,Topo --lambda-path 6 --cv 3 --seed 0 --threads 1 --out " +
                         (dir / "m") + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto meta = nlohmann::json::parse(slurp(dir / "m/model.json"));
  ASSERT_EQ(meta["groups"].size(), 13u);  // 7 + 3 + 2 levels and "all"

  io::AnyMatrix in = io::read_matrix_any(kMite);
  ASSERT_FALSE(in.is_sparse());
  ObservedEntries<double> x = io::to_observed(in.dense());
  if (x.row_ids.empty()) x.row_ids = IdMap::identity(static_cast<std::size_t>(x.rows));
  if (x.col_ids.empty()) x.col_ids = IdMap::identity(static_cast<std::size_t>(x.cols));
  const io::RowGroupResult g =
      io::make_row_groups(io::read_attribute_table(kMiteEnv), x.row_ids, {"Substrate", "Shrub", "Topo"});
  GamePathOptions po;
  po.lambdas = 6;
  po.folds = 3;
  const GamePathFit<double> fit = fit_game_path(x, g.groups, po);
  EXPECT_DOUBLE_EQ(fit.result.lambda, nlohmann::json::parse(r.out)["lambda"].get<double>());

  std::string pairs;
  for (Index i = 0; i < x.rows; ++i)
    for (Index j = 0; j < x.cols; ++j)
      pairs +=
          x.row_ids.name(static_cast<std::int32_t>(i)) + "\t" + x.col_ids.name(static_cast<std::int32_t>(j)) + "\n";
  write_file(dir / "pairs.tsv", pairs);
  const auto p = run_cli("predict --model " + (dir / "m") + " --pairs " + (dir / "pairs.tsv") + " --json -q");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto out = nlohmann::json::parse(p.out);
  const auto& rows = out.is_array() ? out : out["predictions"];
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(x.rows * x.cols));
  double worst = 0;
  for (const auto& row : rows) {
    const auto i = x.row_ids.find(row["row"].get<std::string>());
    const auto j = x.col_ids.find(row["col"].get<std::string>());
    ASSERT_TRUE(i && j) << row.dump();
    worst = std::max(worst, std::abs(row["prediction"].get<double>() - fit.predict(*i, *j)));
  }
  EXPECT_LT(worst, 1e-12);
}

}  // namespace
}  // namespace lowrank::test
