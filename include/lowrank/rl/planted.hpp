#pragma once
// Planted low-rank matrices and the paper's uniform sampling model, for
// tests, experiments and the bandit environment.
#include <cstdint>

#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"

namespace lowrank::rl {

struct PlantedMatrixOptions {
  Index rows = 100;
  Index cols = 100;
  Index rank = 2;
  /// sigma_1 / sigma_r; singular values are spaced linearly from sigma_1
  /// down to sigma_1 / condition_number. Must be >= 1.
  double condition_number = 1.0;
  /// Root-mean-square entry: the singular values are scaled so that
  /// ||M||_F = rms * sqrt(m n). Must be > 0.
  double rms = 1.0;
  std::uint64_t seed = 0;
};

/// M = U diag(d) V^T with U, V the Q factors of Gaussian m x r and n x r
/// matrices (hence incoherent with high probability: mu = O(log m)).
/// Throws InvalidArgument for non-positive sizes, rank outside
/// [1, min(m, n)], condition_number < 1 or rms <= 0.
template <class T>
LowRankModel<T> planted_low_rank(const PlantedMatrixOptions& options);

/// T = `samples` entries drawn i.i.d. uniformly from [m] x [n] with
/// replacement, each observed as M_ij + noise_sd * N(0, 1) (the paper's
/// reward-matrix model). Throws InvalidArgument if samples <= 0 or
/// noise_sd < 0.
template <class T>
ObservedEntries<T> sample_uniform(const LowRankModel<T>& m, std::int64_t samples, double noise_sd, std::uint64_t seed);

/// Coherence mu(U) = (m / r) max_i ||U_i||^2 of an m x r matrix with
/// orthonormal columns (1 <= mu <= m / r).
template <class T>
double coherence(const Matrix<T>& u);

}  // namespace lowrank::rl
