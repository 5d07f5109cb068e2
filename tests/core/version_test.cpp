// lowrank::check_format_version: which format versions a reader accepts and
// what it says about the others.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"

namespace lowrank {
namespace {

using ::testing::HasSubstr;

std::string message_of(const std::string& found, const std::string& written_by = {}) {
  try {
    check_format_version("dir/model.json", "completion model", found, 3, written_by);
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "dir/model.json");
    return e.what();
  }
  return "accepted";
}

TEST(Version, FormatVersionCheck) {
  EXPECT_EQ(message_of("3"), "accepted");
  EXPECT_THAT(message_of("4", "0.9.1"),
              HasSubstr("dir/model.json: completion model format version 4, written by lowrank 0.9.1, is newer than "
                        "this lowrank " +
                        std::string(kVersion) + " reads (format version 3): upgrade lowrank"));
  EXPECT_THAT(message_of("12"), HasSubstr("format version 12 is newer than this lowrank"));
  EXPECT_THAT(message_of("2"), HasSubstr("format version 2 is not supported: this lowrank " + std::string(kVersion) +
                                         " reads format version 3"));
  EXPECT_THAT(message_of("3.0"), HasSubstr("format version '3.0' is not a whole number"));
  EXPECT_THAT(message_of(""), HasSubstr("format version '' is not a whole number"));
  EXPECT_THAT(message_of("99999999999999999999999"), HasSubstr("is not a whole number"));
}

}  // namespace
}  // namespace lowrank
