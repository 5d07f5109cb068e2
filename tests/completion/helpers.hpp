#pragma once
// Planted problems and fixture readers shared by the completion tests.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"
#include "test_paths.hpp"

namespace lowrank::test {

/// A planted m x n matrix X0 = A B^T (entries of A, B ~ N(0, 1)), the
/// observed entries X0 + noise on a uniformly random fraction of cells, and
/// the complementary cells as a held-out set (noise-free truth and noisy).
template <class T>
struct Planted {
  Matrix<T> truth;                ///< m x n, rank r
  ObservedEntries<T> train;       ///< noisy observed entries
  ObservedEntries<T> test_truth;  ///< held-out cells, noise-free values
};

template <class T>
Planted<T> make_planted(Index m, Index n, Index r, double fraction, double noise, std::uint64_t seed,
                        bool every_row_and_col = true) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);  // test-only: platform streams may differ
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  Matrix<double> a(m, r), b(n, r);
  for (Index k = 0; k < a.size(); ++k) a.data()[k] = normal(rng);
  for (Index k = 0; k < b.size(); ++k) b.data()[k] = normal(rng);
  Planted<T> p;
  p.truth = (a * b.transpose()).cast<T>();
  for (auto* e : {&p.train, &p.test_truth}) {
    e->rows = m;
    e->cols = n;
  }
  while (true) {
    p.train.row.clear();
    p.train.col.clear();
    p.train.value.clear();
    p.test_truth.row.clear();
    p.test_truth.col.clear();
    p.test_truth.value.clear();
    std::vector<int> rc(static_cast<std::size_t>(m), 0), cc(static_cast<std::size_t>(n), 0);
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < m; ++i) {
        const double e = noise * normal(rng);
        if (unif(rng) < fraction) {
          p.train.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j),
                            static_cast<T>(static_cast<double>(p.truth(i, j)) + e));
          ++rc[static_cast<std::size_t>(i)];
          ++cc[static_cast<std::size_t>(j)];
        } else {
          p.test_truth.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), p.truth(i, j));
        }
      }
    }
    bool ok = true;
    for (int c : rc) ok = ok && c > 0;
    for (int c : cc) ok = ok && c > 0;
    if (ok || !every_row_and_col) break;
  }
  return p;
}

/// Dense matrix of the observed entries with zeros elsewhere.
template <class T>
Matrix<T> zero_filled(const ObservedEntries<T>& e) {
  Matrix<T> z = Matrix<T>::Zero(e.rows, e.cols);
  for (std::size_t k = 0; k < e.value.size(); ++k) z(e.row[k], e.col[k]) = e.value[k];
  return z;
}

inline std::string fixture_path(const std::string& name) {
  return std::string(LOWRANK_TEST_DATA_DIR) + "/completion/" + name;
}

/// NAME.entries.txt written by make_softimpute_reference.R.
inline ObservedEntries<double> read_entries(const std::string& name) {
  std::ifstream in(fixture_path(name + ".entries.txt"));
  if (!in) throw std::runtime_error("cannot open " + fixture_path(name + ".entries.txt"));
  ObservedEntries<double> e;
  std::size_t nnz = 0;
  in >> e.rows >> e.cols >> nnz;
  for (std::size_t k = 0; k < nnz; ++k) {
    std::int32_t i, j;
    double v;
    in >> i >> j >> v;
    e.push_back(i, j, v);
  }
  if (!in) throw std::runtime_error("truncated " + name + ".entries.txt");
  return e;
}

/// Key -> numbers of a NAME.softimpute_TYPE.txt / NAME.biscale.txt file; the
/// "fitted" key collects every number on the lines after it.
inline std::map<std::string, std::vector<double>> read_keyed(const std::string& file) {
  std::ifstream in(fixture_path(file));
  if (!in) throw std::runtime_error("cannot open " + fixture_path(file));
  std::map<std::string, std::vector<double>> out;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string first;
    ls >> first;
    double v;
    if (std::istringstream(first) >> v) {  // a bare number: continues the current key
      out[current].push_back(v);
      continue;
    }
    current = first;
    auto& vec = out[current];
    while (ls >> v) vec.push_back(v);
  }
  return out;
}

}  // namespace lowrank::test
