"""RL pieces: spectral entry-wise estimation and the low-rank bandit / MDP
simulators of ``lowrank bandit`` and ``lowrank mdp`` (same options, same numbers)."""
from __future__ import annotations

import numpy as np

from . import _core
from ._progress import _Progress

__all__ = ["spectral_estimate", "bandit", "mdp"]

# The library's defaults (rl/estimator.hpp, rl/bandit.hpp, rl/mdp.hpp), which
# these functions use as theirs: the CLI's flags start from the same structs.
_S = _core.spectral_estimate_defaults()
_B = _core.bandit_defaults()
_M = _core.mdp_defaults()


def spectral_estimate(rows, cols, values, shape, rank: int = _S["rank"], *, sampling: str = _S["sampling"],
                      rank_selection: str = _S["rank_selection"], max_rank: int = _S["max_rank"],
                      threshold_scale: float = _S["threshold_scale"], trim_factor: float = _S["trim_factor"],
                      svd_method: str = _S["svd_method"], seed: int = _S["seed"]) -> dict:
    """Spectral estimate of a low-rank mean matrix M (shape m x n) from noisy
    samples ``values[t] = M[rows[t], cols[t]] + noise`` (repeats allowed).

    sampling: "uniform" (uniform with replacement; M~ = (mn/T) sum of samples),
    "observed-mean" (mean per observed cell), "counts" (transition counts).
    rank_selection: "fixed" (``rank``) | "threshold" | "gap".
    Returns a dict: U, S, V (the rank-r fit M^ = U diag(S) V^T), rank,
    singular_values (of M~), noise_level, threshold, samples, observed_entries, status.
    """
    r = np.ascontiguousarray(rows, dtype=np.int32)
    c = np.ascontiguousarray(cols, dtype=np.int32)
    v = np.ascontiguousarray(values, dtype=np.float64)
    if r.ndim != 1 or r.shape != c.shape or r.shape != v.shape:
        raise ValueError(f"spectral_estimate: rows, cols and values must be 1-D of one length, "
                         f"got shapes {r.shape}, {c.shape}, {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("spectral_estimate: values contain NaN or inf")
    m, n = int(shape[0]), int(shape[1])
    if r.size and (r.min() < 0 or r.max() >= m or c.min() < 0 or c.max() >= n):
        raise ValueError(f"spectral_estimate: an index is outside the shape {(m, n)}")
    opts = dict(sampling=sampling, rank_selection=rank_selection, rank=int(rank), max_rank=int(max_rank),
                threshold_scale=float(threshold_scale), trim_factor=float(trim_factor), svd_method=svd_method,
                seed=int(seed))
    return _core.spectral_estimate(m, n, r, c, v, opts)


def bandit(rows: int = _B["rows"], cols: int = _B["cols"], rank: int = _B["rank"], gap: float = _B["gap"],
           noise_sd: float = _B["noise_sd"], algorithm: str = _B["algorithm"], horizon: int = _B["horizon"],
           seeds: int = _B["seeds"], seed: int = _B["seed"], instance_seed: int = _B["instance_seed"],
           checkpoints: int = _B["checkpoints"], estimator_rank: int = _B["estimator_rank"],
           spectral_sampling: str = _B["spectral_sampling"], etc_estimator: str = _B["etc_estimator"],
           etc_exploration: int = _B["etc_exploration"], verbose: bool = False, callback=None) -> dict:
    """Low-rank bandit experiment (the CLI's ``lowrank bandit``): arms are the
    cells of an m x n rank-r mean matrix. algorithm: "spectral" (the default
    low-rank algorithm: spectral exploration shrinks the arm set, then UCB on
    it) | "elimination" (phased spectral elimination; spectral_sampling applies
    to it) | "ucb" | "se" (successive elimination) | "etc".
    Returns times, mean_regret, sd_regret (over seeds), run_regret (per seed),
    mean_final_regret, sd_final_regret, found_best_fraction, elapsed_s, status."""
    opts = dict(rows=rows, cols=cols, rank=rank, gap=gap, noise_sd=noise_sd, algorithm=algorithm, horizon=horizon,
                seeds=seeds, seed=seed, instance_seed=instance_seed, checkpoints=checkpoints,
                estimator_rank=estimator_rank, spectral_sampling=spectral_sampling, etc_estimator=etc_estimator,
                etc_exploration=etc_exploration)
    progress = _Progress(verbose, callback, "bandit")
    try:
        r = _core.bandit_experiment(opts, progress.active())
    finally:
        progress.close()
    r["algorithm"] = algorithm
    if r["interrupted"]:
        raise KeyboardInterrupt("bandit experiment interrupted")
    return r


def mdp(model: str = _M["model"], states: int = _M["states"], actions: int = _M["actions"], rank: int = _M["rank"],
        discount: float = _M["discount"], width: int = _M["width"], height: int = _M["height"],
        collection: str = _M["collection"], samples: int = _M["samples"], estimator: str = _M["estimator"],
        estimator_rank: int = _M["estimator_rank"], seeds: int = _M["seeds"], seed: int = _M["seed"],
        verbose: bool = False, callback=None) -> dict:
    """Low-rank MDP experiment (the CLI's ``lowrank mdp``): estimate the
    transition kernel from samples (spectral or empirical), plan on it, and
    report the value gap of the greedy policy. Returns per-seed arrays
    value_gap, kernel_max_error, kernel_row_l1_error, rank and their means."""
    opts = dict(model=model, states=states, actions=actions, rank=rank, discount=discount, width=width,
                height=height, collection=collection, samples=samples, estimator=estimator,
                estimator_rank=estimator_rank, seeds=seeds, seed=seed)
    progress = _Progress(verbose, callback, "mdp")
    try:
        r = _core.mdp_experiment(opts, progress.active())
    finally:
        progress.close()
    if r["interrupted"]:
        raise KeyboardInterrupt("MDP experiment interrupted")
    return r
