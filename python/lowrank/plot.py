"""matplotlib figures for lowrank results. Every function returns the Figure
(and draws into ``ax`` when one is given).

    singular_values(sv_or_estimator)   singular-value decay (log scale)
    cv_curve(estimator_or_cv_results)   validation RMSE over lambda, chosen lambda marked
    group_angles(game)                  GAME: principal angles of each group's subspace vs the global one
    regret(results)                     cumulative regret curves of bandit() runs
    objective(estimator_or_trace)       objective / training-loss curve per iteration
"""
from __future__ import annotations

import numpy as np

__all__ = ["singular_values", "cv_curve", "group_angles", "regret", "objective"]


def _axes(ax, figsize=(5.5, 3.8)):
    import matplotlib.pyplot as plt
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def singular_values(s, ax=None, normalize: bool = False, log: bool = True, label=None, k=None):
    """Singular-value decay. ``s``: 1-D singular values, a 2-D matrix (its
    singular values are computed by lowrank.svd), or a fitted estimator
    (its singular_values_)."""
    from .linalg import svd
    if hasattr(s, "singular_values_"):
        sv = np.asarray(s.singular_values_, dtype=float)
        label = label or type(s).__name__
    else:
        a = np.asarray(s)
        if a.ndim == 2:
            kk = min(a.shape) if k is None else int(k)
            sv = np.asarray(svd(a, kk, method="full", compute_vectors=False)[1], dtype=float)
        elif a.ndim == 1:
            sv = a.astype(float)
        else:
            raise ValueError(f"singular_values: expected 1-D values, a matrix or an estimator, got {a.ndim}-D")
    if normalize and sv.size and sv[0] > 0:
        sv = sv / sv[0]
    fig, ax = _axes(ax)
    ax.plot(np.arange(1, sv.size + 1), sv, marker="o", ms=3, label=label)
    if log and np.all(sv > 0):
        ax.set_yscale("log")
    ax.set_xlabel("index k")
    ax.set_ylabel("sigma_k / sigma_1" if normalize else "sigma_k")
    ax.set_title("Singular-value decay")
    if label:
        ax.legend()
    return fig


def cv_curve(cv, ax=None, best=None):
    """Mean validation RMSE (+/- one sd over folds) against lambda (log x axis).
    ``cv``: a fitted SoftImpute / ALS / GAME (uses cv_results_ and lambda_) or
    a cv_results_ dict. Lambdas that only some folds reached (a fold's path
    stops two lambdas past its minimum) are averaged over fewer folds: they
    are drawn as open markers, labelled with their fold count, and never
    chosen (only lambdas every fold reached compete)."""
    lam_best = best
    if hasattr(cv, "cv_results_"):
        if cv.cv_results_ is None:
            raise ValueError("cv_curve: the estimator was fitted without cross-validation (lam given or cv=0)")
        lam_best = cv.lambda_ if best is None else best
        cv = cv.cv_results_
    lam = np.asarray(cv["param_lam"], dtype=float)
    mean = np.asarray(cv["mean_test_rmse"], dtype=float)
    sd = np.asarray(cv["std_test_rmse"], dtype=float)
    folds = np.asarray(cv["n_folds"])
    reached = folds > 0
    k = int(folds.max()) if folds.size else 0
    full = reached & (folds == k)
    partial = reached & (folds < k)
    fig, ax = _axes(ax)
    ax.plot(lam[reached], mean[reached], color="C0", lw=1)
    ax.errorbar(lam[full], mean[full], yerr=sd[full], fmt="o", ms=3, capsize=2, color="C0",
                label=f"all {k} folds")
    if partial.any():
        ax.errorbar(lam[partial], mean[partial], yerr=sd[partial], fmt="o", ms=5, capsize=2, color="C0",
                    mfc="white", label="fewer folds (not chosen)")
        for x, y, n in zip(lam[partial], mean[partial], folds[partial]):
            ax.annotate(f"{int(n)}/{k}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center",
                        fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("lambda")
    ax.set_ylabel("validation RMSE")
    ax.set_title(f"{k}-fold cross-validation over lambda")
    if lam_best is not None:
        ax.axvline(lam_best, color="C3", ls="--", lw=1, label=f"chosen lambda = {lam_best:.4g}")
    ax.legend(fontsize=8)
    return fig


def group_angles(game, reference: str = "all", ax=None, degrees: bool = True, max_angles: int = 5):
    """GAME: for each group, the principal angles between its right singular
    subspace and the reference group's (default the global group "all"),
    the first ``max_angles`` as grouped bars."""
    angles = game.group_angles(reference)
    names = list(angles)
    fig, ax = _axes(ax, figsize=(max(5.5, 0.45 * len(names) + 2), 3.8))
    width = 0.8 / max(1, max_angles)
    x = np.arange(len(names))
    for j in range(max_angles):
        vals = [a[j] if len(a) > j else np.nan for a in angles.values()]
        vals = np.degrees(vals) if degrees else np.asarray(vals)
        if np.all(np.isnan(vals)):
            break
        ax.bar(x + (j - (max_angles - 1) / 2) * width, vals, width, label=f"theta_{j + 1}")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("angle (degrees)" if degrees else "angle (radians)")
    ax.set_title(f"GAME: group subspaces vs '{reference}'")
    ax.legend(fontsize=7)
    return fig


def regret(results, ax=None, labels=None, band: bool = True):
    """Cumulative regret against time for one or more lowrank.bandit() results
    (mean over seeds, +/- one sd as a band)."""
    if isinstance(results, dict):
        results = [results]
    fig, ax = _axes(ax)
    for i, r in enumerate(results):
        t = np.asarray(r["times"], dtype=float)
        mean = np.asarray(r["mean_regret"], dtype=float)
        sd = np.asarray(r["sd_regret"], dtype=float)
        label = labels[i] if labels else r.get("algorithm", f"run {i}")
        (line,) = ax.plot(t, mean, label=label)
        if band and np.any(sd > 0):
            ax.fill_between(t, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("time t")
    ax.set_ylabel("cumulative regret")
    ax.set_title("Low-rank bandit: regret")
    ax.legend()
    return fig


def objective(trace, ax=None, log: bool = True, label=None):
    """Objective (or training loss) per iteration: an estimator's
    objective_trace_ or any 1-D sequence (e.g. a training engine's loss history)."""
    if hasattr(trace, "objective_trace_"):
        label = label or type(trace).__name__
        trace = trace.objective_trace_
    y = np.asarray(trace, dtype=float)
    fig, ax = _axes(ax)
    ax.plot(np.arange(1, y.size + 1), y, label=label)
    if log and np.all(y > 0):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    ax.set_title("Convergence")
    if label:
        ax.legend()
    return fig


def training_loss(logs, ax=None, labels=None, which=("train_loss", "val_loss")):
    """Training and validation loss against step from `lowrank train --log`
    CSV files (columns step, train_loss, val_loss, ...) or DataFrames; one
    colour per run, validation dashed. Empty validation cells (steps without
    an evaluation) are skipped."""
    import pandas as pd

    if isinstance(logs, (str, bytes)) or hasattr(logs, "__fspath__") or isinstance(logs, pd.DataFrame):
        logs = [logs]
    fig, ax = _axes(ax)
    for i, log in enumerate(logs):
        df = log if isinstance(log, pd.DataFrame) else pd.read_csv(log)
        missing = [c for c in ("step", *which) if c not in df.columns]
        if missing:
            raise ValueError(f"training_loss: log {i} lacks column(s) {missing} (columns: {list(df.columns)})")
        name = labels[i] if labels else (str(log) if not isinstance(log, pd.DataFrame) else f"run {i}")
        colour = None
        for col in which:
            d = df[["step", col]].dropna()
            if d.empty:
                continue
            (line,) = ax.plot(d["step"], d[col], color=colour, linestyle="--" if col.startswith("val") else "-",
                              label=f"{name} {col.replace('_loss', '')}")
            colour = line.get_color()
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_title("Training")
    ax.legend(fontsize=7)
    return fig
