#pragma once
// The GPU implementation of the Gpt forward and backward passes, behind an
// abstract interface in plain C++ (no Eigen, no CUDA types), so the CUDA
// translation unit needs nothing from the rest of the engine and the CPU-only
// build links a stub (src/cuda/nn_stub.cpp) that says it was built without
// CUDA. The public entry point is lowrank::nn::GptOnDevice
// (include/lowrank/nn/gpu.hpp), which fills GptDeviceConfig from a Gpt<float>.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lowrank::cuda {

/// One parameterized linear layer y = x W^T (no bias), as in nn::Linear.
struct GptDeviceLinear {
  enum Kind { Dense = 0, LowRank = 1, SLTrain = 2 };  ///< GaLore trains a dense W: Dense here
  Kind kind = Dense;
  long long in = 0, out = 0, rank = 0;
  float scale = 1;                    ///< alpha / r for LowRank and SLTrain
  std::vector<std::int64_t> support;  ///< SLTrain: sorted flat indices row * in + col
};

struct GptDeviceConfig {
  long long vocab = 0, context = 0, n_layer = 0, n_head = 0, width = 0, hidden = 0;
  float norm_eps = 1e-5f;
  /// Rotary tables [context, head_dim / 2]: cos and sin of pos * theta^(-2i/D).
  std::vector<float> rope_cos, rope_sin;
  /// 7 per block in the order q, k, v, o, gate, up, down; then the LM head.
  std::vector<GptDeviceLinear> linears;
};

/// A host tensor in nn::Gpt::parameters() order: wte, then per block ln1,
/// q, k, v, o (W, or A, B[, S]), ln2, gate, up, down, then ln_f and lm_head.W.
struct HostTensor {
  float* data = nullptr;
  std::size_t size = 0;
};

class GptDevice {
 public:
  virtual ~GptDevice() = default;
  /// Copies the host parameters to the device (sizes are checked).
  virtual void upload_parameters(const std::vector<HostTensor>& params) = 0;
  /// Forward pass on tokens [B*T]; mean cross-entropy against targets [B*T],
  /// or NaN when targets is null (then only the logits are computed).
  virtual double forward(const std::int32_t* tokens, const std::int32_t* targets, long long B, long long T) = 0;
  /// Backward of the last forward: accumulates into the device gradients.
  virtual void backward() = 0;
  virtual void zero_grad() = 0;
  /// Copies the device gradients into the host tensors (overwrites them).
  virtual void download_gradients(const std::vector<HostTensor>& grads) const = 0;
  /// Logits [B*T, vocab] of the last forward, row-major.
  virtual void download_logits(float* out) const = 0;
  /// Device memory held (parameters, gradients, activations, workspace).
  virtual std::size_t device_bytes() const = 0;
  /// Inference with the device's key/value cache of one sequence (as
  /// nn::Gpt::decode / decode_branches): tokens [B*L] are B continuations of
  /// L tokens after the cache's prefix, at positions cache_length() + t;
  /// logits [B*L, vocab] (row-major) receive their logits. With `append`
  /// (B = 1) their keys and values join the cache. Throws InvalidArgument for
  /// B or L < 1, append with B > 1, a total beyond the context or a token
  /// outside the vocabulary. Decoding reuses buffers of the training pass, so
  /// a pending backward() must be redone after a forward (it throws).
  virtual void decode(const std::int32_t* tokens, long long B, long long L, bool append, float* logits) = 0;
  /// Empties the cache (upload_parameters() does too: cached keys belong to
  /// the weights that computed them).
  virtual void reset_cache() = 0;
  virtual long long cache_length() const = 0;
};

/// Throws lowrank::InvalidArgument without a CUDA build or device (the CLI
/// exits 2, as for `train --device cuda` there).
std::unique_ptr<GptDevice> make_gpt_device(const GptDeviceConfig& config);
/// The same engine on the host backend (host_backend.hpp): every kernel and
/// GEMM of the GPU pass run by the CPU, for tests. Defined in src/nn/gpu.cpp.
std::unique_ptr<GptDevice> make_gpt_host_emulation(const GptDeviceConfig& config);

}  // namespace lowrank::cuda
