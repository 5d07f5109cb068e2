#include "lowrank/rl/metrics.hpp"
#include "lowrank/linalg/dense.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <string>

#include "lowrank/core/error.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::rl {

template <class T>
double two_to_infinity_projection_distance(const Matrix<T>& a, const Matrix<T>& b) {
  if (a.rows() != b.rows()) {
    throw InvalidArgument("two_to_infinity_projection_distance: row counts differ (" + std::to_string(a.rows()) +
                          " vs " + std::to_string(b.rows()) + ")");
  }
  const Matrix<double> ad = a.template cast<double>(), bd = b.template cast<double>();
  const Matrix<double> atb = ad.transpose() * bd;  // r_a x r_b
  const Matrix<double> cross = ad * atb;           // row i: A_i A^T B
  double worst = 0.0;
  for (Index i = 0; i < ad.rows(); ++i) {
    const double sq = ad.row(i).squaredNorm() + bd.row(i).squaredNorm() - 2.0 * cross.row(i).dot(bd.row(i));
    worst = std::max(worst, sq);
  }
  return std::sqrt(std::max(worst, 0.0));
}

namespace {

void check_shapes(Index m1, Index n1, Index m2, Index n2) {
  if (m1 != m2 || n1 != n2) {
    throw InvalidArgument("estimation_errors: truth is " + std::to_string(m1) + " x " + std::to_string(n1) +
                          " but the estimate is " + std::to_string(m2) + " x " + std::to_string(n2));
  }
}

// max_ij |(A B^T)_ij| with A: m x k, B: n x k, by column blocks of 256.
double max_abs_product(const Matrix<double>& a, const Matrix<double>& b) {
  double worst = 0.0;
  const Index n = b.rows();
  for (Index j0 = 0; j0 < n; j0 += 256) {
    const Index w = std::min<Index>(256, n - j0);
    const Matrix<double> block = a * b.middleRows(j0, w).transpose();
    worst = std::max(worst, block.cwiseAbs().maxCoeff());
  }
  return worst;
}

}  // namespace

template <class T>
EstimationErrors estimation_errors(const LowRankModel<T>& truth, const LowRankModel<T>& estimate) {
  check_shapes(truth.rows, truth.cols, estimate.rows, estimate.cols);
  const Index m = truth.rows, n = truth.cols;
  const Index r = truth.rank(), q = estimate.rank();
  EstimationErrors e;
  // M^ - M = A B^T with A = [U^ S^, -U S], B = [V^, V].
  Matrix<double> a(m, q + r), b(n, q + r);
  a.leftCols(q) = estimate.U.template cast<double>() * estimate.d.template cast<double>().asDiagonal();
  a.rightCols(r) = -(truth.U.template cast<double>() * truth.d.template cast<double>().asDiagonal());
  b.leftCols(q) = estimate.V.template cast<double>();
  b.rightCols(r) = truth.V.template cast<double>();
  if (q + r > 0) {
    e.max_entry = max_abs_product(a, b);
    Eigen::HouseholderQR<Matrix<double>> qa(a), qb(b);
    const Index ka = std::min(m, q + r), kb = std::min(n, q + r);
    const Matrix<double> ra = qa.matrixQR().topRows(ka).template triangularView<Eigen::Upper>();
    const Matrix<double> rb = qb.matrixQR().topRows(kb).template triangularView<Eigen::Upper>();
    const Matrix<double> core = ra * rb.transpose();  // same nonzero singular values as A B^T
    const Vector<double> sv = dense_singular_values(core);
    e.spectral = sv.size() ? sv(0) : 0.0;
    e.frobenius = core.norm();
  }
  const double truth_f = truth.d.template cast<double>().norm();
  e.relative_frobenius = truth_f > 0 ? e.frobenius / truth_f : 0.0;
  if (q > 0 && r > 0) {
    e.two_to_infinity_left = two_to_infinity_projection_distance(estimate.U, truth.U);
    e.two_to_infinity_right = two_to_infinity_projection_distance(estimate.V, truth.V);
  }
  return e;
}

template <class T>
EstimationErrors estimation_errors(const LowRankModel<T>& truth, const Matrix<T>& estimate) {
  check_shapes(truth.rows, truth.cols, estimate.rows(), estimate.cols());
  const Matrix<double> diff = estimate.template cast<double>() - truth.to_dense().template cast<double>();
  EstimationErrors e;
  e.max_entry = diff.cwiseAbs().maxCoeff();
  e.frobenius = diff.norm();
  const double truth_f = truth.d.template cast<double>().norm();
  e.relative_frobenius = truth_f > 0 ? e.frobenius / truth_f : 0.0;
  if (e.frobenius > 0) {
    TruncatedSvdOptions opts;
    opts.compute_vectors = false;
    e.spectral = static_cast<double>(truncated_svd(diff, 1, opts).S(0));
  }
  return e;
}

#define LOWRANK_RL_INSTANTIATE(T)                                                                 \
  template double two_to_infinity_projection_distance<T>(const Matrix<T>&, const Matrix<T>&);     \
  template EstimationErrors estimation_errors<T>(const LowRankModel<T>&, const LowRankModel<T>&); \
  template EstimationErrors estimation_errors<T>(const LowRankModel<T>&, const Matrix<T>&);
LOWRANK_RL_INSTANTIATE(float)
LOWRANK_RL_INSTANTIATE(double)
#undef LOWRANK_RL_INSTANTIATE

}  // namespace lowrank::rl
