#pragma once
// Training loop of the engine's MLPs (nn::Mlp): mean squared error
// (1/2N) sum_i ||f(x_i) - y_i||^2 (mse_forward), minibatches drawn uniformly
// with replacement (or the full batch), one nn::Optimizer (AdamW, Muon or
// plain SGD, optim.hpp). The GPT Trainer (train.hpp) owns data files and
// checkpoints; an MLP run is a matrix in and the trained model out, for the
// NFA experiments (diagnostics/nfa.hpp, experiments/nfa/) and tests.
#include <cstdint>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/nn/model.hpp"
#include "lowrank/nn/optim.hpp"

namespace lowrank::nn {

struct MlpTrainOptions {
  OptimizerOptions optim;         ///< optim.total_steps is the cosine horizon (set it to steps for one cycle)
  std::int64_t steps = 1000;      ///< updates
  Index batch = 0;                ///< rows per step, drawn with replacement; 0 = every row (full-batch descent)
  std::uint64_t seed = 0;         ///< minibatch draws (the model's initialisation is MlpConfig::seed)
  std::int64_t log_interval = 0;  ///< a progress event every this many steps; 0 = 100 events per run
  /// Throws InvalidArgument for steps < 0, batch < 0, log_interval < 0 or bad optimiser options.
  void validate() const;
};

struct MlpTrainResult {
  Status status =
      Status::Success;  ///< NumericalIssue on a NaN/Inf loss (stopped before that update), Interrupted on Ctrl-C
  std::int64_t steps_done = 0;
  double last_loss = 0;  ///< loss of the last batch before its update
  double elapsed_s = 0;
};

/// Trains `model` in place on inputs x [N, in] and targets y [N, out]. Throws
/// InvalidArgument for shapes that do not fit the model or no rows; InputError
/// is not used (the caller names the source of x and y).
template <class T>
MlpTrainResult train_mlp(Mlp<T>& model, const Act<T>& x, const Act<T>& y, const MlpTrainOptions& options,
                         const ProgressCallback& progress = {});

}  // namespace lowrank::nn
