#pragma once
// Optimisers of the nn engine: AdamW (decoupled weight decay, Loshchilov &
// Hutter) with linear warm-up + cosine decay and global-norm gradient
// clipping; parameters of kind GaloreWeight keep their AdamW moments in a
// rank-r projection of the gradient (GaLore, Zhao et al. 2024): with
// G [m, n] and the top-r singular vectors of G refreshed every
// `galore_update_interval` steps, the projected gradient is R = P^T G
// (P = U_r, when m <= n) or R = G Q (Q = V_r, when m > n); Adam runs on R and
// the update is lr * galore_scale * P N (or N Q^T). Optional Muon
// (momentum, then the Newton-Schulz polar factor of it, Jordan et al. 2024)
// for 2-D weights. Or plain SGD (OptimizerOptions::sgd).
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/nn/linear.hpp"

namespace lowrank::nn {

/// The default warm-up, as a fraction of the run: 10 %, the SLTrain / GaLore
/// reference recipe's (1,100 of 11,000 steps; `--preset sltrain-reference`).
inline constexpr double kDefaultWarmupFraction = 0.1;

struct OptimizerOptions {
  double lr = 1e-3;
  double min_lr_ratio = 0.1;  ///< cosine floor as a fraction of lr
  /// Warm-up length in steps; -1 (the default) = kDefaultWarmupFraction of
  /// total_steps, so a short run is not all warm-up (the old fixed default,
  /// 100 steps, was half of a default 200-step run and all of a 50-step one).
  /// Checkpoints and configs that store a number keep it.
  std::int64_t warmup_steps = -1;
  /// Warm-up as a fraction of total_steps, in [0, 1); when > 0 it replaces
  /// warmup_steps (warmup() = round(fraction * total_steps)); 0 = use warmup_steps.
  double warmup_fraction = 0;
  std::int64_t total_steps = 2000;  ///< cosine horizon
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.1;                  ///< applies to ParamKind Weight, Sparse and GaloreWeight
  double grad_clip = 1.0;                     ///< global L2 norm; <= 0 disables
  std::int64_t galore_update_interval = 200;  ///< T in the GaLore paper
  double galore_scale = 0.25;                 ///< alpha in the GaLore paper
  bool muon = false;                          ///< Muon for 2-D Weight/GaloreWeight tensors (GaLore projection then off)
  /// Plain (stochastic) gradient descent for every tensor instead:
  /// w = w (1 - lr wd) - lr g (g after clipping; decay on the kinds above), no
  /// moments, so betas / eps / GaLore / Muon settings do not apply (muon must
  /// be off). What the NFA paper's reference code trains its MLPs with; with
  /// warmup 0 and min_lr_ratio 1 the step size is constant.
  bool sgd = false;
  double muon_momentum = 0.95;
  /// Throws InvalidArgument for a value out of range.
  void validate() const;
  /// Warm-up length in steps that learning_rate() uses: round(fraction *
  /// total_steps) when warmup_fraction > 0, else warmup_steps when >= 0, else
  /// round(kDefaultWarmupFraction * total_steps).
  std::int64_t warmup() const;
};

/// Learning rate at 0-based step: linear warm-up to lr over warmup() steps,
/// then cosine decay to min_lr_ratio * lr at total_steps (flat afterwards).
double learning_rate(const OptimizerOptions& o, std::int64_t step);

/// Per-tensor optimiser state; shapes depend on the kind (see optim.hpp).
template <class T>
struct ParamState {
  Act<T> m, v;         ///< first/second moments: full shape, or projected for GaLore
  Act<T> proj;         ///< GaLore basis: P [m, r] (left) or Q [n, r] (right); empty otherwise
  bool right = false;  ///< GaLore: project on the right (m > n)
};

template <class T>
class Optimizer {
 public:
  Optimizer() = default;
  Optimizer(const OptimizerOptions& options, const std::vector<ParamRef<T>>& params);
  const OptimizerOptions& options() const { return m_opt; }
  /// One update from the gradients in params (same order as at construction).
  /// Returns the gradient norm before clipping.
  double step(const std::vector<ParamRef<T>>& params);
  std::int64_t steps_taken() const { return m_step; }
  void set_steps_taken(std::int64_t s) { m_step = s; }
  /// Length of the cosine schedule (Trainer::set_steps decides when changing it is exact).
  void set_total_steps(std::int64_t n) { m_opt.total_steps = n; }
  std::vector<ParamState<T>>& state() { return m_state; }
  const std::vector<ParamState<T>>& state() const { return m_state; }
  /// Bytes of optimiser state currently held.
  std::size_t state_bytes() const;

 private:
  OptimizerOptions m_opt;
  std::vector<ParamState<T>> m_state;
  std::int64_t m_step = 0;
};

}  // namespace lowrank::nn
