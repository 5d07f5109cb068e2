#pragma once
// Shared helpers for the linalg tests: planted-spectrum matrices, a reader
// for the numpy/scipy fixtures in tests/data/linalg, and typed-test plumbing.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lowrank/linalg/detail/kernels.hpp"
#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/types.hpp"
#include "test_paths.hpp"

namespace lowrank::test {

// Under the sanitizers (LOWRANK_TEST_SANITIZE, tests/CMakeLists.txt) the
// typed tests run for double only: float runs the same templates, and its
// instantiations doubled the compile of this binary, the sanitizer build's
// longest test compile (108 -> 51 s of CPU; docs/benchmarks.md, "CI time"). The Release build runs both; the float code
// of linalg still runs under ASan through completion's float CV fits and nn.
#ifdef LOWRANK_TEST_SANITIZE
using Scalars = ::testing::Types<double>;
#else
using Scalars = ::testing::Types<float, double>;
#endif

/// Tolerance scaled to the precision: `d` for double, `f` for float.
template <class T>
constexpr double tol(double d, double f) {
  return std::is_same_v<T, double> ? d : f;
}

/// n x k matrix with orthonormal columns, Haar-distributed (QR of a Gaussian).
inline MatrixXd random_orthonormal(Index n, Index k, std::uint64_t seed) {
  MatrixXd g(n, k);
  detail::fill_gaussian(g, seed);
  detail::householder_orthonormalize(g);
  return g;
}

/// A = U diag(s) V^T with random orthonormal U (m x r), V (n x r), built in
/// double and rounded once to T, so its singular values are s to within
/// eps(T) ||s||.
struct Planted {
  MatrixXd a, u, v;
  VectorXd s;
};
inline Planted planted(Index m, Index n, const VectorXd& s, std::uint64_t seed) {
  Planted p;
  p.s = s;
  p.u = random_orthonormal(m, s.size(), seed);
  p.v = random_orthonormal(n, s.size(), seed + 1000);
  p.a = p.u * s.asDiagonal() * p.v.transpose();
  return p;
}

/// s_i = ratio^i, i = 0..r-1.
inline VectorXd geometric(Index r, double ratio) {
  VectorXd s(r);
  for (Index i = 0; i < r; ++i) s[i] = std::pow(ratio, static_cast<double>(i));
  return s;
}

/// Random sparse pattern, `per_row` distinct entries per row, N(0, scale^2) values.
template <class T>
SparseOperator<T> random_sparse(Index m, Index n, Index per_row, std::uint64_t seed, double scale = 1.0) {
  detail::Xoshiro256 rng(seed);
  std::vector<std::int32_t> rows, cols;
  std::vector<T> vals;
  MatrixXd g(m * per_row, 1);
  detail::fill_gaussian(g, seed + 1);
  Index t = 0;
  for (Index i = 0; i < m; ++i) {
    std::set<std::int32_t> picked;
    while (static_cast<Index>(picked.size()) < std::min(per_row, n)) {
      picked.insert(static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(n)));
    }
    for (auto j : picked) {
      rows.push_back(static_cast<std::int32_t>(i));
      cols.push_back(j);
      vals.push_back(static_cast<T>(scale * g(t++ % g.size(), 0)));
    }
  }
  return SparseOperator<T>(m, n, rows, cols, vals);
}

/// Named matrices of a fixture written by tests/data/linalg/make_fixtures.py.
inline std::map<std::string, MatrixXd> read_fixture(const std::string& name) {
  const std::string path = std::string(LOWRANK_TEST_DATA_DIR) + "/linalg/" + name + ".txt";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  std::map<std::string, MatrixXd> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string key;
    Index r = 0, c = 0;
    if (!(head >> key >> r >> c)) throw std::runtime_error("bad block header in " + path + ": " + line);
    MatrixXd m(r, c);
    for (Index i = 0; i < r; ++i) {
      for (Index j = 0; j < c; ++j) {
        if (!(in >> m(i, j))) throw std::runtime_error("short block " + key + " in " + path);
      }
    }
    std::getline(in, line);  // rest of the last row
    out[key] = m;
  }
  return out;
}

/// ||Q^T Q - I||_max.
template <class T>
double orthonormality_error(const Matrix<T>& q) {
  const Matrix<T> g = q.transpose() * q;
  return static_cast<double>((g - Matrix<T>::Identity(g.rows(), g.cols())).cwiseAbs().maxCoeff());
}

/// max_i |a_i - b_i| / |b_i|.
template <class A, class B>
double max_relative_error(const A& a, const B& b) {
  double e = 0;
  for (Index i = 0; i < b.size(); ++i) {
    e = std::max(e,
                 std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])) / std::abs(static_cast<double>(b[i])));
  }
  return e;
}

}  // namespace lowrank::test
