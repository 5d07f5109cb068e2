#!/usr/bin/env python3
"""Python-vs-C++ overhead of lowrank on MovieLens-100k (u1.base / u1.test),
with scikit-learn's IterativeImputer and KNNImputer on the same data beside it.

For each lowrank fit it reports
  py_wall   wall time of est.fit(R) in Python (scipy -> COO conversion, the
            C++ call, wrapping the results),
  cpp       the C++ solver's own elapsed time for the same fit (measured inside
            the library, returned in the result),
  same-call (py_wall - C++ time) / C++ time of the SAME fit call (median):
            what the binding adds, free of run-to-run noise,
  cli       wall time of the same fit through the CLI (`lowrank complete
            ... --json`, its "seconds": reading the file and scoring included),
and checks first that Python and the CLI agree on the test RMSE.

Usage (from the repository root, after building build/):
  PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py --cli build/lowrank [--repeats 5] [--sklearn]
"""
import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

import lowrank
from lowrank import _core

p = argparse.ArgumentParser()
p.add_argument("--cli", default="build/lowrank")
p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k"))
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--sklearn", action="store_true", help="also time IterativeImputer and KNNImputer (slow)")
a = p.parse_args()

ml = Path(a.data)
names = ["user", "item", "rating", "ts"]
base = pd.read_csv(ml / "u1.base", sep="\t", names=names)
test = pd.read_csv(ml / "u1.test", sep="\t", names=names)
# Row / column order as the CLI's triplet reader assigns them: first seen.
uid = {u: i for i, u in enumerate(dict.fromkeys(base.user))}
iid = {v: i for i, v in enumerate(dict.fromkeys(base.item))}
R = sp.coo_matrix((base.rating.to_numpy(float), ([uid[u] for u in base.user], [iid[v] for v in base.item])),
                  shape=(len(uid), len(iid)))
test = test[test.user.isin(uid) & test.item.isin(iid)]
tr = np.array([uid[u] for u in test.user], dtype=np.int32)
tc = np.array([iid[v] for v in test.item], dtype=np.int32)
ty = test.rating.to_numpy(float)


def rmse(est):
    return float(np.sqrt(np.mean((est.predict(tr, tc) - ty) ** 2)))


def cpp_seconds(est, method, opts):
    """The solver's own time, from the C++ result of an identical call."""
    r = _core.complete(R.shape[0], R.shape[1], R.row.astype(np.int32), R.col.astype(np.int32), R.data, method, opts)
    return r["elapsed_s"]


cases = [
    ("als rank 20, biases", lowrank.ALS(rank=20, lam=0.05, biases=True),
     ["--method", "als", "--rank", "20", "--lambda", "0.05", "--biases"], "als",
     dict(rank=20, lam=0.05, biases=True)),
    ("soft-impute lam 10, rank<=30", lowrank.SoftImpute(lam=10.0, rank=30),
     ["--lambda", "10", "--rank", "30"], "soft-impute", dict(lam=10.0, max_rank=30)),
]
print(f"MovieLens-100k u1: {R.shape[0]} x {R.shape[1]}, {R.nnz} ratings; {len(ty)} test ratings; "
      f"{a.repeats} repeats, medians")
print(f"{'fit':<30s} {'py_wall':>8s} {'cpp':>8s} {'overhead':>9s} {'same-call':>9s} {'cli':>8s} {'rmse py':>8s} "
      f"{'rmse cli':>8s}")
for label, est, flags, method, opts in cases:
    walls, cpps, same = [], [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        est.fit(R)
        walls.append(time.perf_counter() - t0)
        # Overhead within one call: wall of est.fit minus the C++ solver's own
        # time for that very fit (immune to run-to-run noise of the machine).
        same.append((walls[-1] - est.elapsed_s_) / est.elapsed_s_)
        cpps.append(cpp_seconds(est, method, opts))
    clis = []
    for _ in range(a.repeats):
        out = subprocess.run([a.cli, "complete", "--train", str(ml / "u1.base"), "--test", str(ml / "u1.test"),
                              *flags, "--json"], capture_output=True, text=True, check=True).stdout
        j = json.loads(out)
        clis.append(j["seconds"])
    w, c, cl = np.median(walls), np.median(cpps), np.median(clis)
    ours = rmse(est)
    assert abs(ours - j["test"]["rmse"]) < 1e-9, (ours, j["test"]["rmse"])
    print(f"{label:<30s} {w:8.3f} {c:8.3f} {100 * (w - c) / c:8.1f}% {100 * np.median(same):8.2f}% {cl:8.3f} "
          f"{ours:8.4f} {j['test']['rmse']:8.4f}")

if a.sklearn:
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer
    X = np.full(R.shape, np.nan)
    X[R.row, R.col] = R.data
    for label, imp in (("sklearn KNNImputer(k=20)", KNNImputer(n_neighbors=20)),
                       ("sklearn IterativeImputer(it=3, nnf=50)",
                        IterativeImputer(max_iter=3, n_nearest_features=50, random_state=0))):
        t0 = time.perf_counter()
        Z = imp.fit_transform(X)
        wall = time.perf_counter() - t0
        # columns that are entirely missing are dropped by the imputers; none are here
        err = float(np.sqrt(np.mean((Z[tr, tc] - ty) ** 2)))
        print(f"{label:<30s} {wall:8.3f} {'':>8s} {'':>9s} {'':>8s} {err:8.4f}")
