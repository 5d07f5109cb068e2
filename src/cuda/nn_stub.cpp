// CPU-only build: the GPU training engine exists but says it was not built.
#include "cuda/nn/gpt_device.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::cuda {

std::unique_ptr<GptDevice> make_gpt_device(const GptDeviceConfig&) {
  throw InvalidArgument(
      "the GPU training engine needs a CUDA build: reconfigure with -DLOWRANK_CUDA=ON (needs /usr/local/cuda)");
}

}  // namespace lowrank::cuda
