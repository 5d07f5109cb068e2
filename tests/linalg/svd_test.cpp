// Truncated SVD: every method against planted spectra (random orthonormal U,
// V and chosen singular values) and against to_dense + LAPACK on sparse and
// sparse-plus-low-rank operators.
#include "lowrank/linalg/svd.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/detail/svd_float_passes.hpp"
#include "lowrank/linalg/subspace.hpp"
#include "test_util.hpp"

namespace lowrank {
namespace {

using test::planted;
using test::tol;

template <class T>
class SvdTest : public ::testing::Test {};
TYPED_TEST_SUITE(SvdTest, test::Scalars);

// Checks A V = U S, A^T U = V S, orthonormality, and S against the truth.
template <class T, class Op>
void expect_valid(const Op& op, const SvdResult<T>& r, const VectorXd& s_true, double sv_tol, double res_tol,
                  const char* what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(r.status, Status::Success);
  const Index k = r.S.size();
  ASSERT_EQ(r.U.cols(), k);
  ASSERT_EQ(r.V.cols(), k);
  for (Index i = 1; i < k; ++i) EXPECT_GE(r.S[i - 1], r.S[i]);
  EXPECT_LE(test::max_relative_error(r.S, s_true.head(k)), sv_tol);
  Matrix<T> av, atu;
  op.apply(r.V, av);
  op.apply_adjoint(r.U, atu);
  const double scale = s_true.norm();
  EXPECT_LE(static_cast<double>((av - r.U * r.S.asDiagonal()).norm()) / scale, res_tol);
  EXPECT_LE(static_cast<double>((atu - r.V * r.S.asDiagonal()).norm()) / scale, res_tol);
  EXPECT_LE(test::orthonormality_error(r.U), tol<T>(1e-12, 1e-5));
  EXPECT_LE(test::orthonormality_error(r.V), tol<T>(1e-12, 1e-5));
}

TYPED_TEST(SvdTest, PlantedDecayingSpectrumAllMethods) {
  using T = TypeParam;
  // 1, 0.8, ..., 0.8^59: full rank 60 and a gap of 0.8 after every value.
  const auto p = planted(300, 220, test::geometric(60, 0.8), 11);
  const Matrix<T> a = p.a.cast<T>();
  const DenseOperator<T> op(a);
  const Index k = 10;
  for (SvdMethod m : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    o.power_iterations = 8;  // (0.8^(20-9))^(2q+1) ~ 1e-17: randomized at full accuracy
    // Krylov stops on the singular values: its vectors are accurate to about
    // sqrt(tolerance) (the values' bound is quadratic in the residual).
    const bool krylov = m == SvdMethod::Krylov;
    if (krylov) o.tolerance = 1e-14;
    const auto r = truncated_svd(op, k, o);
    EXPECT_EQ(r.method_used, m);
    expect_valid<T>(op, r, p.s, tol<T>(1e-11, krylov ? 1e-4 : 2e-5), krylov ? tol<T>(1e-6, 1e-2) : tol<T>(1e-12, 2e-6),
                    to_string(m));
    // Singular subspaces: gap 0.8 after k, so the angles are at rounding level.
    const Vector<T> angles_u = principal_angles<T>(r.U, p.u.leftCols(k).cast<T>());
    const Vector<T> angles_v = principal_angles<T>(r.V, p.v.leftCols(k).cast<T>());
    EXPECT_LE(static_cast<double>(angles_u.maxCoeff()), krylov ? tol<T>(1e-5, 5e-2) : tol<T>(1e-10, 1e-4));
    EXPECT_LE(static_cast<double>(angles_v.maxCoeff()), krylov ? tol<T>(1e-5, 5e-2) : tol<T>(1e-10, 1e-4));
  }
}

TYPED_TEST(SvdTest, SmallSingularValuesKeepRelativeAccuracyInLanczos) {
  using T = TypeParam;
  // sigma spans 1 .. 1e-6 (double) / 1e-3 (float): sqrt(eig(A^T A)) alone would
  // lose relative accuracy on the smallest; the Rayleigh-Ritz step restores it.
  const double low = std::is_same_v<T, double> ? 1e-6 : 1e-3;
  VectorXd s(12);
  for (Index i = 0; i < 12; ++i) s[i] = std::pow(low, static_cast<double>(i) / 11.0);
  const auto p = planted(200, 150, s, 12);
  const Matrix<T> a = p.a.cast<T>();
  TruncatedSvdOptions o;
  o.method = SvdMethod::Lanczos;
  const auto r = truncated_svd(a, 12, o);
  ASSERT_EQ(r.status, Status::Success);
  // The rank is exactly 12, so every value is found; tolerance relative to each sigma_i.
  EXPECT_LE(test::max_relative_error(r.S, s), tol<T>(1e-9, 2e-3));
}

TYPED_TEST(SvdTest, ClusteredSingularValues) {
  using T = TypeParam;
  // Three tight clusters; k = 6 cuts between clusters (10, 10, 10 | 5, 5, 5 | 1 ...).
  VectorXd s(12);
  s << 10, 10 * (1 - 1e-9), 10 * (1 - 2e-9), 5, 5 * (1 - 1e-9), 5 * (1 - 2e-9), 1, 1, 1, 0.5, 0.5, 0.5;
  const auto p = planted(150, 120, s, 13);
  const Matrix<T> a = p.a.cast<T>();
  const DenseOperator<T> op(a);
  for (SvdMethod m : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    const bool krylov = m == SvdMethod::Krylov;
    if (krylov) o.tolerance = 1e-14;
    const auto r = truncated_svd(op, 6, o);
    expect_valid<T>(op, r, p.s, tol<T>(1e-11, krylov ? 1e-4 : 2e-6), krylov ? tol<T>(1e-6, 1e-2) : tol<T>(1e-12, 2e-6),
                    to_string(m));
    // Individual vectors inside a cluster are not determined; the span of the
    // first six is (gap 5 -> 1).
    const Vector<T> angles = principal_angles<T>(r.U, p.u.leftCols(6).cast<T>());
    EXPECT_LE(static_cast<double>(angles.maxCoeff()), krylov ? tol<T>(1e-5, 5e-2) : tol<T>(1e-10, 1e-4))
        << to_string(m);
  }
}

TYPED_TEST(SvdTest, WideMatricesUseTheLeftGram) {
  using T = TypeParam;
  const auto p = planted(90, 260, test::geometric(40, 0.75), 14);
  const Matrix<T> a = p.a.cast<T>();
  const DenseOperator<T> op(a);
  for (SvdMethod m : {SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    o.oversampling = 30;  // l = 38 ... exact up to 0.75^38 of the tail
    o.power_iterations = 6;
    const bool krylov = m == SvdMethod::Krylov;
    if (krylov) o.tolerance = 1e-14;
    const auto r = truncated_svd(op, 8, o);
    expect_valid<T>(op, r, p.s, tol<T>(1e-11, krylov ? 1e-4 : 2e-5), krylov ? tol<T>(1e-6, 1e-2) : tol<T>(1e-12, 2e-6),
                    to_string(m));
  }
}

TYPED_TEST(SvdTest, RandomizedDefaultsOnExactLowRankAreExact) {
  using T = TypeParam;
  // rank 15 <= k + p: the sketch captures the whole range, q = 0 suffices.
  const auto p = planted(400, 250, test::geometric(15, 0.5), 15);
  const Matrix<T> a = p.a.cast<T>();
  TruncatedSvdOptions o;
  o.method = SvdMethod::Randomized;
  o.power_iterations = 0;
  const auto r = truncated_svd(a, 6, o);
  EXPECT_EQ(r.iterations, 0);
  expect_valid<T>(DenseOperator<T>(a), r, p.s, tol<T>(1e-12, 2e-6), tol<T>(1e-12, 2e-6), "q = 0");
}

TYPED_TEST(SvdTest, RandomizedErrorFollowsThePowerIterationBound) {
  using T = TypeParam;
  // Slow decay: with q power iterations the top-k values converge roughly like
  // (sigma_{l+1} / sigma_k)^(2q + 1); more iterations must help, and q = 2
  // already beats 1e-3 here. (Checks that the power loop does something.)
  VectorXd s(150);
  for (Index i = 0; i < 150; ++i) s[i] = 1.0 / (1.0 + static_cast<double>(i));
  const auto p = planted(300, 200, s, 16);
  const Matrix<T> a = p.a.cast<T>();
  double previous = 1;
  for (int q : {0, 2, 6}) {
    TruncatedSvdOptions o;
    o.method = SvdMethod::Randomized;
    o.power_iterations = q;
    const auto r = truncated_svd(a, 10, o);
    EXPECT_EQ(r.iterations, q);
    const double err = test::max_relative_error(r.S, s.head(10));
    EXPECT_LT(err, previous) << "q = " << q;
    if (q == 2) {
      EXPECT_LT(err, 1e-3);
    }
    previous = std::max(err, tol<T>(1e-14, 1e-6));
  }
}

TYPED_TEST(SvdTest, SparseOperatorAllMethodsAgreeWithDenseFull) {
  using T = TypeParam;
  const auto sp = test::random_sparse<T>(160, 110, 6, 17);
  const Matrix<T> dense = to_dense(sp);
  const auto ref = full_svd<double>(dense.template cast<double>());
  ASSERT_EQ(ref.status, Status::Success);
  const Index k = 5;
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(2);
  for (SvdMethod m : {SvdMethod::Auto, SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    o.power_iterations = 40;  // flat random spectrum: randomized needs many passes
    o.oversampling = 20;
    const bool krylov = m == SvdMethod::Krylov;
    if (krylov) o.tolerance = 1e-14;
    const auto r = truncated_svd(sp, k, o);
    // Small sparse products run on one OpenMP thread for their scope only.
    EXPECT_EQ(omp_get_max_threads(), 2) << to_string(m);
    const double sv_tol = m == SvdMethod::Randomized ? tol<T>(1e-6, 1e-4) : tol<T>(1e-11, krylov ? 1e-4 : 2e-5);
    const double res_tol = m == SvdMethod::Randomized ? tol<T>(1e-3, 1e-2)
                           : krylov                   ? tol<T>(1e-6, 1e-2)
                                                      : tol<T>(1e-11, 2e-5);
    expect_valid<T>(sp, r, ref.S, sv_tol, res_tol, to_string(m));
  }
  omp_set_num_threads(saved_threads);
}

TYPED_TEST(SvdTest, SparsePlusLowRankAgreesWithDenseFull) {
  using T = TypeParam;
  // The soft-impute iterate: small sparse residuals plus a dominant rank-4 fit.
  const auto sp = test::random_sparse<T>(140, 100, 5, 18, 0.1);
  const Matrix<T> u = test::random_orthonormal(140, 4, 19).cast<T>();
  const Matrix<T> v = test::random_orthonormal(100, 4, 20).cast<T>();
  Vector<T> d(4);
  d << 40, 30, 20, 10;
  const SparsePlusLowRank<T> op(sp, u, d, v);
  const Matrix<T> dense = to_dense(op);
  const auto ref = full_svd<double>(dense.template cast<double>());
  for (SvdMethod m : {SvdMethod::Auto, SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    const bool krylov = m == SvdMethod::Krylov;
    if (krylov) o.tolerance = 1e-14;
    const auto r = truncated_svd(op, 4, o);
    expect_valid<T>(op, r, ref.S, tol<T>(1e-11, krylov ? 1e-4 : 2e-6),
                    krylov ? tol<T>(1e-6, 1e-2) : tol<T>(1e-11, 2e-6), to_string(m));
  }
}

TYPED_TEST(SvdTest, AutoPicksByShapeAndOperatorKind) {
  using T = TypeParam;
  const auto small = planted(120, 80, test::geometric(20, 0.7), 21);
  EXPECT_EQ(truncated_svd(Matrix<T>(small.a.cast<T>()), 5).method_used, SvdMethod::Full);
  const auto big = planted(500, 320, test::geometric(20, 0.7), 22);
  const Matrix<T> a = big.a.cast<T>();
  EXPECT_EQ(truncated_svd(a, 5).method_used, SvdMethod::Krylov);
  EXPECT_EQ(truncated_svd(a, 35).method_used, SvdMethod::Krylov);  // 7 (k + p) < min(m, n)
  EXPECT_EQ(truncated_svd(a, 36).method_used, SvdMethod::Full);    // 7 (k + p) >= min(m, n)
  const auto sp = test::random_sparse<T>(500, 320, 4, 23);
  EXPECT_EQ(truncated_svd(sp, 5).method_used, SvdMethod::Lanczos);
  // Small min(m, n) but 2e7 entries: not densified.
  const auto huge = test::random_sparse<T>(20, 1000000, 4, 24);
  const auto r = truncated_svd(huge, 2);
  EXPECT_EQ(r.method_used, SvdMethod::Lanczos);
  EXPECT_EQ(r.status, Status::Success);
}

TYPED_TEST(SvdTest, LanczosWithKEqualToMinDimensionFallsBackToFull) {
  using T = TypeParam;
  const auto p = planted(30, 12, test::geometric(12, 0.9), 24);
  TruncatedSvdOptions o;
  o.method = SvdMethod::Lanczos;
  const auto r = truncated_svd(Matrix<T>(p.a.cast<T>()), 12, o);
  EXPECT_EQ(r.method_used, SvdMethod::Full);
  EXPECT_LE(test::max_relative_error(r.S, p.s), tol<T>(1e-12, 1e-5));
}

TYPED_TEST(SvdTest, ValuesOnlySkipsVectors) {
  using T = TypeParam;
  const auto p = planted(220, 210, test::geometric(30, 0.7), 25);
  const Matrix<T> a = p.a.cast<T>();
  for (SvdMethod m : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    o.compute_vectors = false;
    o.oversampling = 30;
    const auto r = truncated_svd(a, 5, o);
    EXPECT_EQ(r.U.size(), 0) << to_string(m);
    EXPECT_EQ(r.V.size(), 0) << to_string(m);
    EXPECT_LE(test::max_relative_error(r.S, p.s.head(5)), tol<T>(1e-11, 1e-5)) << to_string(m);
  }
}

TYPED_TEST(SvdTest, SameSeedIsBitwiseReproducible) {
  using T = TypeParam;
  const auto p = planted(260, 240, test::geometric(40, 0.9), 26);
  const Matrix<T> a = p.a.cast<T>();
  for (SvdMethod m : {SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    o.seed = 99;
    const auto r1 = truncated_svd(a, 7, o);
    const auto r2 = truncated_svd(a, 7, o);
    EXPECT_TRUE(r1.S == r2.S) << to_string(m);
    EXPECT_TRUE(r1.U == r2.U) << to_string(m);
    o.seed = 100;
    const auto r3 = truncated_svd(a, 7, o);
    EXPECT_FALSE(r1.U == r3.U) << to_string(m);  // another sketch / start vector
  }
}

TYPED_TEST(SvdTest, ZeroMatrix) {
  using T = TypeParam;
  const Matrix<T> a = Matrix<T>::Zero(250, 230);
  for (SvdMethod m : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    const auto r = truncated_svd(a, 3, o);
    EXPECT_EQ(r.status, Status::Success) << to_string(m);
    ASSERT_EQ(r.S.size(), 3) << to_string(m);
    EXPECT_EQ(r.S.maxCoeff(), T(0)) << to_string(m);
    EXPECT_LE(test::orthonormality_error(r.U), 1e-6) << to_string(m);
    EXPECT_LE(test::orthonormality_error(r.V), 1e-6) << to_string(m);
  }
}

TYPED_TEST(SvdTest, NonFiniteInputIsReportedNotHidden) {
  using T = TypeParam;
  Matrix<T> a = planted(220, 210, test::geometric(10, 0.5), 27).a.cast<T>();
  a(3, 4) = std::numeric_limits<T>::quiet_NaN();
  for (SvdMethod m : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    const auto r = truncated_svd(a, 3, o);
    EXPECT_EQ(r.status, Status::NumericalIssue) << to_string(m);
  }
}

TYPED_TEST(SvdTest, InterruptStopsWithStatus) {
  using T = TypeParam;
  const Matrix<T> a = planted(240, 220, test::geometric(30, 0.9), 28).a.cast<T>();
  request_interrupt();
  TruncatedSvdOptions o;
  o.method = SvdMethod::Randomized;
  const auto rr = truncated_svd(a, 4, o);
  o.method = SvdMethod::Lanczos;
  const auto rl = truncated_svd(a, 4, o);
  o.method = SvdMethod::Krylov;
  const auto rk = truncated_svd(a, 4, o);
  clear_interrupt();
  EXPECT_EQ(rk.status, Status::Interrupted);
  EXPECT_EQ(rk.iterations, 1);  // the Ritz triplets of the first block step
  EXPECT_EQ(rk.S.size(), 4);
  EXPECT_EQ(rr.status, Status::Interrupted);
  EXPECT_EQ(rr.iterations, 0);
  EXPECT_EQ(rr.S.size(), 4);  // the q = 0 answer from the first sketch
  EXPECT_EQ(rl.status, Status::Interrupted);
}

TYPED_TEST(SvdTest, BadRankThrows) {
  using T = TypeParam;
  const Matrix<T> a = Matrix<T>::Ones(8, 5);
  for (SvdMethod m : {SvdMethod::Auto, SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = m;
    EXPECT_THROW(truncated_svd(a, 0, o), InvalidArgument);
    EXPECT_THROW(truncated_svd(a, -2, o), InvalidArgument);
    EXPECT_THROW(truncated_svd(a, 6, o), InvalidArgument);
  }
  const auto sp = test::random_sparse<T>(8, 5, 2, 1);
  EXPECT_THROW(truncated_svd(sp, 6), InvalidArgument);
  EXPECT_THROW(truncated_svd(Matrix<T>(0, 4), 1), InvalidArgument);
}

TEST(SvdOptions, BadOptionsThrow) {
  const MatrixXd a = MatrixXd::Ones(8, 5);
  TruncatedSvdOptions o;
  o.oversampling = -1;
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
  o = {};
  o.power_iterations = -2;
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
  o = {};
  o.tolerance = 0;
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
  o.tolerance = std::nan("");
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
  o = {};
  o.max_iterations = 0;
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
  o = {};
  o.krylov_dim = -1;
  EXPECT_THROW(truncated_svd(a, 2, o), InvalidArgument);
}

TEST(SvdMethodNames, RoundTripAndRejectUnknown) {
  for (SvdMethod m : {SvdMethod::Auto, SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    EXPECT_EQ(parse_svd_method(to_string(m)), m);
  }
  EXPECT_THROW(parse_svd_method("svd"), InvalidArgument);
  EXPECT_THROW(parse_svd_method(""), InvalidArgument);
  EXPECT_THROW(parse_svd_method("Lanczos"), InvalidArgument);
}

TYPED_TEST(SvdTest, FullSvdAndSingularValues) {
  using T = TypeParam;
  const auto p = planted(40, 25, test::geometric(25, 0.6), 29);
  const Matrix<T> a = p.a.cast<T>();
  const auto r = full_svd(a);
  ASSERT_EQ(r.status, Status::Success);
  EXPECT_EQ(r.U.rows(), 40);
  EXPECT_EQ(r.U.cols(), 25);
  EXPECT_EQ(r.V.rows(), 25);
  EXPECT_LE(static_cast<double>((r.U * r.S.asDiagonal() * r.V.transpose() - a).norm() / a.norm()), tol<T>(1e-14, 1e-6));
  // Singular values spanning 1 .. 0.6^24 = 5e-6 (double: all to relative 1e-9;
  // float: the large ones only, the small ones sit at eps(float) * sigma_1).
  const Vector<T> s = singular_values(a);
  const Index check = std::is_same_v<T, double> ? 25 : 8;
  EXPECT_LE(test::max_relative_error(s.head(check), p.s.head(check)), tol<T>(1e-9, 1e-4));
}

// ---- accuracy at the stated tolerance, and the a posteriori bound ------------

// The planted spectra of issue 29: every method against the exact values (the
// planted s, which LAPACK reproduces to eps ||s||), each value to the requested
// relative tolerance (floored at the rounding level of T), and the reported
// error bound must hold: |s_i - sigma_i| <= error_bounds_i.
struct Spectrum {
  const char* name;
  VectorXd s;
  Index k;
};
inline std::vector<Spectrum> planted_spectra() {
  std::vector<Spectrum> out;
  out.push_back({"geometric 0.9", test::geometric(120, 0.9), 10});
  VectorXd flat(150);  // 1/(1+i) for i < 12, then a flat tail at 0.05
  for (Index i = 0; i < 150; ++i) flat[i] = i < 12 ? 1.0 / (1.0 + static_cast<double>(i)) : 0.05;
  out.push_back({"flat tail", flat, 10});
  VectorXd clustered(100);  // top five within 1e-6 of each other, then 1/(1+i)
  for (Index i = 0; i < 100; ++i)
    clustered[i] = i < 5 ? 1.0 - 1e-6 * static_cast<double>(i) : 1.0 / (1.0 + static_cast<double>(i));
  out.push_back({"clustered top", clustered, 8});
  out.push_back({"exact rank 6", test::geometric(6, 0.7), 9});  // sigma_7 .. sigma_9 = 0
  VectorXd harmonic(150);                                       // the scoreboard's 1/(1+i), small gaps at k
  for (Index i = 0; i < 150; ++i) harmonic[i] = 1.0 / (1.0 + static_cast<double>(i));
  out.push_back({"harmonic", harmonic, 15});
  return out;
}

template <class T>
void expect_accurate_with_bound(const SvdResult<T>& r, const VectorXd& s_planted, Index m, Index n, double rel_tol,
                                const std::string& what) {
  SCOPED_TRACE(what);
  const Index k = r.S.size();
  ASSERT_EQ(r.error_bounds.size(), k);
  VectorXd truth = VectorXd::Zero(k);
  truth.head(std::min(k, s_planted.size())) = s_planted.head(std::min(k, s_planted.size()));
  const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
  // Planting in double and rounding A to T moves sigma by eps(T) ||A||_2-ish.
  const double floor = 16 * eps * std::sqrt(static_cast<double>(std::max(m, n))) * truth(0);
  const double slack = 2 * eps * std::sqrt(static_cast<double>(std::max(m, n))) * truth(0);
  for (Index i = 0; i < k; ++i) {
    const double err = std::abs(static_cast<double>(r.S(i)) - truth(i));
    EXPECT_LE(err, std::max(rel_tol * truth(i), floor)) << "i = " << i << " s = " << r.S(i) << " truth " << truth(i);
    // The bound is about the computed A; the planted truth differs from A's
    // singular values by the rounding of A, hence the eps slack.
    EXPECT_LE(err, static_cast<double>(r.error_bounds(i)) + slack) << "bound, i = " << i;
  }
  // (Relative accuracy means nothing for the zero values of an exact rank.)
  const double bound_tol = std::is_same_v<T, double> ? rel_tol : 1.0;
  if (truth(k - 1) > 0) {
    EXPECT_LE(max_relative_error_bound(r), bound_tol);
  }
}

TYPED_TEST(SvdTest, EveryMethodMeetsTheToleranceOnPlantedSpectra) {
  using T = TypeParam;
  const Index m = 260, n = 190;
  std::uint64_t seed = 40;
  for (const Spectrum& sp : planted_spectra()) {
    const auto p = planted(m, n, sp.s, seed++);
    const Matrix<T> a = p.a.cast<T>();
    for (double rel_tol : {1e-8, 1e-5}) {
      for (SvdMethod method : {SvdMethod::Auto, SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos}) {
        TruncatedSvdOptions o;
        o.method = method;
        o.tolerance = rel_tol;
        const auto r = truncated_svd(a, sp.k, o);
        ASSERT_EQ(r.status, Status::Success) << sp.name << " " << to_string(method);
        const double achievable = std::max(rel_tol, tol<T>(0.0, 1e-4));
        expect_accurate_with_bound<T>(r, p.s, m, n, achievable,
                                      std::string(sp.name) + " " + to_string(method) + " tol " +
                                          std::to_string(rel_tol));
      }
    }
    // Randomized promises no accuracy, but the bound it reports must hold.
    TruncatedSvdOptions o;
    o.method = SvdMethod::Randomized;
    const auto r = truncated_svd(a, sp.k, o);
    ASSERT_EQ(r.error_bounds.size(), sp.k);
    VectorXd truth = VectorXd::Zero(sp.k);
    truth.head(std::min(sp.k, sp.s.size())) = sp.s.head(std::min(sp.k, sp.s.size()));
    const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
    for (Index i = 0; i < sp.k; ++i) {
      EXPECT_LE(std::abs(static_cast<double>(r.S(i)) - truth(i)),
                static_cast<double>(r.error_bounds(i)) + 2 * eps * std::sqrt(static_cast<double>(m)))
          << sp.name << " randomized i = " << i;
    }
  }
}

TYPED_TEST(SvdTest, ResidualsAreTheTripletResiduals) {
  using T = TypeParam;
  const auto p = planted(240, 180, test::geometric(80, 0.85), 50);
  const Matrix<T> a = p.a.cast<T>();
  for (SvdMethod method : {SvdMethod::Full, SvdMethod::Krylov, SvdMethod::Lanczos, SvdMethod::Randomized}) {
    TruncatedSvdOptions o;
    o.method = method;
    o.power_iterations = 1;  // randomized: visibly inexact, so the residuals are not all rounding
    const auto r = truncated_svd(a, 7, o);
    ASSERT_EQ(r.residuals.size(), 7) << to_string(method);
    const Matrix<T> av = a * r.V - r.U * r.S.asDiagonal();
    const Matrix<T> atu = a.transpose() * r.U - r.V * r.S.asDiagonal();
    for (Index i = 0; i < 7; ++i) {
      const double direct = std::sqrt(static_cast<double>(av.col(i).squaredNorm() + atu.col(i).squaredNorm()));
      EXPECT_NEAR(static_cast<double>(r.residuals(i)), direct, tol<T>(1e-13, 1e-5) + 1e-3 * direct)
          << to_string(method) << " i = " << i;
      // min(rho, rho^2 / gap) plus the rounding level eps sqrt(max(m, n)) s_1.
      const double rounding = std::numeric_limits<T>::epsilon() * std::sqrt(240.0) * static_cast<double>(r.S(0));
      EXPECT_LE(static_cast<double>(r.error_bounds(i)),
                static_cast<double>(r.residuals(i)) / std::sqrt(2.0) * 1.0001 + rounding * 1.01)
          << to_string(method);
    }
  }
}

TEST(SvdDefaults, ScoreboardCaseIsAccurateByDefault) {
  // The scoreboard's decompose --rank 15 case, scaled down to 600 x 350
  // (1/(1+i), i < 300): the default options must give 1e-8 relative.
  VectorXd s(300);
  for (Index i = 0; i < 300; ++i) s[i] = 1.0 / (1.0 + static_cast<double>(i));
  const auto p = planted(600, 350, s, 51);
  const auto r = truncated_svd(p.a, 15);
  ASSERT_EQ(r.status, Status::Success);
  EXPECT_LE(test::max_relative_error(r.S, s.head(15)), 1e-8) << to_string(r.method_used);
  EXPECT_LE(max_relative_error_bound(r), 1e-8);
}

TEST(SvdDefaults, KrylovStopsEarlierAtALooserTolerance) {
  VectorXd s(200);
  for (Index i = 0; i < 200; ++i) s[i] = 1.0 / (1.0 + static_cast<double>(i));
  const auto p = planted(400, 300, s, 52);
  TruncatedSvdOptions o;
  o.method = SvdMethod::Krylov;
  o.tolerance = 1e-3;
  const auto loose = truncated_svd(p.a, 10, o);
  o.tolerance = 1e-12;
  const auto tight = truncated_svd(p.a, 10, o);
  EXPECT_LT(loose.iterations, tight.iterations);
  EXPECT_LE(test::max_relative_error(loose.S, s.head(10)), 1e-3);
  EXPECT_LE(test::max_relative_error(tight.S, s.head(10)), 1e-12);
}

TEST(SvdDefaults, KrylovRestartsWhenTheBasisIsFull) {
  VectorXd s(200);
  for (Index i = 0; i < 200; ++i) s[i] = 1.0 / (1.0 + static_cast<double>(i));
  const auto p = planted(400, 300, s, 53);
  TruncatedSvdOptions o;
  o.method = SvdMethod::Krylov;
  o.krylov_dim = 30;  // block 15: two blocks per cycle
  o.oversampling = 5;
  const auto r = truncated_svd(p.a, 10, o);
  ASSERT_EQ(r.status, Status::Success);
  EXPECT_GT(r.iterations, 2);
  EXPECT_LE(test::max_relative_error(r.S, s.head(10)), 1e-8);
  o.max_iterations = 2;
  EXPECT_EQ(truncated_svd(p.a, 10, o).status, Status::NotConverging);
}

// k = 40 takes a block of 20 (half of k): the Krylov basis reaches k only
// after two steps, and a tight krylov_dim forces thick restarts that must
// keep the converged triplets. Same planted spectra and checks as above,
// plus a value repeated 12 times (at most the block) and an exact rank below k.
TYPED_TEST(SvdTest, KrylovWithABlockSmallerThanKMeetsTheTolerance) {
  using T = TypeParam;
  const Index m = 300, n = 220, k = 40;
  VectorXd harmonic(200), flat(200), repeated(200), clustered(200);
  for (Index i = 0; i < 200; ++i) {
    const double x = 1.0 / (1.0 + static_cast<double>(i));
    harmonic[i] = x;
    flat[i] = i < 45 ? x : 0.01;
    repeated[i] = i < 12 ? 0.5 : x;
    clustered[i] = i < 30 ? 1.0 - 1e-7 * static_cast<double>(i) : 0.5 * x;
  }
  const std::pair<const char*, VectorXd> spectra[] = {{"geometric 0.95", test::geometric(200, 0.95)},
                                                      {"harmonic", harmonic},
                                                      {"flat tail", flat},
                                                      {"12 equal values", repeated},
                                                      {"clustered top 30", clustered},
                                                      {"exact rank 30", test::geometric(30, 0.8)}};
  std::uint64_t seed = 70;
  for (const auto& [name, s] : spectra) {
    const auto p = planted(m, n, s, seed++);
    const Matrix<T> a = p.a.template cast<T>();
    for (Index dim : {Index{0}, Index{100}}) {  // default basis; restarts every few steps
      TruncatedSvdOptions o;
      o.method = SvdMethod::Krylov;
      o.krylov_dim = dim;
      const auto r = truncated_svd(a, k, o);
      const std::string what = std::string(name) + " krylov_dim " + std::to_string(dim);
      ASSERT_EQ(r.status, Status::Success) << what;
      ASSERT_EQ(r.method_used, SvdMethod::Krylov) << what;
      if (dim > 0 && s.size() > k) {
        EXPECT_GT(r.iterations, 4) << what;  // (100 - 20) / 20 steps: restarted
      }
      expect_accurate_with_bound<T>(r, p.s, m, n, std::max(1e-8, tol<T>(0.0, 1e-4)), what);
      // The residuals come from the products kept (and rotated at restarts):
      // they must be the triplets' true residuals.
      EXPECT_LE(test::orthonormality_error(r.U), tol<T>(1e-12, 1e-5)) << what;
      EXPECT_LE(test::orthonormality_error(r.V), tol<T>(1e-12, 1e-5)) << what;
      const Matrix<T> av = a * r.V - r.U * r.S.asDiagonal();
      const Matrix<T> atu = a.transpose() * r.U - r.V * r.S.asDiagonal();
      for (Index i = 0; i < k; ++i) {
        const double direct = std::sqrt(static_cast<double>(av.col(i).squaredNorm() + atu.col(i).squaredNorm()));
        EXPECT_NEAR(static_cast<double>(r.residuals(i)), direct, tol<T>(1e-13, 1e-5) + 1e-3 * direct)
            << what << " i = " << i;
      }
    }
  }
}

}  // namespace
}  // namespace lowrank

namespace lowrank {
namespace {

// Float passes (double dense input): the Krylov basis from a float copy of A,
// then double block steps from its Ritz vectors. The same planted spectra as
// above plus the block-below-k ones, at tolerances that one double step meets
// (1e-5, 1e-8) and one that needs further double steps (1e-12); the reported
// residuals must be the true double residuals and the bound must hold. Scaled
// by 1e-40 and 1e+40 the float copy would underflow or overflow unscaled.
TEST(SvdFloatPasses, KrylovFromFloatPassesMeetsTheToleranceOnPlantedSpectra) {
  const Index m = 260, n = 190;
  std::vector<Spectrum> spectra = planted_spectra();
  VectorXd flat(150), clustered(150);
  for (Index i = 0; i < 150; ++i) {
    const double x = 1.0 / (1.0 + static_cast<double>(i));
    flat[i] = i < 25 ? x : 0.01;
    clustered[i] = i < 20 ? 1.0 - 1e-7 * static_cast<double>(i) : 0.5 * x;
  }
  spectra.push_back({"flat tail k 20", flat, 20});
  spectra.push_back({"clustered top 20", clustered, 20});
  std::uint64_t seed = 90;
  for (const Spectrum& sp : spectra) {
    const auto p = planted(m, n, sp.s, seed++);
    for (double scale : {1.0, 1e-40, 1e40}) {
      const Matrix<double> a = p.a * scale;
      for (double rel_tol : {1e-5, 1e-8, 1e-12}) {
        TruncatedSvdOptions o;
        o.tolerance = rel_tol;
        const auto r = detail::krylov_svd_float_passes(a, sp.k, o);
        const std::string what =
            std::string(sp.name) + " scale " + std::to_string(scale) + " tol " + std::to_string(rel_tol);
        ASSERT_EQ(r.status, Status::Success) << what;
        ASSERT_EQ(r.method_used, SvdMethod::Krylov) << what;
        SvdResult<double> unscaled = r;
        unscaled.S /= scale;
        unscaled.residuals /= scale;
        unscaled.error_bounds /= scale;
        expect_accurate_with_bound<double>(unscaled, p.s, m, n, rel_tol, what);
        const Matrix<double> av = a * r.V - r.U * r.S.asDiagonal();
        const Matrix<double> atu = a.transpose() * r.U - r.V * r.S.asDiagonal();
        for (Index i = 0; i < sp.k; ++i) {
          const double direct = std::sqrt(av.col(i).squaredNorm() + atu.col(i).squaredNorm());
          EXPECT_NEAR(r.residuals(i), direct, 1e-13 * scale + 1e-3 * direct) << what << " i = " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace lowrank
