"""Numerical core: truncated SVD, Schatten norms, effective ranks, principal angles.

Every function calls the C++ library (lowrank/linalg); float32 input is
computed in float32, everything else in float64.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._data import _is_sparse, as_entries, as_float_array, check_finite

__all__ = ["svd", "schatten_norm", "effective_ranks", "principal_angles", "sin_theta_distance"]

_SVD_METHODS = ("auto", "full", "krylov", "lanczos", "randomized")
_SVD = _core.svd_defaults()  # TruncatedSvdOptions' defaults


def svd(A, k: int, method: str = _SVD["method"], *, oversampling=None, power_iterations=None, tol=None, max_iter=None,
        krylov_dim=None, seed=None, compute_vectors=None):
    """Truncated SVD ``A ~ U diag(S) V^T`` of rank ``k``.

    A: dense array (m, n) or scipy.sparse matrix (stored entries; the rest are 0).
    method: "auto" (exact LAPACK SVD when cheapest, else "krylov" for dense and
    "lanczos" for sparse input) | "full" (LAPACK gesdd) | "krylov" (block
    Lanczos with a residual stop) | "lanczos" (Spectra) | "randomized" (HMT,
    fixed passes: accuracy not guaranteed).
    tol: target relative accuracy of the singular values (default 1e-8).
    Options left at None take the C++ library's defaults (the CLI's too).
    Returns ``(U, S, V)`` with U (m, k), S (k,) decreasing, V (n, k);
    :func:`svd_info` also returns the method used, the status, the iteration
    count and the achieved accuracy (residuals, error_bounds,
    max_relative_error_bound).
    """
    return tuple(svd_info(A, k, method, oversampling=oversampling, power_iterations=power_iterations, tol=tol,
                          max_iter=max_iter, krylov_dim=krylov_dim, seed=seed,
                          compute_vectors=compute_vectors)[key] for key in "USV")


def svd_info(A, k: int, method: str = _SVD["method"], **options) -> dict:
    """Like :func:`svd` but returns the library's whole result as a dict:
    U, S, V, method (the one used), status, iterations, residuals
    (sqrt(||A v_i - s_i u_i||^2 + ||A^T u_i - s_i v_i||^2)), error_bounds
    (on |s_i - sigma_i|) and max_relative_error_bound (max_i bound_i / s_i)."""
    if not isinstance(method, str) or method not in _SVD_METHODS:
        raise ValueError(f"svd: method must be one of {', '.join(_SVD_METHODS)}, got {method!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"svd: k must be an integer, got {type(k).__name__}")
    opts = dict(method=method, **{key: v for key, v in options.items() if v is not None})
    if _is_sparse(A):
        e = as_entries(A, "svd: A")
        return _core.svd_sparse(*e.args(), int(k), opts)
    a = as_float_array(A, "svd: A")
    check_finite(a, "svd: A")
    return _core.svd_dense(a, int(k), opts)


def _values(A, name):
    a = as_float_array(A, name, ndim=None)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name}: expected singular values (1-D) or a matrix (2-D), got {a.ndim}-D")
    check_finite(a, name)
    return a


def schatten_norm(A, p: float) -> float:
    """Schatten-p norm (sum_i s_i^p)^(1/p); p = inf is the spectral norm.

    A: a matrix (its singular values are computed) or a 1-D array of singular values."""
    return float(_core.schatten_norm(_values(A, "schatten_norm: A"), float(p)))


def effective_ranks(A, shape=None) -> dict:
    """Numerical, stable, entropy (Roy-Vetterli), participation-ratio and
    90% / 99% energy ranks of a matrix, or of singular values given with the
    matrix ``shape`` (needed for the numerical rank's tolerance)."""
    a = _values(A, "effective_ranks: A")
    if a.ndim == 1:
        if shape is None:
            raise ValueError("effective_ranks: pass shape=(m, n) with a vector of singular values")
        return _core.effective_ranks_sv(a, int(shape[0]), int(shape[1]))
    return _core.effective_ranks(a)


def _pair(A, B, name):
    a = as_float_array(A, f"{name}: A")
    b = as_float_array(B, f"{name}: B")
    if a.dtype != b.dtype:
        a, b = a.astype(np.float64), b.astype(np.float64)
    check_finite(a, f"{name}: A")
    check_finite(b, f"{name}: B")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name}: A and B must have the same number of rows, got {a.shape[0]} and {b.shape[0]}")
    return a, b


def principal_angles(A, B) -> np.ndarray:
    """Principal angles (radians, increasing) between the column spaces of A (m, p) and B (m, q)."""
    return _core.principal_angles(*_pair(A, B, "principal_angles"))


def sin_theta_distance(A, B) -> float:
    """||sin Theta(A, B)||_2, the sine of the largest principal angle."""
    return float(_core.sin_theta_distance(*_pair(A, B, "sin_theta_distance")))
