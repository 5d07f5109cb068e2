#pragma once
// The fitted model every completion estimator returns, and the result struct
// they share.
//
// The model type itself, LowRankModel, lives in core/low_rank_model.hpp
// (below io, which saves it); CompletionModel is its name here. This header
// adds what the completion methods do with a model: clipping, fold-in,
// recommendation and evaluation, and the result struct they share.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// The fitted model (core/low_rank_model.hpp): factors in SVD form,
/// optional offsets and scales, an optional sparse part and id maps.
template <class T>
using CompletionModel = LowRankModel<T>;

/// Sets model.clip_low / clip_high to the smallest and largest observed
/// value of `entries` (no change when there are none).
template <class T>
void clip_to_range(CompletionModel<T>& model, const ObservedEntries<T>& entries);

/// Fold-in: the fitted values of rows that were not in the fit, with the
/// column factors held fixed (the inductive use of a transductive fit). New
/// row i with observed entries O_i (in `rows`, rows.cols == model.cols) gets
///   a_i = argmin_a ||r_O - B_O a||^2 + lambda ||a||^2,   B = diag(col_scale) V diag(d)^(1/2),
///   r_j = x_ij - global_offset - col_offset_j - b_i,
/// the row step of soft-impute's ALS form (Hastie, Mazumder, Lee, Zadeh
/// 2015, section 3: ½||P(X - AB^T)||^2 + λ/2 (||A||^2 + ||B||^2), whose
/// solution has B = V D^(1/2)); b_i (only when the model has row offsets) is
/// the mean of x - global_offset - col_offset over O_i, and the row scale is
/// 1. Returns the rows.rows x model.cols matrix of fitted values (clipped as
/// the model clips); a row with no observed entry gets the offsets alone.
/// Throws InvalidArgument when the column counts differ or lambda < 0.
template <class T>
Matrix<T> fold_in(const CompletionModel<T>& model, const ObservedEntries<T>& rows, double lambda);

/// One recommended column (item) and its predicted value.
struct Recommendation {
  Index col = 0;
  double score = 0.0;
};

/// How many items `lowrank recommend` and Python's recommend list by default.
inline constexpr Index kDefaultRecommendations = 10;

/// The `k` columns with the highest prediction in row `row`, best first
/// (ties: lower column first), leaving out the columns in `exclude` (e.g. the
/// items the user already rated). Fewer than k when fewer columns remain.
/// Throws InvalidArgument for a row or an excluded column outside the model.
template <class T>
std::vector<Recommendation> recommend(const CompletionModel<T>& model, Index row, Index k,
                                      const std::vector<std::int32_t>& exclude = {});

/// Prediction errors of a model on a set of entries (e.g. a held-out split).
struct ErrorMetrics {
  double rmse = 0.0;
  double mae = 0.0;
  std::size_t count = 0;
};

/// RMSE and MAE of `model` on `entries`. Throws InvalidArgument if the
/// entries' shape differs from the model's or an index is out of range.
template <class T>
ErrorMetrics evaluate(const CompletionModel<T>& model, const ObservedEntries<T>& entries);

/// What every completion estimator (soft-impute, ALS, robust ALS) returns.
template <class T>
struct CompletionResult {
  CompletionModel<T> model;
  /// Objective after each iteration, in the estimator's own definition (see
  /// its header); the last value is that of `model`.
  std::vector<double> objective_trace;
  int iterations = 0;
  Status status = Status::Success;
  double elapsed_s = 0.0;
  /// The regularisation actually used (soft-impute: the nuclear-norm weight;
  /// ALS: the L2 weight).
  double lambda = 0.0;
  /// Robust ALS only: the residual clipping threshold c in use at the end.
  double clip_threshold = 0.0;
  /// Rows / columns of the input with no observed entry. Not an error: their
  /// factors are (near) zero and their predictions fall back to the offsets;
  /// a message is added to `warnings`.
  Index empty_rows = 0;
  Index empty_cols = 0;
  std::vector<std::string> warnings;
};

}  // namespace lowrank
