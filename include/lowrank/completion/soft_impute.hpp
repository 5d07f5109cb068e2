#pragma once
// Soft-impute: nuclear-norm regularised matrix completion.
//
// Minimises, over m x n matrices Z,
//
//   f(Z) = 1/2 ||P_Omega(X - Z)||_F^2 + lambda ||Z||_*              (MHT 2010, eq. 1)
//
// subject to rank(Z) <= max_rank. When the solution's rank is below max_rank
// this is the convex problem and both variants reach its unique minimum; R
// softImpute 1.4-3 (softImpute(x, rank.max, lambda, type)) solves the same
// problem and the tests compare objectives with it.
//
//   Svd  Mazumder, Hastie, Tibshirani (2010), "Spectral regularization
//        algorithms for learning large incomplete matrices", JMLR 11, Alg. 1:
//          Z <- S_lambda( P_Omega(X) + P_Omega^perp(Z) ),
//        where S_lambda soft-thresholds the singular values and the matrix in
//        brackets is applied as SparsePlusLowRank (observed residuals plus the
//        current fit, eq. 11): never a dense m x n matrix. Each iteration is
//        one truncated SVD (lowrank::truncated_svd) of rank ~ rank(Z) + a few.
//   Als  Hastie, Mazumder, Lee, Zadeh (2015), "Matrix completion and low-rank
//        SVD via fast alternating least squares", JMLR 16, Alg. 3.1: the
//        factored form Z = A B^T, A = U D, B = V D, alternating ridge
//        regressions on the filled-in matrix, each followed by an r x r SVD
//        that keeps U, V orthonormal; a final SVD step with soft-thresholding
//        gives exact zeros (R's final.svd). Cost per iteration O(|Omega| r +
//        (m + n) r^2).
//
// Objective reported in objective_trace: f(Z) at each iterate (for Als the
// factored objective at a balanced iterate, which equals f(Z)). Convergence:
// relative change of f below `tolerance`. Note that R softImpute stops on the
// relative change of Z instead (its `thresh`); a tight tolerance here
// corresponds to a tight thresh there.
//
// Rows or columns with no observed entry are allowed (reported in the result's
// empty_rows / empty_cols and warnings): the optimal Z is zero there.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lowrank/completion/biscale.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

enum class SoftImputeVariant { Svd, Als };
const char* to_string(SoftImputeVariant v) noexcept;
/// Parses "svd" | "als"; throws InvalidArgument.
SoftImputeVariant parse_soft_impute_variant(std::string_view name);

struct SoftImputeOptions {
  /// Nuclear-norm weight, >= 0 (R's lambda). lambda = 0 is hard-impute
  /// (rank max_rank, local minimum only). lambda >= lambda_max(data) gives
  /// Z = 0.
  double lambda = 0.0;
  /// Rank cap r >= 1 (R's rank.max); values above min(m, n) mean min(m, n).
  /// The one default of every front-end (`complete --rank`, SoftImpute's
  /// max_rank): large enough that on MovieLens-100k the cross-validated fit
  /// stays below it, small enough that a fit costs O(|Omega| 50) per sweep.
  Index max_rank = 50;
  SoftImputeVariant variant = SoftImputeVariant::Als;
  /// Relative change of the objective below which the solver stops.
  double tolerance = 1e-5;
  int max_iterations = 100;
  /// Als: finish with one unregularised step and soft-thresholding of its
  /// singular values (R's final.svd), which yields exact zeros.
  bool final_svd = true;
  /// Re-fit d by least squares on the observed entries after the solve, with
  /// U and V fixed (R's deBias()); undoes the shrinkage of the kept singular
  /// values. The objective trace is that of the regularised fit.
  bool debias = false;
  /// Centre and scale rows and columns first (biScale); the model carries the
  /// transformation and predicts on the original scale. Objective values are
  /// then those of the standardised problem.
  std::optional<BiScaleOptions> scaling;
  /// Svd variant: how each truncated SVD is computed (see svd.hpp; its
  /// accuracy bounds how far the objective can converge).
  TruncatedSvdOptions svd;
  /// Seed of the random orthonormal start (Als) and of the SVDs.
  std::uint64_t seed = 0;
  /// OpenMP threads for the O(|Omega| r) passes; 0 = OpenMP's default.
  int threads = 0;
  ProgressCallback progress;
};

template <class T>
using SoftImputeResult = CompletionResult<T>;

/// Fits soft-impute to the observed entries of `data`.
///
/// `warm_start` (optional) is a previous model of the same shape, e.g. the
/// fit at a larger lambda on a lambda path: its U, d, V seed the iteration
/// (padded with random orthonormal directions when its rank is below
/// max_rank, as R does). Its offsets and scales are ignored.
///
/// Throws InvalidArgument for lambda < 0, max_rank < 1,
/// bad tolerance / iteration options, an empty matrix or no observed entry,
/// an index out of range, a non-finite value, a duplicate (row, col) pair, or
/// a warm start of another shape.
template <class T>
SoftImputeResult<T> soft_impute(const ObservedEntries<T>& data, const SoftImputeOptions& options,
                                const CompletionModel<T>* warm_start = nullptr);

/// As soft_impute(), storing the solver's sparse matrix in `data`'s own
/// arrays instead of a copy of them (peak memory: one copy of the entries,
/// 12 + sizeof(T) bytes each, plus an 8-byte column index; docs/benchmarks.md).
/// On return, also after an exception, `data` holds the same entries sorted
/// by (row, col). Without biScale scaling and with every row and column
/// observed; otherwise it works on a copy like soft_impute().
template <class T>
SoftImputeResult<T> soft_impute_in_place(ObservedEntries<T>& data, const SoftImputeOptions& options,
                                         const CompletionModel<T>* warm_start = nullptr);

/// The smallest lambda for which soft-impute returns Z = 0: the largest
/// singular value of P_Omega(X) (after biScale standardisation if `scaling`
/// is given), computed by truncated_svd on the sparse operator.
template <class T>
double lambda_max(const ObservedEntries<T>& data, const std::optional<BiScaleOptions>& scaling = std::nullopt);

/// Least-squares re-fit of d with U, V fixed (R's deBias): minimises
/// sum_Omega (x_ij - sum_k U_ik d_k V_jk)^2 over d, then makes d >= 0 by
/// flipping columns of V and re-sorts. `values` are the observed values on
/// the model's standardised scale, aligned with row / col.
template <class T>
void debias_singular_values(CompletionModel<T>& model, const std::vector<std::int32_t>& row,
                            const std::vector<std::int32_t>& col, const std::vector<T>& values);

}  // namespace lowrank
