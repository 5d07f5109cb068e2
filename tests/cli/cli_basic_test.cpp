// End-to-end tests of `lowrank info` and `lowrank decompose`: exit codes,
// messages that point at the file, and numbers checked against numpy.
#include <gtest/gtest.h>
#include <unistd.h>
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"

namespace lowrank::test {
namespace {

TEST(CliBasic, HelpAndVersionExitZero) {
  EXPECT_EQ(run_cli("--help").exit_code, 0);
  EXPECT_EQ(run_cli("--version").exit_code, 0);
  const CliRun r = run_cli("decompose --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Example"), std::string::npos);
}

TEST(CliBasic, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("").exit_code, 2);                                              // no subcommand
  EXPECT_EQ(run_cli("frobnicate").exit_code, 2);                                    // unknown subcommand
  EXPECT_EQ(run_cli("info --no-such-flag x").exit_code, 2);                         // unknown flag
  EXPECT_EQ(run_cli("decompose --input " + kMite + " --out /tmp/x").exit_code, 2);  // --rank missing
}

TEST(CliBasic, InfoOnMiteTable) {
  const CliRun r = run_cli("info --json " + kMite);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"], 70);
  EXPECT_EQ(j["cols"], 35);
  EXPECT_EQ(j["nnz"], 2450);
  EXPECT_EQ(j["missing"], 0);
  EXPECT_DOUBLE_EQ(j["min"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["max"].get<double>(), 723.0);
}

TEST(CliBasic, InfoMissingAndEmptyFilesAreInputErrors) {
  TempDir tmp;
  CliRun r = run_cli("info " + tmp / "nope.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.csv"), std::string::npos) << r.err;
  write_file(tmp / "empty.tsv", "");
  r = run_cli("info " + tmp / "empty.tsv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("empty.tsv"), std::string::npos) << r.err;
}

TEST(CliBasic, InfoRaggedCsvNamesTheLine) {
  TempDir tmp;
  write_file(tmp / "ragged.csv", ",a,b\nr1,1,2\nr2,3\n");
  const CliRun r = run_cli("info " + tmp / "ragged.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ragged.csv:3"), std::string::npos) << r.err;
}

TEST(CliBasic, DuplicateTripletsNeedAPolicy) {
  TempDir tmp;
  write_file(tmp / "dup.tsv", "1\t1\t2\n1\t2\t3\n1\t1\t4\n");
  CliRun r = run_cli("info " + tmp / "dup.tsv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dup.tsv"), std::string::npos) << r.err;
  r = run_cli("info --json --duplicates mean " + tmp / "dup.tsv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["nnz"], 2);
  EXPECT_DOUBLE_EQ(j["max"].get<double>(), 3.0);  // mean of 2 and 4 is 3

  // decompose reads through the same policy: an error naming the file by
  // default; with --duplicates sum the matrix is [[6, 3]], whose only singular
  // value is sqrt(36 + 9).
  r = run_cli("decompose -q --input " + tmp / "dup.tsv" + " --rank 1 --out " + tmp / "d");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dup.tsv"), std::string::npos) << r.err;
  r = run_cli("decompose --json -q --duplicates sum --input " + tmp / "dup.tsv" + " --rank 1 --out " + tmp / "d");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(nlohmann::json::parse(r.out)["singular_values"][0].get<double>(), std::sqrt(45.0), 1e-12);
}

// Reference: numpy.linalg.svd of log1p(mite) with column means removed
// (python3 -c "m=np.log1p(np.loadtxt('mite.csv',...)); m-=m.mean(0); np.linalg.svd(m)").
TEST(CliBasic, DecomposeMatchesNumpyOnCentredLogMite) {
  TempDir tmp;
  const CliRun r = run_cli("decompose --json -q --input " + kMite + " --rank 5 --center --log1p --out " + tmp / "m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const double ref[] = {25.63185893, 13.16184598, 11.33965951, 9.8342239, 8.49476193};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(j["singular_values"][i].get<double>(), ref[i], 1e-7 * ref[0]);
  EXPECT_TRUE(std::filesystem::exists(tmp / "m_U.npy"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "m_means.npy"));
  // Residual of the best rank-5 approximation is between 0 and 1 and < rank-1's.
  EXPECT_GT(j["relative_residual"].get<double>(), 0.3);
  EXPECT_LT(j["relative_residual"].get<double>(), 0.8);
}

TEST(CliBasic, DecomposeMethodsAgreeOnSparseInput) {
  TempDir tmp;
  // A 60 x 40 sparse matrix with a clear spectrum: entries on 5 diagonals.
  std::string text;
  for (int i = 0; i < 60; ++i)
    for (int d = 0; d < 5; ++d)
      text +=
          std::to_string(i) + "\t" + std::to_string((i + 7 * d) % 40) + "\t" + std::to_string(1.0 + 0.1 * i + d) + "\n";
  write_file(tmp / "s.tsv", text);
  std::vector<double> first;
  for (const char* method : {"full", "lanczos", "randomized"}) {
    const CliRun r = run_cli(std::string("decompose --json -q --method ") + method + " --input " + tmp / "s.tsv" +
                             " --rank 4 --out " + tmp / method);
    ASSERT_EQ(r.exit_code, 0) << method << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["method"], method);
    std::vector<double> s = j["singular_values"].get<std::vector<double>>();
    if (first.empty()) first = s;
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(s[i], first[i], 1e-6 * first[0]) << method;
  }
}

TEST(CliBasic, DecomposeRejectsBadRanksAndMissingCells) {
  TempDir tmp;
  CliRun r = run_cli("decompose --input " + kMite + " --rank 36 --out " + tmp / "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("35"), std::string::npos) << r.err;
  r = run_cli("decompose --input " + kMite + " --rank 0 --out " + tmp / "x");
  EXPECT_EQ(r.exit_code, 2);
  write_file(tmp / "na.csv", ",a,b\nr1,1,NA\nr2,3,4\n");
  r = run_cli("decompose --input " + tmp / "na.csv" + " --rank 1 --out " + tmp / "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lowrank::test
