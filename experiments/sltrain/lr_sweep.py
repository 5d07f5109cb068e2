"""Final validation loss against the peak learning rate, one line per method
and model size, from the JSON summaries that experiments/sltrain/run.sh writes.

    /usr/bin/python3 experiments/sltrain/lr_sweep.py --png docs/img/sltrain/lr_sweep.png \
        "0.8M=experiments/sltrain/results/seed0,experiments/sltrain/results/seed0-lr-high,..." \
        "3.2M=experiments/sltrain/results/w256-seed0,..."

Each argument is LABEL=DIR[,DIR...]; every DIR holds <method>.json files of
one seed. Runs of the same method and rate in several DIRs (seeds) are
averaged and their range drawn as an error bar. Also prints the table.
"""
import argparse
import json
import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHODS = ["dense", "lowrank", "sltrain", "galore"]
COLORS = {"dense": "C0", "lowrank": "C1", "sltrain": "C2", "galore": "C3"}
MARKERS = ["o", "s", "^", "D"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("groups", nargs="+", help="LABEL=DIR[,DIR...]")
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    fig, axes = plt.subplots(1, len(a.groups), figsize=(5.5 * len(a.groups), 4), squeeze=False)
    print("| size | method | peak lr | seeds | final val loss (mean) | min | max |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for ax, group in zip(axes[0], a.groups):
        label, dirs = group.split("=", 1)
        runs = defaultdict(list)  # (method, lr) -> [val]
        for d in dirs.split(","):
            for m in METHODS:
                f = os.path.join(d, m + ".json")
                if not os.path.exists(f) or os.path.getsize(f) == 0:
                    continue
                j = json.load(open(f))
                runs[(m, j["config"]["optim"]["lr"])].append(j["final_val_loss"])
        for k, m in enumerate(METHODS):
            pts = sorted((lr, v) for (mm, lr), v in runs.items() if mm == m)
            if not pts:
                continue
            xs = [lr for lr, _ in pts]
            ys = [sum(v) / len(v) for _, v in pts]
            lo = [y - min(v) for y, (_, v) in zip(ys, pts)]
            hi = [max(v) - y for y, (_, v) in zip(ys, pts)]
            ax.errorbar(xs, ys, yerr=[lo, hi], color=COLORS[m], marker=MARKERS[k], capsize=3, label=m)
            for (lr, v), y in zip(pts, ys):
                print(f"| {label} | {m} | {lr:g} | {len(v)} | {y:.4f} | {min(v):.4f} | {max(v):.4f} |")
        ax.set_xscale("log")
        ax.set_xlabel("peak learning rate (GaLore: its own rate; its update is scaled by 0.25)")
        ax.set_ylabel("final validation loss (step 2000)")
        ax.set_title(f"{label}: tinyshakespeare, 2000 steps of 12 x 64 tokens")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)
    print(f"wrote {a.png}")


if __name__ == "__main__":
    main()
