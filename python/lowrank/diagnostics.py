"""Diagnostics of trained networks from Python: ``lowrank.inspect(path)``.

One row per 2-D weight (safetensors, sharded safetensors directories, .npy /
.npz, engine checkpoints), computed by the C++ library exactly as
``lowrank inspect --json`` does; the DataFrame's ``attrs`` hold the
rank-sparse bound and the full JSON report.
"""
from __future__ import annotations

import json
import os

from . import _core
from ._progress import _Progress

# Flat per-layer columns, in the order of the CLI's table.
_COLUMNS = ["name", "rows", "cols", "dtype", "numerical_rank", "stable_rank", "entropy_rank", "participation_ratio",
            "energy_rank_90", "energy_rank_99", "spectral", "frobenius", "nuclear", "rank_tolerance"]


def inspect(path, filter=None, reference=None, reshape_conv=False, with_values=False, input_norm=None, margin=None,
            samples=0, threads=0, verbose=False, callback=None):
    """Per-layer spectra of the weights in ``path`` as a pandas DataFrame.

    Columns: name, rows, cols, dtype, numerical / stable / entropy rank,
    participation ratio, 90 % / 99 % energy ranks, spectral / Frobenius /
    nuclear norms, the rank tolerance, the power-law decay exponent
    (``decay_alpha``, ``decay_r2``), the ESD tail exponent (``esd_alpha``),
    one ``schatten_<p>`` column per p, and ``singular_values`` (arrays) with
    ``with_values=True``. ``df.attrs["bound"]`` is the rank-sparse bound,
    ``df.attrs["report"]`` the whole JSON report.

    ``filter``: glob on layer names (``"*.mlp.*"``) or ``"re:<regex>"``;
    ``reference``: initial weights with the same names (the bound then uses
    W - W0); ``samples``, ``input_norm``, ``margin``: the bound's n, B, gamma
    (each one not given is defaulted, 1 for B and gamma, and named in
    ``df.attrs["bound"]["warnings"]``).
    """
    import numpy as np
    import pandas as pd

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"inspect: {path}: no such file or directory")
    progress = _Progress(verbose, callback, "inspect")
    try:
        text = _core.inspect_json(path, filter or "", os.fspath(reference) if reference else "", bool(reshape_conv),
                                  bool(with_values), float(input_norm or 0.0), float(margin or 0.0), float(samples), int(threads),
                                  progress.active())
    finally:
        progress.close()
    report = json.loads(text)
    rows = []
    for layer in report["layers"]:
        row = {k: layer.get(k) for k in _COLUMNS}
        decay = layer.get("decay") or {}
        row["decay_alpha"] = decay.get("alpha")
        row["decay_r2"] = decay.get("r_squared")
        row["esd_alpha"] = (layer.get("esd_tail") or {}).get("alpha")
        for sp in layer.get("schatten", []):
            row[f"schatten_{sp['p']:g}"] = sp["sum"]
        if with_values:
            row["singular_values"] = np.asarray(layer.get("singular_values", []), dtype=np.float64)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["bound"] = report.get("bound")
    df.attrs["report"] = report
    df.attrs["path"] = report.get("path")
    return df
