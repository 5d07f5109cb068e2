"""Input conversion shared by the functions and estimators.

Rules (docs/python.md, "Data in and out"):

* dense arrays: float32 and float64 are used as they are (any memory order,
  sliced views included); integer and boolean arrays become float64; other
  dtypes (complex, strings, objects that are not numbers) raise DTypeError,
  a subclass of both TypeError and ValueError;
* in completion estimators NaN marks a missing cell; +/-inf is a ValueError;
  in the linear-algebra functions NaN and inf are both ValueErrors;
* scipy.sparse matrices (COO, CSR, CSC, ...): every *stored* entry is an
  observed entry, explicit zeros included; the rest is missing;
* pandas DataFrames are accepted wherever a dense array is; nullable
  extension dtypes (Int64, Float64, boolean) are read as float64 with pd.NA
  as NaN (a missing cell in the completion estimators).
"""
from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "as_entries", "Entries", "check_finite", "check_nonempty", "DTypeError"]


class DTypeError(TypeError, ValueError):
    """A non-real dtype (complex, strings, objects): a TypeError, and also a
    ValueError because scikit-learn's checks expect one for complex data."""


def _is_sparse(x) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return sp.issparse(x)


def as_float_array(x, name: str, ndim: int | None = 2, dtype=None) -> np.ndarray:
    """A float32/float64 ndarray view of ``x`` (no copy when it already is one).

    Raises TypeError for non-numeric dtypes and ValueError for the wrong
    number of dimensions. Arrays with negative or unaligned strides are
    copied, because the C++ side views the buffer through its strides.
    """
    if _is_sparse(x):
        raise TypeError(f"{name}: a dense array is required here, got a scipy.sparse matrix "
                        f"(call .toarray() first, or use a function that takes observed entries)")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas
        x = _pandas_to_numpy(x, name)
    a = np.asarray(x)
    if a.dtype.kind == "O":
        a = a.astype(np.float64)  # TypeError for entries that are not numbers, as numpy says
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    elif a.dtype.kind == "f":
        if a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float32 if a.dtype.itemsize < 4 else np.float64)
    elif a.dtype.kind == "c":
        raise DTypeError(f"{name}: expected a real numeric array (float32 or float64), got dtype {a.dtype}: "
                         f"Complex data not supported")
    else:
        raise DTypeError(f"{name}: expected a real numeric array (float32 or float64), got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        a = a.astype(dtype)
    if ndim is not None and a.ndim != ndim:
        if ndim == 2 and a.ndim == 1:
            raise ValueError(f"{name}: expected a 2D array, got a 1D array of shape {a.shape}. Reshape your data "
                             f"with array.reshape(-1, 1) for a single feature or array.reshape(1, -1) for a single sample")
        raise ValueError(f"{name}: expected a {ndim}-D array, got {a.ndim}-D with shape {a.shape}")
    if a.ndim >= 1 and any(s < 0 or s % a.itemsize for s in a.strides):
        a = np.array(a, order="F")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def _pandas_to_numpy(x, name):
    """A DataFrame / Series as a numpy array. Nullable extension dtypes
    (Int64, Float64, boolean with pd.NA) become float64 with NaN for pd.NA;
    float32 columns stay float32."""
    dtypes = list(x.dtypes) if hasattr(x, "dtypes") and not hasattr(x, "dtype") else [x.dtype]
    if all(isinstance(d, np.dtype) for d in dtypes):
        return x.to_numpy()
    for d in dtypes:
        kind = getattr(d, "kind", "O")
        if kind not in "biuf":
            raise DTypeError(f"{name}: expected numeric columns, got dtype {d}")
    return x.to_numpy(dtype=np.float64, na_value=np.nan)


def check_finite(a: np.ndarray, name: str, allow_nan: bool = False) -> None:
    """ValueError naming the first NaN / inf cell (NaN allowed when allow_nan)."""
    bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "infinity" if np.isinf(a[idx]) else "NaN"
        hint = "" if allow_nan else " (missing values are only allowed in the completion estimators)"
        raise ValueError(f"{name} contains {what} at index {idx}{hint}")


def check_nonempty(shape, name: str) -> None:
    """ValueError for a matrix without rows or columns (scikit-learn's wording)."""
    if shape[0] == 0:
        raise ValueError(f"{name}: found array with 0 sample(s) (shape={tuple(shape)}) while a minimum of 1 is required.")
    if shape[1] == 0:
        raise ValueError(f"{name}: found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is "
                         f"required.")


class Entries:
    """Observed entries of an m x n matrix in COO form (row-major order for dense input)."""

    __slots__ = ("shape", "row", "col", "value", "dense")

    def __init__(self, shape, row, col, value, dense=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.row = np.ascontiguousarray(row, dtype=np.int32)
        self.col = np.ascontiguousarray(col, dtype=np.int32)
        self.value = np.ascontiguousarray(value)
        self.dense = dense  # the dense input (NaN = missing), when there was one

    @property
    def nnz(self) -> int:
        return int(self.value.shape[0])

    def args(self):
        return (self.shape[0], self.shape[1], self.row, self.col, self.value)


def as_entries(x, name: str = "X", dtype=None) -> Entries:
    """Observed entries of ``x``: a dense array with NaN for missing cells, or a
    scipy.sparse matrix whose stored entries are the observed ones."""
    if _is_sparse(x):
        coo = x.tocoo()
        if coo.dtype.kind not in "biuf":
            raise DTypeError(f"{name}: expected a real sparse matrix, got dtype {coo.dtype}")
        v = coo.data
        if v.dtype not in (np.float32, np.float64):
            v = v.astype(np.float64)
        if dtype is not None:
            v = v.astype(dtype)
        if v.size and not np.isfinite(v).all():
            k = int(np.argwhere(~np.isfinite(v))[0][0])
            raise ValueError(f"{name}: stored entry ({coo.row[k]}, {coo.col[k]}) is {v[k]}; "
                             f"sparse input has no missing marker (unstored entries are the missing ones)")
        check_nonempty(coo.shape, name)
        return Entries(coo.shape, coo.row, coo.col, v)
    a = as_float_array(x, name, ndim=2, dtype=dtype)
    check_nonempty(a.shape, name)
    check_finite(a, name, allow_nan=True)
    observed = ~np.isnan(a)
    if not observed.any():
        raise ValueError(f"{name}: every cell is missing (NaN); nothing to fit")
    r, c = np.nonzero(observed)  # row-major, as the C++ readers produce
    return Entries(a.shape, r, c, a[r, c], dense=a)
