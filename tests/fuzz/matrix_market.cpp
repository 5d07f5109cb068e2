// libFuzzer harness: Matrix Market (io::read_matrix_market), refusing and
// then summing duplicates.
#include "lowrank/io/matrix_market.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".mtx");
  fuzz::expect_refusal_or_success([&] { (void)io::read_matrix_market(path); });
  return fuzz::expect_refusal_or_success([&] { (void)io::read_matrix_market(path, DuplicatePolicy::Sum); });
}
