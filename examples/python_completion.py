#!/usr/bin/env python3
"""lowrank from Python, notebook style.

Part 1  a vegan table (data/ecology/dune.csv, 20 sites x 30 species): hide
        20% of the cells, complete the table with cross-validated
        soft-impute, score the hidden cells against the column-mean
        baseline, and plot the singular-value decay and the CV curve.
Part 2  MovieLens-100k (../shared/data/movielens-100k) with GAME: one nuclear
        norm per age band, gender and occupation group plus the global one;
        test RMSE on u1.test beside soft-impute, and each group's subspace
        angle to the global subspace. Skipped, with a message, when the data
        or the GAME estimator is not there.

Run from the repository root:
    PYTHONPATH=build/python /usr/bin/python3 examples/python_completion.py --out out/python-example
(--quick: a 300-user slice of MovieLens and a short lambda path; the test suite uses it.)
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import matplotlib
matplotlib.use("Agg")

import lowrank  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="out/python-example", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="small MovieLens slice (tests)")
parser.add_argument("--movielens", default=os.environ.get(
    "LOWRANK_MOVIELENS", str(ROOT.parent / "shared" / "data" / "movielens-100k")))
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %% Part 1: complete a vegan table -------------------------------------------
dune = pd.read_csv(ROOT / "data" / "ecology" / "dune.csv", index_col=0)
x = dune.to_numpy(dtype=float)
rng = np.random.default_rng(0)
hidden = rng.random(x.shape) < 0.2
train = x.copy()
train[hidden] = np.nan

si = lowrank.SoftImpute(cv=5, seed=0).fit(train)   # lambda path + 5-fold CV, as `lowrank complete`
completed = si.transform(train)                     # observed cells kept, hidden ones filled
rmse = np.sqrt(np.mean((completed[hidden] - x[hidden]) ** 2))
col_means = np.nanmean(train, axis=0)
baseline = np.sqrt(np.mean((np.broadcast_to(col_means, x.shape)[hidden] - x[hidden]) ** 2))
print(f"dune: {x.shape[0]} x {x.shape[1]}, {hidden.sum()} cells hidden")
print(f"  soft-impute: lambda {si.lambda_:.4g} (CV), rank {si.rank_}, hidden-cell RMSE {rmse:.3f} "
      f"(column means: {baseline:.3f})")
pd.DataFrame(completed, index=dune.index, columns=dune.columns).to_csv(out / "dune_completed.csv")
lowrank.plot.singular_values(si).savefig(out / "dune_singular_values.png", dpi=100)
lowrank.plot.cv_curve(si).savefig(out / "dune_cv_curve.png", dpi=100)
print(f"  figures: {out / 'dune_singular_values.png'}, {out / 'dune_cv_curve.png'}")

# %% Part 2: MovieLens-100k with GAME -----------------------------------------
ml = Path(args.movielens)
if not (ml / "u1.base").exists():
    print(f"movielens: skipped ({ml} not found; set LOWRANK_MOVIELENS)")
    sys.exit(0)
if not hasattr(lowrank, "GAME"):
    print("movielens: skipped (this build of lowrank has no GAME estimator)")
    sys.exit(0)

import scipy.sparse as sp  # noqa: E402

cols = ["user", "item", "rating", "ts"]
base = pd.read_csv(ml / "u1.base", sep="\t", names=cols)
test = pd.read_csv(ml / "u1.test", sep="\t", names=cols)
users = pd.read_csv(ml / "u.user", sep="|", names=["user", "age", "gender", "occupation", "zip"]).set_index("user")
if args.quick:
    keep = users.index[:300]
    base, test = base[base.user.isin(keep)], test[test.user.isin(keep)]
user_ids = np.sort(base.user.unique())
item_ids = np.sort(base.item.unique())
uidx = pd.Series(np.arange(user_ids.size), index=user_ids)
iidx = pd.Series(np.arange(item_ids.size), index=item_ids)
R = sp.coo_matrix((base.rating.to_numpy(float), (uidx[base.user].to_numpy(), iidx[base.item].to_numpy())),
                  shape=(user_ids.size, item_ids.size))
test = test[test.item.isin(item_ids)]
tr, tc = uidx[test.user].to_numpy(), iidx[test.item].to_numpy()
print(f"movielens: {R.shape[0]} users x {R.shape[1]} items, {R.nnz} ratings, {len(test)} test ratings")

t0 = time.perf_counter()
game = lowrank.GAME(groups=users, group_cols=["age", "gender", "occupation"], bins={"age": [0, 25, 35, 45, 100]},
                    lam=None if not args.quick else 40.0, cv=3, lambda_path=6, seed=0)
game.fit(R, row_ids=user_ids)
t_game = time.perf_counter() - t0
game_rmse = np.sqrt(np.mean((game.predict(tr, tc) - test.rating.to_numpy()) ** 2))

t0 = time.perf_counter()
soft = lowrank.SoftImpute(centering="center", cv=2 if args.quick else 3, lambda_path=5 if args.quick else 10,
                          rank=20, seed=0).fit(R)
t_soft = time.perf_counter() - t0
soft_rmse = np.sqrt(np.mean((soft.predict(tr, tc) - test.rating.to_numpy()) ** 2))
print(f"  GAME        lambda {game.lambda_:.4g}, {len(game.group_names_)} groups, test RMSE {game_rmse:.4f} "
      f"({t_game:.1f} s)")
print(f"  soft-impute lambda {soft.lambda_:.4g}, rank {soft.rank_}, test RMSE {soft_rmse:.4f} ({t_soft:.1f} s)")
for name, a in list(game.group_angles().items())[:5]:
    print(f"    {name:<22s} largest angle to the global subspace: {np.degrees(a.max()) if a.size else 0:.1f} deg")
lowrank.plot.group_angles(game).savefig(out / "movielens_group_angles.png", dpi=100)
print(f"  figure: {out / 'movielens_group_angles.png'}")
