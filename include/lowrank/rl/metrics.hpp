#pragma once
// Error measures that matter when decisions hinge on single entries
// (Stojanovic, Jedra, Proutiere 2023, Section 3): the max entry-wise error
// and the two-to-infinity error of the singular subspaces, next to the usual
// spectral and Frobenius errors.
#include <limits>

#include "lowrank/core/low_rank_model.hpp"

namespace lowrank::rl {

struct EstimationErrors {
  double max_entry = 0.0;           ///< ||M^ - M||_max = max_ij |M^_ij - M_ij|
  double spectral = 0.0;            ///< ||M^ - M||_2
  double frobenius = 0.0;           ///< ||M^ - M||_F
  double relative_frobenius = 0.0;  ///< ||M^ - M||_F / ||M||_F
  /// ||U^ U^T^ - U U^T||_{2->inf} (max row norm) for the left and right
  /// singular subspaces; NaN when the estimate has no factors (a dense
  /// baseline) or a factor is missing.
  double two_to_infinity_left = std::numeric_limits<double>::quiet_NaN();
  double two_to_infinity_right = std::numeric_limits<double>::quiet_NaN();
};

/// ||A A^T - B B^T||_{2->inf} for A, B (m x r_a, m x r_b) with orthonormal
/// columns, in O(m (r_a + r_b)^2) without forming the m x m projectors: the
/// squared norm of row i is ||A_i||^2 + ||B_i||^2 - 2 A_i (A^T B) B_i^T.
/// Throws InvalidArgument on a row-count mismatch.
template <class T>
double two_to_infinity_projection_distance(const Matrix<T>& a, const Matrix<T>& b);

/// Errors of a factored estimate against a factored truth. U and V of both
/// must have orthonormal columns (as planted truths and SVD outputs do).
/// Spectral and Frobenius errors come from the (m x (r+r^)) and
/// (n x (r+r^)) stacked factors by two thin QRs, so M^ - M is never needed
/// densely for them; the max entry error is computed block by block.
/// Throws InvalidArgument if the shapes differ.
template <class T>
EstimationErrors estimation_errors(const LowRankModel<T>& truth, const LowRankModel<T>& estimate);

/// Errors of a dense estimate (e.g. the per-entry empirical mean or
/// soft-impute) against a factored truth; the subspace errors are NaN.
/// The spectral error is the top singular value of the dense difference.
template <class T>
EstimationErrors estimation_errors(const LowRankModel<T>& truth, const Matrix<T>& estimate);

}  // namespace lowrank::rl
