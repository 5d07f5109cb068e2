#pragma once
// CRC-32 (zlib's, ISO-HDLC polynomial 0xEDB88320) of what we save, so that a
// bit flip in a checkpoint or a model folder is reported on load instead of
// silently changing the numbers (issue 31, item 14). CRC-32 detects every
// burst error up to 32 bits and all 1-, 2- and 3-bit errors in messages far
// longer than our files; it is not a defence against deliberate tampering.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lowrank::io {

/// CRC-32 of `size` bytes, continuing from `crc` (0 to start).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);
/// Eight lowercase hex digits, e.g. "cbf43926" for "123456789".
std::string crc32_hex(std::uint32_t crc);
/// CRC-32 of a whole file (read in 1 MiB blocks); InputError when unreadable.
std::uint32_t crc32_file(const std::string& path);

}  // namespace lowrank::io
