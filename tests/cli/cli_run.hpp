#pragma once
// Runs the lowrank CLI as a user would and captures what it printed.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include "test_paths.hpp"

namespace lowrank::test {

/// The CLI these tests run: the build's own (LOWRANK_BUILD_CLI_PATH), or the
/// one named by the LOWRANK_TEST_CLI environment variable. The sanitizer
/// ctest of `scripts/setup.sh test` runs the Release test_cli against
/// build-asan's CLI that way instead of compiling the tests' driver code
/// again under ASan (tests/CMakeLists.txt; docs/benchmarks.md, "CI time").
inline const char* cli_path() {
  const char* env = std::getenv("LOWRANK_TEST_CLI");
  return env && *env ? env : LOWRANK_BUILD_CLI_PATH;
}
/// Whether that CLI runs under AddressSanitizer (which a few tests cannot
/// accommodate, e.g. a `ulimit -v` that ASan's shadow memory exceeds).
inline bool cli_is_sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  const char* env = std::getenv("LOWRANK_TEST_CLI_SANITIZED");
  return env && *env && std::string(env) != "0";
#endif
}

}  // namespace lowrank::test
// Every CLI test names the binary through this macro (a run-time choice).
#define LOWRANK_CLI_PATH ::lowrank::test::cli_path()

namespace lowrank::test {

/// Bundled data the CLI tests run on (data/README.md cites them).
inline const std::string kMite = std::string(LOWRANK_SOURCE_DIR) + "/data/ecology/mite.csv";
inline const std::string kShakespeareHead = std::string(LOWRANK_SOURCE_DIR) + "/data/text/tinyshakespeare_head.txt";

struct CliRun {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs `LOWRANK_CLI_PATH args` through the shell; stderr goes to a temp file.
inline CliRun run_cli(const std::string& args) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path err = fs::temp_directory_path() /
                       ("lowrank_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt");
  const std::string cmd = std::string(LOWRANK_CLI_PATH) + " " + args + " 2>" + err.string();
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = slurp(err.string());
  fs::remove(err);
  return r;
}

/// A fresh temporary directory, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("lowrank_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace lowrank::test
