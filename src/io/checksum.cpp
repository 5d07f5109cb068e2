#include "lowrank/io/checksum.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "lowrank/core/error.hpp"

namespace lowrank::io {

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc) {
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  // zlib takes uInt lengths: feed blocks of at most 1 GiB.
  while (size > 0) {
    const std::size_t n = std::min<std::size_t>(size, std::size_t{1} << 30);
    c = ::crc32(c, p, static_cast<uInt>(n));
    p += n;
    size -= n;
  }
  return static_cast<std::uint32_t>(c);
}

std::string crc32_hex(std::uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc));
  return buf;
}

std::uint32_t crc32_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<unsigned char> buf(std::size_t{1} << 20);
  std::uint32_t c = 0;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) c = crc32(buf.data(), n, c);
  if (std::ferror(f.get())) throw InputError(path, std::string("read failed: ") + std::strerror(errno));
  return c;
}

}  // namespace lowrank::io
