#pragma once
// The MLP checkpoint format of the NFA (docs/nfa.md): one safetensors file
// DIR/checkpoint.safetensors holding "model.layers.<l>.W" [out, in] and
// "model.layers.<l>.b" [out] (F32 or F64, the nn engine's parameter names)
// with metadata format = "lowrank-nn-mlp-checkpoint", version = "1" (another
// version is refused, a newer one as such), lowrank_version = the writer's,
// activation (a name, checked by the caller), sizes = "d0,d1,...,dL", step,
// and optionally inputs = a .npy file of the training inputs [n, d0] and
// init = the checkpoint of the same network at step 0 (relative to DIR unless
// absolute). This header only reads and writes the file; what the network
// means is diagnostics' (diagnostics/nfa.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowrank/core/types.hpp"

namespace lowrank::io {

struct MlpCheckpointFile {
  std::vector<Matrix<double>> weights;  ///< [out, in] per layer
  std::vector<Vector<double>> biases;   ///< [out] per layer, or empty (no bias)
  std::string activation;               ///< metadata "activation" as written
  std::int64_t step = 0;
  std::string inputs;                           ///< metadata "inputs" resolved against DIR; empty = none
  std::string init;                             ///< metadata "init" resolved against DIR; empty = none
  std::map<std::string, std::string> metadata;  ///< everything in __metadata__
  std::string path;                             ///< the .safetensors file read
};

/// Writes DIR/checkpoint.safetensors (atomically; creates DIR) from weights,
/// biases, activation and step; `extra` metadata may not override format,
/// version, lowrank_version, activation, sizes or step (InvalidArgument).
/// F64 when `f64`, else F32. Shapes are the caller's to check.
void write_mlp_checkpoint(const std::string& dir, const MlpCheckpointFile& ck,
                          const std::map<std::string, std::string>& extra = {}, bool f64 = true);

/// Reads DIR/checkpoint.safetensors or the .safetensors file itself. Throws
/// InputError for a missing file, another format (a GPT checkpoint is named as
/// such), another version, missing metadata, bad sizes or step, and missing or
/// mis-shaped tensors (naming the tensor and both shapes).
MlpCheckpointFile read_mlp_checkpoint(const std::string& path);

}  // namespace lowrank::io
