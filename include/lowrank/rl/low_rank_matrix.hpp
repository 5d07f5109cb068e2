#pragma once
// A matrix held by its thin SVD factors, M = U diag(S) V^T.
#include "lowrank/linalg/types.hpp"

namespace lowrank::rl {

/// M = U diag(S) V^T with U: m x r, S: r, V: n x r. Planted truths have
/// orthonormal U and V; estimates returned by the spectral estimator too.
/// r = 0 is the zero matrix of shape rows x cols. The same factor form as
/// core's LowRankModel without its offsets, sparse part, clipping and id maps;
/// not yet folded into it (see docs/completion.md, "The model").
template <class T>
struct LowRankMatrix {
  Matrix<T> U;  ///< m x r
  Vector<T> S;  ///< r
  Matrix<T> V;  ///< n x r

  Index rows() const { return U.rows(); }
  Index cols() const { return V.rows(); }
  Index rank() const { return S.size(); }
  /// Entry (i, j) in O(r).
  T entry(Index i, Index j) const {
    T s = 0;
    for (Index k = 0; k < S.size(); ++k) s += U(i, k) * S(k) * V(j, k);
    return s;
  }
  /// The dense m x n matrix (O(m n r)).
  Matrix<T> dense() const {
    if (S.size() == 0) return Matrix<T>::Zero(U.rows(), V.rows());
    return U * S.asDiagonal() * V.transpose();
  }
};

}  // namespace lowrank::rl
