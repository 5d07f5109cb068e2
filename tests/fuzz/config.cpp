// libFuzzer harness: the training engine's JSON options, as `lowrank train
// --config` reads them (nn::options_from_json, then TrainOptions::validate).
#include <string>

#include "fuzz_file.hpp"
#include "lowrank/nn/train.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string text(reinterpret_cast<const char*>(data), size);
  return fuzz::expect_refusal_or_success([&] { nn::options_from_json(text, "config.json").validate(); });
}
