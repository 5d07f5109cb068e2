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

/// The same model with its group parts (GAME's Latent components) folded
/// into the shared U diag(d) V^T: one SVD of rank at most the sum of the
/// parts' ranks (numerically zero directions dropped), the matrix a grouped
/// model predicts as one low-rank part, e.g. for its rank. Offsets, scales,
/// the sparse part, ids and clipping are kept. No m x n array: the stacked
/// factors [U diag(d), E_g U_g diag(d_g), ...] and [V, V_g, ...] are reduced
/// by two thin QRs and an SVD of the small core.
template <class T>
CompletionModel<T> collapse_groups(const CompletionModel<T>& model);

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
