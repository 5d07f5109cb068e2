#pragma once
// Shared helpers for the GAME tests: seeded synthetic problems and references
// that do not share code with the library (Eigen's JacobiSVD throughout).
#include <gtest/gtest.h>
#include <Eigen/SVD>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/game/game.hpp"
#include "lowrank/linalg/types.hpp"

namespace game_test {

using lowrank::Index;
using lowrank::Matrix;
using lowrank::Vector;

template <class T>
Matrix<T> gaussian(Index rows, Index cols, std::mt19937_64& rng, double sd = 1.0) {
  std::normal_distribution<double> nd(0.0, sd);
  Matrix<T> a(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) a(i, j) = static_cast<T>(nd(rng));
  return a;
}

/// Entries of `full` kept independently with probability p (at least one per row).
template <class T>
lowrank::ObservedEntries<T> sample(const Matrix<T>& full, double p, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  lowrank::ObservedEntries<T> e;
  e.rows = full.rows();
  e.cols = full.cols();
  for (Index i = 0; i < full.rows(); ++i) {
    bool any = false;
    for (Index j = 0; j < full.cols(); ++j)
      if (u(rng) < p) {
        e.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), full(i, j));
        any = true;
      }
    if (!any) e.push_back(static_cast<std::int32_t>(i), 0, full(i, 0));
  }
  return e;
}

/// Category with `levels` levels assigned round-robin after a shuffle.
inline std::vector<int> assign_levels(Index rows, int levels, std::mt19937_64& rng) {
  std::vector<int> lv(static_cast<std::size_t>(rows));
  for (Index i = 0; i < rows; ++i) lv[static_cast<std::size_t>(i)] = static_cast<int>(i % levels);
  std::shuffle(lv.begin(), lv.end(), rng);
  return lv;
}

inline void add_category(lowrank::RowGroups& g, const std::string& name, const std::vector<int>& levels, int count) {
  for (int l = 0; l < count; ++l) {
    std::vector<std::int32_t> rows;
    for (std::size_t i = 0; i < levels.size(); ++i)
      if (levels[i] == l) rows.push_back(static_cast<std::int32_t>(i));
    g.names.push_back(name + "=" + std::to_string(l));
    g.rows.push_back(rows);
  }
}

template <class T>
Matrix<T> dense_x(const lowrank::ObservedEntries<T>& e) {
  Matrix<T> x = Matrix<T>::Zero(e.rows, e.cols);
  for (std::size_t t = 0; t < e.nnz(); ++t) x(e.row[t], e.col[t]) = e.value[t];
  return x;
}

template <class T>
Matrix<T> dense_mask(const lowrank::ObservedEntries<T>& e) {
  Matrix<T> m = Matrix<T>::Zero(e.rows, e.cols);
  for (std::size_t t = 0; t < e.nnz(); ++t) m(e.row[t], e.col[t]) = T(1);
  return m;
}

template <class T>
Matrix<T> rows_of(const Matrix<T>& a, const std::vector<std::int32_t>& rows) {
  Matrix<T> out(static_cast<Index>(rows.size()), a.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Index>(i)) = a.row(rows[i]);
  return out;
}

template <class T>
Vector<T> svals(const Matrix<T>& a) {
  return Eigen::JacobiSVD<Matrix<T>>(a).singularValues();
}

template <class T>
Matrix<T> svt(const Matrix<T>& a, double tau) {
  Eigen::JacobiSVD<Matrix<T>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Vector<T> s = (svd.singularValues().array() - static_cast<T>(tau)).cwiseMax(T(0)).matrix();
  return svd.matrixU() * s.asDiagonal() * svd.matrixV().transpose();
}

/// Reference soft-impute: FISTA on 1/2 ||P_Omega(X - Z)||^2 + lambda ||Z||_* with
/// exact Jacobi SVDs, run until the iterate stops moving (||dZ|| <= tol ||Z||).
template <class T>
Matrix<T> reference_soft_impute(const Matrix<T>& x, const Matrix<T>& mask, double lambda, double tol = 1e-13,
                                int max_iter = 20000) {
  Matrix<T> z = Matrix<T>::Zero(x.rows(), x.cols()), y = z;
  double t = 1;
  for (int it = 0; it < max_iter; ++it) {
    const Matrix<T> v = (mask.array() * x.array() + (T(1) - mask.array()) * y.array()).matrix();
    const Matrix<T> zn = svt<T>(v, lambda);
    const double tn = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
    y = zn + static_cast<T>((t - 1) / tn) * (zn - z);
    const double dz = static_cast<double>((zn - z).norm());
    z = zn;
    t = tn;
    if (dz <= tol * std::max(1.0, static_cast<double>(z.norm()))) break;
  }
  return z;
}

template <class T>
double soft_impute_objective(const Matrix<T>& x, const Matrix<T>& mask, double lambda, const Matrix<T>& z) {
  return 0.5 * static_cast<double>((mask.array() * (x - z).array()).matrix().squaredNorm()) +
         lambda * static_cast<double>(svals<T>(z).sum());
}

/// Fits `o` once with ADMM (tolerance admm_tol) and once with proximal
/// gradient (fista_tol) into `admm` / `fista`, requires both to converge, and
/// checks that their objectives (under `o` with fista_tol) agree to 1e-6
/// relative: the two solvers reach the same optimum. Call it inside
/// ASSERT_NO_FATAL_FAILURE.
inline void expect_same_game_optimum(const lowrank::ObservedEntries<double>& entries, const lowrank::RowGroups& groups,
                                     lowrank::GameOptions o, double admm_tol, double fista_tol,
                                     lowrank::GameResult<double>& admm, lowrank::GameResult<double>& fista) {
  o.tolerance = admm_tol;
  o.solver = lowrank::GameSolver::Admm;
  admm = lowrank::fit_game(entries, groups, o);
  o.tolerance = fista_tol;
  o.solver = lowrank::GameSolver::ProximalGradient;
  fista = lowrank::fit_game(entries, groups, o);
  ASSERT_EQ(admm.status, lowrank::Status::Success);
  ASSERT_EQ(fista.status, lowrank::Status::Success);
  const double fa = lowrank::game_objective(entries, groups, o, admm);
  const double ff = lowrank::game_objective(entries, groups, o, fista);
  EXPECT_LT(std::abs(fa - ff) / ff, 1e-6) << "admm " << fa << " fista " << ff;
}

}  // namespace game_test
