// Robust PCA (principal component pursuit by inexact ALM): planted low-rank
// plus sparse recovery, fully and partially observed, and error paths.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "completion/helpers.hpp"
#include "lowrank/completion/robust_pca.hpp"

namespace lowrank {
namespace {

// L0 = A B^T (rank 5, N(0, 1) factors), S0 with 5% of entries uniform in
// [-10, 10] at uniformly random positions (the setting of Candes, Li, Ma,
// Wright 2011, sec. 4 / Lin, Chen, Ma 2010, sec. 5).
struct LowRankPlusSparse {
  Matrix<double> l0, s0;
};

// The result holds L as factors and S as the model's sparse part; these
// rebuild the dense matrices the checks compare.
template <class T>
Matrix<T> dense_l(const RobustPcaResult<T>& f) {
  return f.model.low_rank_dense();
}
template <class T>
Matrix<T> dense_s(const RobustPcaResult<T>& f) {
  Matrix<T> s = Matrix<T>::Zero(f.model.rows, f.model.cols);
  for (std::size_t k = 0; k < f.model.sparse.nnz(); ++k)
    s(f.model.sparse.row[k], f.model.sparse.col[k]) = f.model.sparse.value[k];
  return s;
}

LowRankPlusSparse planted(Index m, Index n, Index r, double density, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Matrix<double> a(m, r), b(n, r);
  for (Index k = 0; k < a.size(); ++k) a.data()[k] = normal(rng);
  for (Index k = 0; k < b.size(); ++k) b.data()[k] = normal(rng);
  LowRankPlusSparse p;
  p.l0 = a * b.transpose();
  p.s0 = Matrix<double>::Zero(m, n);
  for (Index k = 0; k < p.s0.size(); ++k) {
    if (u(rng) < density) p.s0.data()[k] = 20.0 * u(rng) - 10.0;
  }
  return p;
}

TEST(RobustPca, RecoversPlantedLowRankAndSparse) {
  auto p = planted(100, 100, 5, 0.05, 1);
  RobustPcaOptions o;
  o.tolerance = 1e-9;
  auto fit = robust_pca<double>(p.l0 + p.s0, o);
  EXPECT_EQ(fit.status, Status::Success);
  EXPECT_EQ(fit.rank, 5);
  EXPECT_DOUBLE_EQ(fit.lambda, 0.1);  // 1 / sqrt(100)
  const double err_l = (dense_l(fit) - p.l0).norm() / p.l0.norm();
  const double err_s = (dense_s(fit) - p.s0).norm() / p.s0.norm();
  EXPECT_LT(err_l, 1e-6) << fit.iterations << " iterations";
  EXPECT_LT(err_s, 1e-6);
  EXPECT_LT(fit.residual_trace.back(), 1e-9);
  // The support of S is recovered exactly (up to rounding-level entries).
  Index wrong = 0;
  const Matrix<double> s_hat = dense_s(fit);
  for (Index k = 0; k < p.s0.size(); ++k) wrong += (std::abs(s_hat.data()[k]) > 1e-6) != (p.s0.data()[k] != 0.0);
  EXPECT_EQ(wrong, 0);
  EXPECT_LT(fit.iterations, 100);
  // One model: predict(i, j) = L(i, j) + S(i, j), orthonormal factors.
  fit.model.check("rpca");
  const Matrix<double> l = dense_l(fit), sp = dense_s(fit);
  for (Index i = 0; i < 100; i += 7)
    for (Index j = 0; j < 100; j += 3) EXPECT_NEAR(fit.model.predict(i, j), l(i, j) + sp(i, j), 1e-12);
  EXPECT_LT((fit.model.U.transpose() * fit.model.U - Matrix<double>::Identity(5, 5)).norm(), 1e-12);
  EXPECT_GE(static_cast<Index>(fit.model.sparse.nnz()), (p.s0.array() != 0.0).count());
}

// 80% observed: the missing cells are completed by L and S is zero there.
TEST(RobustPca, PartiallyObservedRecoversAndCompletes) {
  auto p = planted(100, 100, 5, 0.05, 2);
  Matrix<double> d = p.l0 + p.s0;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Index missing = 0;
  for (Index k = 0; k < d.size(); ++k) {
    if (u(rng) < 0.2) {
      d.data()[k] = std::nan("");
      ++missing;
    }
  }
  RobustPcaOptions o;
  o.tolerance = 1e-9;
  auto fit = robust_pca<double>(d, o);
  EXPECT_EQ(fit.status, Status::Success);
  EXPECT_NEAR(fit.lambda, 1.0 / std::sqrt(0.01 * double(d.size() - missing)), 1e-12);
  EXPECT_LT((dense_l(fit) - p.l0).norm() / p.l0.norm(), 1e-5) << fit.iterations << " iterations, rank " << fit.rank;
  for (Index k = 0; k < d.size(); ++k) {
    if (std::isnan(d.data()[k])) {
      EXPECT_EQ(fit.model.sparse_entry(k % d.rows(), k / d.rows()), 0.0);
    }
  }
  // The ObservedEntries overload is the same problem.
  auto e = from_dense_with_nan(d);
  auto fit2 = robust_pca(e, o);
  EXPECT_LT((dense_l(fit2) - dense_l(fit)).norm() / dense_l(fit).norm(), 1e-12);
}

TEST(RobustPca, FloatRecoversToSinglePrecision) {
  auto p = planted(60, 80, 3, 0.05, 3);
  RobustPcaOptions o;
  o.tolerance = 1e-6;
  auto fit = robust_pca<float>((p.l0 + p.s0).cast<float>(), o);
  EXPECT_LT((dense_l(fit).template cast<double>() - p.l0).norm() / p.l0.norm(), 1e-4);
}

TEST(RobustPca, ProgressAndInterrupt) {
  auto p = planted(40, 40, 2, 0.05, 4);
  RobustPcaOptions o;
  int calls = 0;
  o.progress = [&](const ProgressEvent& ev) {
    EXPECT_EQ(ev.stage, "robust-pca");
    ++calls;
    if (ev.iteration == 2) request_interrupt();
  };
  auto fit = robust_pca<double>(p.l0 + p.s0, o);
  clear_interrupt();
  EXPECT_EQ(fit.status, Status::Interrupted);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(fit.residual_trace.size(), 2u);
}

TEST(RobustPca, RejectsBadInput) {
  Matrix<double> d = Matrix<double>::Random(10, 8);
  RobustPcaOptions o;
  o.lambda = 0.0;
  EXPECT_THROW(robust_pca(d, o), InvalidArgument);
  o.lambda.reset();
  o.rho = 1.0;
  EXPECT_THROW(robust_pca(d, o), InvalidArgument);
  o.rho = 1.5;
  o.mu = -1.0;
  EXPECT_THROW(robust_pca(d, o), InvalidArgument);
  o.mu.reset();
  EXPECT_THROW(robust_pca(Matrix<double>(0, 3), o), InvalidArgument);
  EXPECT_THROW(robust_pca(Matrix<double>::Zero(4, 3).eval(), o), InvalidArgument);
  Matrix<double> nan = Matrix<double>::Constant(3, 3, std::nan(""));
  EXPECT_THROW(robust_pca(nan, o), InvalidArgument);
  d(2, 2) = INFINITY;
  EXPECT_THROW(robust_pca(d, o), InvalidArgument);
  ObservedEntries<double> e;
  e.rows = 3;
  e.cols = 3;
  e.push_back(0, 0, 1.0);
  e.push_back(0, 0, 2.0);
  EXPECT_THROW(robust_pca(e, o), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
