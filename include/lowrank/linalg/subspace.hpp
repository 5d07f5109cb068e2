#pragma once
// Principal angles between subspaces (Bjorck & Golub 1973).
#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// Principal angles (radians, increasing) between span(A) and span(B), A: n x p,
/// B: n x q, returning min(p, q) angles. Columns need not be orthonormal (they
/// are orthonormalised by QR first). Small angles are computed from sines
/// (SVD of (I - Qa Qa^T) Qb) and large ones from cosines, so both ends are
/// accurate to machine precision. Throws InvalidArgument on a row mismatch.
template <class T>
Vector<T> principal_angles(const Matrix<T>& a, const Matrix<T>& b);

/// sin(theta_max) between two subspaces of equal dimension: the spectral
/// norm of P_A - P_B.
template <class T>
double sin_theta_distance(const Matrix<T>& a, const Matrix<T>& b);

/// Orthonormal basis of span(A) by Householder QR (n x min(n, p)).
template <class T>
Matrix<T> orthonormal_basis(const Matrix<T>& a);

}  // namespace lowrank
