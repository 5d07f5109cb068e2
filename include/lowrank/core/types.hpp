#pragma once
// Value types used across lowrank (core: every layer, io included, may use them).
//
// Storage order, written down once: dense matrices are Eigen's default
// column-major; sparse matrices are kept in both row-major (CSR) and
// column-major (CSC) form where both products A x and A^T x are needed.
#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>

namespace lowrank {

using Index = Eigen::Index;

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using SparseCsr = Eigen::SparseMatrix<T, Eigen::RowMajor, std::int32_t>;

using MatrixXd = Matrix<double>;
using MatrixXf = Matrix<float>;
using VectorXd = Vector<double>;
using VectorXf = Vector<float>;

}  // namespace lowrank
