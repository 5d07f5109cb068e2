#!/usr/bin/python3
"""The regime GAME's paper argues for (issue 35): groups with distinct
subspaces plus a shared part, uneven per-group sampling, group sizes from
tens to a thousand rows, overlap from none to heavy; paired per-group tests
against soft-impute, per-group soft-impute and scikit-learn's IterativeImputer.

Truth (zero-mean Gaussian factors, so row and column means carry no signal):

    M = U0 V0^T                              shared part, rank 2
      + sum_a 1[i in A_a] U_a V_a^T          category A: rank 2 per level, distinct V_a
      + sum_b 1[i in B_b] U_b V_b^T          category B (overlap light, heavy): rank 1
      + sum_c 1[i in C_c] U_c V_c^T          category C (overlap heavy): rank 1
    X = M + N(0, sigma^2)

Category A's levels have the sizes --sizes (rows) and are observed at the
rates --rates (fraction of their cells, uniform within the level); B (2
levels) and C (3 levels) are assigned at random, so they overlap every A
level. Layout `small-sparse` gives the smallest group the smallest rate,
`small-dense` reverses the rates. Overlap: none (A only), light (A, B), heavy
(A, B, C). The groups given to GAME are every level of the categories in
play (plus the global group).

Per A level and method: test RMSE against M on the level's unobserved cells,
and sin theta, the sine of the largest principal angle between the top-r
right singular subspace of the level's completed block and that of M's block
(r = rank of M's block). Paired tests over seeds (scipy's ttest_rel and
wilcoxon) of GAME against each baseline, per overlap, layout and A level.

Methods (each through the same split):
  game              the Sum variant (G1; the default until issue 35), dense, otherwise the CLI's
                    defaults (centring chosen by CV between none and biases; weights
                    (sqrt|G_k| + sqrt n) / (sqrt m + sqrt n))
  game-none         --no-center; game-center: --centering center (the former default)
  game-sqrtsize     weights sqrt(|G_k| / m); game-uniform: weights 1 (combine: game-uniform-none)
  game-...-wschemes  --weight-cv schemes: the group weights chosen by CV among the schemes and the
                    sampling-aware weights (4 CV paths); game-...-wgroup: --weight-cv per-group (each
                    group's weight x0.5 and x2 in one coordinate pass, 1 + 2K CV paths)
  game-latent       the Latent variant (sum of group components, G2) with the CLI's default storage;
                    game-latent-factored / game-latent-dense: with --game-storage factored / dense
                    (the same fit up to rounding; factored holds no m x n array)
  soft-impute       global soft-impute, CV lambda, the CLI's default centring
  per-group-si      separate soft-impute per A level, CV lambda each
  iterative         sklearn IterativeImputer (BayesianRidge, --iterative-max-iter rounds, default 10)

    /usr/bin/python3 experiments/game/regime.py --seeds 10

writes docs/img/game/regime_groups.csv (one row per seed, scenario, method
and A level) and docs/img/game/regime_tests.csv (the paired tests); prints
the tables that docs/game.md quotes. LOWRANK_BIN picks the binary.
"""
import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def simulate(sizes, n, overlap, sigma, rng):
    m = int(sum(sizes))
    a = np.repeat(np.arange(len(sizes)), sizes)
    attrs = {"A": [f"a{v}" for v in a]}
    M = rng.normal(size=(m, 2)) @ rng.normal(size=(2, n))
    for lev in range(len(sizes)):
        rows = a == lev
        M[rows] += rng.normal(size=(rows.sum(), 2)) @ rng.normal(size=(2, n))
    extra = {"none": [], "light": [("B", 2)], "heavy": [("B", 2), ("C", 3)]}[overlap]
    for name, levels in extra:
        lab = rng.integers(0, levels, m)
        attrs[name] = [f"{name.lower()}{v}" for v in lab]
        for lev in range(levels):
            rows = lab == lev
            M[rows] += rng.normal(size=(rows.sum(), 1)) @ rng.normal(size=(1, n))
    X = M + sigma * rng.normal(size=(m, n))
    return M, X, pd.DataFrame(attrs), a


def top_v(B, r):
    _, _, Vt = np.linalg.svd(B, full_matrices=False)
    return Vt[:r].T


def block_rank(B):
    s = np.linalg.svd(B, compute_uv=False)
    return int((s > 1e-8 * s[0]).sum())


def fit_soft_impute_auto(X, train, want, tag, rows=None, cv=3, path=10):
    """soft-impute through the CLI with its default centring (auto where the binary has it)."""
    d = os.path.join(C.SCRATCH, tag)
    os.makedirs(d, exist_ok=True)
    tr = os.path.join(d, "train.txt")
    C.write_triplets(tr, X, train, rows=rows)
    js = C.run_cli(["complete", "--train", tr, "--method", "soft-impute", "--out", os.path.join(d, "model"),
                    "--seed", "0", "--cv", str(cv), "--lambda-path", str(path)], tag)
    ii, jj = np.nonzero(want)
    if rows is not None:
        keep = np.isin(ii, rows)
        ii, jj = ii[keep], jj[keep]
    P = np.full(X.shape, np.nan)
    P[ii, jj] = C.predict(os.path.join(d, "model"), ii, jj, tag)
    return P, {"lambda": js["lambda"], "seconds": js["_wall_s"], "centering": js.get("centering")}


def run_method(meth, X, train, want, attrs, a, tag, a_args):
    if meth.startswith("game"):
        # game[-sqrtsize|-uniform][-none|-center][-latent[-factored]]: weights, centring and variant on top
        # of the CLI's defaults
        extra = ["--cv-tol", "1e-3"]
        tokens = meth.split("-")[1:]
        if "sqrtsize" in tokens:
            extra += ["--group-weights", "sqrt-size"]
        if "uniform" in tokens:
            extra += ["--group-weights", "uniform"]
        if "none" in tokens:
            extra += ["--no-center"]
        if "center" in tokens:
            extra += ["--centering", "center"]
        # the variant is always named, so "game" stays the Sum variant whatever the CLI's default is
        extra += ["--variant", "latent" if "latent" in tokens else "sum"]
        if "factored" in tokens:
            extra += ["--game-storage", "factored"]
        if "dense" in tokens:
            extra += ["--game-storage", "dense"]
        if "wschemes" in tokens:
            extra += ["--weight-cv", "schemes"]
        if "wgroup" in tokens:
            extra += ["--weight-cv", "per-group"]
        return C.fit_game(X, train, want, attrs, tag, cv=a_args.cv, path=a_args.path, extra=extra)
    if meth == "soft-impute":
        return fit_soft_impute_auto(X, train, want, tag, cv=a_args.cv, path=a_args.path)
    if meth == "per-group-si":
        P = np.full(X.shape, np.nan)
        secs = 0.0
        for lev in np.unique(a):
            rows = np.nonzero(a == lev)[0]
            Pg, info = fit_soft_impute_auto(X, train, want, f"{tag}_{lev}", rows=rows, cv=a_args.cv, path=a_args.path)
            P[rows] = Pg[rows]
            secs += info["seconds"]
        return P, {"seconds": secs}
    if meth == "iterative":
        return C.fit_iterative(X, train, want, max_iter=a_args.iterative_max_iter)
    raise ValueError(meth)


def paired_tests(df, methods):
    """GAME variants minus each baseline, per overlap, layout and A level, paired by seed."""
    out = []
    keys = ["overlap", "layout", "group", "size", "rate"]
    for key, d in df.groupby(keys):
        piv = {v: d.pivot_table(index="seed", columns="method", values=v) for v in ("rmse", "sin_theta")}
        for game in [m for m in methods if m.startswith("game")]:
            for base in [m for m in methods if not m.startswith("game")]:
                for v, p in piv.items():
                    if game not in p or base not in p:
                        continue
                    diff = (p[game] - p[base]).dropna()
                    if len(diff) < 2:
                        continue
                    t = stats.ttest_rel(p[game].loc[diff.index], p[base].loc[diff.index])
                    w = stats.wilcoxon(diff) if len(diff) >= 5 and np.any(diff != 0) else None
                    out.append(dict(zip(keys, key), game=game, baseline=base, metric=v, n=len(diff),
                                    mean_game=float(p[game].loc[diff.index].mean()),
                                    mean_baseline=float(p[base].loc[diff.index].mean()),
                                    mean_diff=float(diff.mean()), t_p=float(t.pvalue),
                                    wilcoxon_p=float(w.pvalue) if w is not None else float("nan"),
                                    wins=int((diff < 0).sum())))
    return pd.DataFrame(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20,100,300,1000", help="rows of category A's levels")
    ap.add_argument("--rates", default="0.02,0.05,0.15,0.40", help="observed fraction of each A level (small-sparse)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--overlaps", default="none,light,heavy")
    ap.add_argument("--layouts", default="small-sparse,small-dense")
    ap.add_argument("--methods", default="game,game-sqrtsize,game-uniform,soft-impute,per-group-si,iterative")
    ap.add_argument("--iterative-max-iter", type=int, default=10,
                    help="IterativeImputer rounds (BayesianRidge per column each round; bounded so it stays cheap)")
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--path", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/game"))
    ap.add_argument("--tag", default="regime", help="CSV name stem")
    a_args = ap.parse_args()
    sizes = [int(s) for s in a_args.sizes.split(",")]
    rates = [float(r) for r in a_args.rates.split(",")]
    if len(sizes) != len(rates):
        ap.error("--sizes and --rates need the same length")
    methods = a_args.methods.split(",")
    rows = []
    for seed in range(a_args.first_seed, a_args.seeds):
        for overlap in a_args.overlaps.split(","):
            rng = np.random.default_rng(1000 * seed + {"none": 0, "light": 1, "heavy": 2}[overlap])
            M, X, attrs, a = simulate(sizes, a_args.n, overlap, a_args.sigma, rng)
            truth = {}
            for lev in range(len(sizes)):
                B = M[a == lev]
                r = block_rank(B)
                truth[lev] = (r, top_v(B, r))
            for layout in a_args.layouts.split(","):
                rr = rates if layout == "small-sparse" else rates[::-1]
                p = np.asarray(rr)[a][:, None]
                train = np.random.default_rng(7 + seed).random(X.shape) < p
                # every row and column observed at least once (the CLI fits the ids it sees)
                for i in np.nonzero(~train.any(axis=1))[0]:
                    train[i, rng.integers(X.shape[1])] = True
                for j in np.nonzero(~train.any(axis=0))[0]:
                    train[rng.integers(X.shape[0]), j] = True
                test = ~train
                want = np.ones_like(train)
                for meth in methods:
                    tag = f"{a_args.tag}_{overlap}_{layout}_{seed}_{meth}"
                    t0, c0 = time.time(), os.times()
                    P, info = run_method(meth, X, train, want, attrs, a, tag, a_args)
                    secs, c1 = time.time() - t0, os.times()
                    # CPU of this process and of the CLI runs it waited for
                    cpu = sum(getattr(c1, f) - getattr(c0, f)
                              for f in ("user", "system", "children_user", "children_system"))
                    for lev in range(len(sizes)):
                        rws = a == lev
                        r, V = truth[lev]
                        rows.append({"seed": seed, "overlap": overlap, "layout": layout, "method": meth,
                                     "group": f"a{lev}", "size": sizes[lev], "rate": rr[lev], "true_rank": r,
                                     "rmse": C.rmse(P, M, test & rws[:, None]),
                                     "sin_theta": C.sin_theta(top_v(P[rws], r), V),
                                     "lambda": info.get("lambda"), "seconds": secs,
                                     "weighting": info.get("weighting"),
                                     "cpu_seconds": cpu})
                    d = pd.DataFrame(rows[-len(sizes):])
                    C.log(f"seed {seed} {overlap:5s} {layout:12s} {meth:14s} " +
                          " ".join(f"{g}:{x:.3f}/{s:.2f}" for g, x, s in zip(d.group, d.rmse, d.sin_theta)) +
                          f"  {secs:.0f}s ({cpu:.0f} CPU s)" + (f" w={info['weighting']}" if info.get("weighting") else ""))
                os.makedirs(a_args.out, exist_ok=True)
                C.write_merged(rows, os.path.join(a_args.out, f"{a_args.tag}_groups.csv"),
                               ["seed", "overlap", "layout", "method"])
    df = pd.read_csv(os.path.join(a_args.out, f"{a_args.tag}_groups.csv"))
    tests = paired_tests(df, sorted(df.method.unique()))
    tests.to_csv(os.path.join(a_args.out, f"{a_args.tag}_tests.csv"), index=False)
    summarize(df, tests)


def markdown_table(df, tests, lead="game-latent-factored"):
    """docs/game.md's table: mean RMSE per method and A level, then lead minus each method (wins/n, t-test p)."""
    cols = [c for c in ("game", lead, "soft-impute", "per-group-si", "iterative") if c in df.method.unique()]
    mean = df.pivot_table(index=["overlap", "size", "rate"], columns="method", values="rmse")
    seeds = df.groupby("overlap").seed.nunique()
    print("== markdown (docs/game.md)")
    label = {"game": "Sum (`--variant sum`)", lead: "Latent + factored (the default)"}
    print("| overlap (seeds) | level (rows, rate) | " + " | ".join(label.get(c, c) for c in cols) + " | " +
          " | ".join(f"Latent - {label.get(c, c)}" for c in cols if c != lead) + " |")
    print("|---" * (2 + len(cols) + len(cols) - 1) + "|")
    for (ov, size, rate), row in mean.iterrows():
        best = min(row[c] for c in cols)
        cells = [f"**{row[c]:.3f}**" if row[c] == best else f"{row[c]:.3f}" for c in cols]
        diffs = []
        for c in cols:
            if c == lead:
                continue
            p = df[(df.overlap == ov) & (df["size"] == size)].pivot_table(index="seed", columns="method",
                                                                          values="rmse")[[lead, c]].dropna()
            d = p[lead] - p[c]
            diffs.append(f"{d.mean():+.3f} ({int((d < 0).sum())}/{len(d)}, p={stats.ttest_rel(p[lead], p[c]).pvalue:.2g})")
        print(f"| {ov} ({seeds[ov]}) | {size}, {rate:.0%} | " + " | ".join(cells) + " | " + " | ".join(diffs) + " |")


def weight_table(df, lead="game-latent-factored"):
    """docs/game.md's weight table: each weight search (method ...-wschemes / ...-wgroup) minus the default
    weights (`lead`, the same variant and storage), paired by seed per overlap and A level, and which
    candidate the search chose how often."""
    wm = sorted(m for m in df.method.unique() if m.startswith(lead + "-w"))
    if lead not in df.method.unique() or not wm:
        return
    print("== markdown (docs/game.md, weights): weight search minus the default weights, RMSE and sin theta")
    print("| overlap (seeds) | level (rows, rate) | default weights | " +
          " | ".join(f"{m[len(lead) + 1:]} RMSE diff | sin theta diff" for m in wm) + " |")
    print("|---" * (3 + 2 * len(wm)) + "|")
    keys = ["overlap", "size", "rate"]
    for (ov, size, rate), d in df[df.method.isin([lead] + wm)].groupby(keys):
        cells = []
        base_mean = d[d.method == lead].rmse.mean()
        for m in wm:
            for metric in ("rmse", "sin_theta"):
                p = d.pivot_table(index="seed", columns="method", values=metric)
                if m not in p or lead not in p:
                    cells.append("-")
                    continue
                p = p[[m, lead]].dropna()
                diff = p[m] - p[lead]
                pv = stats.ttest_rel(p[m], p[lead]).pvalue if len(p) > 1 and diff.abs().sum() > 0 else float("nan")
                cells.append(f"{diff.mean():+.3f} ({int((diff < 0).sum())}/{len(diff)}, p={pv:.2g})")
        n = d[d.method == lead].seed.nunique()
        print(f"| {ov} ({n}) | {size}, {rate:.0%} | {base_mean:.3f} | " + " | ".join(cells) + " |")
    if "weighting" in df:
        print("== chosen weights (one count per seed and overlap)")
        w = df[df.method.isin(wm) & (df.group == "a0")]
        print(w.groupby(["method", "overlap", "weighting"]).seed.count().to_string())


def summarize(df, tests):
    print(f"seeds: {df.seed.nunique()}")
    for metric in ("rmse", "sin_theta"):
        print(f"== mean {metric} over seeds (rows: overlap / layout / A level (size, rate))")
        t = df.pivot_table(index=["overlap", "layout", "group", "size", "rate"], columns="method", values=metric)
        print(t.round(3).to_string())
    if len(tests):
        for lead in sorted(tests.game.unique()):
            print(f"== paired tests, {lead} minus baseline: mean diff (wins/n, t-test p)")
            d = tests[tests.game == lead]
            for metric in ("rmse", "sin_theta"):
                x = d[d.metric == metric]
                piv = x.assign(cell=x.apply(lambda r: f"{r.mean_diff:+.3f} ({r.wins}/{r.n}, p={r.t_p:.2g})", axis=1))
                print(f"-- {metric}")
                print(piv.pivot_table(index=["overlap", "layout", "group", "size", "rate"], columns="baseline",
                                      values="cell", aggfunc="first").to_string())
    games = sorted(m for m in df.method.unique() if m.startswith("game"))
    if "game" in games and len(games) > 1:
        # each other GAME variant against the default, paired by seed
        for other in [m for m in games if m != "game"]:
            print(f"== {other} minus game (the default), paired by seed: mean diff (wins/n, t-test p)")
            for metric in ("rmse", "sin_theta"):
                p = df.pivot_table(index=["overlap", "layout", "group", "size", "rate", "seed"], columns="method",
                                   values=metric)
                for key, g in p.groupby(level=[0, 1, 2, 3, 4]):
                    g = g[[other, "game"]].dropna()
                    if len(g) < 2:
                        continue
                    diff = g[other] - g["game"]
                    pv = stats.ttest_rel(g[other], g["game"]).pvalue
                    print(f"{metric:9s} {' '.join(map(str, key))}: {diff.mean():+.3f} ({int((diff < 0).sum())}/{len(diff)}, "
                          f"p={pv:.2g})")
    if {"game", "game-latent-factored"} <= set(df.method.unique()):
        markdown_table(df, tests)
    weight_table(df)
    print("== mean seconds per fit (CV path) by overlap and method")
    print(df.groupby(["overlap", "method"]).seconds.mean().round(0).unstack().to_string())
    if "cpu_seconds" in df and df.cpu_seconds.notna().any():
        print("== mean CPU seconds per fit (CV path, rows that recorded it) by overlap and method")
        print(df.dropna(subset=["cpu_seconds"]).groupby(["overlap", "method"]).cpu_seconds.mean().round(1)
              .unstack().to_string())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--summarize":
        # tables and paired tests from the CSV(s) given (default: docs/img/game/regime_groups.csv)
        paths = sys.argv[2:] or [os.path.join(ROOT, "docs/img/game/regime_groups.csv")]
        df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        tests = paired_tests(df, sorted(df.method.unique()))
        # X_groups.csv -> X_tests.csv beside it
        tests.to_csv(paths[0].replace("_groups.csv", "_tests.csv") if paths[0].endswith("_groups.csv")
                     else os.path.join(os.path.dirname(paths[0]), "regime_tests.csv"), index=False)
        summarize(df, tests)
    else:
        main()
