#pragma once
// Memory of this process as the operating system reports it (an OS query,
// not a file format: it lives in core so that every layer can report it).
#include <cstddef>

namespace lowrank {

/// Current resident set size in bytes (Linux: VmRSS of /proc/self/status;
/// 0 where that file is absent).
std::size_t current_rss_bytes();
/// Peak resident set size in bytes (getrusage ru_maxrss; kilobytes on Linux).
std::size_t peak_rss_bytes();

}  // namespace lowrank
