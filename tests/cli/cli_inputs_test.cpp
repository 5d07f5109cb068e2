// Inputs that cannot be misread (issue 34): the layouts numpy, pandas and R
// write are read with their shape, guesses are warned about, and --format /
// --header / --row-names override detection on every command that reads a
// matrix. Plus the recommender basics: recommend, --clip, predict --json.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"

namespace lowrank::test {
namespace {

// What np.savetxt(path, x, delimiter=",") writes: no header, no row names,
// "%.18e" numbers. x(i, j) = sin(i + 2j) + 1e-3 i, so no column counts 0, 1, 2.
std::string savetxt(int rows, int cols, const char* sep) {
  std::string s;
  char buf[64];
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      std::snprintf(buf, sizeof buf, "%.18e", std::sin(i + 2.0 * j) + 1e-3 * i);
      if (j) s += sep;
      s += buf;
    }
    s += '\n';
  }
  return s;
}

nlohmann::json info_json(const std::string& args, CliRun* out = nullptr) {
  CliRun r = run_cli("info --json " + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (out) *out = r;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

TEST(CliInputs, SavetxtCsvKeepsItsShapeWithoutWarning) {
  TempDir tmp;
  write_file(tmp / "x.csv", savetxt(50, 20, ","));
  CliRun r;
  const auto j = info_json(tmp / "x.csv", &r);
  EXPECT_EQ(j["format"], "csv");
  EXPECT_EQ(j["rows"], 50);
  EXPECT_EQ(j["cols"], 20);
  EXPECT_EQ(j["header"], false);
  EXPECT_EQ(j["row_names"], false);
  EXPECT_EQ(j["dtype"], "float64 (text)");
  EXPECT_EQ(r.err, "");
  // np.savetxt's default blank separator reads the same way.
  write_file(tmp / "x.txt", savetxt(50, 20, " "));
  const auto k = info_json(tmp / "x.txt");
  EXPECT_EQ(k["rows"], 50);
  EXPECT_EQ(k["cols"], 20);
  // decompose runs on the 50 x 20 matrix, not 49 x 19.
  const CliRun d = run_cli("decompose --json -q --input " + tmp / "x.csv" + " --rank 2 --out " + tmp / "svd/x");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto dj = nlohmann::json::parse(d.out);
  EXPECT_EQ(dj["rows"], 50);
  EXPECT_EQ(dj["cols"], 20);
  // --header forces the old reading, with a first column of names.
  const auto h = info_json("--header --row-names " + tmp / "x.csv");
  EXPECT_EQ(h["rows"], 49);
  EXPECT_EQ(h["cols"], 19);
}

TEST(CliInputs, DenseTsvWithHeaderAndRowNamesReads) {
  TempDir tmp;
  // pandas' df.to_csv(sep="\t"): empty corner, names, numbers.
  std::string s = "\tA\tB\tC\tD\tE\n";
  for (int i = 0; i < 6; ++i) s += "site" + std::to_string(i) + "\t1\t0\t" + std::to_string(i) + "\t2.5\t\n";
  write_file(tmp / "t.tsv", s);
  CliRun r;
  const auto j = info_json(tmp / "t.tsv", &r);
  EXPECT_EQ(j["format"], "csv");
  EXPECT_EQ(j["rows"], 6);
  EXPECT_EQ(j["cols"], 5);
  EXPECT_EQ(j["missing"], 6);
  EXPECT_EQ(r.err, "");
}

TEST(CliInputs, RatingsCsvWithHeaderIsTriplets) {
  TempDir tmp;
  std::string s = "user,item,rating\n";
  for (int u = 1; u <= 30; ++u)
    for (int i = 1; i <= 3; ++i)
      s += std::to_string(u) + "," + std::to_string(10 * i + u % 7) + "," + std::to_string(1 + (u + i) % 5) + "\n";
  write_file(tmp / "ratings.csv", s);
  CliRun r;
  const auto j = info_json(tmp / "ratings.csv", &r);
  EXPECT_EQ(j["format"], "triplets");
  EXPECT_EQ(j["sparse"], true);
  EXPECT_EQ(j["rows"], 30);
  EXPECT_EQ(j["nnz"], 90);
  EXPECT_EQ(j["dtype"], "float64 (text, integer values)");
  // Read against its .csv extension: said on stderr, with the flag that overrides it.
  EXPECT_NE(r.err.find("ratings.csv: read as triplets"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--format dense"), std::string::npos) << r.err;
  const auto d = info_json("--format dense " + tmp / "ratings.csv");
  EXPECT_EQ(d["format"], "csv");
  EXPECT_EQ(d["rows"], 90);
}

TEST(CliInputs, GuessedRowNamesAndNumericHeaderWarn) {
  TempDir tmp;
  // pd.DataFrame(x).to_csv(): integer column labels over an index 0..n-1.
  std::string s = ",0,1,2\n";
  for (int i = 0; i < 5; ++i) s += std::to_string(i) + ",0.5," + std::to_string(i * 1.5) + ",3\n";
  write_file(tmp / "p.csv", s);
  CliRun r;
  const auto j = info_json(tmp / "p.csv", &r);
  EXPECT_EQ(j["rows"], 5);
  EXPECT_EQ(j["cols"], 3);
  EXPECT_EQ(j["notes"].size(), 1u);
  EXPECT_NE(r.err.find("lowrank: warning: " + tmp / "p.csv" + ": the first line holds only numbers"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--no-header"), std::string::npos);
  // An index without a header (to_csv(header=False)): a counting first column.
  std::string t;
  for (int i = 0; i < 5; ++i) t += std::to_string(i) + ",0.5," + std::to_string(i * 1.5) + "\n";
  write_file(tmp / "q.csv", t);
  const auto q = info_json(tmp / "q.csv", &r);
  EXPECT_EQ(q["cols"], 2);
  EXPECT_NE(r.err.find("counts 0, 1, 2"), std::string::npos) << r.err;
  EXPECT_EQ(info_json("--no-row-names " + tmp / "q.csv")["cols"], 3);
}

TEST(CliInputs, RepeatedRowNameNamesFileAndLine) {
  TempDir tmp;
  write_file(tmp / "rep.csv", ",a,b\n291,1,2\nx,3,4\n291,5,6\n");
  const CliRun r = run_cli("info " + tmp / "rep.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("rep.csv:4: repeated row name '291' (first on line 2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--no-row-names"), std::string::npos);
}

TEST(CliInputs, FlagsOnEveryReadingCommand) {
  TempDir tmp;
  write_file(tmp / "x.csv", savetxt(12, 8, ","));
  for (const std::string& cmd : std::vector<std::string>{"info", "decompose --rank 2 --out " + tmp / "d/x --input",
                                                         "complete -q --lambda 0.1 --train"}) {
    const CliRun r = run_cli(cmd + " " + tmp / "x.csv --format dense --no-header --no-row-names --json");
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["cols"], 8) << cmd;
  }
  EXPECT_EQ(run_cli("info --format xls " + tmp / "x.csv").exit_code, 2);
}

// complete -> predict / recommend on a small ratings file.
struct Ratings {
  TempDir tmp;
  std::string train;
  Ratings() {
    std::string s;
    // 20 users x 12 items, rating = 1 + (u * i) % 5, user u rates items with (u + i) % 3 != 0.
    for (int u = 0; u < 20; ++u)
      for (int i = 0; i < 12; ++i)
        if ((u + i) % 3 != 0) {
          s += 'u';
          s += std::to_string(u);
          s += "\tm";
          s += std::to_string(i);
          s += '\t';
          s += std::to_string(1 + (u * i) % 5);
          s += '\n';
        }
    train = tmp / "r.tsv";
    write_file(train, s);
  }
};

TEST(CliRecommend, ExcludesSeenItemsAndMatchesPredict) {
  Ratings d;
  const std::string model = d.tmp / "model";
  CliRun r = run_cli("complete -q --train " + d.train + " --lambda 0.5 --clip --out " + model);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("recommend --model " + model + " --user u1 --top 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& items = j["users"][0]["items"];
  ASSERT_EQ(items.size(), 4u);
  // u1 saw every item with (1 + i) % 3 != 0: only m2, m5, m8, m11 are left.
  std::set<std::string> got;
  for (const auto& it : items) got.insert(it["item"].get<std::string>());
  EXPECT_EQ(got, (std::set<std::string>{"m2", "m5", "m8", "m11"}));
  for (std::size_t k = 1; k < items.size(); ++k)
    EXPECT_GE(items[k - 1]["score"].get<double>(), items[k]["score"].get<double>());
  // Scores are the model's predictions: predict --json gives the same numbers.
  std::string pairs;
  for (const auto& it : items) pairs += "u1\t" + it["item"].get<std::string>() + "\n";
  write_file(d.tmp / "pairs.tsv", pairs);
  r = run_cli("predict --model " + model + " --pairs " + d.tmp / "pairs.tsv" + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto p = nlohmann::json::parse(r.out);  // one JSON object, nothing else on stdout
  ASSERT_EQ(p["predictions"].size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(p["predictions"][k]["col"], items[k]["item"]);
    EXPECT_NEAR(p["predictions"][k]["prediction"].get<double>(), items[k]["score"].get<double>(), 1e-5);
    EXPECT_GE(p["predictions"][k]["prediction"].get<double>(), 1.0);  // clipped to the training range
    EXPECT_LE(p["predictions"][k]["prediction"].get<double>(), 5.0);
  }
  // --include-seen ranks all 12; an unknown user is an input error naming it.
  r = run_cli("recommend --model " + model + " --user u1 --top 50 --include-seen --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["users"][0]["items"].size(), 12u);
  r = run_cli("recommend --model " + model + " --user nobody");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("user 'nobody'"), std::string::npos) << r.err;
}

TEST(CliRecommend, ClipBoundsEveryPrediction) {
  Ratings d;
  // A tiny lambda overfits: unclipped predictions leave 1..5, clipped ones cannot.
  std::string pairs;
  for (int u = 0; u < 20; ++u)
    for (int i = 0; i < 12; ++i) {
      pairs += 'u';
      pairs += std::to_string(u);
      pairs += "\tm";
      pairs += std::to_string(i);
      pairs += '\n';
    }
  write_file(d.tmp / "all.tsv", pairs);
  CliRun r = run_cli("complete -q --train " + d.train + " --method als --rank 6 --lambda 1e-4 --out " + d.tmp / "m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto range = [&](const std::string& extra) {
    const CliRun p = run_cli("predict --model " + d.tmp / "m --pairs " + d.tmp / "all.tsv --json " + extra);
    EXPECT_EQ(p.exit_code, 0) << p.err;
    double lo = 1e300, hi = -1e300;
    const auto j = nlohmann::json::parse(p.out);  // kept alive: a range-for over a temporary's member dangles
    for (const auto& q : j["predictions"]) {
      lo = std::min(lo, q["prediction"].get<double>());
      hi = std::max(hi, q["prediction"].get<double>());
    }
    return std::pair{lo, hi};
  };
  const auto raw = range("");
  EXPECT_TRUE(raw.first < 1.0 || raw.second > 5.0) << raw.first << " " << raw.second;
  const auto clipped = range("--clip");
  EXPECT_GE(clipped.first, 1.0);
  EXPECT_LE(clipped.second, 5.0);
}

TEST(CliOutput, DecomposeCreatesFolderCompleteWarnsWithoutOutLog1p) {
  TempDir tmp;
  CliRun r = run_cli("decompose -q --input " + kMite + " --rank 2 --out " + tmp / "new/dir/mite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(tmp / "new/dir/mite_U.npy"));
  r = run_cli("complete -q --train " + kMite + " --lambda 50 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no --out"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["log1p"], false);
  // --log1p: the fit is on log(1 + x); the training RMSE is on that scale (mite counts reach 723).
  r = run_cli("complete -q --train " + kMite + " --lambda 1 --log1p --json --out " + tmp / "lm");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["log1p"], true);
  EXPECT_LT(j["train"]["rmse"].get<double>(), std::log1p(723.0));
  // predict maps back by expm1: a mite count, not its logarithm.
  write_file(tmp / "p.tsv", "1\tBrachy\n");
  r = run_cli("predict --model " + tmp / "lm --pairs " + tmp / "p.tsv --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double v = nlohmann::json::parse(r.out)["predictions"][0]["prediction"].get<double>();
  EXPECT_GT(v, 5.0);  // Brachy at site 1 was 17 (log1p 2.9)
}

}  // namespace
}  // namespace lowrank::test
