#include "lowrank/completion/convert.hpp"

#include <algorithm>
#include <limits>

#include "lowrank/linalg/dense.hpp"

namespace lowrank {

template <class T>
CompletionModel<T> model_from_dense(const Matrix<T>& low_rank, Index rank) {
  CompletionModel<T> m;
  m.rows = low_rank.rows();
  m.cols = low_rank.cols();
  rank = std::clamp<Index>(rank, 0, std::min(m.rows, m.cols));
  Matrix<T> u, v;
  Vector<T> s;
  dense_thin_svd(low_rank, u, s, v);
  // Drop numerically zero directions so rank() is the true rank.
  const T floor = s.size() ? s(0) * T(1e-12) : T(0);
  while (rank > 0 && s(rank - 1) <= floor) --rank;
  m.U = u.leftCols(rank);
  m.d = s.head(rank);
  m.V = v.leftCols(rank);
  return m;
}

template <class T>
ObservedMeans observed_means(const ObservedEntries<T>& e) {
  ObservedMeans m;
  Vector<double> rs = Vector<double>::Zero(e.rows), cs = Vector<double>::Zero(e.cols);
  Vector<double> rc = rs, cc = cs;
  double total = 0;
  for (std::size_t k = 0; k < e.nnz(); ++k) {
    const double v = static_cast<double>(e.value[k]);
    rs(e.row[k]) += v;
    rc(e.row[k]) += 1;
    cs(e.col[k]) += v;
    cc(e.col[k]) += 1;
    total += v;
  }
  m.global = e.nnz() ? total / static_cast<double>(e.nnz()) : std::numeric_limits<double>::quiet_NaN();
  m.row = rs.cwiseQuotient(rc);  // 0 / 0 = NaN marks rows with no entry
  m.col = cs.cwiseQuotient(cc);
  return m;
}

template ObservedMeans observed_means(const ObservedEntries<float>&);
template ObservedMeans observed_means(const ObservedEntries<double>&);
template CompletionModel<float> model_from_dense(const Matrix<float>&, Index);
template CompletionModel<double> model_from_dense(const Matrix<double>&, Index);

}  // namespace lowrank
