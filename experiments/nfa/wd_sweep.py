#!/usr/bin/python3
"""Deep linear networks from an unbalanced initialisation, with weight decay
(issue 35, docs/nfa.md section 1b).

Gradient flow conserves the imbalance W_{l+1}^T W_{l+1} - W_l W_l^T, so a
network started at the standard scale (init=random init_scale=1, imbalance
~1) never becomes balanced and the exact deep-linear law
W_l^T W_l = G_l^(1/(L-l+1)) fails (docs/nfa.md section 1). L2 weight decay wd
makes the imbalance decay like exp(-2 lr wd t): this sweep measures how far.

    cmake -S . -B build -DLOWRANK_EXPERIMENTS=ON && cmake --build build -j2 --target nfa_teacher
    /usr/bin/python3 experiments/nfa/wd_sweep.py --bin build/experiments/nfa/nfa_teacher
    /usr/bin/python3 experiments/nfa/wd_sweep.py --table-only

Grid: depth 3 over wd in {0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2} and depths 2, 4 at
wd in {0, 1e-2}; 20000 full-batch steps of lr 0.02 on the rank-3 linear
teacher 20 -> 10 (width 32, n = 1000); seeds 0..2. Writes results/wd.jsonl.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results", "wd.jsonl")
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def grid(args):
    for wd in args.wds:
        yield 3, wd
    for depth in (2, 4):
        for wd in (0.0, 0.01):
            yield depth, wd


def run(args):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as out:
        for depth, wd in grid(args):
            for seed in range(args.seeds):
                with tempfile.TemporaryDirectory() as tmp:
                    cmd = [args.bin, "activation=linear", "init=random", "init_scale=1", f"depth={depth}", "rank=3",
                           "d=20", "width=32", "outputs=10", "n=1000", f"steps={args.steps}", "lr=0.02", f"wd={wd}",
                           f"seed={seed}", f"out={tmp}"]
                    t0 = time.time()
                    res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV)
                    line = json.loads(res.stdout.strip().splitlines()[-1])
                    line["wall_s"] = time.time() - t0
                    out.write(json.dumps(line) + "\n")
                    out.flush()
                    l0 = line["nfa"]["layers"][0]
                    print(f"depth={depth} wd={wd} seed={seed} imbalance {line['max_imbalance_rel']:.2e} "
                          f"layer-1 raw cos at 1/L {l0['raw']['alpha_inv_depth']:.4f} "
                          f"W-W0 cos at 1/L {l0['uncentred']['alpha_inv_depth']:.4f} "
                          f"test rel MSE {line['test_rel_mse']:.2e} ({line['wall_s']:.1f} s)", flush=True)


def table():
    with open(RESULTS) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    keys = sorted({(int(r["config"]["depth"]), float(r["config"]["wd"])) for r in runs})
    print("| depth L | wd | seeds | imbalance | test rel. MSE | layer l | 1/(L-l+1) | raw cos at 1/(L-l+1) | raw best alpha "
          "| raw cos at 1 | (W-W0) cos at 1/(L-l+1) | (W-W0) best alpha |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for depth, wd in keys:
        rs = [r for r in runs if int(r["config"]["depth"]) == depth and float(r["config"]["wd"]) == wd]
        m = lambda f: float(np.mean([f(r) for r in rs]))
        imb, mse = m(lambda r: r["max_imbalance_rel"]), m(lambda r: r["test_rel_mse"])
        for l in range(depth - 1):  # the last layer is trivially 1
            lay = lambda r: r["nfa"]["layers"][l]
            print(f"| {depth} | {wd:g} | {len(rs)} | {imb:.1e} | {mse:.1e} | {l + 1} | {1 / (depth - l):.3f} "
                  f"| {m(lambda r: lay(r)['raw']['alpha_layer']):.4f} | {m(lambda r: lay(r)['raw']['best_alpha']):.3f} "
                  f"| {m(lambda r: lay(r)['raw']['alpha_1']):.4f} "
                  f"| {m(lambda r: lay(r)['uncentred']['alpha_layer']):.4f} "
                  f"| {m(lambda r: lay(r)['uncentred']['best_alpha']):.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "experiments", "nfa", "nfa_teacher"))
    ap.add_argument("--wds", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    if not args.table_only:
        run(args)
    table()


if __name__ == "__main__":
    main()
