#include "lowrank/core/version.hpp"

#include <charconv>

#include "lowrank/core/error.hpp"

namespace lowrank {

void check_format_version(const std::string& source, std::string_view what, const std::string& found, int supported,
                          const std::string& written_by) {
  long long v = 0;
  const char* end = found.data() + found.size();
  const auto [ptr, ec] = std::from_chars(found.data(), end, v);
  const std::string w(what);
  if (ec != std::errc() || ptr != end) {
    throw InputError(source, w + " format version '" + found + "' is not a whole number (this lowrank " + kVersion +
                                 " reads format version " + std::to_string(supported) + ")");
  }
  if (v == supported) return;
  const std::string by = written_by.empty() ? std::string() : ", written by lowrank " + written_by + ",";
  if (v > supported) {
    throw InputError(source, w + " format version " + found + by + " is newer than this lowrank " + kVersion +
                                 " reads (format version " + std::to_string(supported) +
                                 "): upgrade lowrank to read it");
  }
  throw InputError(source, w + " format version " + found + by + " is not supported: this lowrank " + kVersion +
                               " reads format version " + std::to_string(supported));
}

}  // namespace lowrank
