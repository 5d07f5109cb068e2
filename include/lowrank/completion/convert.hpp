#pragma once
// Conversions between completion results of different shapes.
#include "lowrank/completion/model.hpp"
#include "lowrank/core/observed_entries.hpp"

namespace lowrank {

/// A CompletionModel holding the best rank-`rank` approximation of a dense
/// matrix (e.g. robust PCA's L) in SVD form, so it can be saved and used by
/// `predict` like any other model. rank is clamped to [0, min(m, n)].
template <class T>
CompletionModel<T> model_from_dense(const Matrix<T>& low_rank, Index rank);

/// Means of the observed values: overall, per row and per column (NaN for a
/// row or column with no observed entry). The fallback predictions for ids
/// never seen in training.
struct ObservedMeans {
  double global = 0;
  Vector<double> row;
  Vector<double> col;
};
template <class T>
ObservedMeans observed_means(const ObservedEntries<T>& e);

}  // namespace lowrank
