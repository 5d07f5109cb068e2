#include "lowrank/completion/model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/Cholesky>

namespace lowrank {

template <class T>
void clip_to_range(CompletionModel<T>& model, const ObservedEntries<T>& entries) {
  if (entries.value.empty()) return;
  const auto [lo, hi] = std::minmax_element(entries.value.begin(), entries.value.end());
  model.clip_low = *lo;
  model.clip_high = *hi;
}

template <class T>
ErrorMetrics evaluate(const CompletionModel<T>& model, const ObservedEntries<T>& entries) {
  if (entries.rows != model.rows || entries.cols != model.cols) {
    throw InvalidArgument("evaluate: entries are " + std::to_string(entries.rows) + " x " +
                          std::to_string(entries.cols) + " but the model is " + std::to_string(model.rows) + " x " +
                          std::to_string(model.cols));
  }
  if (entries.value.size() != entries.row.size()) {
    throw InvalidArgument("evaluate: row, col and value arrays differ in length");
  }
  // Scored in chunks: predictions for all entries at once would cost 8 bytes
  // per entry on top of the data (80 MB at 10^7; issue 32), a chunk a fixed
  // 4 MB. The sums run in entry order, as before.
  constexpr std::size_t kChunk = std::size_t{1} << 18;
  const std::size_t n = entries.row.size();
  ErrorMetrics m;
  m.count = n;
  double se = 0.0, ae = 0.0;
  std::vector<std::int32_t> r, c;
  for (std::size_t lo = 0; lo < n; lo += kChunk) {
    const std::size_t hi = std::min(n, lo + kChunk);
    r.assign(entries.row.begin() + static_cast<std::ptrdiff_t>(lo),
             entries.row.begin() + static_cast<std::ptrdiff_t>(hi));
    c.assign(entries.col.begin() + static_cast<std::ptrdiff_t>(lo),
             entries.col.begin() + static_cast<std::ptrdiff_t>(hi));
    const std::vector<T> pred = model.predict(r, c);
    for (std::size_t k = 0; k < pred.size(); ++k) {
      const double e = static_cast<double>(entries.value[lo + k]) - static_cast<double>(pred[k]);
      se += e * e;
      ae += std::abs(e);
    }
  }
  if (m.count > 0) {
    m.rmse = std::sqrt(se / static_cast<double>(m.count));
    m.mae = ae / static_cast<double>(m.count);
  }
  return m;
}

template <class T>
Matrix<T> fold_in(const CompletionModel<T>& model, const ObservedEntries<T>& x, double lambda) {
  if (x.cols != model.cols)
    throw InvalidArgument("fold_in: the new rows have " + std::to_string(x.cols) + " columns, the model " +
                          std::to_string(model.cols));
  if (!(lambda >= 0)) throw InvalidArgument("fold_in: lambda must be >= 0");
  // A group part belongs to the rows of its group; a new row's groups are
  // not known here, so the fold-in would silently drop them.
  if (!model.groups.empty())
    throw InvalidArgument(
        "fold_in: the model has per-group parts (GAME); new rows need their groups, which "
        "fold-in does not take");
  const Index r = model.rank(), n = model.cols;
  Matrix<T> B = model.V * model.d.cwiseMax(T(0)).cwiseSqrt().asDiagonal();
  if (model.col_scale.size() > 0) B = model.col_scale.asDiagonal() * B;
  auto base = [&](Index j) { return model.global_offset + (model.col_offset.size() > 0 ? model.col_offset(j) : T(0)); };
  // Entries grouped by row.
  std::vector<std::vector<std::size_t>> by_row(static_cast<std::size_t>(x.rows));
  for (std::size_t k = 0; k < x.nnz(); ++k) {
    if (x.row[k] < 0 || x.row[k] >= x.rows || x.col[k] < 0 || x.col[k] >= n)
      throw InvalidArgument("fold_in: entry " + std::to_string(k) + " is outside the " + std::to_string(x.rows) +
                            " x " + std::to_string(n) + " shape");
    by_row[static_cast<std::size_t>(x.row[k])].push_back(k);
  }
  Matrix<T> out(x.rows, n);
  for (Index i = 0; i < x.rows; ++i) {
    const auto& ks = by_row[static_cast<std::size_t>(i)];
    T b = T(0);
    if (model.row_offset.size() > 0 && !ks.empty()) {
      for (std::size_t k : ks) b += x.value[k] - base(x.col[k]);
      b /= static_cast<T>(ks.size());
    }
    Vector<T> a = Vector<T>::Zero(r);
    if (r > 0 && !ks.empty()) {
      Matrix<T> G = Matrix<T>::Identity(r, r) * static_cast<T>(lambda);
      Vector<T> rhs = Vector<T>::Zero(r);
      for (std::size_t k : ks) {
        const auto bj = B.row(x.col[k]);
        G.noalias() += bj.transpose() * bj;
        rhs.noalias() += bj.transpose() * (x.value[k] - base(x.col[k]) - b);
      }
      a = G.ldlt().solve(rhs);  // G is positive definite for lambda > 0; LDLT also copes with lambda = 0
    }
    for (Index j = 0; j < n; ++j) {
      T v = base(j) + b + (r > 0 ? B.row(j).dot(a) : T(0));
      out(i, j) = model.clipped() ? std::clamp(v, model.clip_low, model.clip_high) : v;
    }
  }
  return out;
}

template <class T>
std::vector<Recommendation> recommend(const CompletionModel<T>& model, Index row, Index k,
                                      const std::vector<std::int32_t>& exclude) {
  if (row < 0 || row >= model.rows)
    throw InvalidArgument("recommend: row " + std::to_string(row) + " is outside the " + std::to_string(model.rows) +
                          "-row model");
  std::vector<bool> skip(static_cast<std::size_t>(model.cols), false);
  for (const std::int32_t c : exclude) {
    if (c < 0 || c >= model.cols)
      throw InvalidArgument("recommend: excluded column " + std::to_string(c) + " is outside the " +
                            std::to_string(model.cols) + "-column model");
    skip[static_cast<std::size_t>(c)] = true;
  }
  std::vector<std::int32_t> rows, cols;
  for (Index j = 0; j < model.cols; ++j)
    if (!skip[static_cast<std::size_t>(j)]) {
      rows.push_back(static_cast<std::int32_t>(row));
      cols.push_back(static_cast<std::int32_t>(j));
    }
  const std::vector<T> score = model.predict(rows, cols);
  std::vector<Recommendation> all(cols.size());
  for (std::size_t q = 0; q < cols.size(); ++q) all[q] = {cols[q], static_cast<double>(score[q])};
  const std::size_t top = std::min<std::size_t>(all.size(), static_cast<std::size_t>(std::max<Index>(k, 0)));
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(),
                    [](const Recommendation& a, const Recommendation& b) {
                      return a.score > b.score || (a.score == b.score && a.col < b.col);
                    });
  all.resize(top);
  return all;
}

template ErrorMetrics evaluate<float>(const CompletionModel<float>&, const ObservedEntries<float>&);
template ErrorMetrics evaluate<double>(const CompletionModel<double>&, const ObservedEntries<double>&);
template void clip_to_range<float>(CompletionModel<float>&, const ObservedEntries<float>&);
template std::vector<Recommendation> recommend<float>(const CompletionModel<float>&, Index, Index,
                                                      const std::vector<std::int32_t>&);
template std::vector<Recommendation> recommend<double>(const CompletionModel<double>&, Index, Index,
                                                       const std::vector<std::int32_t>&);
template Matrix<float> fold_in<float>(const CompletionModel<float>&, const ObservedEntries<float>&, double);
template Matrix<double> fold_in<double>(const CompletionModel<double>&, const ObservedEntries<double>&, double);
template void clip_to_range<double>(CompletionModel<double>&, const ObservedEntries<double>&);

}  // namespace lowrank
