// libFuzzer harness: .npy arrays (io::read_npy).
#include "lowrank/io/npy.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".npy");
  return fuzz::expect_refusal_or_success([&] { (void)io::read_npy(path); });
}
