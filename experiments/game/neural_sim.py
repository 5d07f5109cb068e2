#!/usr/bin/python3
"""SIMULATED neural recordings (issue 5, experiment 4). No real data.

Rows are recorded units (neurons), columns are trial conditions; each row
carries a brain-region label (3 regions) and a recording-session label
(4 sessions). Log firing rate = baseline + shared rank-2 + region-specific
rank-1 + session-specific rank-1; counts ~ Poisson(exp(log rate)). Methods
see log1p(counts). Missing (= test): 15% of cells at random, plus session s0
never ran a block of 30% of the conditions.

Scores: RMSE on the held-out log1p counts and RMSE against the noiseless
log1p(rate), per method, mean ± sd over seeds.

    /usr/bin/python3 experiments/game/neural_sim.py --seeds 3
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def simulate(m, n, rng):
    region = rng.integers(0, 3, m)
    session = rng.integers(0, 4, m)
    A = pd.DataFrame({"region": [f"R{v}" for v in region], "session": [f"s{v}" for v in session]})
    L = 1.0 + 0.3 * rng.normal(size=(m, 1)) + 0.35 * rng.normal(size=(m, 2)) @ rng.normal(size=(2, n))
    for lab, k in ((region, 3), (session, 4)):
        for lev in range(k):
            rows = lab == lev
            L[rows] += 0.35 * rng.normal(size=(rows.sum(), 1)) @ rng.normal(size=(1, n))
    rate = np.exp(L)
    Y = rng.poisson(rate).astype(float)
    return np.log1p(Y), np.log1p(rate), A


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=240)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--path", type=int, default=12)
    ap.add_argument("--methods", default="game,soft-impute,per-group-si,side-info,knn,iterative,column-mean")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/game"))
    a = ap.parse_args()
    rows = []
    for seed in range(a.seeds):
        rng = np.random.default_rng(700 + seed)
        X, T, A = simulate(a.m, a.n, rng)
        test = rng.random(X.shape) < 0.15
        cols = rng.choice(a.n, int(0.3 * a.n), replace=False)
        test[np.ix_(A.session.to_numpy() == "s0", cols)] = True
        train = ~test
        for meth in a.methods.split(","):
            tag = f"neu_{seed}_{meth}"
            if meth == "game":
                P, info = C.fit_game(X, train, test, A, tag, cv=a.cv, path=a.path)
            elif meth == "soft-impute":
                P, info = C.fit_soft_impute(X, train, test, tag, cv=a.cv, path=a.path)
            elif meth == "per-group-si":
                P, info = C.fit_per_group_soft_impute(X, train, test, A.region.to_numpy(), tag)
            elif meth == "side-info":
                P, info = C.fit_side_info(X, train, test, A, tag)
            elif meth == "knn":
                P, info = C.fit_knn(X, train, test)
            elif meth == "iterative":
                P, info = C.fit_iterative(X, train, test)
            else:
                P, info = C.fit_column_mean(X, train, test)
            blk = test & (A.session.to_numpy() == "s0")[:, None]
            rec = {"seed": seed, "method": meth, "test_rmse": C.rmse(P, X, test), "rmse_vs_rate": C.rmse(P, T, test),
                   "s0_block_rmse": C.rmse(P, X, blk), "lambda": info.get("lambda"), "seconds": info.get("seconds")}
            rows.append(rec)
            C.log(f"SIMULATED seed {seed} {meth:13s} RMSE {rec['test_rmse']:.4f} vs rate {rec['rmse_vs_rate']:.4f}")
            os.makedirs(a.out, exist_ok=True)
            pd.DataFrame(rows).to_csv(os.path.join(a.out, "neural_sim_runs.csv"), index=False)
    df = pd.DataFrame(rows)
    print(f"SIMULATED neural recordings m={a.m} n={a.n} seeds={a.seeds}")
    for v in ("test_rmse", "rmse_vs_rate", "s0_block_rmse"):
        print(f"== {v}")
        print(C.fmt_table(df, "method", v))


if __name__ == "__main__":
    main()
