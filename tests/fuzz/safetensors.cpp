// libFuzzer harness: safetensors (io::SafetensorsFile: header validation,
// then every tensor of at most 2 dimensions converted to a matrix).
#include "lowrank/io/safetensors.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".safetensors");
  return fuzz::expect_refusal_or_success([&] {
    const io::SafetensorsFile f(path);
    for (const auto& t : f.tensors())
      if (t.shape.size() <= 2) (void)f.tensor_matrix<double>(t.name);
  });
}
