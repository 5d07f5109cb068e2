#!/usr/bin/python3
"""Low-rank bandit regret for docs/rl.md (issue 6), through `lowrank bandit --json --curve`.

For m = n in SIZES, rank 2, gap 0.1, noise sd 0.5, horizon T, seeds 0..19
(instance seed = run seed = s), runs every algorithm on the same instances:
  spectral (sampling all | active), ucb, se, etc (spectral | soft-impute)
and writes results/bandit.jsonl (one CLI JSON per size and algorithm, with
the exact command), figures docs/img/rl/bandit_regret_curves.png (mean and
+-1 sd band over the seeds) and docs/img/rl/bandit_regret_vs_size.png
(regret at the horizon against m + n, with fitted log-log slopes).

usage: /usr/bin/python3 experiments/rl/bandit_sweep.py [--cli build-rl/lowrank] [--horizon 2000000]
                                                      [--sizes 20,50,100] [--seeds 20] [--plot-only]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results")
IMG = os.path.join(ROOT, "docs", "img", "rl")

ALGORITHMS = [
    ("spectral-all", ["--algorithm", "spectral", "--sampling", "all"], "C0"),
    ("spectral-active", ["--algorithm", "spectral", "--sampling", "active"], "C4"),
    ("ucb", ["--algorithm", "ucb"], "C1"),
    ("se", ["--algorithm", "se"], "C3"),
    ("etc-spectral", ["--algorithm", "etc", "--etc-estimator", "spectral"], "C5"),
    ("etc-soft-impute", ["--algorithm", "etc", "--etc-estimator", "soft-impute"], "C2"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(ROOT, "build-rl", "lowrank"))
    ap.add_argument("--horizon", type=int, default=2_000_000)
    ap.add_argument("--sizes", default="20,50,100")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(RESULTS, "bandit.jsonl")

    if not args.plot_only:
        recs = []
        for m in sizes:
            for name, flags, _ in ALGORITHMS:
                cmd = ["bandit", "-q", "--json", "--curve", "--rows", str(m), "--cols", str(m), "--rank", "2",
                       "--gap", "0.1", "--noise", "0.5", "--horizon", str(args.horizon), "--seeds",
                       str(args.seeds), "--seed", "0", "--checkpoints", "50"] + flags
                t0 = time.time()
                out = subprocess.run([args.cli] + cmd, check=True, capture_output=True, text=True).stdout
                rec = json.loads(out)
                rec["name"] = name
                rec["size"] = m
                rec["wall_s"] = time.time() - t0
                rec["command"] = "lowrank " + " ".join(cmd)
                for r in rec["runs"]:
                    r.pop("phases", None)  # keep the committed data small
                recs.append(rec)
                print(f"m = n = {m:4d} {name:16s} regret {rec['mean_final_regret']:12.1f} "
                      f"+- {rec['sd_final_regret']:10.1f}  best {rec['found_best_fraction']:.2f}  "
                      f"{rec['wall_s']:.1f} s", file=sys.stderr)
        with open(path, "w") as f:
            for rec in recs:
                f.write(json.dumps(rec) + "\n")

    recs = [json.loads(l) for l in open(path)]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["size"] for r in recs})
    fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4), sharey=False)
    axes = np.atleast_1d(axes)
    for ax, m in zip(axes, sizes):
        for name, _, col in ALGORITHMS:
            rec = next((r for r in recs if r["size"] == m and r["name"] == name), None)
            if rec is None:
                continue
            t = np.array(rec["times"]); mu = np.array(rec["mean_regret"]); sd = np.array(rec["sd_regret"])
            ax.plot(t, mu, color=col, label=name)
            ax.fill_between(t, np.maximum(mu - sd, 0), mu + sd, color=col, alpha=0.2)
        ax.set_title(f"m = n = {m}, r = 2, gap 0.1, sd 0.5 ({recs[0]['seeds']} seeds)", fontsize=8)
        ax.set_xlabel("t"); ax.set_yscale("log")
    axes[0].set_ylabel("cumulative pseudo-regret")
    axes[-1].legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "bandit_regret_curves.png"), dpi=70); plt.close(fig)

    fits = {}
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, _, col in ALGORITHMS:
        pts = sorted([(2 * r["size"], r["mean_final_regret"], r["sd_final_regret"]) for r in recs if r["name"] == name])
        if len(pts) < 2:
            continue
        x, y, s = map(np.array, zip(*pts))
        a = float(np.polyfit(np.log(x), np.log(y), 1)[0])
        fits[name] = a
        ax.errorbar(x, y, yerr=s, fmt="o-", color=col, ms=3, label=f"{name}: slope {a:.2f}")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("m + n"); ax.set_ylabel(f"regret at T = {recs[0]['horizon']:.0e}")
    ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "bandit_regret_vs_size.png"), dpi=80); plt.close(fig)
    with open(os.path.join(RESULTS, "bandit_fits.json"), "w") as f:
        json.dump(fits, f, indent=1, sort_keys=True)
    print("\n| m = n | algorithm | regret at T (mean +- sd) | best arm found | wall s |")
    for rec in recs:
        print(f"| {rec['size']} | {rec['name']} | {rec['mean_final_regret']:.4g} +- {rec['sd_final_regret']:.3g} | "
              f"{rec['found_best_fraction']:.2f} | {rec['wall_s']:.1f} |")
    print("\nslopes of log regret vs log(m + n):", json.dumps(fits))


if __name__ == "__main__":
    main()
