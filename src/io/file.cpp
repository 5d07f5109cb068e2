#include "lowrank/io/file.hpp"

#include "detail.hpp"

namespace lowrank::io {

std::string read_file(const std::string& path) { return detail::read_file(path); }

}  // namespace lowrank::io
