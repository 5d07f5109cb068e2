// One truncated_svd call on a planted matrix, best of 3, for quick A/B runs of
// the SVD paths without the CLI (issue 29). Build (from the repository root,
// after building lowrank_linalg in build/; with -DLOWRANK_BENCH=ON it is also
// built as build/bench/svd_probe):
//   c++ -O2 -DNDEBUG -DEIGEN_USE_BLAS -Iinclude -isystem /usr/include/eigen3 -fopenmp -std=c++20 \
//     bench/svd_probe.cpp -o build/svd_probe build/liblowrank_linalg.a build/liblowrank_core.a -llapacke -lopenblas
// Times are CPU seconds (std::clock), robust to other jobs on a shared machine
// when run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include "lowrank/linalg/detail/kernels.hpp"
#include "lowrank/linalg/svd.hpp"
using namespace lowrank;
// usage: probe m n k method tol oversampling spectrum(0=harmonic,1=bench1.5flat,2=geom0.9) [krylov_dim]
int main(int argc, char** argv) {
  Index m = atol(argv[1]), n = atol(argv[2]), k = atol(argv[3]);
  SvdMethod meth = parse_svd_method(argv[4]);
  double tol = atof(argv[5]);
  Index over = atol(argv[6]);
  int spec = atoi(argv[7]);
  Index r = std::min(m, n);
  Vector<double> s(r);
  for (Index i = 0; i < r; ++i) {
    if (spec == 0) s(i) = 1.0 / (1 + i);
    else if (spec == 1) {
      s(i) = std::pow(1.0 + i, -1.5);
    } else s(i) = std::pow(0.9, (double)i);
  }
  if (spec == 1) {
    double cap = s(k) * 0.5;
    for (Index i = k; i < r; ++i) s(i) = std::min(s(i), cap);
  }
  Matrix<double> u(m, r), v(n, r);
  detail::fill_gaussian(u, 1);
  detail::fill_gaussian(v, 2);
  detail::householder_orthonormalize(u);
  detail::householder_orthonormalize(v);
  Matrix<double> a = u * s.asDiagonal() * v.transpose();
  TruncatedSvdOptions o;
  o.method = meth;
  o.tolerance = tol;
  o.oversampling = over;
  if (argc > 8) o.krylov_dim = atol(argv[8]);
  double best = 1e9;
  SvdResult<double> res;
  for (int rep = 0; rep < 3; ++rep) {
    std::clock_t t0 = std::clock();
    res = truncated_svd(a, k, o);
    best = std::min(best, double(std::clock() - t0) / CLOCKS_PER_SEC);
  }
  double err = 0, bviol = 0;
  for (Index i = 0; i < k; ++i) {
    double e = std::abs(res.S(i) - s(i));
    err = std::max(err, e / s(i));
    if (res.error_bounds.size()) bviol = std::max(bviol, e - (double)res.error_bounds(i));
  }
  printf("%ldx%ld k=%ld %s used=%s it=%d time=%.4f relerr=%.2e maxbound=%.2e bound_violation=%.1e status=%d\n", m, n, k,
         argv[4], to_string(res.method_used), res.iterations, best, err, max_relative_error_bound(res), bviol,
         (int)res.status);
}
