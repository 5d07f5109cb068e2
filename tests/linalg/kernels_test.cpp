// Internal kernels: the RNG stream, orthonormalisation paths, sparse products.
#include "lowrank/linalg/detail/kernels.hpp"

#include <gtest/gtest.h>

#include <Eigen/LU>

#include "lowrank/core/error.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

template <class T>
class KernelTest : public ::testing::Test {};
TYPED_TEST_SUITE(KernelTest, test::Scalars);

TEST(Xoshiro256, KnownStreamForSeedZero) {
  // First outputs of xoshiro256** seeded by splitmix64(0), from an independent
  // Python transcription of the reference C code (Blackman & Vigna): a change
  // to either generator, or a platform difference, shows up here.
  detail::Xoshiro256 rng(0);
  EXPECT_EQ(rng.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(rng.next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(rng.next(), 0x1a5f849d4933e6e0ULL);
}

TEST(Xoshiro256, UniformIsInOpenZeroClosedOne) {
  detail::Xoshiro256 rng(5);
  double lo = 1, hi = 0, sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform_open0();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_GT(lo, 0.0);
  EXPECT_LE(hi, 1.0);
  EXPECT_NEAR(sum / n, 0.5, 4 * std::sqrt(1.0 / 12 / n));
}

TYPED_TEST(KernelTest, GaussianMomentsAndReproducibility) {
  using T = TypeParam;
  Matrix<T> g(1001, 101);  // odd size: the last Box-Muller pair is split
  detail::fill_gaussian(g, 42);
  const double n = static_cast<double>(g.size());
  const double mean = static_cast<double>(g.sum()) / n;
  const double var = static_cast<double>(g.squaredNorm()) / n - mean * mean;
  const double m4 = static_cast<double>(g.array().pow(4).sum()) / n;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m4, 3.0, 5 * std::sqrt(96.0 / n));  // kurtosis of N(0, 1)
  Matrix<T> h(1001, 101);
  detail::fill_gaussian(h, 42);
  EXPECT_TRUE(g == h);
  detail::fill_gaussian(h, 43);
  EXPECT_FALSE(g == h);
}

TYPED_TEST(KernelTest, OrthonormalizeWellConditionedUsesCholeskyQr) {
  using T = TypeParam;
  MatrixXd g(3000, 40);
  detail::fill_gaussian(g, 1);
  const Matrix<T> y = g.cast<T>();
  Matrix<T> q = y;
  ASSERT_TRUE(detail::cholesky_qr2(q));  // Gaussian: kappa ~ 1.3
  EXPECT_LE(test::orthonormality_error(q), test::tol<T>(1e-14, 2e-6));
  // Same span: y = Q (Q^T y).
  EXPECT_LE(static_cast<double>((y - q * (q.transpose() * y)).norm() / y.norm()), test::tol<T>(1e-14, 2e-6));
}

TYPED_TEST(KernelTest, OrthonormalizeIllConditionedFallsBackToHouseholder) {
  using T = TypeParam;
  // Columns scaled from 1 down to 1e-12: CholeskyQR would lose the small ones.
  MatrixXd g = test::random_orthonormal(500, 20, 2);
  for (Index j = 0; j < 20; ++j) g.col(j) *= std::pow(10.0, -12.0 * static_cast<double>(j) / 19.0);
  Matrix<T> q = g.cast<T>();
  Matrix<T> probe = q;
  EXPECT_FALSE(detail::cholesky_qr2(probe));
  detail::orthonormalize(q);
  EXPECT_LE(test::orthonormality_error(q), test::tol<T>(1e-14, 2e-6));
  // The span is kept: principal directions of g are recovered column by column.
  const MatrixXd dirs = test::random_orthonormal(500, 20, 2);
  const MatrixXd overlap = dirs.transpose() * q.template cast<double>();
  EXPECT_NEAR(std::abs(overlap.determinant()), 1.0, test::tol<T>(1e-10, 1e-4));
}

TYPED_TEST(KernelTest, OrthonormalizeRankDeficientStillOrthonormal) {
  using T = TypeParam;
  Matrix<T> y = Matrix<T>::Zero(50, 6);
  y.col(0).setOnes();
  y.col(3).setLinSpaced(50, 0, 1);
  detail::orthonormalize(y);
  EXPECT_LE(test::orthonormality_error(y), test::tol<T>(1e-14, 2e-6));
}

TYPED_TEST(KernelTest, HouseholderRefusesMoreColumnsThanRows) {
  // LAPACK would print "illegal value" to stdout and leave garbage.
  Matrix<TypeParam> wide = Matrix<TypeParam>::Random(3, 5);
  EXPECT_THROW(detail::householder_orthonormalize(wide), InvalidArgument);
}

TYPED_TEST(KernelTest, GesddThinAndValuesOnly) {
  using T = TypeParam;
  MatrixXd g(7, 4);
  detail::fill_gaussian(g, 3);
  Matrix<T> a = g.cast<T>();
  const Matrix<T> a0 = a;
  Vector<T> s;
  Matrix<T> u, vt;
  ASSERT_EQ(detail::gesdd(a, s, &u, &vt), 0);
  EXPECT_EQ(u.rows(), 7);
  EXPECT_EQ(u.cols(), 4);
  EXPECT_EQ(vt.rows(), 4);
  EXPECT_LE(static_cast<double>((u * s.asDiagonal() * vt - a0).norm() / a0.norm()), test::tol<T>(1e-14, 1e-6));
  Matrix<T> b = a0;
  Vector<T> s2;
  ASSERT_EQ(detail::gesdd<T>(b, s2, nullptr, nullptr), 0);
  EXPECT_LE(static_cast<double>((s - s2).norm() / s.norm()), test::tol<T>(1e-14, 1e-6));
  Matrix<T> bad = a0;
  bad(0, 0) = std::numeric_limits<T>::quiet_NaN();
  EXPECT_NE(detail::gesdd<T>(bad, s2, nullptr, nullptr), 0);
}

// The Gram route returns the planted triplets above its floor, wide and tall,
// to the accuracy its bound promises, and refuses a floor too deep for it.
TYPED_TEST(KernelTest, GramSvdRecoversTheTripletsAboveItsFloor) {
  using T = TypeParam;
  // values 10, 10 * 0.8, ..., then a planted tail far below the floor
  VectorXd sv(12);
  for (Index i = 0; i < 8; ++i) sv(i) = 10.0 * std::pow(0.8, static_cast<double>(i));
  for (Index i = 8; i < 12; ++i) sv(i) = 1e-3 * static_cast<double>(12 - i);
  const test::Planted p = test::planted(40, 300, sv, 11);
  const double floor = 0.5 * sv(7);  // keeps the first 8 values
  for (const bool wide : {true, false}) {
    const Matrix<T> a = wide ? Matrix<T>(p.a.cast<T>()) : Matrix<T>(p.a.transpose().cast<T>());
    Matrix<T> u, v;
    Vector<T> s;
    if constexpr (std::is_same_v<T, float>) {
      // float's sqrt(eps) bound only admits floors near the top value
      EXPECT_FALSE(detail::gram_svd<T>(a, floor, u, s, v));
      ASSERT_TRUE(detail::gram_svd<T>(a, 9.0, u, s, v));
      ASSERT_EQ(s.size(), 1);
      EXPECT_NEAR(static_cast<double>(s(0)), 10.0, 1e-4);
    } else {
      ASSERT_TRUE(detail::gram_svd<T>(a, floor, u, s, v)) << wide;
      ASSERT_EQ(s.size(), 8) << wide;
      EXPECT_EQ(u.rows(), a.rows());
      EXPECT_EQ(v.rows(), a.cols());
      for (Index i = 0; i < 8; ++i) EXPECT_NEAR(s(i), sv(i), 1e-12 * sv(0)) << i;
      EXPECT_LE((u.transpose() * u - MatrixXd::Identity(8, 8)).norm(), 1e-12);
      EXPECT_LE((v.transpose() * v - MatrixXd::Identity(8, 8)).norm(), 1e-12);
      // the rank-8 part of A: U_8 S_8 V_8^T of the planted factors
      const MatrixXd top = p.u.leftCols(8) * sv.head(8).asDiagonal() * p.v.leftCols(8).transpose();
      const MatrixXd want = wide ? top : MatrixXd(top.transpose());
      EXPECT_LE((u * s.asDiagonal() * v.transpose() - want).norm() / want.norm(), 1e-12) << wide;
      // 1e-5 when sigma_1 = 10 would carry relative error eps * 1e12: refused
      EXPECT_FALSE(detail::gram_svd<T>(a, 1e-5, u, s, v));
    }
  }
  Matrix<T> u, v;
  Vector<T> s;
  EXPECT_FALSE(detail::gram_svd<T>(Matrix<T>::Zero(5, 9), 1.0, u, s, v));  // no top value
  EXPECT_FALSE(detail::gram_svd<T>(Matrix<T>(0, 4), 1.0, u, s, v));
}

TYPED_TEST(KernelTest, CsrTimesDenseMatchesEigenForAllTileWidths) {
  using T = TypeParam;
  // Tile width = 8 MB / (n sizeof(T)) columns: (2000, 37) is one tile,
  // (20000, 60) in double two with a ragged last one, and (140000, 17) and b = 1
  // take Eigen's column sweep.
  for (auto [n, b] : {std::pair<Index, Index>{2000, 1}, {2000, 37}, {20000, 60}, {140000, 17}}) {
    const auto sp = test::random_sparse<T>(300, n, 7, 4);
    Matrix<T> x(n, b);
    detail::fill_gaussian(x, 5);
    Matrix<T> y;
    detail::csr_times_dense(sp.csr(), x, y);
    const Matrix<T> ref = sp.csr() * x;
    EXPECT_LE(static_cast<double>((y - ref).norm() / ref.norm()), test::tol<T>(1e-15, 1e-6))
        << "n = " << n << ", b = " << b;
  }
}

TYPED_TEST(KernelTest, CsrGramMatchesTwoProducts) {
  using T = TypeParam;
  const auto sp = test::random_sparse<T>(120000, 700, 9, 6);  // >= 2^20 nnz: threaded path
  MatrixXd g(700, 1);
  detail::fill_gaussian(g, 7);
  const Vector<T> x = g.col(0).cast<T>();
  Vector<T> y(700);
  std::vector<Vector<T>> work;
  detail::csr_gram_times_vector(sp.csr(), x.data(), y.data(), work);
  detail::csr_gram_times_vector(sp.csr(), x.data(), y.data(), work);  // reused workspace
  const Vector<T> ref = sp.csr_transpose() * (sp.csr() * x).eval();
  EXPECT_LE(static_cast<double>((y - ref).norm() / ref.norm()), test::tol<T>(1e-14, 1e-6));
  const auto small = test::random_sparse<T>(30, 20, 3, 8);  // serial path
  const Vector<T> xs = x.head(20);
  Vector<T> ys(20);
  detail::csr_gram_times_vector(small.csr(), xs.data(), ys.data(), work);
  const Vector<T> refs = small.csr_transpose() * (small.csr() * xs).eval();
  EXPECT_LE(static_cast<double>((ys - refs).norm() / refs.norm()), test::tol<T>(1e-14, 1e-6));
  // Called from inside a parallel region (GAME's loop over folds), where the
  // inner team has one thread: once summed accumulators no thread wrote.
  Vector<T> yp(700);
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    {
      std::vector<Vector<T>> own;
      detail::csr_gram_times_vector(sp.csr(), x.data(), yp.data(), own);
    }
  }
  EXPECT_LE(static_cast<double>((yp - ref).norm() / ref.norm()), test::tol<T>(1e-14, 1e-6));
}

TYPED_TEST(KernelTest, FusedResidualSweepMatchesDenseReference) {
  using T = TypeParam;
  // Dense reference: E = mask .* (X - P Q^T), y = E Q, loss = 1/2 ||E||_F^2.
  for (const Index m : {Index{40}, Index{3000}}) {  // serial and threaded paths
    const Index n = 300, r = 7;
    const auto sp = test::random_sparse<T>(m, n, 5, 11);
    MatrixXd pg(m, r), qg(n, r);
    detail::fill_gaussian(pg, 1);
    detail::fill_gaussian(qg, 2);
    const Matrix<T> p = pg.cast<T>(), q = qg.cast<T>();
    const Matrix<T> x = Matrix<T>(sp.csr());
    Matrix<T> mask = Matrix<T>::Zero(m, n);
    for (Index i = 0; i < m; ++i)
      for (typename SparseCsr<T>::InnerIterator it(sp.csr(), i); it; ++it) mask(i, it.col()) = T(1);
    const Matrix<T> e = mask.cwiseProduct(x - p * q.transpose());
    const Matrix<T> ref = e * q;
    const double ref_loss = 0.5 * static_cast<double>(e.squaredNorm());
    Matrix<T> yt;
    const double loss =
        detail::csr_residual_times_factor(sp.csr(), Matrix<T>(p.transpose()), Matrix<T>(q.transpose()), &yt);
    EXPECT_LE(static_cast<double>((yt.transpose() - ref).norm() / ref.norm()), test::tol<T>(1e-13, 1e-5)) << m;
    EXPECT_NEAR(loss, ref_loss, test::tol<T>(1e-12, 1e-5) * ref_loss) << m;
    // Loss only.
    EXPECT_EQ(detail::csr_residual_times_factor<T>(sp.csr(), Matrix<T>(p.transpose()), Matrix<T>(q.transpose()),
                                                   nullptr),
              loss);
  }
  const auto sp = test::random_sparse<T>(10, 8, 2, 3);
  Matrix<T> yt;
  EXPECT_THROW(detail::csr_residual_times_factor(sp.csr(), Matrix<T>(3, 9), Matrix<T>(3, 8), &yt), InvalidArgument);
}

}  // namespace
}  // namespace lowrank
