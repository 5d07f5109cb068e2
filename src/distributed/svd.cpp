// Randomized SVD across ranks with tall-skinny QR (TSQR).
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>

#include "completion/detail.hpp"
#include "distributed/common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/distributed/completion.hpp"

namespace lowrank::distributed {

namespace dd = distributed::detail;

namespace {

using Mat = Matrix<double>;

// y (count x c, this rank's rows) = X_block F, F whole (other side x c).
Mat block_times(const dd::Block& x, const Mat& f) {
  Mat y = Mat::Zero(x.count, f.cols());
  const Mat ft = f.transpose();  // contiguous rows of F
  for (Index i = 0; i < x.count; ++i) {
    for (auto s = x.outer[static_cast<std::size_t>(i)]; s < x.outer[static_cast<std::size_t>(i) + 1]; ++s)
      y.row(i) += x.value[static_cast<std::size_t>(s)] * ft.col(x.inner[static_cast<std::size_t>(s)]).transpose();
  }
  return y;
}

// The whole matrix from each rank's block of rows.
Mat gather_rows(const dd::Comm& c, const Mat& local, const std::vector<Index>& bounds) {
  const Index cols = local.cols();
  const Mat lt = local.transpose();
  Mat all(cols, bounds.back());
  dd::gather_blocks(c, lt.data(), all.data(), bounds, cols);
  return all.transpose();
}

}  // namespace

// Demmel, Grigori, Hoemmen, Langou (2012), the one-level (flat) tree: each
// rank's rows A_p = Q_p R_p by Householder QR (R_p is min(rows_p, c) x c);
// the stacked R_p are gathered to every rank and factored once more,
// [R_0; ...; R_{P-1}] = Q' R, so A = diag(Q_p) Q' R and the rows of Q on rank
// p are Q_p Q'_p. Every rank factors the same stack, so R is the same
// everywhere. Messages: P small triangles, c^2 P / 2 values, instead of the
// m x c block.
Matrix<double> tsqr(MPI_Comm comm, Matrix<double>& local) {
  const dd::Comm c(comm);
  const Index cols = local.cols(), rows = local.rows();
  const Index h = std::min(rows, cols);
  Mat qp, rp;
  if (rows >= cols) {
    Eigen::HouseholderQR<Mat> qr(local);
    qp = qr.householderQ() * Mat::Identity(rows, cols);
    rp = qr.matrixQR().topRows(cols).triangularView<Eigen::Upper>();
  } else {  // fewer rows than columns: the block is its own "R" (Q_p = I)
    qp = Mat::Identity(rows, rows);
    rp = local;
  }
  // Gather the stacked R_p (h_p x c each), row-major via the transpose.
  std::vector<int> heights(static_cast<std::size_t>(c.size));
  const int mine = static_cast<int>(h);
  MPI_Allgather(&mine, 1, MPI_INT, heights.data(), 1, MPI_INT, c.comm);
  std::vector<Index> bounds(heights.size() + 1, 0);
  for (std::size_t p = 0; p < heights.size(); ++p) bounds[p + 1] = bounds[p] + heights[p];
  dd::agree(c, bounds.back() < cols ? "tsqr: fewer rows (" + std::to_string(bounds.back()) + ") than columns (" +
                                          std::to_string(cols) + ")"
                                    : std::string());
  const Mat stack = gather_rows(c, rp, bounds);
  Eigen::HouseholderQR<Mat> qr2(stack);
  Mat q2 = qr2.householderQ() * Mat::Identity(stack.rows(), cols);
  Mat r = qr2.matrixQR().topRows(cols).triangularView<Eigen::Upper>();
  // Signs: R with a non-negative diagonal (Q R unchanged), so the factors
  // do not depend on Householder sign conventions.
  for (Index j = 0; j < cols; ++j) {
    if (r(j, j) < 0) {
      r.row(j) *= -1.0;
      q2.col(j) *= -1.0;
    }
  }
  local = qp * q2.middleRows(bounds[static_cast<std::size_t>(c.rank)], h);
  return r;
}

SvdResult<double> randomized_svd(MPI_Comm comm, const ObservedEntries<double>& local, Index k,
                                 const TruncatedSvdOptions& o) {
  const dd::Comm c(comm);
  std::string error;
  const Index cap = std::min(local.rows, local.cols);
  if (k < 1 || k > cap)
    error = "distributed randomized_svd: k must be in [1, min(m, n)] (got " + std::to_string(k) + ")";
  if (o.oversampling < 0) error = "distributed randomized_svd: oversampling must be >= 0";
  dd::agree(c, error);
  // Row blocks of A and of A^T; duplicate entries refused, ranges checked.
  for (std::size_t s = 0; s < local.value.size() && error.empty(); ++s) {
    if (local.row[s] < 0 || local.row[s] >= local.rows || local.col[s] < 0 || local.col[s] >= local.cols ||
        !std::isfinite(local.value[s])) {
      error = "distributed randomized_svd: rank " + std::to_string(c.rank) + " entry " + std::to_string(s) +
              " is outside the matrix or not finite";
    }
  }
  dd::agree(c, error);
  const Index m = local.rows, n = local.cols;
  const auto rb = dd::block_bounds(m, c.size), cb = dd::block_bounds(n, c.size);
  const dd::Block rows = dd::to_block(c, local.row, local.col, local.value, rb, false);
  const dd::Block cols = dd::to_block(c, local.col, local.row, local.value, cb, true);

  const Index l = std::min(k + o.oversampling, cap);
  const int q = o.power_iterations < 0 ? 4 : o.power_iterations;
  Mat omega(n, l);
  completion_detail::fill_normal(omega, o.seed);
  // Halko, Martinsson, Tropp (2011) Alg. 4.4: Y = A Omega, Q = qr(Y), then q
  // times Q~ = qr(A^T Q), Q = qr(A Q~); each qr a TSQR over the row blocks.
  Mat qloc = block_times(rows, omega);
  tsqr(comm, qloc);
  for (int it = 0; it < q; ++it) {
    Mat z = block_times(cols, gather_rows(c, qloc, rb));
    tsqr(comm, z);
    qloc = block_times(rows, gather_rows(c, z, cb));
    tsqr(comm, qloc);
  }
  // B = Q^T A, an l x n matrix spread by columns as B^T = A^T Q; B^T = Qz Rz
  // gives B = Rz^T Qz^T, and the SVD of the small Rz^T = Ub S Vb^T gives
  // A ~ (Q Ub) S (Qz Vb)^T.
  const Mat qfull = gather_rows(c, qloc, rb);
  Mat z = block_times(cols, qfull);
  const Mat rz = tsqr(comm, z);
  Eigen::JacobiSVD<Mat> small(rz.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  const Mat zfull = gather_rows(c, z, cb);
  SvdResult<double> out;
  out.method_used = SvdMethod::Randomized;
  out.iterations = q;
  out.S = small.singularValues().head(k);
  out.U = qfull * small.matrixU().leftCols(k);
  out.V = zfull * small.matrixV().leftCols(k);
  for (Index j = 0; j < k; ++j) {
    Index at = 0;
    out.U.col(j).cwiseAbs().maxCoeff(&at);
    if (out.U(at, j) < 0) {
      out.U.col(j) *= -1.0;
      out.V.col(j) *= -1.0;
    }
  }
  return out;
}

}  // namespace lowrank::distributed
