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
  const Index shared = model.rank();
  Index sum = shared;
  for (const auto& g : model.groups) sum += g.rank();
  if (sum == shared) return out;
  const Index m = model.rows, n = model.cols;
  // Z = A B^T, A (m x s) the shared U diag(d) and each group's U_k diag(d_k)
  // on its rows, B (n x s) the V's side by side. B = Qb Rb (a thin QR on the
  // short side), so Z = C Qb^T with C = A Rb^T (m x q, q = min(n, s)), added
  // part by part without forming A; C = Qc Rc in C's own storage, and the SVD
  // of the small Rc gives Z's: U = Qc Ur, V = Qb Wr. Two m x q arrays, where
  // stacking A and the QRs of both sides held four m x s ones (2.6 GB at 10^5
  // rows and total rank ~800; issue 32).
  Matrix<T> b(n, sum);
  b.leftCols(shared) = model.V;
  Index c = shared;
  for (const auto& g : model.groups) {
    b.middleCols(c, g.rank()) = g.V;
    c += g.rank();
  }
  const Index qb_cols = std::min(n, sum);
  const Eigen::HouseholderQR<Matrix<T>> qrb(b);
  b.resize(0, 0);
  const Matrix<T> rb = qrb.matrixQR().topRows(qb_cols).template triangularView<Eigen::Upper>();
  Matrix<T> cm = Matrix<T>::Zero(m, qb_cols);
  if (shared > 0) cm.noalias() += (model.U * model.d.asDiagonal()) * rb.leftCols(shared).transpose();
  constexpr Index kRowChunk = 2048;  // a group's rows of C a chunk at a time (its |G_k| x q product is not kept)
  c = shared;
  for (const auto& g : model.groups) {
    if (g.rank() == 0) continue;
    const Matrix<T> rbt = rb.middleCols(c, g.rank()).transpose();
    const Index gk = g.U.rows();
    for (Index lo = 0; lo < gk; lo += kRowChunk) {
      const Index len = std::min(kRowChunk, gk - lo);
      const Matrix<T> w = (g.U.middleRows(lo, len) * g.d.asDiagonal()) * rbt;
      for (Index p = 0; p < len; ++p) cm.row(g.rows[static_cast<std::size_t>(lo + p)]) += w.row(p);
    }
    c += g.rank();
  }
  const Index qa_cols = std::min(m, qb_cols);
  const Eigen::HouseholderQR<Eigen::Ref<Matrix<T>>> qrc(cm);
  const CompletionModel<T> core =
      model_from_dense(Matrix<T>(
                           qrc.matrixQR().topLeftCorner(qa_cols, qb_cols).template triangularView<Eigen::Upper>()),
                       std::min({sum, m, n}));
  out.U = Matrix<T>::Zero(m, core.d.size());
  out.U.topRows(qa_cols) = core.U;
  out.U.applyOnTheLeft(qrc.householderQ());
  out.d = core.d;
  const Matrix<T> qb = qrb.householderQ() * Matrix<T>::Identity(n, qb_cols);
  out.V = qb * core.V;
  return out;
}
template CompletionModel<float> collapse_groups(const CompletionModel<float>&);
template CompletionModel<double> collapse_groups(const CompletionModel<double>&);
template CompletionModel<float> model_from_dense(const Matrix<float>&, Index);
template CompletionModel<double> model_from_dense(const Matrix<double>&, Index);

}  // namespace lowrank
