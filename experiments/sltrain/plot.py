"""Loss curves and a summary table of experiments/sltrain/run.sh.

    /usr/bin/python3 experiments/sltrain/plot.py OUT_DIR [OUT_DIR ...] [--png FILE] [--md FILE]

Each OUT_DIR is one run.sh output (one seed; curves are labelled by the
folder's name): OUT_DIR/<method>.csv, .json.
Writes FILE (default: the first OUT_DIR's loss.png) with the training loss
(smoothed over 50 steps) and the validation loss per method and seed, and a
markdown table (default: the first OUT_DIR's summary.md) with one row per
method and seed. A run whose .json is empty (still going, or killed) is shown
from its CSV and marked "unfinished at step N".
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

METHODS = ["dense", "lowrank", "sltrain", "galore"]
COLORS = {"dense": "C0", "lowrank": "C1", "sltrain": "C2", "galore": "C3"}
STYLES = ["-", "--", ":", "-."]


def load(out, m):
    """(csv rows, summary json or None while the run is unfinished) or None."""
    csv = os.path.join(out, m + ".csv")
    js = os.path.join(out, m + ".json")
    if not os.path.exists(csv) or os.path.getsize(csv) == 0:
        return None
    rows = np.atleast_1d(np.genfromtxt(csv, delimiter=",", names=True))
    if rows.size == 0 or rows.dtype.names is None:
        return None
    done = os.path.exists(js) and os.path.getsize(js) > 0
    return rows, (json.load(open(js)) if done else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="*", default=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")])
    ap.add_argument("--png")
    ap.add_argument("--md")
    a = ap.parse_args()
    png = a.png or os.path.join(a.out[0], "loss.png")
    md = a.md or os.path.join(a.out[0], "summary.md")

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    table = ["| method | run | seed | lr | steps | parameters | vs dense | optimiser state KiB | peak RSS MiB | "
             "final val loss | best val loss | final train loss (50-step mean) | tokens/s | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    eval_batches = set()
    for si, out in enumerate(a.out):
        for m in METHODS:
            got = load(out, m)
            if got is None:
                continue
            rows, j = got
            step, train, val = rows["step"], rows["train_loss"], rows["val_loss"]
            k = min(50, len(train))
            smooth = np.convolve(train, np.ones(k) / k, mode="valid")
            seed = j["config"]["seed"] if j else os.path.basename(os.path.normpath(out))
            run = os.path.basename(os.path.normpath(out))
            label = f"{m} ({run})" if len(a.out) > 1 else m
            st = STYLES[si % len(STYLES)]
            ax[0].plot(step[k - 1:], smooth, st, color=COLORS[m], label=label)
            ok = ~np.isnan(val)
            ax[1].plot(step[ok], val[ok], st, marker="o", ms=3, color=COLORS[m], label=label)
            last_val = val[ok][-1] if ok.any() else float("nan")
            best_val = np.nanmin(val) if ok.any() else float("nan")
            if j is None:
                table.append(f"| {m} (unfinished at step {int(step[-1])}) | {run} | {seed} | | | | | | | {last_val:.4f} | "
                             f"{best_val:.4f} | {train[-k:].mean():.4f} | {rows['tokens_per_s'][-1]:.0f} | "
                             f"{rows['elapsed_s'][-1]:.0f} |")
                continue
            eval_batches.add(j["config"]["eval_batches"])
            mem = j["memory"]
            table.append(
                f"| {m} | {run} | {seed} | {j['config']['optim']['lr']:g} | {j['step']} | {mem['param_count']:,} | "
                f"{mem['param_count'] / mem['dense_equivalent_params']:.2f} | {mem['optimizer_bytes'] / 1024:,.0f} | "
                f"{mem['peak_rss_bytes'] / 2**20:.1f} | {j['final_val_loss']:.4f} | {best_val:.4f} | "
                f"{train[-k:].mean():.4f} | {j['tokens_per_s']:.0f} | {j['elapsed_s']:.0f} |")
    nb = "/".join(str(b) for b in sorted(eval_batches)) or "?"
    ax[0].set(xlabel="step", ylabel="train loss (50-step mean)", title="training loss")
    ax[1].set(xlabel="step", ylabel="validation loss", title=f"validation loss ({nb} batches of 12 x 64)")
    for x in ax:
        x.grid(alpha=0.3)
        x.legend(fontsize=8)
        x.set_ylim(top=min(x.get_ylim()[1], 3.5))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    fig.savefig(png, dpi=110)
    open(md, "w").write("\n".join(table) + "\n")
    print("\n".join(table))
    print("wrote", png, "and", md)


if __name__ == "__main__":
    main()
