"""Matrix files read as the CLI reads them (same detection, same flags).

    lowrank.read_matrix(path, format=None, header=None, row_names=None, array=None, duplicates="error")

Keywords are the CLI's flags: ``format`` is ``--format`` (triplets, dense,
mtx, npy, npz, safetensors; csv = dense, matrix-market = mtx), ``header`` is
``--header`` / ``--no-header``, ``row_names`` is ``--row-names`` /
``--no-row-names`` (None = detect), ``array`` is ``--array``, ``duplicates``
is ``--duplicates``. Every guess detection makes is raised as a
UserWarning with the message the CLI prints (docs/errors.md, "How input
files are read").
"""
from __future__ import annotations

import os
import warnings
from typing import NamedTuple

import numpy as np

from . import _core

__all__ = ["read_matrix", "MatrixFile"]


class MatrixFile(NamedTuple):
    """What read_matrix returns.

    data: a pandas DataFrame (dense tables and arrays; NaN = missing; index and
    columns are the file's row and column names when it has them) or a
    scipy.sparse.csr_matrix (triplets, Matrix Market coordinate: stored entries
    = observed). row_ids / col_ids: the names (lists of str; empty when the
    file has none). format, dtype: as `lowrank info` prints them. header,
    row_names: what the reader took the first line / column to be. notes: the
    guesses detection made (also raised as warnings)."""
    data: object
    row_ids: list
    col_ids: list
    format: str
    dtype: str
    header: bool
    row_names: bool
    notes: list


def read_matrix(path, format=None, header=None, row_names=None, array=None,
                duplicates=_core.read_defaults()["duplicates"]) -> MatrixFile:
    d = _core.read_matrix(os.fspath(path), format, header, row_names, array or "", duplicates)
    for note in d["notes"]:
        warnings.warn(note, UserWarning, stacklevel=2)
    rows, cols = d["row_ids"], d["col_ids"]
    if "values" in d:
        import pandas as pd
        data = pd.DataFrame(d["values"], index=rows if rows else None, columns=cols if cols else None)
    else:
        import scipy.sparse as sp
        data = sp.csr_matrix((d["value"], (d["row"], d["col"])), shape=tuple(d["shape"]))
    return MatrixFile(data, list(rows), list(cols), d["format"], d["dtype"], bool(d["header"]), bool(d["row_names"]),
                      list(d["notes"]))
