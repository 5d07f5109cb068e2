#!/usr/bin/python3
"""Sweep of the bottleneck-rank / bound experiment (docs/diagnostics.md).

Runs bounds_mlp for depths x weight decays x seeds (two at a time), keeps the
raw JSON lines in results/bounds.jsonl, prints a markdown summary table and
draws docs/img/diagnostics/bounds.png.

  cmake -S . -B build-diag -DLOWRANK_EXPERIMENTS=ON && cmake --build build-diag --target bounds_mlp
  /usr/bin/python3 experiments/bounds/run.py --bin build-diag/experiments/bounds/bounds_mlp
  /usr/bin/python3 experiments/bounds/run.py --plot-only      # redraw from results/bounds.jsonl
"""
import argparse
import itertools
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results", "bounds.jsonl")
PLOT = os.path.join(ROOT, "docs", "img", "diagnostics", "bounds.png")


def run_all(args):
    jobs = list(itertools.product(args.depths, args.wds, args.seeds))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

    def one(job):
        d, wd, s = job
        cmd = [args.bin, "--depth", str(d), "--wd", str(wd), "--seed", str(s), "--steps", str(args.steps)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        r = json.loads(out)
        print(f"depth {d} wd {wd} seed {s}: train err {r['train_error']:.3f} test err {r['test_error']:.3f} "
              f"({r['seconds']:.1f} s)", flush=True)
        return r

    t = time.time()
    with ThreadPoolExecutor(args.jobs) as ex:
        rows = list(ex.map(one, jobs))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{len(rows)} runs in {time.time() - t:.0f} s -> {RESULTS}")


def summarise():
    rows = [json.loads(l) for l in open(RESULTS)]
    depths = sorted({r["depth"] for r in rows})
    wds = sorted({r["weight_decay"] for r in rows})

    def stat(key_fn, d, wd):
        v = [key_fn(r) for r in rows if r["depth"] == d and r["weight_decay"] == wd]
        return np.mean(v), np.std(v), len(v)

    hidden_w = lambda r: np.mean([l["stable_rank"] for l in r["layers"][1:-1]]) if len(r["layers"]) > 2 \
        else r["layers"][0]["stable_rank"]
    act_sr = lambda r: np.mean([l["act_stable_rank"] for l in r["layers"] if "act_stable_rank" in l])
    act_rank = lambda r: np.mean([l["act_rank_1e-2"] for l in r["layers"] if "act_rank_1e-2" in l])
    gap = lambda r: r["gap_error"]
    test_err = lambda r: r["test_error"]
    train_err = lambda r: r["train_error"]
    b_rs = lambda r: r["bound"]
    b_sp = lambda r: r["bound_spectral"]
    b_pc = lambda r: r["bound_param_count"]
    cols = [("train err", train_err), ("test err", test_err), ("gap", gap), ("weight stable rank", hidden_w),
            ("act. stable rank", act_sr), ("act. rank (1e-2)", act_rank), ("bound (p_l)", b_rs),
            ("bound (p=2)", b_sp), ("param count", b_pc)]
    print("| depth | wd | " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "---|" * (len(cols) + 2))
    for wd in wds:
        for d in depths:
            cells = []
            for name, fn in cols:
                m, s, n = stat(fn, d, wd)
                cells.append(f"{m:.3g}" if name.startswith(("bound", "param")) else f"{m:.3f} ± {s:.3f}"
                             if "err" in name or name == "gap" else f"{m:.2f}")
            print(f"| {d} | {wd:g} | " + " | ".join(cells) + " |")
    n = stat(gap, depths[0], wds[0])[2]
    print(f"\n(mean ± std over {n} seeds)")

    # Per-layer p_l chosen, for the text.
    for wd in wds:
        ps = [p for r in rows if r["weight_decay"] == wd for p in r["p_chosen"]]
        print(f"wd {wd:g}: chosen p_l median {np.median(ps):.2f}, range [{min(ps):.2f}, {max(ps):.2f}]")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    for wd, mk in zip(wds, ["o-", "s--", "^:"]):
        lab = f"weight decay {wd:g}"
        for a, fn in ((ax[0], hidden_w), (ax[1], act_rank)):
            m = [stat(fn, d, wd)[0] for d in depths]
            s = [stat(fn, d, wd)[1] for d in depths]
            a.errorbar(depths, m, yerr=s, fmt=mk, label=lab, capsize=3)
        m = [stat(gap, d, wd)[0] for d in depths]
        s = [stat(gap, d, wd)[1] for d in depths]
        ax[2].errorbar(depths, m, yerr=s, fmt=mk, label=lab, capsize=3)
        ax[3].plot(depths, [stat(b_rs, d, wd)[0] for d in depths], mk, label=f"rank-sparse, wd {wd:g}")
        ax[3].plot(depths, [stat(b_sp, d, wd)[0] for d in depths], mk, alpha=0.45, label=f"spectral p=2, wd {wd:g}")
    ax[3].plot(depths, [stat(b_pc, d, wds[0])[0] for d in depths], "k-", lw=0.8, label="parameter count")
    ax[0].set_title("stable rank of hidden weights")
    ax[1].set_title("rank of hidden activations\n(sigma > 1e-2 sigma_1, training set)")
    ax[2].set_title("generalization gap\n(test error - train error)")
    ax[3].set_title("bound terms (log scale)")
    ax[3].set_yscale("log")
    for a in ax:
        a.set_xlabel("depth L (linear layers)")
        a.set_xticks(depths)
    ax[0].legend()
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(PLOT), exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    print(f"plot -> {PLOT}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-diag", "experiments", "bounds", "bounds_mlp"))
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4, 6, 8])
    ap.add_argument("--wds", type=float, nargs="+", default=[0.0, 1.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    if not args.plot_only:
        run_all(args)
    summarise()


if __name__ == "__main__":
    main()
