#pragma once
// Shared by the libFuzzer harnesses (tests/fuzz/*.cpp): each input is written
// to one scratch file per process and read back through the public,
// path-taking reader, so the fuzzers exercise exactly what a user's file does
// (opening, mapping, format detection included).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lowrank/core/error.hpp"

namespace lowrank::fuzz {

/// Path of a scratch file ending in `suffix` that holds exactly the bytes
/// given; rewritten in place on every call (tmpfs when /dev/shm exists).
inline const std::string& scratch_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::string path = [&] {
    const char* dir =
        access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    return std::string(dir) + "/lowrank-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  static const int fd = [] {
    const int f = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f < 0) std::abort();
    std::atexit([] { ::unlink(path.c_str()); });
    return f;
  }();
  if (::ftruncate(fd, 0) != 0) std::abort();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (w <= 0) std::abort();
    done += static_cast<std::size_t>(w);
  }
  return path;
}

/// Runs `read` and swallows the documented refusals (InputError and
/// InvalidArgument, which the CLI maps to exit 2). Anything else escapes and
/// libFuzzer reports it as a crash: a std::out_of_range, a bad_alloc or a
/// std::length_error from a reader is a bug.
template <class F>
int expect_refusal_or_success(F&& read) {
  try {
    read();
  } catch (const InputError&) {
  } catch (const InvalidArgument&) {
  }
  return 0;
}

}  // namespace lowrank::fuzz
