"""Validation (and smoothed training) loss against tokens for every run CSV in
the given folders, one curve per file, labelled by the file name, plus a
markdown table of final / best validation loss.

    /usr/bin/python3 experiments/sltrain/plot_arms.py DIR [DIR ...] --png FILE [--md FILE] [--tokens-per-step 768]

Used for issue 30's grid (experiments/sltrain/grid.sh: DIR/seed<k>/<arm>.csv,
seeds of one arm share a colour) and for the PyTorch anchor
(experiments/sltrain/torch_curves.sh).
"""
import argparse
import glob
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--png", required=True)
    ap.add_argument("--md")
    ap.add_argument("--tokens-per-step", type=int, default=12 * 64)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    files = []
    for d in a.dirs:
        files += sorted(glob.glob(os.path.join(d, "*.csv"))) + sorted(glob.glob(os.path.join(d, "seed*", "*.csv")))
    arms = {}
    for f in files:
        arm = os.path.splitext(os.path.basename(f))[0]
        seed = os.path.basename(os.path.dirname(f))
        arm = arm.replace("-" + seed, "") if seed.startswith("seed") else arm
        arms.setdefault(arm.split("-seed")[0], []).append((seed if seed.startswith("seed") else arm, f))
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.6))
    rows = ["| run | seed | steps | final val loss | best val loss | final train loss (50-step mean) |",
            "|---|---|---|---|---|---|"]
    for i, (arm, runs) in enumerate(sorted(arms.items())):
        col = f"C{i % 10}"
        for j, (seed, f) in enumerate(runs):
            r = np.atleast_1d(np.genfromtxt(f, delimiter=",", names=True))
            if r.size == 0:
                continue
            tok = r["step"] * a.tokens_per_step
            ls = ["-", "--", ":", "-."][j % 4]
            v = ~np.isnan(r["val_loss"])
            lab = arm if j == 0 else None
            ax[0].plot(tok[v], r["val_loss"][v], ls, color=col, label=lab, marker=".", ms=3)
            k = min(50, len(r))
            sm = np.convolve(r["train_loss"], np.ones(k) / k, mode="valid")
            ax[1].plot(tok[k - 1:], sm, ls, color=col, label=lab, lw=1)
            fin = r["val_loss"][v][-1] if v.any() else float("nan")
            best = np.nanmin(r["val_loss"]) if v.any() else float("nan")
            rows.append(f"| {arm} | {seed} | {int(r['step'][-1])} | {fin:.4f} | {best:.4f} | {sm[-1]:.4f} |")
    ax[0].set_title("validation loss " + a.title)
    ax[1].set_title("training loss (50-step mean) " + a.title)
    for x in ax:
        x.set_xlabel("tokens")
        x.set_ylabel("loss (nats / character)")
        x.grid(alpha=0.3)
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(a.png)), exist_ok=True)
    fig.savefig(a.png, dpi=110)
    table = "\n".join(rows) + "\n"
    if a.md:
        open(a.md, "w").write(table)
    print(table)


if __name__ == "__main__":
    main()
