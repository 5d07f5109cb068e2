#pragma once
// Norms and effective ranks computed from singular values.
//
// All functions take the singular values (any order, all >= 0) so one SVD
// serves every measure; overloads taking a matrix compute them first.
// A negative or NaN singular value throws InvalidArgument. Sums are formed in
// double on values scaled by sigma_max, so they neither overflow nor
// underflow. Every measure of the zero matrix (or of an empty list) is 0.
#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// sum_i sigma_i^p, for p in (0, inf). p < 1 gives the Schatten quasi-norm's
/// p-th power (the quantity that tends to the rank as p -> 0). Throws
/// InvalidArgument for p <= 0, p = inf or NaN.
template <class T>
double schatten_p_sum(const Vector<T>& sv, double p);
/// (sum_i sigma_i^p)^(1/p) for p in (0, inf); p = +inf gives sigma_max.
/// Throws InvalidArgument for p <= 0 or NaN.
template <class T>
double schatten_norm(const Vector<T>& sv, double p);
template <class T>
double nuclear_norm(const Vector<T>& sv);  // p = 1
template <class T>
double frobenius_norm(const Vector<T>& sv);  // p = 2
template <class T>
double spectral_norm(const Vector<T>& sv);  // p = inf

/// Number of sigma_i > tol. tol < 0 uses numpy.linalg.matrix_rank's default
/// sigma_max * max(m, n) * eps(T); rows, cols are the matrix's shape.
template <class T>
Index numerical_rank(const Vector<T>& sv, Index rows, Index cols, double tol = -1);
/// ||A||_F^2 / ||A||_2^2 (0 for the zero matrix).
template <class T>
double stable_rank(const Vector<T>& sv);
/// Roy & Vetterli (2007): exp(H(p)), p_i = sigma_i / sum_j sigma_j.
template <class T>
double entropy_rank(const Vector<T>& sv);
/// (sum sigma_i^2)^2 / sum sigma_i^4: participation ratio of the eigenvalues
/// sigma_i^2 of A^T A.
template <class T>
double participation_ratio(const Vector<T>& sv);
/// Smallest k with sum_{i<=k} sigma_i^2 >= fraction * sum_i sigma_i^2
/// (sigma sorted decreasing). Throws InvalidArgument unless fraction is in [0, 1].
template <class T>
Index energy_rank(const Vector<T>& sv, double fraction);
/// ||A - A_k||_F / ||A||_F for the best rank-k approximation A_k
/// (Eckart-Young): sqrt(sum_{i>k} sigma_i^2 / sum_i sigma_i^2), sigma sorted
/// decreasing; 0 for k >= the number of values. Throws InvalidArgument for k < 0.
template <class T>
double best_rank_k_relative_error(const Vector<T>& sv, Index k);

struct EffectiveRanks {
  Index numerical = 0;
  double stable = 0;
  double entropy = 0;
  double participation_ratio = 0;
  Index energy_90 = 0;
  Index energy_99 = 0;
};
/// All effective ranks at once; numerical uses the default tolerance.
template <class T>
EffectiveRanks effective_ranks(const Vector<T>& sv, Index rows, Index cols);

/// Matrix overloads: all singular values by LAPACK gesdd, then the measure.
template <class T>
double schatten_norm(const Matrix<T>& a, double p);
template <class T>
EffectiveRanks effective_ranks(const Matrix<T>& a);

}  // namespace lowrank
