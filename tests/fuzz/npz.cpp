// libFuzzer harness: .npz archives (io::read_npz: libzip, then each member
// through the .npy parser).
#include "fuzz_file.hpp"
#include "lowrank/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".npz");
  return fuzz::expect_refusal_or_success([&] { (void)io::read_npz(path); });
}
