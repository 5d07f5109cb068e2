#pragma once
// Robust PCA by principal component pursuit (Candes, Li, Ma, Wright 2011),
// solved by the inexact augmented Lagrange multiplier method of Lin, Chen, Ma
// (2010), "The augmented Lagrange multiplier method for exact recovery of
// corrupted low-rank matrices", arXiv:1009.5055, Algorithm 5.
//
//   min ||L||_* + lambda ||P_Omega(S)||_1   s.t.  P_Omega(D) = P_Omega(L + S)
//
// Fully observed: Omega is everything. Partially observed: S is left free
// (unpenalised) outside Omega, which turns the constraint into D~ = L + S with
// D~ = P_Omega(D), so the same iteration applies (Candes et al. 2011, sec. 1.6):
//
//   S <- shrink_{lambda/mu}(D~ - L + Y/mu)   on Omega;  D~ - L + Y/mu  off Omega
//   L <- SVT_{1/mu}(D~ - S + Y/mu)                      (full SVD of an m x n matrix)
//   Y <- Y + mu (D~ - L - S),   mu <- min(rho mu, mu_max)
//
// from Y_0 = D~ / max(||D~||_2, ||D~||_inf / lambda), mu_0 = 1.25 / ||D~||_2,
// rho = 1.5, mu_max = 1e7 mu_0 (the authors' reference code), stopping when
// ||D~ - L - S||_F / ||D~||_F < tolerance.
//
// Defaults: lambda = 1 / sqrt(p max(m, n)), p = |Omega| / (m n) the observed
// fraction; for p = 1 this is the 1/sqrt(max(m, n)) of Candes et al. (2011),
// and for p < 1 it is their 1/sqrt(0.1 n) rule at p = 0.1 (Thm 1.2).
//
// Cost: one dense m x n SVD (LAPACK gesdd via lowrank::full_svd) per iteration (typically 20 - 60 iterations), so
// this is for matrices that fit in memory as dense, not for 10^5 x 10^4.
#include <optional>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

struct RobustPcaOptions {
  /// Weight of ||S||_1, > 0; unset = 1 / sqrt(p max(m, n)).
  std::optional<double> lambda;
  /// Initial penalty mu_0 > 0; unset = 1.25 / ||D~||_2.
  std::optional<double> mu;
  /// Growth factor of mu per iteration, > 1.
  double rho = 1.5;
  /// mu_max = mu_max_factor * mu_0.
  double mu_max_factor = 1e7;
  /// Stop when ||D~ - L - S||_F / ||D~||_F < tolerance.
  double tolerance = 1e-7;
  int max_iterations = 1000;
  ProgressCallback progress;
};

template <class T>
struct RobustPcaResult {
  /// L in SVD form (model.U, model.d, model.V: the last singular value
  /// thresholding) and S as its sparse part (the nonzeros of S on Omega), so
  /// model.predict(i, j) = L(i, j) + S(i, j): on unobserved entries the
  /// completion, on observed ones the data's fit. model.low_rank_dense() is
  /// L, model.to_dense() is L + S (no dense m x n matrix is kept).
  LowRankModel<T> model;
  Index rank = 0;  ///< rank of L (number of singular values kept)
  /// ||L||_* + lambda ||P_Omega(S)||_1 after each iteration.
  std::vector<double> objective_trace;
  /// ||D~ - L - S||_F / ||D~||_F after each iteration.
  std::vector<double> residual_trace;
  int iterations = 0;
  Status status = Status::Success;
  double lambda = 0.0;
  double elapsed_s = 0.0;
};

/// PCP of a dense matrix; NaN entries are treated as unobserved.
/// Throws InvalidArgument for an empty matrix, an infinite entry, an
/// all-missing or all-zero matrix, lambda <= 0, mu <= 0, rho <= 1,
/// mu_max_factor < 1 or bad tolerance / iteration options.
template <class T>
RobustPcaResult<T> robust_pca(const Matrix<T>& d, const RobustPcaOptions& options = {});

/// PCP of observed entries (densified: O(m n) memory). Same errors, plus
/// index out of range, non-finite values and duplicate (row, col) pairs.
template <class T>
RobustPcaResult<T> robust_pca(const ObservedEntries<T>& d, const RobustPcaOptions& options = {});

}  // namespace lowrank
