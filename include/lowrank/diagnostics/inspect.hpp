#pragma once
// `lowrank inspect`: load every 2-D weight of a checkpoint, diagnose each
// layer's spectrum in parallel and evaluate the rank-sparse bound.
//
// Sources: a .safetensors file (memory-mapped; F64/F32/F16/BF16), a directory
// holding model.safetensors.index.json (sharded checkpoints: the index's
// "weight_map" names the shard of each tensor) or *.safetensors files, an
// .npy file (one layer) or an .npz archive (one layer per member).
// Tensors of rank 2 are layers; rank 3+ (conv kernels [out, in, kh, kw]) are
// layers reshaped to out x (in*kh*kw) when `reshape_conv` is set and skipped
// otherwise; rank 0/1 (biases, norms) are skipped.
//
// Checkpoints of the nn engine (DIR/checkpoint.safetensors, metadata
// "format": "lowrank-nn-checkpoint", see nn/train.hpp) are recognised: only
// the model's weights are layers ("model.<name>.W" and the embedding
// "model.wte"; optimiser moments, norm gains and biases are skipped, the
// "model." prefix is dropped), and a factored layer (LowRank / SLTrain) is
// one layer "<name>.W" holding its effective weight
// W = (alpha / r) B A (+ S scattered on its support), so dense and factored
// checkpoints of one architecture list the same layer names.
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/diagnostics/bound.hpp"
#include "lowrank/diagnostics/spectrum.hpp"

namespace lowrank::diagnostics {

/// One weight tensor found in a checkpoint (not yet loaded).
struct WeightTensor {
  std::string name;
  std::string file;                 ///< file holding it
  std::string dtype;                ///< "F32", "<f8", ...
  std::vector<std::int64_t> shape;  ///< as stored
  Index rows = 0;                   ///< as a layer: shape[0]
  Index cols = 0;                   ///< product of the other dimensions
  /// Name of the tensor in the file when it differs from `name` (engine
  /// checkpoints drop the "model." prefix); empty = `name`.
  std::string stored;
  /// Engine checkpoints, factored layers only: W = factor_scale * B A
  /// (+ S on its support); `name` is then the effective weight's name.
  std::string factor_b, factor_a;             ///< tensor names of B [rows, r] and A [r, cols]
  Index factor_rank = 0;                      ///< r
  double factor_scale = 1.0;                  ///< alpha / r
  std::string sparse_values, sparse_support;  ///< SLTrain S values and flat row*cols+col indices
};

struct WeightSelection {
  /// Name filter: a glob (`*`, `?`, e.g. "*.attn.*") unless it starts with
  /// "re:", then an RE2 regular expression searched in the name (linear
  /// time; no backreferences or lookaround). Empty = all. At most 4096 bytes.
  std::string filter;
  bool reshape_conv = false;  ///< rank >= 3 tensors become out x (in*kh*kw)
};

/// Longest tensor name list_weight_tensors accepts (InputError beyond).
inline constexpr std::size_t kMaxTensorNameBytes = 4096;

/// True when `name` matches `pattern` (glob, or "re:" + RE2 regex), in time
/// linear in the name. Throws InvalidArgument for a malformed regex.
bool name_matches(const std::string& name, const std::string& pattern);

/// The layers `path` holds, in file order, after filtering. Throws InputError
/// when the file or directory cannot be read or holds no 2-D tensor (the
/// message lists what it does hold), InvalidArgument when the filter matches
/// no layer (the message lists the layer names).
std::vector<WeightTensor> list_weight_tensors(const std::string& path, const WeightSelection& selection = {});

/// Loads one tensor as a rows x cols matrix (row-major data reshaped).
Matrix<double> load_weight(const WeightTensor& t);

struct InspectOptions {
  WeightSelection selection;
  SpectrumOptions spectrum;
  RankSparseBoundOptions bound;
  /// Initial weights: same names and shapes; A_l - M_l enters the bound.
  std::string reference;
  /// Training inputs [n, d] (.npy): when given, the bound's B is their largest
  /// row norm (input_norm_bound); giving bound.input_norm as well is an error.
  std::string inputs;
  int threads = 0;  ///< OpenMP threads for the layer loop; 0 = default
};

struct LayerReport {
  WeightTensor tensor;
  SpectrumDiagnostics spectrum;
};

struct InspectReport {
  std::string path;
  std::vector<LayerReport> layers;
  RankSparseBound bound;
  double seconds = 0;  ///< wall time of load + SVD + diagnostics
  /// Interrupted (Ctrl-C): `layers` holds only the layers finished by then,
  /// and the bound covers those.
  Status status = Status::Success;
};

/// Runs everything. Layers are processed in parallel (OpenMP, BLAS serial
/// inside); progress reports one event per finished layer. Throws InputError
/// naming the layer for NaN/Inf weights and for a reference tensor that is
/// missing or has another shape.
InspectReport inspect_weights(const std::string& path, const InspectOptions& options = {},
                              const ProgressCallback& progress = {});

/// SVG line plot of log10 sigma_i against log10 i (with the fitted power law).
std::string singular_value_svg(const std::string& title, const SpectrumDiagnostics& d);

}  // namespace lowrank::diagnostics
