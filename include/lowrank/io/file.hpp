#pragma once
// Reading a whole input file with its size bounded by the file itself.
#include <string>

namespace lowrank::io {

/// The whole of a regular file as bytes. Throws InputError naming the file
/// when it cannot be opened, is a directory, or is not a regular file: a
/// device, pipe or socket has no size to bound the read (/dev/zero never
/// ends), and opening a FIFO would wait for a writer.
std::string read_file(const std::string& path);

}  // namespace lowrank::io
