#pragma once
// Helpers shared by the io tests: fixture paths, scratch files, and catching
// the InputError a bad input must raise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lowrank/core/error.hpp"
#include "test_paths.hpp"

namespace lowrank::io::test {

inline std::string fixture(const std::string& name) { return std::string(LOWRANK_TEST_DATA_DIR) + "/io/" + name; }
inline std::string repo_file(const std::string& name) { return std::string(LOWRANK_SOURCE_DIR) + "/" + name; }

/// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_path = std::filesystem::temp_directory_path() /
             ("lowrank_io_" + std::to_string(::getpid()) + "_" +
              (info ? std::string(info->test_suite_name()) + "." + info->name() : "x"));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string path(const std::string& name) const { return (m_path / name).string(); }
  /// Writes `bytes` verbatim to `name` and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path(name), std::ios::binary);
    out << bytes;
    return path(name);
  }

 private:
  std::filesystem::path m_path;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Runs f, which must throw InputError; returns its message ("" and a test
/// failure otherwise).
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, nothing was thrown";
  return "";
}

}  // namespace lowrank::io::test
