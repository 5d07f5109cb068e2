"""When may a GAME CV fold stop early? Compare --cv-patience 0 / 1 / 2.

For the vegan tables (raw counts and log1p), 20 % holdout and seeds 0..N-1,
runs `lowrank complete --method game` with the whole grid (patience 0), with
patience 1 (stop at the first rise) and with the default (patience 2, or a
significant first rise: FoldStopRule in src/game/detail.hpp), and prints the
chosen lambda, the test RMSE and the fit count of each. It then counts the
runs where a setting chose another lambda than the default.

    LOWRANK_BIN=$PWD/build/lowrank /usr/bin/python3 experiments/game/cv_stop_rule.py --seeds 5

(~10 s on 2 cores). The log1p copies go to a scratch directory; nothing is
downloaded.
"""
import argparse
import csv
import json
import math
import os
import subprocess

from common import LOWRANK, SCRATCH, log

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared", "data", "ecology")
TABLES = {  # name: (counts, attributes, group columns)
    "mite": ("mite.csv", "mite_env.csv", "Substrate,Shrub,Topo"),
    "dune": ("dune.csv", "dune_env.csv", "Management,Use,Moisture"),
    "bci": ("bci.csv", "bci_env.csv", "Habitat,Stream,Age.cat"),
}


def log1p_copy(src, dst):
    with open(src) as f:
        rows = list(csv.reader(f))
    out = [rows[0]] + [[r[0]] + ["%.6g" % math.log1p(float(x)) if x != "" else "" for x in r[1:]] for r in rows[1:]]
    with open(dst, "w", newline="") as f:
        csv.writer(f).writerows(out)


def run(train, env, cols, seed, patience, threads):
    cmd = [LOWRANK, "complete", "--train", train, "--holdout", "0.2", "--seed", str(seed), "--method", "game",
           "--groups", env, "--group-cols", cols, "--json", "-q", "--threads", str(threads),
           "--cv-patience", str(patience)]
    d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return d["lambda"], d["test"]["rmse"], d["game"]["fits"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=SHARED, help="folder with the vegan tables (../shared/data/ecology)")
    args = ap.parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    cases = []
    for name, (counts, env, cols) in TABLES.items():
        src = os.path.join(args.data, counts)
        if not os.path.exists(src):
            log(f"skipping {name}: {src} not found")
            continue
        logged = os.path.join(SCRATCH, f"{name}_log1p.csv")
        log1p_copy(src, logged)
        if name != "bci":  # raw BCI counts: the README and the tables use log1p only
            cases.append((name, src, os.path.join(args.data, env), cols))
        cases.append((name + "-log1p", logged, os.path.join(args.data, env), cols))
    differs = {0: 0, 1: 0}
    total = 0
    for name, train, env, cols in cases:
        for seed in range(args.seeds):
            res = {p: run(train, env, cols, seed, p, args.threads) for p in (0, 1, 2)}
            total += 1
            for p in (0, 1):
                differs[p] += res[p][0] != res[2][0]
            print(f"{name:11s} seed {seed}: " + " | ".join(
                f"patience {p}: lambda {res[p][0]:.4g} test {res[p][1]:.5f} fits {res[p][2]}" for p in (0, 1, 2)))
    print(f"{total} runs: the whole grid chose another lambda than the default in {differs[0]}, "
          f"patience 1 in {differs[1]}")


if __name__ == "__main__":
    main()
