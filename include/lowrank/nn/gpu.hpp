#pragma once
// The training engine on a CUDA device (build option LOWRANK_CUDA): the
// forward and backward passes of a Gpt<float> run on the GPU (cuBLAS GEMMs,
// lowrank's own kernels for embedding, RMSNorm, rotary, attention, SwiGLU,
// cross-entropy and SLTrain's sparse scatter / gather; src/cuda/nn/), while
// the host model keeps the parameters, the optimiser and the checkpoints.
// A step is: upload_parameters(), forward(), backward(), download_gradients(),
// then the host optimiser. decode() / decode_branches() mirror the CPU's
// KV-cache inference (Gpt::decode). The CPU engine is the reference: tests/nn/gpu_test.cpp
// compares losses and every gradient on a tiny model for each
// parameterization and skips without a device. In a CPU-only build the
// constructor throws std::runtime_error saying so.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lowrank/nn/model.hpp"

namespace lowrank::cuda {
class GptDevice;
}

namespace lowrank::nn {

/// True when this build has the GPU engine and a CUDA device is present.
bool gpu_training_available() noexcept;

/// Where GptOnDevice runs: on the CUDA device, or the GPU engine's exact code
/// (its kernels and GEMM calls) executed by the CPU, which is how the tests
/// check the GPU pass on machines without a GPU. HostEmulation is slow.
enum class GpuBackend { Cuda, HostEmulation };

class GptOnDevice {
 public:
  /// Mirrors `host` (its configuration and current parameters) on the GPU.
  /// The host model must outlive this object. Throws InvalidArgument for a
  /// configuration the GPU engine does not cover (biased block projections)
  /// and std::runtime_error without CUDA or a device.
  explicit GptOnDevice(Gpt<float>& host, GpuBackend backend = GpuBackend::Cuda);
  ~GptOnDevice();
  GptOnDevice(const GptOnDevice&) = delete;
  GptOnDevice& operator=(const GptOnDevice&) = delete;

  /// Copies the host model's current parameters to the device (after every
  /// host optimiser step).
  void upload_parameters();
  /// As Gpt::forward: mean cross-entropy, or NaN when targets is empty.
  double forward(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& targets, Index B, Index T_);
  /// As Gpt::backward: accumulates into the device gradients.
  void backward();
  void zero_grad();
  /// Overwrites the host model's gradients with the device ones.
  void download_gradients();
  /// Logits [B*T, vocab] of the last forward.
  Act<float> logits() const;
  /// Device memory held by parameters, gradients, activations, workspace and
  /// the decode cache.
  std::size_t device_bytes() const;

  /// Inference with one key/value cache held on the device, mirroring
  /// Gpt::decode: logits [n, V] of `tokens` at positions cache_length(), ...,
  /// whose keys and values then join the cache (O(context) attention per
  /// token instead of a full forward). Equal to the CPU's decode up to float
  /// rounding (tests/nn/gpu_test.cpp). Throws InvalidArgument as Gpt::decode.
  Act<float> decode(const std::vector<std::int32_t>& tokens);
  /// As Gpt::decode_branches: B continuations of L tokens (tokens [B*L],
  /// batch-major) of the cached prefix in one pass; the cache is unchanged.
  Act<float> decode_branches(const std::vector<std::int32_t>& tokens, Index B, Index L);
  /// Empties the cache; upload_parameters() empties it too (cached keys
  /// belong to the weights that computed them).
  void reset_cache();
  Index cache_length() const;

 private:
  Gpt<float>* m_host;
  std::unique_ptr<cuda::GptDevice> m_dev;
  Index m_rows = 0;
};

/// The GPU engine for a device name, mirroring `host`: "cuda" (InvalidArgument,
/// the CLI's exit 2, without a CUDA build or device), "cuda-emulated" (the
/// engine's code on the CPU, for tests) or "cpu" (null: use the host model).
/// InvalidArgument for any other name.
std::unique_ptr<GptOnDevice> open_gpt_device(Gpt<float>& host, const std::string& device);

}  // namespace lowrank::nn
