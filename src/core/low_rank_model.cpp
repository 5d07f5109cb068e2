#include "lowrank/core/low_rank_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace lowrank {

template <class T>
T LowRankModel<T>::low_rank_entry(Index i, Index j) const {
  T acc = 0;
  for (Index l = 0; l < d.size(); ++l) acc += U(i, l) * d(l) * V(j, l);
  for (const LowRankGroupPart<T>& g : groups) {
    if (g.rank() == 0) continue;
    const Index p = g.position(i);
    if (p >= 0) acc += g.entry(p, j);
  }
  return acc;
}

namespace {

// Adds each group part's U_g diag(d_g) V_g^T to the rows of z it holds.
template <class T>
void add_group_parts(const LowRankModel<T>& m, Matrix<T>& z) {
  for (const LowRankGroupPart<T>& g : m.groups) {
    if (g.rank() == 0) continue;
    const Matrix<T> block = g.U * g.d.asDiagonal() * g.V.transpose();
    for (std::size_t p = 0; p < g.rows.size(); ++p) z.row(g.rows[p]) += block.row(static_cast<Index>(p));
  }
}

// Entry (i, j) from its low-rank value z: scales, offsets, the sparse part,
// then clipping, in the order every predict uses.
template <class T>
T finish_prediction(const LowRankModel<T>& m, Index i, Index j, T z) {
  if (m.row_scale.size() > 0) z *= m.row_scale(i);
  if (m.col_scale.size() > 0) z *= m.col_scale(j);
  T x = m.global_offset + z;
  if (m.row_offset.size() > 0) x += m.row_offset(i);
  if (m.col_offset.size() > 0) x += m.col_offset(j);
  if (!m.sparse.empty()) x += m.sparse_entry(i, j);
  return m.clipped() ? std::clamp(x, m.clip_low, m.clip_high) : x;
}

}  // namespace

template <class T>
T LowRankModel<T>::predict(Index i, Index j) const {
  return finish_prediction(*this, i, j, low_rank_entry(i, j));
}

template <class T>
T LowRankModel<T>::sparse_entry(Index i, Index j) const {
  const auto key = std::make_pair(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j));
  std::size_t lo = 0, hi = sparse.nnz();
  while (lo < hi) {  // first triplet with (row, col) >= (i, j)
    const std::size_t mid = lo + (hi - lo) / 2;
    if (std::make_pair(sparse.row[mid], sparse.col[mid]) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < sparse.nnz() && sparse.row[lo] == key.first && sparse.col[lo] == key.second ? sparse.value[lo] : T(0);
}

template <class T>
std::vector<T> LowRankModel<T>::predict(const std::vector<std::int32_t>& row,
                                        const std::vector<std::int32_t>& col) const {
  if (row.size() != col.size()) throw InvalidArgument("predict: row and col arrays differ in length");
  for (std::size_t k = 0; k < row.size(); ++k) {
    if (row[k] < 0 || row[k] >= rows || col[k] < 0 || col[k] >= cols) {
      throw InvalidArgument("predict: pair " + std::to_string(k) + " (" + std::to_string(row[k]) + ", " +
                            std::to_string(col[k]) + ") is outside the " + std::to_string(rows) + " x " +
                            std::to_string(cols) + " model");
    }
  }
  std::vector<T> out(row.size());
  // Each prediction is the dot of two contiguous length-r vectors, (U diag(d))
  // row i and V row j. Only the shorter side is transposed whole; the other
  // side's row is gathered per entry into a small buffer (reused while the
  // row repeats), so scoring costs O(min(m, n) r) memory, not (m + n) r: at
  // 10^7 entries the m x r copy was the CLI's peak (issue 32). Same products
  // and the same dot, so the same values to the last bit.
  const Index r = d.size();
  // Group parts: per group, U_g diag(d_g) and V_g transposed (a group's
  // factors are small beside the shared ones), and each model row's
  // position among the members (-1 = not a member).
  struct Part {
    Matrix<T> ud_t, v_t;
    std::vector<std::int32_t> where;
  };
  std::vector<Part> parts;
  for (const LowRankGroupPart<T>& g : groups) {
    if (g.rank() == 0) continue;
    Part q{(g.U * g.d.asDiagonal()).transpose(), g.V.transpose(),
           std::vector<std::int32_t>(static_cast<std::size_t>(rows), -1)};
    for (std::size_t p = 0; p < g.rows.size(); ++p)
      q.where[static_cast<std::size_t>(g.rows[p])] = static_cast<std::int32_t>(p);
    parts.push_back(std::move(q));
  }
  const bool tall = U.rows() >= V.rows();
  const Matrix<T> side_t = tall ? Matrix<T>(V.transpose()) : Matrix<T>((U * d.asDiagonal()).transpose());
  const std::int64_t n = static_cast<std::int64_t>(row.size());
#pragma omp parallel if (n > 100000)
  {
    Vector<T> buf(r);
    Index held = -1;
#pragma omp for schedule(static)
    for (std::int64_t k = 0; k < n; ++k) {
      const Index i = row[static_cast<std::size_t>(k)], j = col[static_cast<std::size_t>(k)];
      T z = T(0);
      if (r > 0) {
        const Index g = tall ? i : j;  // the gathered side's row
        if (g != held) {
          if (tall) buf = U.row(i).transpose().cwiseProduct(d);
          else buf = V.row(j).transpose();
          held = g;
        }
        z = tall ? buf.dot(side_t.col(j)) : side_t.col(i).dot(buf);
      }
      for (const Part& q : parts) {
        const std::int32_t p = q.where[static_cast<std::size_t>(i)];
        if (p >= 0) z += q.ud_t.col(p).dot(q.v_t.col(j));
      }
      out[static_cast<std::size_t>(k)] = finish_prediction(*this, i, j, z);
    }
  }
  return out;
}

template <class T>
Matrix<T> LowRankModel<T>::to_dense() const {
  Matrix<T> z = Matrix<T>::Zero(rows, cols);
  if (d.size() > 0) z.noalias() = U * d.asDiagonal() * V.transpose();
  add_group_parts(*this, z);
  if (row_scale.size() > 0) z = row_scale.asDiagonal() * z;
  if (col_scale.size() > 0) z = z * col_scale.asDiagonal();
  z.array() += global_offset;
  if (row_offset.size() > 0) z.colwise() += row_offset;
  if (col_offset.size() > 0) z.rowwise() += col_offset.transpose();
  for (std::size_t k = 0; k < sparse.nnz(); ++k) z(sparse.row[k], sparse.col[k]) += sparse.value[k];
  if (clipped()) z = z.cwiseMax(clip_low).cwiseMin(clip_high);
  return z;
}

template <class T>
Matrix<T> LowRankModel<T>::low_rank_dense() const {
  Matrix<T> z = Matrix<T>::Zero(rows, cols);
  if (d.size() > 0) z.noalias() = U * d.asDiagonal() * V.transpose();
  add_group_parts(*this, z);
  return z;
}

template <class T>
void LowRankModel<T>::check(const std::string& what) const {
  auto shape = [](Index r, Index c) { return std::to_string(r) + " x " + std::to_string(c); };
  if (rows < 0 || cols < 0) throw InvalidArgument(what + ": negative shape " + shape(rows, cols));
  const Index r = d.size();
  if (U.rows() != rows || U.cols() != r)
    throw InvalidArgument(what + ": U is " + shape(U.rows(), U.cols()) + ", a " + shape(rows, cols) +
                          " model of rank " + std::to_string(r) + " needs " + shape(rows, r));
  if (V.rows() != cols || V.cols() != r)
    throw InvalidArgument(what + ": V is " + shape(V.rows(), V.cols()) + ", a " + shape(rows, cols) +
                          " model of rank " + std::to_string(r) + " needs " + shape(cols, r));
  auto vec = [&](const Vector<T>& v, Index n, const char* name) {
    if (v.size() != 0 && v.size() != n)
      throw InvalidArgument(what + ": " + name + " has length " + std::to_string(v.size()) + ", expected " +
                            std::to_string(n) + " or 0");
  };
  vec(row_offset, rows, "row_offset");
  vec(col_offset, cols, "col_offset");
  vec(row_scale, rows, "row_scale");
  vec(col_scale, cols, "col_scale");
  auto finite = [&](const auto& m, const char* name) {
    if (!m.allFinite()) throw InvalidArgument(what + ": " + name + " holds a NaN or infinite value");
  };
  finite(U, "U");
  finite(d, "d");
  finite(V, "V");
  finite(row_offset, "row_offset");
  finite(col_offset, "col_offset");
  finite(row_scale, "row_scale");
  finite(col_scale, "col_scale");
  if (!std::isfinite(static_cast<double>(global_offset))) throw InvalidArgument(what + ": global_offset is not finite");
  const std::size_t s = sparse.nnz();
  if (sparse.row.size() != s || sparse.col.size() != s)
    throw InvalidArgument(what + ": the sparse part's row, col and value arrays differ in length");
  for (std::size_t k = 0; k < s; ++k) {
    if (sparse.row[k] < 0 || sparse.row[k] >= rows || sparse.col[k] < 0 || sparse.col[k] >= cols)
      throw InvalidArgument(what + ": sparse entry " + std::to_string(k) + " (" + std::to_string(sparse.row[k]) + ", " +
                            std::to_string(sparse.col[k]) + ") is outside the " + shape(rows, cols) + " model");
    if (k > 0 && std::make_pair(sparse.row[k - 1], sparse.col[k - 1]) >= std::make_pair(sparse.row[k], sparse.col[k]))
      throw InvalidArgument(what + ": sparse entries must be sorted by (row, col) without repeats (entry " +
                            std::to_string(k) + ")");
    if (!std::isfinite(static_cast<double>(sparse.value[k])))
      throw InvalidArgument(what + ": sparse entry " + std::to_string(k) + " is not finite");
  }
  if (!row_ids.empty() && static_cast<Index>(row_ids.size()) != rows)
    throw InvalidArgument(what + ": " + std::to_string(row_ids.size()) + " row ids for " + std::to_string(rows) +
                          " rows");
  if (!col_ids.empty() && static_cast<Index>(col_ids.size()) != cols)
    throw InvalidArgument(what + ": " + std::to_string(col_ids.size()) + " column ids for " + std::to_string(cols) +
                          " columns");
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const LowRankGroupPart<T>& g = groups[k];
    const std::string gw = what + ": group " + std::to_string(k) + " ('" + g.name + "')";
    for (std::size_t p = 0; p < g.rows.size(); ++p) {
      if (g.rows[p] < 0 || g.rows[p] >= rows)
        throw InvalidArgument(gw + ": member row " + std::to_string(g.rows[p]) + " is outside the " +
                              shape(rows, cols) + " model");
      if (p > 0 && g.rows[p - 1] >= g.rows[p])
        throw InvalidArgument(gw + ": member rows must be sorted without repeats (position " + std::to_string(p) + ")");
    }
    const Index gr = g.d.size(), gm = static_cast<Index>(g.rows.size());
    if (g.U.rows() != gm || g.U.cols() != gr)
      throw InvalidArgument(gw + ": U is " + shape(g.U.rows(), g.U.cols()) + ", " + std::to_string(gm) +
                            " member rows at rank " + std::to_string(gr) + " need " + shape(gm, gr));
    if (g.V.rows() != cols || g.V.cols() != gr)
      throw InvalidArgument(gw + ": V is " + shape(g.V.rows(), g.V.cols()) + ", expected " + shape(cols, gr));
    if (!g.U.allFinite() || !g.d.allFinite() || !g.V.allFinite())
      throw InvalidArgument(gw + ": holds a NaN or infinite value");
  }
}

template struct LowRankModel<float>;
template struct LowRankModel<double>;

}  // namespace lowrank
