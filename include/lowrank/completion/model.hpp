#pragma once
// The fitted model every completion estimator returns, and the result struct
// they share.
//
// A model predicts entry (i, j) of an m x n matrix as
//
//   x_hat(i, j) = global_offset + row_offset(i) + col_offset(j)
//               + row_scale(i) * col_scale(j) * (U diag(d) V^T)(i, j)
//
// which covers the three ways the estimators centre the data:
//   - biScale centring and scaling (Hastie, Mazumder, Lee, Zadeh 2015, sec. 8):
//     offsets alpha, beta and scales tau, gamma, global_offset = 0;
//   - hard-rank ALS with biases (the LIBMF / Spark / Koren-Bell model):
//     global mean mu plus learned row and column biases, unit scales;
//   - no centring at all (R softImpute's default): everything empty.
// Empty offset or scale vectors mean 0 and 1 respectively.
//
// The low-rank part is always returned in SVD form: U and V have orthonormal
// columns and d is positive and decreasing, so rank() is meaningful and the
// nuclear norm is d.sum(). Hard-rank ALS converts its factors P Q^T to this
// form at the end (P = U sqrt(d), Q = V sqrt(d) recovers a balanced pair).
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

template <class T>
struct CompletionModel {
  Index rows = 0;  ///< m
  Index cols = 0;  ///< n
  Matrix<T> U;     ///< m x r, orthonormal columns
  Vector<T> d;     ///< r, positive, decreasing
  Matrix<T> V;     ///< n x r, orthonormal columns
  T global_offset = T(0);
  Vector<T> row_offset;  ///< m, or empty (= 0)
  Vector<T> col_offset;  ///< n, or empty (= 0)
  Vector<T> row_scale;   ///< m, or empty (= 1)
  Vector<T> col_scale;   ///< n, or empty (= 1)

  Index rank() const { return d.size(); }
  /// (U diag(d) V^T)(i, j): the low-rank part alone, before offsets/scales.
  T low_rank_entry(Index i, Index j) const;
  /// Prediction for entry (i, j); 0 <= i < rows, 0 <= j < cols (unchecked).
  T predict(Index i, Index j) const;
  /// Predictions for many (row, col) pairs, OpenMP-parallel. Throws
  /// InvalidArgument if the arrays differ in length or an index is outside
  /// the model's shape.
  std::vector<T> predict(const std::vector<std::int32_t>& row, const std::vector<std::int32_t>& col) const;
  /// The whole m x n completed matrix. O(m n) memory: small problems only.
  Matrix<T> to_dense() const;
  /// Checks a model that did not come from a solver (unpickled, loaded):
  /// rows, cols >= 0; U m x r, d of length r, V n x r; each offset or scale
  /// empty or of its length; every value finite. Throws InvalidArgument
  /// starting with `what` and naming the first inconsistency.
  void check(const std::string& what) const;
};

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

extern template struct CompletionModel<float>;
extern template struct CompletionModel<double>;

}  // namespace lowrank
