// Resident set size of this process (memory.hpp).
#include "lowrank/core/memory.hpp"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace lowrank {

std::size_t current_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<std::size_t>(std::stoull(line.substr(6))) * 1024;
  return 0;
}

std::size_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::size_t>(u.ru_maxrss) * 1024;  // Linux: kilobytes
}

}  // namespace lowrank
