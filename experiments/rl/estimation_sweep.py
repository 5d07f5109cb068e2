#!/usr/bin/python3
"""Entry-wise estimation sweeps for docs/rl.md (issue 6).

Drives the rl_estimation driver (build with -DLOWRANK_EXPERIMENTS=ON) over
  (a) the number of samples T          (m = n = 500, r = 3, noise 1)
  (b) the size m = n in 100..2000      (r = 3, noise 1, T = 2e6 fixed, and
                                        T = 40 r (m + n) log(m + n) scaled)
  (c) the rank r in {1, 2, 4, 8}       (m = n = 500, noise 1, T = 1e6)
  (d) the noise sd in {0.1, ..., 3}    (m = n = 500, r = 3, T = 1e6)
for seeds 0..SEEDS-1, writes one JSON line per run to results/estimation.jsonl,
fits log-log slopes by least squares on the seed means, prints them, writes
results/estimation_fits.json and the figures docs/img/rl/estimation_*.png.

usage: /usr/bin/python3 experiments/rl/estimation_sweep.py [--build build-rl] [--seeds 3] [--plot-only]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results")
IMG = os.path.join(ROOT, "docs", "img", "rl")


def run(binary, m, n, r, noise, T, seed, methods):
    cmd = [binary, "--m", str(m), "--n", str(n), "--rank", str(r), "--noise", str(noise),
           "--samples", str(T), "--seed", str(seed), "--methods", methods]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rec = json.loads(out)
    rec["command"] = " ".join(["rl_estimation"] + cmd[1:])
    return rec


def slope(x, y):
    """Least-squares slope and intercept of log y against log x."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    a, b = np.polyfit(lx, ly, 1)
    return float(a), float(b)


def mean_by(recs, key, method, metric="max_entry"):
    xs = sorted({r[key] for r in recs})
    return xs, [float(np.mean([r[method][metric] for r in recs if r[key] == x])) for x in xs], \
        [float(np.std([r[method][metric] for r in recs if r[key] == x])) for x in xs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-rl"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    binary = os.path.join(args.build, "experiments", "rl", "rl_estimation")
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(RESULTS, "estimation.jsonl")
    seeds = range(args.seeds)

    if not args.plot_only:
        recs = []
        t0 = time.time()
        # (a) samples
        m = n = 500
        r = 3
        base = r * (m + n) * math.log(m + n)
        for c in [2, 4, 8, 16, 32, 64, 128]:
            for s in seeds:
                rec = run(binary, m, n, r, 1.0, int(c * base), s, "spectral,mean,soft-impute")
                rec["sweep"] = "samples"
                recs.append(rec)
        # (b) size, T fixed and T scaled with (m + n) log(m + n)
        for m in [100, 200, 500, 1000, 2000]:
            for sweep, T in [("size_fixed_T", 2_000_000), ("size_scaled_T", int(40 * 3 * 2 * m * math.log(2 * m)))]:
                methods = "spectral,mean,soft-impute" if m <= 1000 else "spectral,mean"
                for s in seeds:
                    rec = run(binary, m, m, 3, 1.0, T, s, methods)
                    rec["sweep"] = sweep
                    recs.append(rec)
        # (c) rank
        for r in [1, 2, 4, 8]:
            for s in seeds:
                rec = run(binary, 500, 500, r, 1.0, 1_000_000, s, "spectral,mean,soft-impute")
                rec["sweep"] = "rank"
                recs.append(rec)
        # (d) noise
        for sd in [0.1, 0.3, 1.0, 3.0]:
            for s in seeds:
                rec = run(binary, 500, 500, 3, sd, 1_000_000, s, "spectral,mean,soft-impute")
                rec["sweep"] = "noise"
                recs.append(rec)
        with open(path, "w") as f:
            for rec in recs:
                f.write(json.dumps(rec) + "\n")
        print(f"{len(recs)} runs in {time.time() - t0:.0f} s -> {path}", file=sys.stderr)

    recs = [json.loads(l) for l in open(path)]
    fits = {}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [("spectral", "spectral (rank r)", "C0"), ("soft-impute", "soft-impute", "C2"),
               ("mean", "per-entry mean", "C1")]

    # (a) error vs T
    sub = [r for r in recs if r["sweep"] == "samples"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for meth, label, col in methods:
        xs, ys, sd = mean_by(sub, "samples", meth)
        a, b = slope(xs, ys)
        fits[f"samples/{meth}/max_entry"] = a
        ax.errorbar(xs, ys, yerr=sd, fmt="o-", color=col, ms=3, label=f"{label}: slope {a:.2f}")
        if meth == "spectral":
            for metric in ["spectral", "frobenius", "two_to_inf_left"]:
                xs2, ys2, _ = mean_by(sub, "samples", meth, metric)
                fits[f"samples/spectral/{metric}"] = slope(xs2, ys2)[0]
    # Theory guide: slope -1/2 through the first spectral point.
    xs, ys, _ = mean_by(sub, "samples", "spectral")
    ax.plot(xs, [ys[0] * math.sqrt(xs[0] / x) for x in xs], "k:", label="T^(-1/2)")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("samples T"); ax.set_ylabel("max entry error ||M^ - M||_max")
    ax.set_title("m = n = 500, r = 3, noise sd 1", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "estimation_vs_T.png"), dpi=80); plt.close(fig)

    # (b) error vs m + n
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for ax, sweep, title in [(axes[0], "size_fixed_T", "T = 2e6 fixed"),
                             (axes[1], "size_scaled_T", "T = 40 r (m+n) log(m+n)")]:
        sub = [r for r in recs if r["sweep"] == sweep]
        for rr in sub:
            rr["mn"] = rr["m"] + rr["n"]
        for meth, label, col in methods:
            pts = [rr for rr in sub if meth in rr]
            if not pts:
                continue
            xs, ys, sd = mean_by(pts, "mn", meth)
            a, _ = slope(xs, ys)
            fits[f"{sweep}/{meth}/max_entry_vs_m_plus_n"] = a
            ax.errorbar(xs, ys, yerr=sd, fmt="o-", color=col, ms=3, label=f"{label}: slope {a:.2f}")
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel("m + n"); ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("max entry error")
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "estimation_vs_size.png"), dpi=80); plt.close(fig)

    # (c) rank and (d) noise
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for ax, sweep, key, xl in [(axes[0], "rank", "rank", "rank r (m = n = 500, T = 1e6, sd 1)"),
                               (axes[1], "noise", "noise", "noise sd (m = n = 500, r = 3, T = 1e6)")]:
        sub = [r for r in recs if r["sweep"] == sweep]
        for meth, label, col in methods:
            xs, ys, sd = mean_by(sub, key, meth)
            a, _ = slope(xs, ys)
            fits[f"{sweep}/{meth}/max_entry_vs_{key}"] = a
            ax.errorbar(xs, ys, yerr=sd, fmt="o-", color=col, ms=3, label=f"{label}: slope {a:.2f}")
        ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel(xl, fontsize=8)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("max entry error")
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "estimation_rank_noise.png"), dpi=80); plt.close(fig)

    with open(os.path.join(RESULTS, "estimation_fits.json"), "w") as f:
        json.dump(fits, f, indent=1, sort_keys=True)
    for k, v in sorted(fits.items()):
        print(f"{k:60s} {v:+.3f}")
    # Tables for docs/rl.md.
    for sweep, key in [("samples", "samples"), ("size_fixed_T", "m"), ("size_scaled_T", "m"), ("rank", "rank"),
                       ("noise", "noise")]:
        sub = [r for r in recs if r["sweep"] == sweep]
        print(f"\n{sweep}: {key} | T | spectral max | spectral 2->inf | soft-impute max | mean max | spectral time s")
        for x in sorted({r[key] for r in sub}):
            pts = [r for r in sub if r[key] == x]
            def mu(meth, metric="max_entry"):
                v = [p[meth][metric] for p in pts if meth in p]
                return f"{np.mean(v):.4g}" if v else "-"
            print(f"| {x} | {pts[0]['samples']} | {mu('spectral')} | {mu('spectral', 'two_to_inf_left')} | "
                  f"{mu('soft-impute')} | {mu('mean')} | {mu('spectral', 'time_s')} |")


if __name__ == "__main__":
    main()
