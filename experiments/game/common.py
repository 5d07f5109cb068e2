"""Shared helpers for the GAME experiments (issue 5).

Every method sees the same split: a dense matrix X (m x n, NaN = never
observed), a boolean train mask and a boolean test mask. GAME and the
soft-impute baselines run through the `lowrank` CLI on triplet files written
to a scratch directory; the sklearn baselines run on the dense train matrix
with NaN. Predictions of the CLI methods come from `lowrank predict` on the
model directory that `lowrank complete --out` wrote, so every method is
scored by the same numpy code below.

Run with Debian's /usr/bin/python3 (numpy, pandas, sklearn).
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

LOWRANK = os.environ.get("LOWRANK_BIN", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "build-game", "lowrank")))
SCRATCH = os.environ.get("GAME_SCRATCH", "/tmp/gameexp/scratch")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def row_id(i):
    return f"r{i}"


def col_id(j):
    return f"c{j}"


def write_triplets(path, X, mask, rows=None):
    """Write the masked entries of X as 'row col value' lines (ids r<i>, c<j>)."""
    ii, jj = np.nonzero(mask)
    if rows is not None:
        keep = np.isin(ii, rows)
        ii, jj = ii[keep], jj[keep]
    with open(path, "w") as fh:
        for i, j in zip(ii, jj):
            fh.write(f"r{i} c{j} {X[i, j]:.10g}\n")
    return len(ii)


def write_pairs(path, ii, jj):
    with open(path, "w") as fh:
        for i, j in zip(ii, jj):
            fh.write(f"r{i} c{j}\n")


def write_groups(path, attrs):
    """attrs: pandas DataFrame with one row per matrix row (index order), categorical columns."""
    df = attrs.copy()
    df.insert(0, "id", [row_id(i) for i in range(len(df))])
    df.to_csv(path, index=False)


def run_cli(args, tag):
    """Run `lowrank complete ... --json`; return the parsed JSON (raises on failure)."""
    os.makedirs(SCRATCH, exist_ok=True)
    errf = os.path.join(SCRATCH, f"{tag}.stderr")
    t0 = time.time()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(errf, "w") as err:
        p = subprocess.run([LOWRANK] + args + ["--json"], stdout=subprocess.PIPE, stderr=err, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        tail = open(errf).read()[-600:]
        raise RuntimeError(f"lowrank {' '.join(args)} failed (rc {p.returncode}): {tail}")
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"lowrank {' '.join(args)}: stdout is not JSON ({e}): {p.stdout[:300]!r}") from None
    out["_wall_s"] = time.time() - t0
    out["_cpu_s"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return out


def predict(model_dir, ii, jj, tag):
    """Predictions of a saved model at (ii, jj) via `lowrank predict`."""
    pairs = os.path.join(SCRATCH, f"{tag}.pairs")
    pred = os.path.join(SCRATCH, f"{tag}.pred")
    write_pairs(pairs, ii, jj)
    with open(os.path.join(SCRATCH, f"{tag}.predict.stderr"), "w") as err:
        subprocess.run([LOWRANK, "predict", "--model", model_dir, "--pairs", pairs, "--out", pred],
                       check=True, stderr=err, stdout=subprocess.DEVNULL)
    out = np.empty(len(ii))
    with open(pred) as fh:
        k = 0
        for line in fh:
            f = line.split()
            if len(f) < 3 or f[0].startswith("#"):
                continue
            out[k] = float(f[2])
            k += 1
    assert k == len(ii), f"predict returned {k} of {len(ii)} pairs"
    return out


# ---------------------------------------------------------------- methods
# Each method returns a dense m x n prediction matrix (entries outside
# `want` may be NaN) plus a dict of info.


def _targets(want):
    return np.nonzero(want)


def fit_game(X, train, want, attrs, tag, lam=None, cv=5, path=10, extra=(), subspaces=False):
    d = os.path.join(SCRATCH, tag)
    os.makedirs(d, exist_ok=True)
    tr = os.path.join(d, "train.txt")
    gr = os.path.join(d, "groups.csv")
    write_triplets(tr, X, train)
    write_groups(gr, attrs)
    args = ["complete", "--train", tr, "--method", "game", "--groups", gr,
            "--group-cols", ",".join(attrs.columns), "--out", os.path.join(d, "model"), "--seed", "0"]
    if lam is not None:
        args += ["--lambda", f"{lam:.10g}"]
    else:
        args += ["--cv", str(cv), "--lambda-path", str(path)]
    if subspaces:
        args += ["--subspaces", os.path.join(d, "sub")]
    # The tables in docs/game.md were written with the Sum variant, the CLI's default until issue 35 (now
    # Latent): "game" keeps meaning Sum unless the caller names a variant.
    if "--variant" not in extra:
        args += ["--variant", "sum"]
    args += list(extra)
    js = run_cli(args, tag)
    ii, jj = _targets(want)
    P = np.full(X.shape, np.nan)
    P[ii, jj] = predict(os.path.join(d, "model"), ii, jj, tag)
    info = {"lambda": js["lambda"], "seconds": js["_wall_s"], "iterations": js.get("iterations"),
            "weighting": (js.get("game") or {}).get("weighting"), "cpu_seconds": js["_cpu_s"]}
    if subspaces:
        info["subspace_dir"] = os.path.join(d, "sub")
        info["col_ids"] = open(os.path.join(d, "model", "col_ids.txt")).read().split()
    return P, info


def fit_soft_impute(X, train, want, tag, rows=None, lam=None, cv=5, path=10, extra=()):
    """Global soft-impute (CLI, --center, CV lambda). With `rows`, only those rows are fitted."""
    d = os.path.join(SCRATCH, tag)
    os.makedirs(d, exist_ok=True)
    tr = os.path.join(d, "train.txt")
    write_triplets(tr, X, train, rows=rows)
    base = ["complete", "--train", tr, "--method", "soft-impute", "--center", "--out",
            os.path.join(d, "model"), "--seed", "0"] + list(extra)
    attempts = ([["--lambda", f"{lam:.10g}"]] if lam is not None else
                [["--cv", str(cv), "--lambda-path", str(path)], ["--cv", "3", "--lambda-path", str(path)]])
    js, last = None, None
    for a in attempts:
        try:
            js = run_cli(base + a, tag)
            break
        except RuntimeError as e:
            last = e
    if js is None:
        raise last
    ii, jj = _targets(want)
    if rows is not None:
        keep = np.isin(ii, rows)
        ii, jj = ii[keep], jj[keep]
    P = np.full(X.shape, np.nan)
    P[ii, jj] = predict(os.path.join(d, "model"), ii, jj, tag)
    return P, {"lambda": js["lambda"], "seconds": js["_wall_s"]}


def fit_per_group_soft_impute(X, train, want, labels, tag, lam=None):
    """Separate soft-impute per level of one category (a partition of the rows).

    A level whose fit fails (too few entries for CV) falls back to the
    training column means of that level (then of all rows). A fixed `lam`
    (the full-matrix lambda) is scaled per level by
    (sqrt(m_g) + sqrt(n)) / (sqrt(m) + sqrt(n)), the noise-norm ratio GAME's
    default weights use."""
    P = np.full(X.shape, np.nan)
    fallbacks = 0
    secs = 0.0
    colmean = column_means(X, train)
    for lev in np.unique(labels):
        rows = np.nonzero(labels == lev)[0]
        try:
            lg = None if lam is None else lam * (np.sqrt(len(rows)) + np.sqrt(X.shape[1])) / (
                np.sqrt(X.shape[0]) + np.sqrt(X.shape[1]))
            Pg, info = fit_soft_impute(X, train, want, f"{tag}_{lev}", rows=rows, lam=lg)
            secs += info["seconds"]
            P[rows] = Pg[rows]
        except (RuntimeError, subprocess.CalledProcessError):
            fallbacks += 1
            Xg = np.where(train[rows], X[rows], np.nan)
            with np.errstate(all="ignore"):
                cm = np.nanmean(Xg, axis=0)
            cm = np.where(np.isnan(cm), colmean, cm)
            P[rows] = np.broadcast_to(cm, (len(rows), X.shape[1]))
    return P, {"seconds": secs, "fallback_levels": fallbacks}


def column_means(X, train):
    Xt = np.where(train, X, np.nan)
    with np.errstate(all="ignore"):
        cm = np.nanmean(Xt, axis=0)
    g = np.nanmean(Xt)
    return np.where(np.isnan(cm), g, cm)


def side_info_offsets(X, train, attrs):
    """Column means plus, for each category in turn, the per-level column means of the residual."""
    m, n = X.shape
    off = np.broadcast_to(column_means(X, train), (m, n)).copy()
    for c in attrs.columns:
        lab = attrs[c].to_numpy()
        R = np.where(train, X - off, np.nan)
        for lev in np.unique(lab):
            rows = lab == lev
            with np.errstate(all="ignore"):
                lm = np.nanmean(R[rows], axis=0)
            off[rows] += np.where(np.isnan(lm), 0.0, lm)
    return off


def fit_side_info(X, train, want, attrs, tag, lam=None):
    off = side_info_offsets(X, train, attrs)
    R = X - off
    P, info = fit_soft_impute(R, train, want, tag, lam=lam)
    return P + off, info


def fit_column_mean(X, train, want):
    return np.broadcast_to(column_means(X, train), X.shape).copy(), {}


def fit_knn(X, train, want, k=10):
    from sklearn.impute import KNNImputer
    Xt = np.where(train, X, np.nan)
    t0 = time.time()
    P = _impute_keep_cols(KNNImputer(n_neighbors=k), Xt, column_means(X, train))
    return P, {"seconds": time.time() - t0}


def fit_iterative(X, train, want, max_iter=10, n_nearest=None):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    Xt = np.where(train, X, np.nan)
    t0 = time.time()
    P = _impute_keep_cols(IterativeImputer(max_iter=max_iter, random_state=0, n_nearest_features=n_nearest),
                          Xt, column_means(X, train))
    return P, {"seconds": time.time() - t0}


def _impute_keep_cols(imp, Xt, fallback):
    """sklearn drops all-NaN columns; fill those by the global mean."""
    ok = ~np.all(np.isnan(Xt), axis=0)
    P = np.tile(fallback, (Xt.shape[0], 1))
    P[:, ok] = imp.fit_transform(Xt[:, ok])
    return P


# ---------------------------------------------------------------- scoring


def rmse(P, X, mask):
    d = (P - X)[mask]
    return float(np.sqrt(np.mean(d * d))) if d.size else float("nan")


def group_rmse(P, X, test, attrs):
    out = {}
    for c in attrs.columns:
        lab = attrs[c].to_numpy()
        for lev in np.unique(lab):
            rows = lab == lev
            msk = test & rows[:, None]
            out[f"{c}={lev}"] = rmse(P, X, msk)
    return out


def sin_theta(V1, V2):
    """Largest principal angle's sine between the column spaces of V1 and V2 (orthonormalised)."""
    Q1, _ = np.linalg.qr(V1)
    Q2, _ = np.linalg.qr(V2)
    s = np.linalg.svd(Q1.T @ Q2, compute_uv=False)
    c = min(1.0, s.min()) if s.size else 0.0
    return float(np.sqrt(max(0.0, 1.0 - c * c)))


def write_merged(rows, path, key):
    """Write `rows` to the CSV at `path`, keeping the rows of an existing file
    whose `key` value (dataset, scenario, holdout; or a list of columns, e.g.
    scenario and seed) this run did not produce, so
    a run over a subset (e.g. --datasets bci) adds to earlier results instead
    of replacing them."""
    import pandas as pd
    new = pd.DataFrame(rows)
    keys = [key] if isinstance(key, str) else list(key)
    if os.path.exists(path) and len(new):
        old = pd.read_csv(path)
        if all(k in old.columns for k in keys):
            done = set(map(tuple, new[keys].astype(str).to_numpy()))
            kept = ~old[keys].astype(str).apply(tuple, axis=1).isin(done)
            new = pd.concat([old[kept], new], ignore_index=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    new.to_csv(path, index=False)


def summarise(df, by, value):
    g = df.groupby(by)[value]
    return g.mean().to_frame("mean").join(g.std().to_frame("sd")).join(g.count().to_frame("n"))


def fmt_table(df, by, value, digits=4):
    s = summarise(df, by, value)
    lines = []
    for idx, r in s.iterrows():
        name = idx if isinstance(idx, str) else " / ".join(map(str, idx))
        lines.append(f"{name:40s} {r['mean']:.{digits}f} ± {r['sd']:.{digits}f}  (n={int(r['n'])})")
    return "\n".join(lines)
