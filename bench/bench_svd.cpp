// Google Benchmark for the three truncated-SVD paths, float and double.
//
//   dense   2000 x 1500, rank 50, sigma_i = exp(-i / 10) plus 1e-10 noise, k = 20
//   sparse  100000 x 10000 at 0.05% density (5e5 N(0,1) nonzeros), k = 10
//
// Every benchmark first checks its own answer and fails (SkipWithError) if it
// is wrong, then times it. Dense reference: the planted spectrum; sparse:
// a residual certificate ||A v_i - s_i u_i|| <= tol s_1 for each triplet
// plus agreement of the values with a double-precision Lanczos run.
// Beside each of ours runs a textbook peer on the same input, so the table
// shows what the kernels buy: Eigen's BDCSVD for Full, Spectra on a plain
// Eigen Gram product (no Rayleigh-Ritz) for Lanczos, and HMT with Eigen's
// Householder QR and Eigen's sparse products for Randomized.
//
// Run: build/bench/bench_svd [--benchmark_filter=Sparse]
// The counter rel_err is the max relative error of the k singular values.
#include <benchmark/benchmark.h>

#include <Spectra/SymEigsSolver.h>
#include <Eigen/QR>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "lowrank/linalg/detail/kernels.hpp"
#include "lowrank/linalg/svd.hpp"

namespace {

using namespace lowrank;

constexpr Index kDenseRows = 2000, kDenseCols = 1500, kDenseRank = 50, kDenseK = 20;
constexpr Index kSparseRows = 100000, kSparseCols = 10000, kSparseK = 10;

struct DenseCase {
  MatrixXd a;
  VectorXd s;  // planted singular values (the noise moves them by ~1e-11 relative)
};

const DenseCase& dense_case() {
  static const DenseCase c = [] {
    DenseCase d;
    MatrixXd u(kDenseRows, kDenseRank), v(kDenseCols, kDenseRank);
    detail::fill_gaussian(u, 1);
    detail::fill_gaussian(v, 2);
    detail::householder_orthonormalize(u);
    detail::householder_orthonormalize(v);
    d.s.resize(kDenseRank);
    for (Index i = 0; i < kDenseRank; ++i) d.s[i] = std::exp(-static_cast<double>(i) / 10.0);
    MatrixXd noise(kDenseRows, kDenseCols);
    detail::fill_gaussian(noise, 3);
    d.a = u * d.s.asDiagonal() * v.transpose() + 1e-10 / std::sqrt(double(kDenseRows)) * noise;
    return d;
  }();
  return c;
}

template <class T>
const Matrix<T>& dense_matrix() {
  static const Matrix<T> a = dense_case().a.cast<T>();
  return a;
}

template <class T>
const SparseOperator<T>& sparse_operator() {
  static const auto op = [] {
    detail::Xoshiro256 rng(4);
    const Index per_row = 5;  // 0.05% of 10000
    std::vector<std::int32_t> r, c;
    std::vector<T> v;
    MatrixXd g(kSparseRows * per_row, 1);
    detail::fill_gaussian(g, 5);
    for (Index i = 0; i < kSparseRows; ++i) {
      std::int32_t picked[per_row];
      for (Index t = 0; t < per_row;) {
        const auto j = static_cast<std::int32_t>(rng.next() % kSparseCols);
        if (std::find(picked, picked + t, j) == picked + t) picked[t++] = j;
      }
      for (Index t = 0; t < per_row; ++t) {
        r.push_back(static_cast<std::int32_t>(i));
        c.push_back(picked[t]);
        v.push_back(static_cast<T>(g(i * per_row + t, 0)));
      }
    }
    return std::make_unique<SparseOperator<T>>(kSparseRows, kSparseCols, r, c, v);
  }();
  return *op;
}

// Reference values for the sparse case: double Lanczos at tol 1e-12,
// certified by its residuals before use.
const VectorXd& sparse_reference() {
  static const VectorXd s = [] {
    TruncatedSvdOptions o;
    o.method = SvdMethod::Lanczos;
    o.tolerance = 1e-12;
    const auto r = truncated_svd(sparse_operator<double>(), kSparseK, o);
    MatrixXd av;
    sparse_operator<double>().apply(r.V, av);
    const double res = (av - r.U * r.S.asDiagonal()).colwise().norm().maxCoeff() / r.S[0];
    if (r.status != Status::Success || res > 1e-9) std::abort();
    return VectorXd(r.S);
  }();
  return s;
}

std::string to_exp(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", x);
  return buf;
}

template <class S>
double max_rel_err(const S& got, const VectorXd& ref, Index k) {
  double e = 0;
  for (Index i = 0; i < k; ++i) {
    e = std::max(e, std::abs(static_cast<double>(got[i]) - ref[i]) / ref[i]);
  }
  return e;
}

template <class T>
double tolerance_for(SvdMethod m, bool sparse) {
  // Randomized with the default q: on the dense case sigma_{k+p+1} / sigma_k
  // = e^-1 gives ~1e-5; the sparse spectrum is flat (sigma_10 / sigma_31 ~
  // 1.1) and q = 4 gets only one digit there. Its values are Ritz values, so
  // they must also lie below the true ones (checked separately).
  if (m == SvdMethod::Randomized) return sparse ? 0.15 : 1e-4;
  return std::is_same_v<T, double> ? 1e-9 : 2e-4;
}

// Singular values of Q^T A never exceed those of A (Cauchy interlacing).
template <class S>
bool below_reference(const S& got, const VectorXd& ref, Index k) {
  for (Index i = 0; i < k; ++i) {
    if (static_cast<double>(got[i]) > ref[i] * (1 + 1e-5)) return false;
  }
  return true;
}

// ---- ours ---------------------------------------------------------------------

template <class T>
void BM_DenseOurs(benchmark::State& state, SvdMethod method) {
  const Matrix<T>& a = dense_matrix<T>();
  TruncatedSvdOptions o;
  o.method = method;
  const auto check = truncated_svd(a, kDenseK, o);
  const double err = max_rel_err(check.S, dense_case().s, kDenseK);
  if (check.status != Status::Success || !(err <= tolerance_for<T>(method, false))) {
    state.SkipWithError(("wrong answer: rel_err " + to_exp(err)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(truncated_svd(a, kDenseK, o));
  state.counters["rel_err"] = err;
}

template <class T>
void BM_SparseOurs(benchmark::State& state, SvdMethod method) {
  const SparseOperator<T>& op = sparse_operator<T>();
  TruncatedSvdOptions o;
  o.method = method;
  const auto check = truncated_svd(op, kSparseK, o);
  const double err = max_rel_err(check.S, sparse_reference(), kSparseK);
  if (check.status != Status::Success || !(err <= tolerance_for<T>(method, true)) ||
      !below_reference(check.S, sparse_reference(), kSparseK)) {
    state.SkipWithError(("wrong answer: rel_err " + to_exp(err)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(truncated_svd(op, kSparseK, o));
  state.counters["rel_err"] = err;
}

// ---- textbook peers -----------------------------------------------------------

template <class T>
void BM_DensePeerBdcsvd(benchmark::State& state) {
  const Matrix<T>& a = dense_matrix<T>();
  const auto run = [&] { return Eigen::BDCSVD<Matrix<T>>(a, Eigen::ComputeThinU | Eigen::ComputeThinV); };
  const double err = max_rel_err(run().singularValues(), dense_case().s, kDenseK);
  if (!(err <= tolerance_for<T>(SvdMethod::Full, false))) {
    state.SkipWithError("wrong answer");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(run());
  state.counters["rel_err"] = err;
}

// Spectra as its examples use it: A^T A x through two Eigen products.
template <class Op>
struct TextbookGram {
  using Scalar = typename Op::Scalar;
  const Op& a;
  Index rows() const { return a.cols(); }
  Index cols() const { return a.cols(); }
  void perform_op(const Scalar* x, Scalar* y) const {
    Matrix<Scalar> xm = Eigen::Map<const Vector<Scalar>>(x, a.cols()), t, out;
    a.apply(xm, t);
    a.apply_adjoint(t, out);
    Eigen::Map<Vector<Scalar>>(y, a.cols()) = out.col(0);
  }
};

template <class Op>
Vector<typename Op::Scalar> textbook_lanczos(const Op& a, Index k) {
  TextbookGram<Op> g{a};
  Spectra::SymEigsSolver<TextbookGram<Op>> eigs(g, k, std::min(2 * k + 1, a.cols()));
  eigs.init();
  eigs.compute(Spectra::SortRule::LargestAlge, 1000, 1e-10);
  return eigs.eigenvalues().cwiseMax(0).cwiseSqrt();
}

template <class Op>
Vector<typename Op::Scalar> textbook_randomized(const Op& a, Index k, int q) {
  using T = typename Op::Scalar;
  const Index l = k + 10;
  Matrix<T> omega(a.cols(), l), y, z;
  detail::fill_gaussian(omega, 0);
  const auto orth = [](Matrix<T>& m) {
    const Eigen::HouseholderQR<Matrix<T>> qr(m);
    m = qr.householderQ() * Matrix<T>::Identity(m.rows(), m.cols());
  };
  a.apply(omega, y);
  orth(y);
  for (int i = 0; i < q; ++i) {
    a.apply_adjoint(y, z);
    orth(z);
    a.apply(z, y);
    orth(y);
  }
  a.apply_adjoint(y, z);
  return Eigen::JacobiSVD<Matrix<T>>(z).singularValues();
}

template <class Op>
void peer_loop(benchmark::State& state, const Op& op, Index k, const VectorXd& ref, bool lanczos, int q) {
  using T = typename Op::Scalar;
  const auto run = [&] { return lanczos ? textbook_lanczos(op, k) : textbook_randomized(op, k, q); };
  const double err = max_rel_err(run(), ref, k);
  const bool sparse = std::is_same_v<Op, SparseOperator<T>>;
  if (!(err <= tolerance_for<T>(lanczos ? SvdMethod::Lanczos : SvdMethod::Randomized, sparse))) {
    state.SkipWithError(("wrong answer: rel_err " + to_exp(err)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(run());
  state.counters["rel_err"] = err;
}

template <class T>
void BM_DensePeer(benchmark::State& state, bool lanczos) {
  peer_loop(state, DenseOperator<T>(dense_matrix<T>()), kDenseK, dense_case().s, lanczos, 2);
}
template <class T>
void BM_SparsePeer(benchmark::State& state, bool lanczos) {
  peer_loop(state, sparse_operator<T>(), kSparseK, sparse_reference(), lanczos, 4);
}

template <class T>
void register_all(const char* type) {
  const std::string t = type;
  const auto reg = [](const std::string& name, auto fn) {
    return benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
  };
  reg("Dense/" + t + "/full", [](benchmark::State& s) { BM_DenseOurs<T>(s, SvdMethod::Full); })->Iterations(2);
  reg("Dense/" + t + "/full/peer_eigen_bdcsvd", [](benchmark::State& s) { BM_DensePeerBdcsvd<T>(s); })->Iterations(2);
  reg("Dense/" + t + "/lanczos", [](benchmark::State& s) { BM_DenseOurs<T>(s, SvdMethod::Lanczos); });
  reg("Dense/" + t + "/lanczos/peer_spectra_textbook", [](benchmark::State& s) { BM_DensePeer<T>(s, true); });
  reg("Dense/" + t + "/randomized", [](benchmark::State& s) { BM_DenseOurs<T>(s, SvdMethod::Randomized); });
  reg("Dense/" + t + "/randomized/peer_hmt_textbook", [](benchmark::State& s) { BM_DensePeer<T>(s, false); });
  // Full on the sparse case would densify 1e9 entries: not run.
  reg("Sparse/" + t + "/lanczos", [](benchmark::State& s) { BM_SparseOurs<T>(s, SvdMethod::Lanczos); });
  reg("Sparse/" + t + "/lanczos/peer_spectra_textbook", [](benchmark::State& s) { BM_SparsePeer<T>(s, true); });
  reg("Sparse/" + t + "/randomized", [](benchmark::State& s) { BM_SparseOurs<T>(s, SvdMethod::Randomized); });
  reg("Sparse/" + t + "/randomized/peer_hmt_textbook", [](benchmark::State& s) { BM_SparsePeer<T>(s, false); });
}

}  // namespace

int main(int argc, char** argv) {
  register_all<double>("double");
  register_all<float>("float");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
