#!/usr/bin/python3
"""GAME at scale (issue 32): a synthetic m x n matrix with overlapping row
groups, a fraction of its cells observed, fitted once by the factored Latent
variant at a lambda near `--ratio` x lambda_max, under /usr/bin/time -v.

Truth: a shared rank-2 part plus rank 1 per level of two attributes A and B
(`--levels` levels each, assigned at random, so every row is in one A and one
B group: 2 x levels overlapping groups plus the global one), zero-mean
Gaussian factors, noise sd 0.5. Triplets go to --scratch (not committed).

    nice /usr/bin/python3 bench/game_large.py --rows 100000 --cols 2000 --density 0.02 --levels 5

Prints lambda_max (from a first fit at a lambda far above it, which is 0 at
once), then the peak RSS, wall and CPU time of the fit at ratio x lambda_max,
its ranks and its RMSE against the truth on held-out cells.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--cols", type=int, default=2000)
    ap.add_argument("--density", type=float, default=0.02)
    ap.add_argument("--levels", type=int, default=5, help="levels per attribute (two attributes)")
    ap.add_argument("--ratio", type=float, default=0.3, help="lambda / lambda_max of the measured fit")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scratch", default="/tmp/game_large")
    ap.add_argument("--generate-only", action="store_true", help="write the data and stop")
    ap.add_argument("--reuse", action="store_true", help="keep the data already in --scratch (same flags)")
    ap.add_argument("--lambda", dest="lam", type=float, help="the measured fit's lambda (skips the probe fit)")
    ap.add_argument("--lowrank", default=os.environ.get("LOWRANK_BIN", os.path.join(ROOT, "build", "lowrank")))
    a = ap.parse_args()
    os.makedirs(a.scratch, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    m, n = a.rows, a.cols
    A = rng.integers(0, a.levels, m)
    B = rng.integers(0, a.levels, m)
    U0, V0 = rng.normal(size=(m, 2)), rng.normal(size=(n, 2))
    VA, VB = rng.normal(size=(a.levels, n)), rng.normal(size=(a.levels, n))
    UA, UB = rng.normal(size=m), rng.normal(size=m)

    def truth(i, j):
        return (U0[i] * V0[j]).sum(axis=1) + UA[i] * VA[A[i], j] + UB[i] * VB[B[i], j]

    nnz = int(round(m * n * a.density))
    flat = rng.choice(m * n, size=int(nnz * 1.1), replace=False)
    ii, jj = flat // n, flat % n
    x = truth(ii, jj) + 0.5 * rng.normal(size=ii.size)
    tr, te = slice(0, nnz), slice(nnz, None)
    train = os.path.join(a.scratch, "train.txt")
    test = os.path.join(a.scratch, "test.txt")
    groups = os.path.join(a.scratch, "groups.csv")
    t0 = time.time()
    if not (a.reuse and all(os.path.exists(p) for p in (train, test, groups))):
        for path, s in ((train, tr), (test, te)):
            np.savetxt(path, np.column_stack([ii[s], jj[s], x[s]]), fmt=["%d", "%d", "%.6g"])
        with open(groups, "w") as f:
            f.write("id,A,B\n")
            for i in range(m):
                f.write(f"{i},a{A[i]},b{B[i]}\n")
    print(f"data: {m} x {n}, {nnz} observed ({a.density:.0%}), 2 x {a.levels} groups + all; written in "
          f"{time.time() - t0:.0f} s", file=sys.stderr)
    if a.generate_only:
        return
    base = [a.lowrank, "complete", "--train", train, "--method", "game", "--groups", groups, "--group-cols", "A,B",
            "--variant", "latent", "--game-storage", "factored", "--no-center", "--json", "-q",
            "--threads", str(a.threads), "--max-iter", str(a.max_iter)]
    if a.lam is None:
        probe = json.loads(subprocess.run(base + ["--lambda", "1e12"], check=True, capture_output=True,
                                          text=True).stdout)
        lmax = probe["game"]["lambda_max"]
        lam = a.ratio * lmax
    else:
        lmax, lam = None, a.lam
    cmd = ["/usr/bin/time", "-v"] + base + ["--lambda", f"{lam:.6g}", "--test", test]
    print("lambda_max", lmax, "\n" + " ".join(cmd), file=sys.stderr)
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    js = json.loads(p.stdout)
    grab = lambda key: re.search(re.escape(key) + r":\s*(.*)", p.stderr).group(1)  # noqa: E731
    cpu = float(grab("User time (seconds)")) + float(grab("System time (seconds)"))
    # the test RMSE is against the noisy values (noise sd 0.5)
    print(json.dumps({"rows": m, "cols": n, "observed": nnz, "lambda_max": lmax, "lambda": lam,
                      "peak_rss_mb": int(grab("Maximum resident set size (kbytes)")) / 1024,
                      "wall": grab("Elapsed (wall clock) time (h:mm:ss or m:ss)"), "cpu_s": cpu,
                      "iterations": js.get("iterations"), "status": js.get("status"),
                      "test_rmse": js.get("test", {}).get("rmse"),
                      "ranks": {g["name"]: g["rank"] for g in js["game"]["groups"]}}, indent=1))


if __name__ == "__main__":
    main()
