#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/detail/serial_blas.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "completion/detail.hpp"
#include "lowrank/completion/prox.hpp"
#include "lowrank/completion/solver.hpp"
#include "lowrank/linalg/operator.hpp"

namespace lowrank {

const char* to_string(SoftImputeVariant v) noexcept {
  switch (v) {
    case SoftImputeVariant::Svd:
      return "svd";
    case SoftImputeVariant::Als:
      return "als";
  }
  return "?";
}

SoftImputeVariant parse_soft_impute_variant(std::string_view name) {
  if (name == "svd") return SoftImputeVariant::Svd;
  if (name == "als") return SoftImputeVariant::Als;
  throw InvalidArgument("unknown soft-impute variant '" + std::string(name) + "' (expected svd or als)");
}

namespace {

void check_options(const SoftImputeOptions& o, Index m, Index n) {
  if (!(o.lambda >= 0.0) || !std::isfinite(o.lambda)) {
    throw InvalidArgument("soft_impute: lambda must be >= 0 (got " + std::to_string(o.lambda) + ")");
  }
  (void)m;
  (void)n;
  if (o.max_rank < 1) {
    throw InvalidArgument("soft_impute: max_rank must be >= 1 (got " + std::to_string(o.max_rank) + ")");
  }
  check_iteration_options("soft_impute", o.tolerance, o.max_iterations);
}

// The observed entries, stored once (completion_detail::ObservedMatrix: a
// CSR; the column sweeps build a chunk of its CSC at a time), and the current Z = U diag(d) V^T. Neither
// form stores residuals: every product with S = P_Omega(X - Z) recomputes
// them in the fused sweep (completion_detail::residual_sweep).
template <class T>
struct State {
  const completion_detail::ObservedMatrix<T>& x;
  Matrix<T> U, V;
  Vector<T> d;

  explicit State(const completion_detail::ObservedMatrix<T>& data) : x(data) {}

  /// 1/2 ||P_Omega(X - U diag(d) V^T)||_F^2.
  double loss() const {
    const Matrix<T> vdt = (V * d.asDiagonal()).transpose();
    return completion_detail::residual_sweep(x.by_rows(), U, vdt, nullptr, nullptr);
  }
  double objective(double loss, double lambda) const { return loss + lambda * static_cast<double>(d.sum()); }
};

// S + Z with S = P_Omega(X - Z) and Z = U diag(d) V^T (Mazumder et al. 2010,
// eq. 11), a LinearOperator that never stores S: each product recomputes
// the residuals in the same sweep that multiplies them (one gather of the
// factors per entry), so the SVD form holds no residual or COO -> slot
// arrays (SparsePlusLowRank over a SparseOperator held 2 x 12 bytes of CSR,
// 8 of slot maps and 16 of fit / residual arrays per entry).
template <class T>
class ResidualPlusLowRank {
 public:
  using Scalar = T;
  ResidualPlusLowRank(const completion_detail::ObservedMatrix<T>& x, const Matrix<T>& u, const Vector<T>& d,
                      const Matrix<T>& v)
      : m_x(x), m_u(u), m_d(d), m_v(v), m_vd(v * d.asDiagonal()), m_vdt(m_vd.transpose()), m_ut(u.transpose()) {}
  Index rows() const { return m_x.rows; }
  Index cols() const { return m_x.cols; }
  /// y = S x + U diag(d) V^T x; x: n x k.
  void apply(const Matrix<T>& x, Matrix<T>& y) const {
    const Matrix<T> bt = x.transpose();
    completion_detail::residual_sweep(m_x.by_rows(), m_u, m_vdt, &bt, &y);
    if (m_d.size() > 0) y.noalias() += m_u * (m_d.asDiagonal() * (m_v.transpose() * x));
  }
  /// y = S^T x + V diag(d) U^T x; x: m x k.
  void apply_adjoint(const Matrix<T>& x, Matrix<T>& y) const {
    const Matrix<T> bt = x.transpose();
    completion_detail::residual_sweep_by_cols(m_x, m_vd, m_ut, &bt, &y);
    if (m_d.size() > 0) y.noalias() += m_v * (m_d.asDiagonal() * (m_u.transpose() * x));
  }

 private:
  const completion_detail::ObservedMatrix<T>& m_x;
  const Matrix<T>& m_u;
  const Vector<T>& m_d;
  const Matrix<T>& m_v;
  Matrix<T> m_vd, m_vdt, m_ut;  // V D, (V D)^T and U^T: the gathered sides contiguous per entry
};

template <class T>
int numerical_rank(const Vector<T>& d) {
  if (d.size() == 0) return 0;
  const T cut = d.maxCoeff() * T(1e-10);
  return static_cast<int>((d.array() > cut).count());
}

// Hastie, Mazumder, Lee, Zadeh (2015) Alg. 3.1 in the sparse form of R's
// Ssimpute.als: A = U D, B = V D, Dsq = D^2 holds the current singular values.
template <class T>
void als_variant(State<T>& st, const SoftImputeOptions& o, const CompletionModel<T>* warm,
                 CompletionResult<T>& result) {
  const Index m = st.x.rows, n = st.x.cols, r = o.max_rank;
  const T lambda = static_cast<T>(o.lambda);
  const Index warm_rank = warm ? numerical_rank(warm->d) : 0;
  if (warm_rank >= r) {
    st.U = warm->U.leftCols(r);
    st.V = warm->V.leftCols(r);
    st.d = warm->d.head(r);
  } else if (warm_rank > 0) {
    // Pad with random directions orthogonal to the warm U, zero V columns and
    // the smallest warm singular value (R's choice).
    Matrix<T> extra = completion_detail::random_orthonormal<T>(m, r - warm_rank, o.seed);
    const Matrix<T> u0 = warm->U.leftCols(warm_rank);
    extra -= u0 * (u0.transpose() * extra);
    Matrix<T> q, rr;
    Vector<T> sv;
    completion_detail::thin_svd(extra, q, sv, rr);
    st.U.resize(m, r);
    st.U << u0, q;
    st.V = Matrix<T>::Zero(n, r);
    st.V.leftCols(warm_rank) = warm->V.leftCols(warm_rank);
    st.d = Vector<T>::Constant(r, warm->d(warm_rank - 1));
    st.d.head(warm_rank) = warm->d.head(warm_rank);
  } else {
    st.U = completion_detail::random_orthonormal<T>(m, r, o.seed);
    st.V = Matrix<T>::Zero(n, r);
    st.d = Vector<T>::Ones(r);
  }
  // The ALS form never materialises the residual matrix: each half step's
  // S^T U (resp. S V), S = P_Omega(X - U D V^T), comes from one fused sweep
  // over X's column (row) view that also yields 1/2 ||S||_F^2.
  const completion_detail::SparseView<T> x_rows = st.x.by_rows();
  // The tall factor U (m x r) is read in place; only the gathered side is
  // transposed (V's copies are n x r, small when n << m; U^T for the column
  // sweep is the one m x r temporary).
  // S^T U as an n x r block, and the loss of the current Z = U D V^T.
  auto residual_t_times_u = [&](Matrix<T>& out) {
    const Matrix<T> vd = st.V * st.d.asDiagonal();
    const Matrix<T> ut = st.U.transpose();
    return completion_detail::residual_sweep_by_cols(st.x, vd, ut, nullptr, &out);
  };
  // S V as an m x r block (or only the loss when out is null).
  auto residual_times_v = [&](Matrix<T>* out) {
    const Matrix<T> vdt = (st.V * st.d.asDiagonal()).transpose();
    const Matrix<T> vt = st.V.transpose();
    return completion_detail::residual_sweep(x_rows, st.U, vdt, &vt, out);
  };

  IterationMonitor monitor("soft-impute-als", o.tolerance, o.max_iterations, o.progress);
  Matrix<T> b, a, rot;  // a: m x r, the A step's output (empty between A steps)
  Vector<T> sv;
  Status status = Status::Success;
  double loss = 0.0;
  for (bool first = true;; first = false) {
    // B step: B~ D = (S^T U + V Dsq) Dsq / (Dsq + lambda) = V' Sigma R^T;
    // then Z = (U R) Sigma V'^T. The same sweep gives the loss of the Z left
    // by the previous A step, so the stopping test of an iteration runs here,
    // at the start of the next (a stop discards this B).
    loss = residual_t_times_u(b);
    if (!first) {
      if (auto stop = monitor.step(st.objective(loss, o.lambda), numerical_rank(st.d))) {
        status = *stop;
        break;
      }
    }
    b.noalias() += st.V * st.d.asDiagonal();
    if (lambda > T(0)) b = b * (st.d.array() / (st.d.array() + lambda)).matrix().asDiagonal();
    completion_detail::thin_svd_in_place(b, sv, rot);
    st.V.swap(b);
    st.d = sv;
    st.U = st.U * rot;
    // A step, symmetric: (S V + U Dsq) Dsq / (Dsq + lambda) = U' Sigma R^T.
    residual_times_v(&a);
    a.noalias() += st.U * st.d.asDiagonal();
    if (lambda > T(0)) a = a * (st.d.array() / (st.d.array() + lambda)).matrix().asDiagonal();
    // U is replaced: freed before the SVD's copy of A, so at most two m x r
    // blocks are alive at any point of an iteration (issue 32).
    st.U.resize(0, 0);
    completion_detail::thin_svd_in_place(a, sv, rot);
    st.U.swap(a);
    st.d = sv;
    st.V = st.V * rot;
  }
  result.iterations = monitor.iterations();
  std::vector<double> trace = monitor.take_trace();
  if (o.final_svd && lambda > T(0) && status != Status::NumericalIssue) {
    // One unregularised A step, then soft-threshold: exact zeros.
    residual_times_v(&a);
    a.noalias() += st.U * st.d.asDiagonal();
    st.U.resize(0, 0);
    completion_detail::thin_svd_in_place(a, sv, rot);
    st.U.swap(a);
    st.V = st.V * rot;
    st.d = sv;
    soft_threshold(st.d, lambda);
    loss = residual_times_v(nullptr);
    trace.push_back(st.objective(loss, o.lambda));
  }
  result.elapsed_s = monitor.elapsed_s();
  result.objective_trace = std::move(trace);
  result.status = status;
}

// The soft-thresholded SVD of one soft-impute iterate, by subspace iteration
// warm-started from the previous iterate's right singular subspace (kept in
// `block`, n x k, between calls). Each pass applies the operator twice:
// Q = orth(A Vb), then the SVD of Q^T A (from A^T Q = W diag(s) R^T:
// Q^T A = R diag(s) W^T) gives Ritz triplets and the next block W. Ritz
// values never exceed the true singular values and converge at rate
// (sigma_{k+1} / sigma_i)^2 per pass; successive operators differ little near
// convergence, so one or two passes usually suffice, where a fresh Lanczos
// solve per iteration costs a full Krylov basis and restarts. The block keeps
// `margin` columns beyond the kept rank so that a singular value crossing
// lambda is seen, and doubles (up to max_rank) while every Ritz value exceeds
// lambda. Passes stop when the kept Ritz values (and the first one below
// lambda) move by at most tol * sigma_1, or after max_passes (the next
// iteration goes on refining the same block).
template <class T, class Op>
SvtResult<T> warm_started_svt(const Op& op, double lambda, Index max_rank, Matrix<T>& block, double tol, int max_passes,
                              std::uint64_t seed) {
  constexpr Index margin = 4;
  const Index m = op.rows(), n = op.cols();
  auto append_random = [&](Index total, std::uint64_t s) {
    const Index have = block.cols();
    Matrix<T> grown(n, total);
    grown.leftCols(have) = block;
    grown.rightCols(total - have) = completion_detail::random_orthonormal<T>(n, total - have, s);
    Eigen::HouseholderQR<Matrix<T>> qr(grown);
    block = qr.householderQ() * Matrix<T>::Identity(n, total);
  };
  if (block.cols() == 0) append_random(std::min<Index>(margin, max_rank), seed);
  Matrix<T> y, q, b, w, rot;
  Vector<T> sv, previous;
  SvtResult<T> out;
  Index keep = 0;
  for (int pass = 1;; ++pass) {
    const Index k = block.cols();
    // At most four m x k blocks at a time (U and U^T in op, q, y or its
    // transpose; issue 32): the last pass's q is dropped before y is made,
    // y is factored in its own storage and dropped once q is formed.
    q.resize(0, 0);
    op.apply(block, y);
    {
      Eigen::HouseholderQR<Eigen::Ref<Matrix<T>>> qr(y);
      q = qr.householderQ() * Matrix<T>::Identity(m, k);
    }
    y.resize(0, 0);
    op.apply_adjoint(q, b);
    completion_detail::thin_svd(b, w, sv, rot);
    block = w;
    if (!sv.allFinite()) {
      out.status = Status::NumericalIssue;
      keep = 0;
      break;
    }
    keep = 0;
    while (keep<k&& static_cast<double>(sv(keep))> lambda) ++keep;
    if (keep == k && k < max_rank) {
      append_random(std::min<Index>(2 * k, max_rank), seed + static_cast<std::uint64_t>(pass));
      previous.resize(0);
      continue;
    }
    const Index watched = std::min<Index>(keep + 1, k);
    bool settled = previous.size() == k;
    const double scale = sv(0) > T(0) ? static_cast<double>(sv(0)) : 1.0;
    for (Index i = 0; settled && i < watched; ++i)
      settled = std::abs(static_cast<double>(sv(i) - previous(i))) <= tol * scale;
    if (settled || pass >= max_passes) break;
    previous = sv;
  }
  out.svd_rank = block.cols();
  out.rank_capped = keep == max_rank;
  out.U = q * rot.leftCols(keep);
  out.V = block.leftCols(keep);
  out.d = sv.head(keep).array() - static_cast<T>(lambda);
  // Next call: the kept directions plus the margin, best Ritz vectors first.
  const Index next = std::min<Index>(std::max<Index>(keep + margin, 1), std::min<Index>(block.cols(), max_rank));
  if (next < block.cols()) block = Matrix<T>(block.leftCols(next));
  return out;
}

// Mazumder, Hastie, Tibshirani (2010) Alg. 1: Z <- SVT_lambda(S + Z). With
// svd.method == Auto (the default) each SVT is warm_started_svt() above;
// an explicit method recomputes a truncated SVD from scratch every iteration
// (singular_value_threshold, prox.hpp), which is far slower on large problems
// (docs/completion.md has the measurements) and kept as the reference path.
template <class T>
void svd_variant(State<T>& st, const SoftImputeOptions& o, const CompletionModel<T>* warm,
                 CompletionResult<T>& result) {
  const Index m = st.x.rows, n = st.x.cols;
  const Index warm_rank = warm ? std::min<Index>(numerical_rank(warm->d), o.max_rank) : 0;
  st.U = warm_rank > 0 ? Matrix<T>(warm->U.leftCols(warm_rank)) : Matrix<T>(m, 0);
  st.V = warm_rank > 0 ? Matrix<T>(warm->V.leftCols(warm_rank)) : Matrix<T>(n, 0);
  st.d = warm_rank > 0 ? Vector<T>(warm->d.head(warm_rank)) : Vector<T>(0);

  TruncatedSvdOptions svd_options = o.svd;
  svd_options.seed = o.seed;
  const bool warm_svt = o.svd.method == SvdMethod::Auto;
  // Inner accuracy a little finer than the outer stopping rule asks for.
  const double inner_tol = std::clamp(0.1 * o.tolerance, 1e-13, 1e-6);
  Matrix<T> block = st.V;
  IterationMonitor monitor("soft-impute-svd", o.tolerance, o.max_iterations, o.progress);
  Status status = Status::Success;
  while (true) {
    // P_Omega(X) + P_Omega^perp(Z) = S + Z, applied without forming it.
    SvtResult<T> prox;
    {
      const ResidualPlusLowRank<T> op(st.x, st.U, st.d, st.V);
      prox = warm_svt ? warm_started_svt(op, o.lambda, o.max_rank, block, inner_tol, 50,
                                         o.seed + static_cast<std::uint64_t>(monitor.iterations()))
                      : singular_value_threshold(op, o.lambda, o.max_rank, svd_options, st.d.size());
    }
    st.U = std::move(prox.U);
    st.V = std::move(prox.V);
    st.d = std::move(prox.d);
    const double loss = st.loss();
    if (prox.status == Status::NumericalIssue) {
      monitor.step(std::numeric_limits<double>::quiet_NaN(), static_cast<int>(st.d.size()));
      status = Status::NumericalIssue;
      break;
    }
    if (auto stop = monitor.step(st.objective(loss, o.lambda), static_cast<int>(st.d.size()))) {
      status = *stop;
      break;
    }
  }
  result.iterations = monitor.iterations();
  result.elapsed_s = monitor.elapsed_s();
  result.objective_trace = monitor.take_trace();
  result.status = status;
}

}  // namespace

template <class T>
void debias_singular_values(CompletionModel<T>& model, const std::vector<std::int32_t>& row,
                            const std::vector<std::int32_t>& col, const std::vector<T>& values) {
  const Index r = model.rank();
  if (r == 0) return;
  // Normal equations of min_d sum_Omega (x_ij - sum_k U_ik V_jk d_k)^2.
  Matrix<double> zz = Matrix<double>::Zero(r, r);
  Vector<double> zy = Vector<double>::Zero(r);
  Vector<double> z(r);
  for (std::size_t k = 0; k < values.size(); ++k) {
    for (Index l = 0; l < r; ++l)
      z(l) = static_cast<double>(model.U(row[k], l)) * static_cast<double>(model.V(col[k], l));
    zz.template selfadjointView<Eigen::Lower>().rankUpdate(z);
    zy += static_cast<double>(values[k]) * z;
  }
  const Vector<double> dd = zz.template selfadjointView<Eigen::Lower>().ldlt().solve(zy);
  // d >= 0 by flipping V's column, then decreasing order.
  std::vector<Index> order(static_cast<std::size_t>(r));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return std::abs(dd(a)) > std::abs(dd(b)); });
  Matrix<T> u(model.U.rows(), r), v(model.V.rows(), r);
  Vector<T> d(r);
  for (Index l = 0; l < r; ++l) {
    const Index src = order[static_cast<std::size_t>(l)];
    u.col(l) = model.U.col(src);
    v.col(l) = dd(src) < 0 ? Vector<T>(-model.V.col(src)) : Vector<T>(model.V.col(src));
    d(l) = static_cast<T>(std::abs(dd(src)));
  }
  model.U = std::move(u);
  model.V = std::move(v);
  model.d = std::move(d);
}

namespace {

// Rows / columns without an observation: the optimum is zero there (a nonzero
// row of Z adds to ||Z||_* and changes no observed residual), so solve on the
// observed rows and columns only and scatter the answer back with zeros and
// neutral offsets / scales.
template <class T>
SoftImputeResult<T> solve_compacted(const ObservedEntries<T>& data, const SoftImputeOptions& o,
                                    const CompletionModel<T>* warm, const std::vector<std::int64_t>& row_count,
                                    const std::vector<std::int64_t>& col_count) {
  std::vector<std::int32_t> row_new(row_count.size(), -1), col_new(col_count.size(), -1);
  std::vector<Index> row_old, col_old;
  for (std::size_t i = 0; i < row_count.size(); ++i) {
    if (row_count[i] > 0) {
      row_new[i] = static_cast<std::int32_t>(row_old.size());
      row_old.push_back(static_cast<Index>(i));
    }
  }
  for (std::size_t j = 0; j < col_count.size(); ++j) {
    if (col_count[j] > 0) {
      col_new[j] = static_cast<std::int32_t>(col_old.size());
      col_old.push_back(static_cast<Index>(j));
    }
  }
  const Index mc = static_cast<Index>(row_old.size()), nc = static_cast<Index>(col_old.size());
  ObservedEntries<T> compact;
  compact.rows = mc;
  compact.cols = nc;
  compact.reserve(data.nnz());
  for (std::size_t k = 0; k < data.nnz(); ++k) {
    compact.push_back(row_new[static_cast<std::size_t>(data.row[k])], col_new[static_cast<std::size_t>(data.col[k])],
                      data.value[k]);
  }
  SoftImputeOptions oc = o;
  oc.max_rank = std::min({o.max_rank, mc, nc});
  CompletionModel<T> warm_c;
  if (warm && warm->rank() > 0) {
    // Restricted factors are no longer orthonormal: back to SVD form.
    Matrix<T> ud(mc, warm->rank()), v(nc, warm->rank());
    for (Index i = 0; i < mc; ++i) ud.row(i) = warm->U.row(row_old[static_cast<std::size_t>(i)]) * warm->d.asDiagonal();
    for (Index j = 0; j < nc; ++j) v.row(j) = warm->V.row(col_old[static_cast<std::size_t>(j)]);
    warm_c.rows = mc;
    warm_c.cols = nc;
    completion_detail::product_to_svd(std::move(ud), std::move(v), warm_c.U, warm_c.d, warm_c.V);
  }
  SoftImputeResult<T> result = soft_impute_in_place(compact, oc, warm_c.rank() > 0 ? &warm_c : nullptr);
  completion_detail::note_empty(row_count, col_count, result);

  CompletionModel<T>& mdl = result.model;
  const Index m = data.rows, n = data.cols, r = mdl.rank();
  auto scatter_rows = [&](const Matrix<T>& in, Index full, const std::vector<Index>& old) {
    Matrix<T> out = Matrix<T>::Zero(full, in.cols());
    for (std::size_t k = 0; k < old.size(); ++k) out.row(old[k]) = in.row(static_cast<Index>(k));
    return out;
  };
  auto scatter_vec = [&](const Vector<T>& in, Index full, const std::vector<Index>& old, T neutral) {
    if (in.size() == 0) return in;
    Vector<T> out = Vector<T>::Constant(full, neutral);
    for (std::size_t k = 0; k < old.size(); ++k) out(old[k]) = in(static_cast<Index>(k));
    return out;
  };
  mdl.U = r > 0 ? scatter_rows(mdl.U, m, row_old) : Matrix<T>(m, 0);
  mdl.V = r > 0 ? scatter_rows(mdl.V, n, col_old) : Matrix<T>(n, 0);
  mdl.row_offset = scatter_vec(mdl.row_offset, m, row_old, T(0));
  mdl.col_offset = scatter_vec(mdl.col_offset, n, col_old, T(0));
  mdl.row_scale = scatter_vec(mdl.row_scale, m, row_old, T(1));
  mdl.col_scale = scatter_vec(mdl.col_scale, n, col_old, T(1));
  mdl.rows = m;
  mdl.cols = n;
  return result;
}

}  // namespace

namespace {

// soft_impute() and soft_impute_in_place(): `own` is the caller's entries
// when the solver may borrow their storage (then own == &data).
template <class T>
SoftImputeResult<T> run_soft_impute(const ObservedEntries<T>& data, ObservedEntries<T>* own, const SoftImputeOptions& o,
                                    const CompletionModel<T>* warm_start) {
  completion_detail::check_entries(data, "soft_impute");
  check_options(o, data.rows, data.cols);
  if (warm_start && (warm_start->rows != data.rows || warm_start->cols != data.cols)) {
    throw InvalidArgument("soft_impute: warm start is " + std::to_string(warm_start->rows) + " x " +
                          std::to_string(warm_start->cols) + " but the data are " + std::to_string(data.rows) + " x " +
                          std::to_string(data.cols));
  }
  if (o.max_rank > std::min(data.rows, data.cols)) {
    // A cap, not a target (R softImpute clips rank.max the same way).
    SoftImputeOptions clipped = o;
    clipped.max_rank = std::min(data.rows, data.cols);
    return run_soft_impute(data, own, clipped, warm_start);
  }
  // OpenMP sparse kernels between small BLAS calls on m x r blocks: BLAS
  // serial meanwhile (detail/serial_blas.hpp says why).
  const detail::SerialBlasScope serial_blas;
  {
    std::vector<std::int64_t> row_count, col_count;
    completion_detail::count_observations(data, row_count, col_count);
    if (std::count(row_count.begin(), row_count.end(), 0) > 0 ||
        std::count(col_count.begin(), col_count.end(), 0) > 0) {
      return solve_compacted(data, o, warm_start, row_count, col_count);
    }
  }
  // The entries the solver stores its matrix in: biScale's transformed copy,
  // the caller's own (in place), or else a copy of the caller's.
  std::optional<BiScale<T>> scaling;
  ObservedEntries<T> work;
  ObservedEntries<T>* x = own;
  if (o.scaling) {
    scaling = fit_biscale(data, *o.scaling);
    work = scaling->transform(data);
    x = &work;
  } else if (!own) {
    work.rows = data.rows;
    work.cols = data.cols;
    work.row = data.row;
    work.col = data.col;
    work.value = data.value;
    x = &work;
  }

  SoftImputeResult<T> result;
  Matrix<T> u, v;
  Vector<T> dd;
  {
    completion_detail::ObservedMatrix<T> mat = completion_detail::take_entries(*x);  // throws on duplicate pairs
    // The entries go back to *x however the solve ends.
    struct GiveBack {
      completion_detail::ObservedMatrix<T>& m;
      ObservedEntries<T>& e;
      ~GiveBack() { completion_detail::give_back(m, e); }
    } give_back{mat, *x};
    State<T> st(mat);
    if (o.variant == SoftImputeVariant::Als) {
      als_variant(st, o, warm_start, result);
    } else {
      svd_variant(st, o, warm_start, result);
    }
    u = std::move(st.U);
    v = std::move(st.V);
    dd = std::move(st.d);
  }

  CompletionModel<T>& model = result.model;
  model.rows = data.rows;
  model.cols = data.cols;
  const int keep = numerical_rank(dd) == 0 ? 0 : static_cast<int>((dd.array() > T(0)).count());
  model.U = u.leftCols(keep);
  model.d = dd.head(keep);
  model.V = v.leftCols(keep);
  if (o.debias) debias_singular_values(model, x->row, x->col, x->value);
  if (scaling) {
    model.row_offset = scaling->row_center;
    model.col_offset = scaling->col_center;
    model.row_scale = scaling->row_scale;
    model.col_scale = scaling->col_scale;
  }
  result.lambda = o.lambda;
  return result;
}

}  // namespace

template <class T>
SoftImputeResult<T> soft_impute(const ObservedEntries<T>& data, const SoftImputeOptions& o,
                                const CompletionModel<T>* warm_start) {
  return run_soft_impute(data, static_cast<ObservedEntries<T>*>(nullptr), o, warm_start);
}

template <class T>
SoftImputeResult<T> soft_impute_in_place(ObservedEntries<T>& data, const SoftImputeOptions& o,
                                         const CompletionModel<T>* warm_start) {
  return run_soft_impute(data, &data, o, warm_start);
}

template <class T>
double lambda_max(const ObservedEntries<T>& data, const std::optional<BiScaleOptions>& scaling) {
  completion_detail::check_entries(data, "lambda_max");
  ObservedEntries<T> scaled;
  if (scaling) scaled = fit_biscale(data, *scaling).transform(data);
  const ObservedEntries<T>& x = scaling ? scaled : data;
  const SparseOperator<T> s(x.rows, x.cols, x.row, x.col, x.value);
  TruncatedSvdOptions opts;
  opts.compute_vectors = false;
  const auto r = truncated_svd(s, 1, opts);
  if (r.status != Status::Interrupted && r.S.size() > 0) return static_cast<double>(r.S(0));
  // Ctrl-C before the SVD finished (Lanczos then returns no S): ||P_Omega(X)||_F
  // >= sigma_1 still gives Z = 0, so a path from it starts at 0 and stops at
  // its first check, keeping a usable fit (before: a crash on S(0)).
  double f = 0;
  for (T v : x.value) f += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(f);
}

#define LOWRANK_SOFT_IMPUTE(T)                                                                        \
  template SoftImputeResult<T> soft_impute<T>(const ObservedEntries<T>&, const SoftImputeOptions&,    \
                                              const CompletionModel<T>*);                             \
  template SoftImputeResult<T> soft_impute_in_place<T>(ObservedEntries<T>&, const SoftImputeOptions&, \
                                                       const CompletionModel<T>*);                    \
  template double lambda_max<T>(const ObservedEntries<T>&, const std::optional<BiScaleOptions>&);     \
  template void debias_singular_values<T>(CompletionModel<T>&, const std::vector<std::int32_t>&,      \
                                          const std::vector<std::int32_t>&, const std::vector<T>&);
LOWRANK_SOFT_IMPUTE(float)
LOWRANK_SOFT_IMPUTE(double)
#undef LOWRANK_SOFT_IMPUTE

}  // namespace lowrank
