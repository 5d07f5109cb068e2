#pragma once
// Definition of truncated_svd() for any LinearOperator (included at the end
// of svd.hpp).
//
// The three algorithms live once, compiled in src/linalg/svd.cpp for float and
// double, behind a small type-erased view of the operator: every product they
// need is a block product, so one indirect call per block costs nothing,
// while templating the whole of Spectra, LAPACK and the power iteration on
// each operator type would recompile them in every file that includes svd.hpp.
// The view also records what the operator is, so Auto can tell dense from
// sparse and the dense / sparse paths can use their fastest kernels.
#include <type_traits>

namespace lowrank::detail {

enum class OperatorKind { Dense, Sparse, Implicit };

/// An m x n operator seen through two function pointers.
template <class T>
struct OperatorView {
  Index rows = 0;
  Index cols = 0;
  OperatorKind kind = OperatorKind::Implicit;
  const Matrix<T>* dense = nullptr;           ///< set when kind == Dense
  const SparseOperator<T>* sparse = nullptr;  ///< set when kind == Sparse
  const void* self = nullptr;
  void (*apply)(const void* self, const Matrix<T>& x, Matrix<T>& y) = nullptr;
  void (*apply_adjoint)(const void* self, const Matrix<T>& x, Matrix<T>& y) = nullptr;
};

template <class T>
SvdResult<T> truncated_svd_view(const OperatorView<T>& op, Index k, const TruncatedSvdOptions& options);

extern template SvdResult<float> truncated_svd_view<float>(const OperatorView<float>&, Index,
                                                           const TruncatedSvdOptions&);
extern template SvdResult<double> truncated_svd_view<double>(const OperatorView<double>&, Index,
                                                             const TruncatedSvdOptions&);

}  // namespace lowrank::detail

namespace lowrank {

template <LinearOperator Op>
SvdResult<typename Op::Scalar> truncated_svd(const Op& op, Index k, const TruncatedSvdOptions& options) {
  using T = typename Op::Scalar;
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "truncated_svd is compiled for float and double operators only");
  detail::OperatorView<T> view;
  view.rows = static_cast<Index>(op.rows());
  view.cols = static_cast<Index>(op.cols());
  view.self = &op;
  view.apply = [](const void* self, const Matrix<T>& x, Matrix<T>& y) { static_cast<const Op*>(self)->apply(x, y); };
  view.apply_adjoint = [](const void* self, const Matrix<T>& x, Matrix<T>& y) {
    static_cast<const Op*>(self)->apply_adjoint(x, y);
  };
  if constexpr (std::is_same_v<Op, DenseOperator<T>>) {
    view.kind = detail::OperatorKind::Dense;
    view.dense = &op.matrix();
  } else if constexpr (std::is_same_v<Op, SparseOperator<T>>) {
    view.kind = detail::OperatorKind::Sparse;
    view.sparse = &op;
  }
  return detail::truncated_svd_view(view, k, options);
}

}  // namespace lowrank
