#pragma once
// The one fitted low-rank model of lowrank (issue 27, item 2): soft-impute
// (both forms), ALS, robust ALS and robust PCA return it, and `lowrank
// predict` / `recommend`, Python and the model folder (io/completion_model)
// read it. It lives in core, below both completion (which fits it) and io
// (which saves it), so io needs no include of completion; the fitting,
// fold-in, recommendation and evaluation stay in completion/model.hpp, whose
// CompletionModel is this type under its older name.
//
// A model predicts entry (i, j) of an m x n matrix as
//
//   x_hat(i, j) = global_offset + row_offset(i) + col_offset(j)
//               + row_scale(i) * col_scale(j) * ((U diag(d) V^T)(i, j)
//                    + sum over groups g holding row i of (U_g diag(d_g) V_g^T)(p_g(i), j))
//               + S(i, j)
//
// which covers the three ways the estimators centre the data:
//   - biScale centring and scaling (Hastie, Mazumder, Lee, Zadeh 2015, sec. 8):
//     offsets alpha, beta and scales tau, gamma, global_offset = 0;
//   - hard-rank ALS with biases (the LIBMF / Spark / Koren-Bell model):
//     global mean mu plus learned row and column biases, unit scales;
//   - no centring at all (R softImpute's default): everything empty.
// Empty offset or scale vectors mean 0 and 1 respectively. S is the optional
// sparse part (robust PCA: D = L + S, Candes, Li, Ma, Wright 2011), stored as
// sorted (row, col, value) triplets; it is zero wherever it has no entry.
//
// The low-rank part is always returned in SVD form: U and V have orthonormal
// columns and d is positive and decreasing, so rank() is meaningful and the
// nuclear norm is d.sum(). Hard-rank ALS converts its factors P Q^T to this
// form at the end (P = U sqrt(d), Q = V sqrt(d) recovers a balanced pair).
//
// Group parts (GAME's Latent variant, G2 in game/game.hpp: Z = sum_k E_k Z_k)
// add, for each group g, a low-rank block U_g diag(d_g) V_g^T on the group's
// member rows (sorted; p_g(i) is row i's position among them), so a row's
// prediction is the shared part plus one part per group holding it. Every
// part, the shared one included, is a LowRankFactors: the one factor type of
// the fitted models (GAME's solvers keep their iterates in it as well).
// Methods without groups leave `groups` empty.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/types.hpp"

namespace lowrank {

/// U diag(d) V^T in SVD form: U (r columns) and V (n x r) with orthonormal
/// columns, d (length r) positive and decreasing.
template <class T>
struct LowRankFactors {
  Matrix<T> U;
  Vector<T> d;
  Matrix<T> V;
  Index rank() const { return d.size(); }
  /// (U diag(d) V^T)(i, j).
  T entry(Index i, Index j) const {
    T acc = 0;
    for (Index l = 0; l < d.size(); ++l) acc += U(i, l) * d(l) * V(j, l);
    return acc;
  }
};

/// One group's part of a model: U diag(d) V^T on the member rows (U has one
/// row per member, in `rows` order).
template <class T>
struct LowRankGroupPart : LowRankFactors<T> {
  std::string name;
  std::vector<Index> rows;  ///< member rows, sorted, unique, 0-based
  /// Position of `row` among the members, -1 when the group does not hold it.
  Index position(Index row) const {
    const auto it = std::lower_bound(rows.begin(), rows.end(), row);
    return it != rows.end() && *it == row ? static_cast<Index>(it - rows.begin()) : -1;
  }
};

/// A sparse m x n matrix as (row, col, value) triplets sorted by (row, col),
/// each pair at most once.
template <class T>
struct SparsePart {
  std::vector<std::int32_t> row;
  std::vector<std::int32_t> col;
  std::vector<T> value;
  std::size_t nnz() const { return value.size(); }
  bool empty() const { return value.empty(); }
};

template <class T>
struct LowRankModel {
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
  /// Predictions are clipped to [clip_low, clip_high] when clip_low <=
  /// clip_high, e.g. to the 1..5 range of the training ratings (`complete
  /// --clip`, clip_to_range); NaN (the default) = no clipping.
  T clip_low = std::numeric_limits<T>::quiet_NaN();
  T clip_high = std::numeric_limits<T>::quiet_NaN();
  /// Optional sparse part added to the prediction (robust PCA's outliers S
  /// on the observed entries); empty for every other method.
  SparsePart<T> sparse;
  /// External ids of the rows and columns (MovieLens user 196, a site
  /// name); empty = the index is the id.
  IdMap row_ids;
  IdMap col_ids;
  /// Per-group low-rank parts added to the shared one (GAME, Latent
  /// variant); empty for every other method.
  std::vector<LowRankGroupPart<T>> groups;

  /// Rank of the shared part (group parts have their own rank()).
  Index rank() const { return d.size(); }
  /// The shared rank plus every group part's.
  Index total_rank() const {
    Index r = d.size();
    for (const auto& g : groups) r += g.rank();
    return r;
  }
  bool clipped() const { return clip_low <= clip_high; }
  /// (U diag(d) V^T)(i, j) plus the group parts holding row i: the low-rank
  /// part alone, before offsets/scales.
  T low_rank_entry(Index i, Index j) const;
  /// The sparse part's value at (i, j), 0 when absent (binary search).
  T sparse_entry(Index i, Index j) const;
  /// Prediction for entry (i, j); 0 <= i < rows, 0 <= j < cols (unchecked).
  T predict(Index i, Index j) const;
  /// Predictions for many (row, col) pairs, OpenMP-parallel. Throws
  /// InvalidArgument if the arrays differ in length or an index is outside
  /// the model's shape.
  std::vector<T> predict(const std::vector<std::int32_t>& row, const std::vector<std::int32_t>& col) const;
  /// The whole m x n completed matrix. O(m n) memory: small problems only.
  Matrix<T> to_dense() const;
  /// U diag(d) V^T plus the group parts (no offsets, scales, sparse part or
  /// clipping).
  Matrix<T> low_rank_dense() const;
  /// Checks a model that did not come from a solver (unpickled, loaded):
  /// rows, cols >= 0; U m x r, d of length r, V n x r; each offset or scale
  /// empty or of its length; the sparse part sorted by (row, col), unique,
  /// in range; id maps empty or of size rows / cols; each group's rows
  /// sorted, unique and in range, its U |rows| x r_g, d of length r_g, V
  /// cols x r_g; every value finite. Throws InvalidArgument
  /// starting with `what` and naming the first inconsistency.
  void check(const std::string& what) const;
};

/// The same model in another precision (e.g. a float32 fit returned as double):
/// every field, the sparse part and the id maps included.
template <class U, class T>
LowRankModel<U> model_cast(LowRankModel<T>&& m) {
  LowRankModel<U> out;
  out.rows = m.rows;
  out.cols = m.cols;
  out.U = m.U.template cast<U>();
  out.d = m.d.template cast<U>();
  out.V = m.V.template cast<U>();
  out.global_offset = static_cast<U>(m.global_offset);
  out.row_offset = m.row_offset.template cast<U>();
  out.col_offset = m.col_offset.template cast<U>();
  out.row_scale = m.row_scale.template cast<U>();
  out.col_scale = m.col_scale.template cast<U>();
  out.clip_low = static_cast<U>(m.clip_low);
  out.clip_high = static_cast<U>(m.clip_high);
  out.sparse.row = std::move(m.sparse.row);
  out.sparse.col = std::move(m.sparse.col);
  out.sparse.value.assign(m.sparse.value.begin(), m.sparse.value.end());
  out.row_ids = std::move(m.row_ids);
  out.col_ids = std::move(m.col_ids);
  for (LowRankGroupPart<T>& g : m.groups) {
    LowRankGroupPart<U> c;
    c.U = g.U.template cast<U>();
    c.d = g.d.template cast<U>();
    c.V = g.V.template cast<U>();
    c.name = std::move(g.name);
    c.rows = std::move(g.rows);
    out.groups.push_back(std::move(c));
  }
  return out;
}

extern template struct LowRankModel<float>;
extern template struct LowRankModel<double>;

}  // namespace lowrank
