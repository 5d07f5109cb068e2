#pragma once
// Linear operators: what the truncated SVDs need from a matrix.
//
// Spectra states its operator requirement in prose; here it is a C++20
// concept. An operator is m x n and applies itself (and its adjoint) to a
// block of b vectors at once, because randomized and block methods are
// BLAS-3 bound and one block product is far cheaper than b vector products.
//
// Three models ship with the core:
//   DenseOperator      - a view of a dense matrix;
//   SparseOperator     - CSR plus CSC copies, OpenMP-parallel products;
//   SparsePlusLowRank  - S + U diag(d) V^T without ever forming it densely
//                        (the soft-impute iterate: observed residuals plus
//                        the current low-rank fit, Mazumder et al. 2010 eq. 11).
#include <concepts>
#include <utility>

#include "lowrank/linalg/types.hpp"

namespace lowrank {

template <class Op>
concept LinearOperator = requires(const Op& op, const Matrix<typename Op::Scalar>& x, Matrix<typename Op::Scalar>& y) {
  typename Op::Scalar;
  { op.rows() } -> std::convertible_to<Index>;
  { op.cols() } -> std::convertible_to<Index>;
  op.apply(x, y);          // y = A x;   x: cols x b, y resized to rows x b
  op.apply_adjoint(x, y);  // y = A^T x; x: rows x b, y resized to cols x b
};

/// Non-owning view of a dense column-major matrix. The matrix must outlive it.
template <class T>
class DenseOperator {
 public:
  using Scalar = T;
  explicit DenseOperator(const Matrix<T>& a) : m_a(&a) {}
  Index rows() const { return m_a->rows(); }
  Index cols() const { return m_a->cols(); }
  void apply(const Matrix<T>& x, Matrix<T>& y) const { y.noalias() = (*m_a) * x; }
  void apply_adjoint(const Matrix<T>& x, Matrix<T>& y) const { y.noalias() = m_a->transpose() * x; }
  const Matrix<T>& matrix() const { return *m_a; }

 private:
  const Matrix<T>* m_a;
};

/// Sparse matrix held as CSR and as the CSR of its transpose, so both A x and
/// A^T x are row-parallel (Eigen parallelises row-major sparse * dense with
/// OpenMP). The pattern is fixed at construction; values can be replaced in
/// O(nnz) through set_values(), which is what iterative completion needs.
template <class T>
class SparseOperator {
 public:
  using Scalar = T;
  SparseOperator() = default;
  /// Build from COO triplets (row, col, value); no duplicates allowed
  /// (checked: throws InvalidArgument). Values are given in COO order and
  /// later set_values() calls use the same order.
  SparseOperator(Index rows, Index cols, const std::vector<std::int32_t>& row, const std::vector<std::int32_t>& col,
                 const std::vector<T>& value);

  Index rows() const { return m_csr.rows(); }
  Index cols() const { return m_csr.cols(); }
  Index nnz() const { return m_csr.nonZeros(); }
  void apply(const Matrix<T>& x, Matrix<T>& y) const;
  void apply_adjoint(const Matrix<T>& x, Matrix<T>& y) const;

  /// Replace the values, given in the COO order used at construction.
  void set_values(const T* coo_values);
  const SparseCsr<T>& csr() const { return m_csr; }
  const SparseCsr<T>& csr_transpose() const { return m_csr_t; }

 private:
  SparseCsr<T> m_csr;    // m x n
  SparseCsr<T> m_csr_t;  // n x m
  // COO position -> CSR value slot. 32 bits suffice: Eigen's CSR here has
  // int32 offsets, so nnz < 2^31 anyway.
  std::vector<std::int32_t> m_coo_to_csr;
  std::vector<std::int32_t> m_coo_to_csrt;
};

/// S + U diag(d) V^T, with S sparse (m x n), U (m x r), d (r), V (n x r).
/// Holds pointers: the parts must outlive the operator.
template <class T>
class SparsePlusLowRank {
 public:
  using Scalar = T;
  SparsePlusLowRank(const SparseOperator<T>& s, const Matrix<T>& u, const Vector<T>& d, const Matrix<T>& v)
      : m_s(&s), m_u(&u), m_d(&d), m_v(&v) {}
  Index rows() const { return m_s->rows(); }
  Index cols() const { return m_s->cols(); }
  void apply(const Matrix<T>& x, Matrix<T>& y) const {
    m_s->apply(x, y);
    if (m_d->size() > 0) {
      Matrix<T> vtx = m_v->transpose() * x;  // r x b
      y.noalias() += (*m_u) * (m_d->asDiagonal() * vtx);
    }
  }
  void apply_adjoint(const Matrix<T>& x, Matrix<T>& y) const {
    m_s->apply_adjoint(x, y);
    if (m_d->size() > 0) {
      Matrix<T> utx = m_u->transpose() * x;
      y.noalias() += (*m_v) * (m_d->asDiagonal() * utx);
    }
  }

 private:
  const SparseOperator<T>* m_s;
  const Matrix<T>* m_u;
  const Vector<T>* m_d;
  const Matrix<T>* m_v;
};

/// Densify any operator (A times the identity). For tests and small problems.
template <LinearOperator Op>
Matrix<typename Op::Scalar> to_dense(const Op& op) {
  using T = typename Op::Scalar;
  Matrix<T> eye = Matrix<T>::Identity(op.cols(), op.cols());
  Matrix<T> out;
  op.apply(eye, out);
  return out;
}

extern template class SparseOperator<float>;
extern template class SparseOperator<double>;

}  // namespace lowrank
