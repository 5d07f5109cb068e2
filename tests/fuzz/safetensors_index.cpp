// libFuzzer harness: the index of a sharded safetensors checkpoint
// (io::read_safetensors_index: model.safetensors.index.json's weight_map).
#include "fuzz_file.hpp"
#include "lowrank/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".index.json");
  return fuzz::expect_refusal_or_success([&] { (void)io::read_safetensors_index(path); });
}
