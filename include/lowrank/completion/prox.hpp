#pragma once
// The proximal operator of the nuclear norm on any LinearOperator:
//
//   prox_{t ||.||_*}(A) = argmin_Z 1/2 ||Z - A||_F^2 + t ||Z||_*
//                       = U diag((sigma - t)_+) V^T       (Cai, Candes, Shen 2010, Thm 2.1)
//
// computed from a truncated SVD of A, never from a dense A, so A can be the
// soft-impute iterate "sparse residuals + low-rank fit" (SparsePlusLowRank) of
// any size. The rank of the answer is not known in advance: the SVD rank k
// starts at rank_hint + 2 (the previous iterate's rank plus a margin) and
// doubles while all k singular values exceed t, up to max_rank. Used by
// soft-impute (Svd variant); GAME has its own proximal steps (src/game).
#include <algorithm>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

template <class T>
struct SvtResult {
  Matrix<T> U;  ///< m x r, orthonormal columns
  Vector<T> d;  ///< r, the thresholded singular values (sigma - t), > 0, decreasing
  Matrix<T> V;  ///< n x r
  /// All max_rank computed singular values exceeded t: the answer is the
  /// best rank-max_rank approximation of the prox, not the prox itself.
  bool rank_capped = false;
  Index svd_rank = 0;               ///< rank of the last truncated SVD computed
  Status status = Status::Success;  ///< worst status of the SVDs computed
};

/// Singular value soft-thresholding of `op` at level t >= 0, keeping at most
/// max_rank (1 <= max_rank <= min(m, n)) components. Throws InvalidArgument
/// otherwise.
template <LinearOperator Op>
SvtResult<typename Op::Scalar> singular_value_threshold(const Op& op, double t, Index max_rank,
                                                        const TruncatedSvdOptions& svd_options = {},
                                                        Index rank_hint = 0) {
  using T = typename Op::Scalar;
  const Index cap = std::min<Index>(op.rows(), op.cols());
  if (!(t >= 0.0)) throw InvalidArgument("singular_value_threshold: threshold must be >= 0");
  if (max_rank < 1 || max_rank > cap) {
    throw InvalidArgument("singular_value_threshold: max_rank must be in [1, min(m, n)] = [1, " + std::to_string(cap) +
                          "] (got " + std::to_string(max_rank) + ")");
  }
  SvtResult<T> out;
  Index k = std::clamp<Index>(rank_hint + 2, 1, max_rank);
  SvdResult<T> svd;
  Index keep = 0;
  while (true) {
    svd = truncated_svd(op, k, svd_options);
    if (svd.status != Status::Success) out.status = svd.status;
    keep = 0;
    while (keep < svd.S.size() && static_cast<double>(svd.S(keep)) > t) ++keep;
    if (keep < k || k == max_rank) break;
    k = std::min<Index>(2 * k, max_rank);
  }
  out.svd_rank = k;
  out.rank_capped = keep == max_rank;
  out.U = svd.U.leftCols(keep);
  out.V = svd.V.leftCols(keep);
  out.d = svd.S.head(keep).array() - static_cast<T>(t);
  return out;
}

}  // namespace lowrank
