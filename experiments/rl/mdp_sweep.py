#!/usr/bin/python3
"""Low-rank MDP best-policy identification for docs/rl.md (issue 6), through `lowrank mdp --json`.

Two models, both settings (generative: T / (S A) draws per pair; trajectory:
one run of T transitions under the uniform behaviour policy from state 0),
spectral (rank = the model's rank, rows projected onto the simplex) vs the
empirical-counts model, seeds 0..SEEDS-1:
  random     S = 100, A = 4, rank 3, Dirichlet concentration 0.3, gamma 0.9
  gridworld  15 x 15 cells, 3 x 3 latent rooms (rank 9), slip 0.1, gamma 0.9
T runs over TRANSITIONS_PER_PAIR * S * A. Writes results/mdp.jsonl and
docs/img/rl/mdp_value_gap.png (value gap and kernel row-l1 error vs T).

usage: /usr/bin/python3 experiments/rl/mdp_sweep.py [--cli build-rl/lowrank] [--seeds 10] [--plot-only]
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

MODELS = {
    "random": (["--model", "random", "--states", "100", "--actions", "4", "--rank", "3", "--concentration", "0.3"],
               400),
    "gridworld": (["--model", "gridworld", "--width", "15", "--height", "15", "--blocks-x", "3", "--blocks-y", "3",
                   "--slip", "0.1"], 900),
}
PER_PAIR = [2, 5, 10, 20, 50, 100, 200]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(ROOT, "build-rl", "lowrank"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(RESULTS, "mdp.jsonl")

    if not args.plot_only:
        recs = []
        t_start = time.time()
        for model, (flags, pairs) in MODELS.items():
            for collection in ["generative", "trajectory"]:
                for method in ["spectral", "empirical"]:
                    for k in PER_PAIR:
                        cmd = ["mdp", "-q", "--json"] + flags + [
                            "--discount", "0.9", "--collection", collection, "--samples", str(k * pairs),
                            "--method", method, "--seeds", str(args.seeds), "--seed", "0"]
                        out = subprocess.run([args.cli] + cmd, check=True, capture_output=True, text=True).stdout
                        rec = json.loads(out)
                        rec["model_name"] = model
                        rec["per_pair"] = k
                        rec["command"] = "lowrank " + " ".join(cmd)
                        recs.append(rec)
                        print(f"{model:9s} {collection:10s} {method:9s} T = {k * pairs:7d} gap "
                              f"{rec['mean_value_gap']:.4f} +- {rec['sd_value_gap']:.4f} optimal "
                              f"{rec['optimal_fraction']:.2f} l1 {rec['mean_kernel_row_l1_error']:.3f}",
                              file=sys.stderr)
        with open(path, "w") as f:
            for rec in recs:
                f.write(json.dumps(rec) + "\n")
        print(f"{len(recs)} configurations in {time.time() - t_start:.0f} s", file=sys.stderr)

    recs = [json.loads(l) for l in open(path)]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(8.5, 6))
    fits = {}
    styles = {("spectral", "generative"): ("C0", "-"), ("empirical", "generative"): ("C1", "-"),
              ("spectral", "trajectory"): ("C0", "--"), ("empirical", "trajectory"): ("C1", "--")}
    for row, model in enumerate(MODELS):
        for (method, collection), (col, ls) in styles.items():
            pts = sorted([r for r in recs if r["model_name"] == model and r["method"] == method and
                          r["collection"] == collection], key=lambda r: r["samples"])
            if not pts:
                continue
            T = np.array([p["samples"] for p in pts])
            gap = np.array([p["mean_value_gap"] for p in pts])
            l1 = np.array([p["mean_kernel_row_l1_error"] for p in pts])
            a = float(np.polyfit(np.log(T), np.log(l1), 1)[0])
            fits[f"{model}/{collection}/{method}/row_l1_vs_T"] = a
            label = f"{method}, {collection}"
            axes[row, 0].plot(T, np.maximum(gap, 1e-4), color=col, ls=ls, marker="o", ms=3, label=label)
            axes[row, 1].plot(T, l1, color=col, ls=ls, marker="o", ms=3, label=f"{label}: slope {a:.2f}")
        S, A = pts[0]["states"], pts[0]["actions"]
        axes[row, 0].set_title(f"{model}: S = {S}, A = {A} - value gap (0 drawn at 1e-4)", fontsize=8)
        axes[row, 1].set_title(f"{model}: max row l1 error of the kernel", fontsize=8)
        for ax in axes[row]:
            ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel("transitions T", fontsize=8)
        axes[row, 0].legend(fontsize=6); axes[row, 1].legend(fontsize=6)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "mdp_value_gap.png"), dpi=70); plt.close(fig)
    with open(os.path.join(RESULTS, "mdp_fits.json"), "w") as f:
        json.dump(fits, f, indent=1, sort_keys=True)
    print("| model | setting | T | spectral gap | spectral optimal | empirical gap | empirical optimal | "
          "spectral row-l1 | empirical row-l1 | max unvisited pairs (sp) |")
    for model in MODELS:
        for collection in ["generative", "trajectory"]:
            for k in PER_PAIR:
                sp = next((r for r in recs if r["model_name"] == model and r["collection"] == collection and
                           r["method"] == "spectral" and r["per_pair"] == k), None)
                em = next((r for r in recs if r["model_name"] == model and r["collection"] == collection and
                           r["method"] == "empirical" and r["per_pair"] == k), None)
                if sp is None or em is None:
                    continue
                unv = max(r["unvisited_rows"] for r in sp["runs"])
                print(f"| {model} | {collection} | {sp['samples']} | {sp['mean_value_gap']:.4f} +- "
                      f"{sp['sd_value_gap']:.4f} | {sp['optimal_fraction']:.1f} | {em['mean_value_gap']:.4f} +- "
                      f"{em['sd_value_gap']:.4f} | {em['optimal_fraction']:.1f} | "
                      f"{sp['mean_kernel_row_l1_error']:.3f} | {em['mean_kernel_row_l1_error']:.3f} | {unv} |")
    print("\nslopes:", json.dumps(fits, indent=1))


if __name__ == "__main__":
    main()
