#pragma once
// Polar decomposition A = Q H (Q with orthonormal columns, H symmetric PSD).
#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// Orthogonal polar factor Q = U V^T (m x n) from the thin SVD A = U S V^T
/// (LAPACK gesdd). Q is the orthonormal-column matrix nearest to A in every
/// unitarily invariant norm (Higham 2008, Thm. 8.4).
template <class T>
Matrix<T> polar_factor_svd(const Matrix<T>& a);

enum class NewtonSchulzKind {
  Cubic,        ///< X <- 1.5 X - 0.5 X X^T X; converges to U V^T exactly
  MuonQuintic,  ///< X <- a X + b (X X^T) X + c (X X^T)^2 X with (a, b, c) =
                ///< (3.4445, -4.7750, 2.0315) as in Muon (Jordan et al. 2024);
                ///< fast but converges only to singular values in about [0.7, 1.2]
};

struct NewtonSchulzOptions {
  NewtonSchulzKind kind = NewtonSchulzKind::Cubic;
  int iterations = 30;       ///< Muon uses 5
  double tolerance = 1e-12;  ///< Cubic only: stop when ||X_{k+1} - X_k||_F <= tol ||X_k||_F
};

/// Polar factor by Newton-Schulz iteration started from A / ||A||_F (so all
/// singular values lie in (0, 1]). Works on the wide orientation internally,
/// so each step costs two products with the min(m,n)^2 Gram matrix. The cubic
/// iteration needs about log_1.5(||A||_F / sigma_min) steps before its
/// quadratic phase; zero singular values stay zero (the result is then the
/// partial isometry of the nonzero part). Returns zeros for A = 0. Throws
/// InvalidArgument for iterations < 0 or tolerance < 0.
template <class T>
Matrix<T> polar_factor_newton_schulz(const Matrix<T>& a, const NewtonSchulzOptions& options = {});

}  // namespace lowrank
