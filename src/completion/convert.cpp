#include "lowrank/completion/convert.hpp"

#include <algorithm>
#include <limits>

#include <Eigen/QR>

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
template <class T>
CompletionModel<T> collapse_groups(const CompletionModel<T>& model) {
  CompletionModel<T> out = model;
  out.groups.clear();
  Index sum = model.rank();
  for (const auto& g : model.groups) sum += g.rank();
  if (sum == model.rank()) return out;
  const Index m = model.rows, n = model.cols;
  Matrix<T> a = Matrix<T>::Zero(m, sum), b(n, sum);
  Index c = model.rank();
  a.leftCols(c) = model.U * model.d.asDiagonal();
  b.leftCols(c) = model.V;
  for (const auto& g : model.groups) {
    if (g.rank() == 0) continue;
    const Matrix<T> us = g.U * g.d.asDiagonal();
    for (std::size_t p = 0; p < g.rows.size(); ++p)
      a.row(g.rows[p]).segment(c, g.rank()) = us.row(static_cast<Index>(p));
    b.middleCols(c, g.rank()) = g.V;
    c += g.rank();
  }
  // Z = A B^T = Qa (Ra Rb^T) Qb^T; the SVD of the small core gives Z's.
  const Index qa_cols = std::min(m, sum), qb_cols = std::min(n, sum);
  const Eigen::HouseholderQR<Matrix<T>> qra(a), qrb(b);
  const Matrix<T> ra = qra.matrixQR().topRows(qa_cols).template triangularView<Eigen::Upper>();
  const Matrix<T> rb = qrb.matrixQR().topRows(qb_cols).template triangularView<Eigen::Upper>();
  const Matrix<T> qa = qra.householderQ() * Matrix<T>::Identity(m, qa_cols);
  const Matrix<T> qb = qrb.householderQ() * Matrix<T>::Identity(n, qb_cols);
  const CompletionModel<T> core = model_from_dense(Matrix<T>(ra * rb.transpose()), std::min({sum, m, n}));
  out.U = qa * core.U;
  out.d = core.d;
  out.V = qb * core.V;
  return out;
}
template CompletionModel<float> collapse_groups(const CompletionModel<float>&);
template CompletionModel<double> collapse_groups(const CompletionModel<double>&);
template CompletionModel<float> model_from_dense(const Matrix<float>&, Index);
template CompletionModel<double> model_from_dense(const Matrix<double>&, Index);

}  // namespace lowrank
