#include "lowrank/completion/model.hpp"

#include <cmath>
#include <string>

namespace lowrank {

template <class T>
T CompletionModel<T>::low_rank_entry(Index i, Index j) const {
  T acc = 0;
  for (Index l = 0; l < d.size(); ++l) acc += U(i, l) * d(l) * V(j, l);
  return acc;
}

template <class T>
T CompletionModel<T>::predict(Index i, Index j) const {
  T z = low_rank_entry(i, j);
  if (row_scale.size() > 0) z *= row_scale(i);
  if (col_scale.size() > 0) z *= col_scale(j);
  T x = global_offset + z;
  if (row_offset.size() > 0) x += row_offset(i);
  if (col_offset.size() > 0) x += col_offset(j);
  return x;
}

template <class T>
std::vector<T> CompletionModel<T>::predict(const std::vector<std::int32_t>& row,
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
  // U diag(d) and V transposed so each prediction reads two contiguous columns.
  const Matrix<T> ud_t = (U * d.asDiagonal()).transpose();
  const Matrix<T> v_t = V.transpose();
  const Index r = d.size();
  const std::int64_t n = static_cast<std::int64_t>(row.size());
#pragma omp parallel for schedule(static) if (n > 100000)
  for (std::int64_t k = 0; k < n; ++k) {
    const Index i = row[static_cast<std::size_t>(k)], j = col[static_cast<std::size_t>(k)];
    T z = r > 0 ? ud_t.col(i).dot(v_t.col(j)) : T(0);
    if (row_scale.size() > 0) z *= row_scale(i);
    if (col_scale.size() > 0) z *= col_scale(j);
    T x = global_offset + z;
    if (row_offset.size() > 0) x += row_offset(i);
    if (col_offset.size() > 0) x += col_offset(j);
    out[static_cast<std::size_t>(k)] = x;
  }
  return out;
}

template <class T>
Matrix<T> CompletionModel<T>::to_dense() const {
  Matrix<T> z = Matrix<T>::Zero(rows, cols);
  if (d.size() > 0) z.noalias() = U * d.asDiagonal() * V.transpose();
  if (row_scale.size() > 0) z = row_scale.asDiagonal() * z;
  if (col_scale.size() > 0) z = z * col_scale.asDiagonal();
  z.array() += global_offset;
  if (row_offset.size() > 0) z.colwise() += row_offset;
  if (col_offset.size() > 0) z.rowwise() += col_offset.transpose();
  return z;
}

template <class T>
ErrorMetrics evaluate(const CompletionModel<T>& model, const ObservedEntries<T>& entries) {
  if (entries.rows != model.rows || entries.cols != model.cols) {
    throw InvalidArgument("evaluate: entries are " + std::to_string(entries.rows) + " x " +
                          std::to_string(entries.cols) + " but the model is " + std::to_string(model.rows) +
                          " x " + std::to_string(model.cols));
  }
  if (entries.value.size() != entries.row.size()) {
    throw InvalidArgument("evaluate: row, col and value arrays differ in length");
  }
  const std::vector<T> pred = model.predict(entries.row, entries.col);
  ErrorMetrics m;
  m.count = pred.size();
  double se = 0.0, ae = 0.0;
  for (std::size_t k = 0; k < pred.size(); ++k) {
    const double e = static_cast<double>(entries.value[k]) - static_cast<double>(pred[k]);
    se += e * e;
    ae += std::abs(e);
  }
  if (m.count > 0) {
    m.rmse = std::sqrt(se / static_cast<double>(m.count));
    m.mae = ae / static_cast<double>(m.count);
  }
  return m;
}

template <class T>
void CompletionModel<T>::check(const std::string& what) const {
  auto shape = [](Index r, Index c) { return std::to_string(r) + " x " + std::to_string(c); };
  if (rows < 0 || cols < 0) throw InvalidArgument(what + ": negative shape " + shape(rows, cols));
  const Index r = d.size();
  if (U.rows() != rows || U.cols() != r)
    throw InvalidArgument(what + ": U is " + shape(U.rows(), U.cols()) + ", a " + shape(rows, cols) + " model of rank " +
                          std::to_string(r) + " needs " + shape(rows, r));
  if (V.rows() != cols || V.cols() != r)
    throw InvalidArgument(what + ": V is " + shape(V.rows(), V.cols()) + ", a " + shape(rows, cols) + " model of rank " +
                          std::to_string(r) + " needs " + shape(cols, r));
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
}

template struct CompletionModel<float>;
template struct CompletionModel<double>;
template ErrorMetrics evaluate<float>(const CompletionModel<float>&, const ObservedEntries<float>&);
template ErrorMetrics evaluate<double>(const CompletionModel<double>&, const ObservedEntries<double>&);

}  // namespace lowrank
