// libFuzzer harness: format detection and the one-call reader behind every
// "matrix file" argument of the CLI (io::read_matrix_any + io::describe).
// The scratch file has no extension, so the format comes from the content.
#include "lowrank/io/any.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, "");
  return fuzz::expect_refusal_or_success([&] { (void)io::describe(io::read_matrix_any(path)); });
}
