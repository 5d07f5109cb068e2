#pragma once
// Row and column centring and scaling of a partially observed matrix: the
// biScale model of Hastie, Mazumder, Lee, Zadeh (2015), "Matrix completion
// and low-rank SVD via fast alternating least squares", JMLR 16, sec. 8
// (R softImpute's biScale()).
//
// The observed entries are modelled as
//
//   x_ij = alpha_i + beta_j + tau_i * gamma_j * z_ij,   (i, j) in Omega,
//
// and alpha, beta, tau, gamma are chosen so that the standardised z has, over
// its observed entries, zero mean and unit mean square in every row and every
// column (for the constraints switched on). There is no closed form; the
// parameters are found by the method-of-moments sweeps of R's
// centerScale() for "Incomplete" matrices, in the same order (column means,
// row means, column scales, row scales), so results match R to rounding:
//
//   beta_j  += gamma_j * sum_i z_ij / sum_i (1 / tau_i)        (i observed in col j)
//   alpha_i += tau_i   * sum_j z_ij / sum_j (1 / gamma_j)      (j observed in row i)
//   gamma_j *= sqrt(mean_i z_ij^2),  tau_i *= sqrt(mean_j z_ij^2)
//
// until  sum dalpha^2 + sum dbeta^2 + sum log(dtau)^2 + sum log(dgamma)^2 < tolerance.
//
// Documented deviations from R (which would produce NaN): a row or column with
// no observed entry keeps alpha = 0 (beta = 0) and scale 1; one whose
// standardised entries are all zero (e.g. a single observation after centring)
// keeps its scale, instead of being divided by zero.
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

struct BiScaleOptions {
  bool row_center = true;
  bool col_center = true;
  bool row_scale = true;
  bool col_scale = true;
  int max_iterations = 100;  ///< R's maxit (R's default is 20)
  double tolerance = 1e-9;   ///< R's thresh
};

template <class T>
struct BiScale {
  Vector<T> row_center;  ///< alpha, m
  Vector<T> col_center;  ///< beta, n
  Vector<T> row_scale;   ///< tau, m, > 0
  Vector<T> col_scale;   ///< gamma, n, > 0
  int iterations = 0;
  bool converged = false;

  /// z = (x - alpha_i - beta_j) / (tau_i gamma_j)
  T forward(Index i, Index j, T x) const { return (x - row_center(i) - col_center(j)) / (row_scale(i) * col_scale(j)); }
  /// x = alpha_i + beta_j + tau_i gamma_j z
  T inverse(Index i, Index j, T z) const { return row_center(i) + col_center(j) + row_scale(i) * col_scale(j) * z; }
  /// The standardised entries (same positions, ids and order).
  ObservedEntries<T> transform(const ObservedEntries<T>& x) const;
};

/// Fits the biScale parameters on the observed entries. Throws
/// InvalidArgument for an empty shape, an index out of range, a non-finite
/// value, max_iterations < 1 or tolerance < 0. Non-convergence is reported in
/// `converged`, not thrown (R warns).
template <class T>
BiScale<T> fit_biscale(const ObservedEntries<T>& x, const BiScaleOptions& options = {});

}  // namespace lowrank
