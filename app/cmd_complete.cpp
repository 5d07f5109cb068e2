// lowrank complete / predict: wired to the completion engine (in progress).
#include "cli_common.hpp"
namespace lowrank::cli {
void register_complete(CLI::App&) {}
void register_predict(CLI::App&) {}
}  // namespace lowrank::cli
