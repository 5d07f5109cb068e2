#!/usr/bin/python3
"""Planted-subspace study for GAME (issue 5, experiment 1).

Rows carry two categories A (3 levels) and B (2 levels), assigned
independently, giving 5 overlapping groups. Truth (additive, as in the
issue): M = U0 V0^T + sum_k 1[i in G_k] U_k V_k^T, each term rank 2, so every
group's block is a shared rank-2 part plus its own rank-2 part (plus the
parts of the groups of the other category that its rows also belong to).
X = M + N(0, sigma^2). Missing entries are the test set:

  uniform     15% of all cells missing at random
  structured  rows of A=a0 and B=b0 miss 40%, all other rows 3%
  block       rows of A=a0 miss a block of 30% of the columns entirely,
              plus 5% missing at random everywhere

Scores: test RMSE (overall and per group) and sin theta, the sine of the
largest principal angle between each group's estimated top-4 right singular
subspace and the truth's (the top-4 right singular subspace of the
noiseless block M[G_k, :] after removing M's row and column means, because
every method here centres). For GAME the estimated subspace is read from
--subspaces; for every method it is also computed from its completed matrix
(same centring), which is what the table reports.

    /usr/bin/python3 experiments/game/synthetic.py --m 300 --n 100 --seeds 5

Sweeps (uniform scenario, one factor moved from the base design at a time;
rows go to synthetic_sweep_runs.csv under the --setting label):

    --missing F        fraction of cells held out (sampling density 1 - F; base 0.15)
    --group-rank R     rank of each group-specific part (base 2)
    --shared-scale S   scale of the shared rank-2 part against the group parts
                       (how much structure the overlapping groups share; base 1)

    /usr/bin/python3 experiments/game/synthetic.py --scenarios uniform --missing 0.6 --setting missing=0.6
"""
import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def simulate(m, n, sigma, rng, group_rank=2, shared_scale=1.0):
    a = rng.integers(0, 3, m)
    b = rng.integers(0, 2, m)
    attrs = pd.DataFrame({"A": [f"a{v}" for v in a], "B": [f"b{v}" for v in b]})
    M = shared_scale * (rng.normal(size=(m, 2)) @ rng.normal(size=(2, n)))
    for lab, levels in ((a, 3), (b, 2)):
        for lev in range(levels):
            rows = lab == lev
            M[rows] += rng.normal(size=(rows.sum(), group_rank)) @ rng.normal(size=(group_rank, n))
    X = M + sigma * rng.normal(size=(m, n))
    return M, X, attrs


def missing_mask(kind, attrs, m, n, rng, missing=0.15):
    if kind == "uniform":
        return rng.random((m, n)) < missing
    if kind == "structured":
        hi = (attrs.A.to_numpy() == "a0") | (attrs.B.to_numpy() == "b0")
        p = np.where(hi, 0.40, 0.03)[:, None]
        return rng.random((m, n)) < p
    if kind == "block":
        miss = rng.random((m, n)) < 0.05
        cols = rng.choice(n, int(0.3 * n), replace=False)
        rows = attrs.A.to_numpy() == "a0"
        miss[np.ix_(rows, cols)] = True
        return miss
    raise ValueError(kind)


def centred(M):
    return M - M.mean(axis=1, keepdims=True) - M.mean(axis=0, keepdims=True) + M.mean()


def top_v(B, r):
    _, _, Vt = np.linalg.svd(B, full_matrices=False)
    return Vt[:r].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=1200)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. seeds-1 (adds to the CSVs)")
    ap.add_argument("--scenarios", default="uniform,structured,block")
    ap.add_argument("--methods", default="game,soft-impute,per-group-si,side-info,knn,iterative,column-mean")
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--path", type=int, default=12)
    ap.add_argument("--game-lambda", type=float, default=None, help="fixed GAME lambda (default: CV per fit)")
    ap.add_argument("--si-lambda", type=float, default=None, help="fixed soft-impute lambda (default: CV per fit)")
    ap.add_argument("--missing", type=float, default=0.15, help="uniform scenario: fraction held out")
    ap.add_argument("--group-rank", type=int, default=2, help="rank of each group-specific part")
    ap.add_argument("--shared-scale", type=float, default=1.0, help="scale of the shared rank-2 part")
    ap.add_argument("--setting", default=None,
                    help="sweep label: rows go to synthetic_sweep_runs.csv instead of the main tables")
    ap.add_argument("--extra", default="", help="extra GAME CLI arguments, space separated (e.g. '--cv-tol 1e-3')")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/game"))
    a = ap.parse_args()
    if not 0 < a.missing < 1 or a.group_rank < 1:
        ap.error("--missing must lie in (0, 1) and --group-rank be >= 1")
    base = a.missing == 0.15 and a.group_rank == 2 and a.shared_scale == 1.0
    if a.setting is None and not base:
        ap.error("a sweep (--missing / --group-rank / --shared-scale) needs --setting")
    r_sub = 2 + a.group_rank  # shared part + the group's own part
    rows, grows = [], []
    for seed in range(a.first_seed, a.seeds):
        rng = np.random.default_rng(seed)
        M, X, A = simulate(a.m, a.n, a.sigma, rng, a.group_rank, a.shared_scale)
        Mc = centred(M)
        groups = {f"{c}={lev}": (A[c].to_numpy() == lev) for c in A.columns for lev in sorted(A[c].unique())}
        truth = {g: top_v(Mc[r], r_sub) for g, r in groups.items()}
        for kind in a.scenarios.split(","):
            test = missing_mask(kind, A, a.m, a.n, np.random.default_rng(100 + seed), a.missing)
            train = ~test
            want = np.ones_like(test)  # full completed matrix, for the subspaces
            for meth in a.methods.split(","):
                tag = f"syn_{a.setting + '_' if a.setting else ''}{kind}_{seed}_{meth}"
                if meth == "game":
                    P, info = C.fit_game(X, train, want, A, tag, lam=a.game_lambda, cv=a.cv, path=a.path,
                                          subspaces=True, extra=a.extra.split())
                elif meth == "soft-impute":
                    P, info = C.fit_soft_impute(X, train, want, tag, lam=a.si_lambda, cv=a.cv, path=a.path)
                elif meth == "per-group-si":
                    P, info = C.fit_per_group_soft_impute(X, train, want, A.A.to_numpy(), tag, lam=a.si_lambda)
                elif meth == "side-info":
                    P, info = C.fit_side_info(X, train, want, A, tag, lam=a.si_lambda)
                elif meth == "knn":
                    P, info = C.fit_knn(X, train, want)
                elif meth == "iterative":
                    P, info = C.fit_iterative(X, train, want)
                else:
                    P, info = C.fit_column_mean(X, train, want)
                Pc = centred(P)
                r = C.rmse(P, X, test)
                rm = C.rmse(P, M, test)
                sins = {g: C.sin_theta(top_v(Pc[rr], r_sub), truth[g]) for g, rr in groups.items()}
                rec = {"scenario": kind, "seed": seed, "method": meth, "test_rmse": r, "test_rmse_vs_M": rm,
                       "mean_sin_theta": float(np.mean(list(sins.values()))), "lambda": info.get("lambda"),
                       "seconds": info.get("seconds")}
                if meth == "game":
                    # the CLI's own per-group subspaces (top-4 columns of V)
                    sd = info["subspace_dir"]
                    idx = json.load(open(os.path.join(sd, "groups.json")))
                    order = [int(c[1:]) for c in info["col_ids"]]
                    cli_sins = []
                    for g in idx["groups"]:
                        if g["name"] not in truth:
                            continue
                        V = np.load(os.path.join(sd, g["V"]))
                        Vt = np.zeros((a.n, V.shape[1]))
                        Vt[order] = V
                        cli_sins.append(C.sin_theta(Vt[:, :r_sub], truth[g["name"]]) if V.shape[1] >= r_sub else 1.0)
                    rec["cli_subspace_mean_sin_theta"] = float(np.mean(cli_sins))
                rows.append(rec)
                for g, rr in groups.items():
                    grows.append({"scenario": kind, "seed": seed, "method": meth, "group": g,
                                  "test_rmse": C.rmse(P, X, test & rr[:, None]), "sin_theta": sins[g]})
                C.log(f"{kind} seed {seed} {meth:13s} RMSE {r:.4f} (vs M {rm:.4f}) sin {rec['mean_sin_theta']:.3f}"
                      + (f" cli-sin {rec['cli_subspace_mean_sin_theta']:.3f}" if meth == "game" else ""))
            os.makedirs(a.out, exist_ok=True)
            if a.setting is None:
                C.write_merged(rows, os.path.join(a.out, "synthetic_runs.csv"), ["scenario", "seed", "method"])
                C.write_merged(grows, os.path.join(a.out, "synthetic_groups.csv"), ["scenario", "seed", "method"])
            else:
                tagged = [dict(r, setting=a.setting, missing=a.missing, group_rank=a.group_rank,
                               shared_scale=a.shared_scale) for r in rows]
                C.write_merged(tagged, os.path.join(a.out, "synthetic_sweep_runs.csv"),
                               ["setting", "scenario", "seed", "method"])
    df = pd.DataFrame(rows)
    print(f"m={a.m} n={a.n} sigma={a.sigma} seeds={a.seeds} missing={a.missing} group_rank={a.group_rank} "
          f"shared_scale={a.shared_scale}")
    for kind in df.scenario.unique():
        d = df[df.scenario == kind]
        print(f"== {kind}: test RMSE vs X")
        print(C.fmt_table(d, "method", "test_rmse"))
        print(f"== {kind}: mean sin theta (top-{r_sub})")
        print(C.fmt_table(d, "method", "mean_sin_theta", 3))


if __name__ == "__main__":
    main()
