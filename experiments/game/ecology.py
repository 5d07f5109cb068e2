#!/usr/bin/python3
"""GAME vs baselines on vegan's mite, dune and BCI tables (issue 5, experiment 3).

Counts are log1p-transformed here, before any file is written. Each seed
holds out 20% of the cells at random (same split for every method); test
RMSE on the log1p scale, overall and per group.

    /usr/bin/python3 experiments/game/ecology.py --seeds 10 --out docs/img/game
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "ecology"))
DATASETS = {
    "mite": (os.path.join(ROOT, "data/ecology/mite.csv"), os.path.join(ROOT, "data/ecology/mite_env.csv"),
             ["Substrate", "Shrub", "Topo"]),
    "dune": (os.path.join(ROOT, "data/ecology/dune.csv"), os.path.join(ROOT, "data/ecology/dune_env.csv"),
             ["Management", "Use", "Moisture"]),
    "bci": (os.path.join(SHARED, "bci.csv"), os.path.join(SHARED, "bci_env.csv"), ["Habitat", "Stream", "Age.cat"]),
}


def load(name):
    data, env, cats = DATASETS[name]
    X = pd.read_csv(data, index_col=0).to_numpy(dtype=float)
    A = pd.read_csv(env, index_col=0)[cats].astype(str).reset_index(drop=True)
    return np.log1p(X), A


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--datasets", default="mite,dune,bci")
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/game"))
    ap.add_argument("--methods", default="game,soft-impute,per-group-si,side-info,knn,iterative,column-mean")
    a = ap.parse_args()
    methods = a.methods.split(",")
    rows, grows = [], []
    for name in a.datasets.split(","):
        if not os.path.exists(DATASETS[name][0]):
            C.log(f"{name}: {DATASETS[name][0]} absent, skipped")
            continue
        X, A = load(name)
        m, n = X.shape
        C.log(f"{name}: {m} x {n}, groups from {list(A.columns)}")
        for seed in range(a.seeds):
            rng = np.random.default_rng(1000 + seed)
            test = rng.random((m, n)) < a.holdout
            train = ~test
            want = test
            for meth in methods:
                tag = f"eco_{name}_{seed}_{meth}"
                if meth == "game":  # the Sum variant (common.fit_game pins it: the default until issue 35)
                    P, info = C.fit_game(X, train, want, A, tag)
                elif meth == "game-latent":  # the CLI's default since issue 35: Latent, storage auto (factored)
                    P, info = C.fit_game(X, train, want, A, tag, extra=["--variant", "latent"])
                elif meth == "soft-impute":
                    P, info = C.fit_soft_impute(X, train, want, tag)
                elif meth == "per-group-si":
                    P, info = C.fit_per_group_soft_impute(X, train, want, A.iloc[:, 0].to_numpy(), tag)
                elif meth == "side-info":
                    P, info = C.fit_side_info(X, train, want, A, tag)
                elif meth == "knn":
                    P, info = C.fit_knn(X, train, want)
                elif meth == "iterative":
                    P, info = C.fit_iterative(X, train, want)
                else:
                    P, info = C.fit_column_mean(X, train, want)
                r = C.rmse(P, X, test)
                rows.append({"dataset": name, "seed": seed, "method": meth, "test_rmse": r,
                             "lambda": info.get("lambda"), "seconds": info.get("seconds"),
                             "fallback_levels": info.get("fallback_levels")})
                for g, v in C.group_rmse(P, X, test, A).items():
                    grows.append({"dataset": name, "seed": seed, "method": meth, "group": g, "test_rmse": v})
                C.log(f"{name} seed {seed} {meth:13s} test RMSE {r:.4f}")
            # write as we go so a cut-off run keeps what it did
            os.makedirs(a.out, exist_ok=True)
            C.write_merged(rows, os.path.join(a.out, "ecology_runs.csv"), ["dataset", "seed", "method"])
            C.write_merged(grows, os.path.join(a.out, "ecology_groups.csv"), ["dataset", "seed", "method"])
    df = pd.DataFrame(rows)
    print("test RMSE (log1p scale), mean ± sd over seeds")
    for name in df.dataset.unique():
        print(f"== {name}")
        print(C.fmt_table(df[df.dataset == name], "method", "test_rmse"))


if __name__ == "__main__":
    main()
