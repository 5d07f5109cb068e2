#!/usr/bin/python3
"""Low-rank bandit regret for docs/rl.md (issues 6 and 28), through `lowrank bandit --json --curve`.

For every m = n in --sizes, gap in --gaps and horizon T in --horizons (rank 2,
noise sd 0.5, seeds 0..S-1 with instance seed = run seed = s), runs every
algorithm in --algorithms on the same instances and noise streams:
  spectral          the default low-rank algorithm (spectral exploration shrinks
                    the arm set, then UCB on it)
  elimination-all   phased spectral elimination, uniform samples of the whole
                    matrix (the paper's sampling)
  elimination-active the same, sampling only active rows x columns
  ucb, se           no structure
  etc-spectral, etc-soft-impute  explore-then-commit
Writes results/bandit.jsonl (one CLI JSON per configuration, with the exact
command), the figures docs/img/rl/bandit_regret_curves.png (regret curves at
the largest horizon, gap 0.1; mean and +-1 sd band) and
docs/img/rl/bandit_regret_vs_size.png (regret at the horizon against m + n),
results/bandit_fits.json (fitted log-log exponents against m + n and 1 / gap),
and prints the markdown tables of docs/rl.md.

usage: /usr/bin/python3 experiments/rl/bandit_sweep.py [--cli build/lowrank] [--sizes 40,100,200]
           [--gaps 0.1,0.2] [--horizons 100000,2000000] [--seeds 20] [--algorithms spectral,ucb,...]
           [--out bandit.jsonl] [--plot-only] [--keep-others]
           (--keep-others: keep the records of --out that this run does not redo, e.g. the baselines when
           only `spectral` changed; the baselines are deterministic given the seeds)
       /usr/bin/python3 experiments/rl/bandit_sweep.py --exponents bandit.jsonl,bandit_gaps.jsonl
           (no runs: one table of fitted exponents for every algorithm, regret against m + n at the
           largest horizon of the first file and against 1 / gap at the largest horizon of the second,
           written to results/bandit_exponents.json and printed as markdown)
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

ALGORITHMS = {
    "spectral": (["--algorithm", "spectral"], "C0"),
    "elimination-all": (["--algorithm", "elimination", "--sampling", "all"], "C7"),
    "elimination-active": (["--algorithm", "elimination", "--sampling", "active"], "C4"),
    "ucb": (["--algorithm", "ucb"], "C1"),
    "se": (["--algorithm", "se"], "C3"),
    "etc-spectral": (["--algorithm", "etc", "--etc-estimator", "spectral"], "C5"),
    "etc-soft-impute": (["--algorithm", "etc", "--etc-estimator", "soft-impute"], "C2"),
}
DEFAULT_ALGS = "spectral,elimination-active,ucb,etc-soft-impute"


def slope(x, y):
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "lowrank"))
    ap.add_argument("--sizes", default="40,100,200")
    ap.add_argument("--gaps", default="0.1,0.2")
    ap.add_argument("--horizons", default="100000,2000000")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--algorithms", default=DEFAULT_ALGS)
    ap.add_argument("--out", default="bandit.jsonl")
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--keep-others", action="store_true",
                    help="keep the records in --out of the configurations this run does not redo")
    ap.add_argument("--exponents", default=None, help="SIZES.jsonl,GAPS.jsonl: print the merged exponent table")
    args = ap.parse_args()
    if args.exponents:
        exponent_table(*[os.path.join(RESULTS, f) for f in args.exponents.split(",")])
        return
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(RESULTS, args.out)
    # Figures and fits are named after --out, so a second sweep (e.g. the gap
    # sweep, --out bandit_gaps.jsonl) does not overwrite the main one's.
    stem = os.path.splitext(args.out)[0]
    algs = args.algorithms.split(",")

    if not args.plot_only:
        recs = []
        for m in [int(s) for s in args.sizes.split(",")]:
            for gap in [float(g) for g in args.gaps.split(",")]:
                for horizon in [int(h) for h in args.horizons.split(",")]:
                    for name in algs:
                        cmd = ["bandit", "-q", "--json", "--curve", "--rows", str(m), "--cols", str(m), "--rank",
                               "2", "--gap", str(gap), "--noise", "0.5", "--horizon", str(horizon), "--seeds",
                               str(args.seeds), "--seed", "0", "--checkpoints", "50"] + ALGORITHMS[name][0]
                        t0 = time.time()
                        out = subprocess.run([args.cli] + cmd, check=True, capture_output=True, text=True).stdout
                        rec = json.loads(out)
                        rec.update(name=name, size=m, gap=gap, wall_s=time.time() - t0,
                                   command="lowrank " + " ".join(cmd))
                        for r in rec["runs"]:
                            r.pop("phases", None)  # keep the committed data small
                        recs.append(rec)
                        print(f"m = n = {m:4d} gap {gap:4.2f} T {horizon:8d} {name:18s} regret "
                              f"{rec['mean_final_regret']:12.1f} +- {rec['sd_final_regret']:10.1f}  "
                              f"best {rec['found_best_fraction']:.2f}  {rec['wall_s']:.1f} s", file=sys.stderr)
                        with open(path + ".partial", "a") as f:
                            f.write(json.dumps(rec) + "\n")
        if args.keep_others and os.path.exists(path):
            key = lambda r: (r["name"], r["size"], round(r["gap"], 12), r["horizon"])
            redone = {key(r) for r in recs}
            recs = [r for r in map(json.loads, open(path)) if key(r) not in redone] + recs
        with open(path, "w") as f:
            for rec in recs:
                f.write(json.dumps(rec) + "\n")
        if os.path.exists(path + ".partial"):
            os.remove(path + ".partial")

    recs = [json.loads(l) for l in open(path)]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def get(name, m, gap, horizon):
        return next((r for r in recs if r["name"] == name and r["size"] == m and abs(r["gap"] - gap) < 1e-12
                     and r["horizon"] == horizon), None)

    names = [n for n in ALGORITHMS if any(r["name"] == n for r in recs)]
    sizes = sorted({r["size"] for r in recs})
    gaps = sorted({r["gap"] for r in recs})
    horizons = sorted({r["horizon"] for r in recs})
    tmax = horizons[-1]
    g0 = gaps[0]

    fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4))
    axes = np.atleast_1d(axes)
    for ax, m in zip(axes, sizes):
        for name in names:
            rec = get(name, m, g0, tmax)
            if rec is None:
                continue
            t = np.array(rec["times"]); mu = np.array(rec["mean_regret"]); sd = np.array(rec["sd_regret"])
            ax.plot(t, mu, color=ALGORITHMS[name][1], label=name)
            ax.fill_between(t, np.maximum(mu - sd, 1), mu + sd, color=ALGORITHMS[name][1], alpha=0.2)
        ax.set_title(f"m = n = {m}, r = 2, gap {g0}, sd 0.5 ({recs[0]['seeds']} seeds)", fontsize=8)
        ax.set_xlabel("t"); ax.set_yscale("log")
    axes[0].set_ylabel("cumulative pseudo-regret")
    axes[-1].legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, f"{stem}_regret_curves.png"), dpi=70); plt.close(fig)

    fits = {"vs_size": {}, "vs_inverse_gap": {}}
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name in names:
        for gap in gaps:
            pts = [(2 * m, get(name, m, gap, tmax)) for m in sizes]
            pts = [(x, r) for x, r in pts if r is not None]
            if len(pts) < 2:
                continue
            x = [p[0] for p in pts]; y = [p[1]["mean_final_regret"] for p in pts]
            a = slope(x, y)
            fits["vs_size"][f"{name} gap {gap}"] = a
            if gap == g0:
                ax.errorbar(x, y, yerr=[p[1]["sd_final_regret"] for p in pts], fmt="o-", color=ALGORITHMS[name][1],
                            ms=3, label=f"{name}: slope {a:.2f}")
        for m in sizes:
            pts = [(1.0 / gap, get(name, m, gap, tmax)) for gap in gaps]
            pts = [(x, r) for x, r in pts if r is not None]
            if len(pts) >= 2:
                fits["vs_inverse_gap"][f"{name} m=n={m}"] = slope([p[0] for p in pts],
                                                                   [p[1]["mean_final_regret"] for p in pts])
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("m + n"); ax.set_ylabel(f"regret at T = {tmax:.0e}, gap {g0}")
    ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, f"{stem}_regret_vs_size.png"), dpi=80); plt.close(fig)
    if len(gaps) >= 3:
        # Regret against 1 / gap, one panel per size, least-squares slopes.
        fig, axes = plt.subplots(1, len(sizes), figsize=(4 * len(sizes), 3.4))
        axes = np.atleast_1d(axes)
        for ax, m in zip(axes, sizes):
            for name in names:
                pts = [(1.0 / gap, get(name, m, gap, tmax)) for gap in gaps]
                pts = [(x, r) for x, r in pts if r is not None]
                if len(pts) < 2:
                    continue
                a = fits["vs_inverse_gap"][f"{name} m=n={m}"]
                ax.errorbar([p[0] for p in pts], [p[1]["mean_final_regret"] for p in pts],
                            yerr=[p[1]["sd_final_regret"] for p in pts], fmt="o-", color=ALGORITHMS[name][1], ms=3,
                            label=f"{name}: slope {a:.2f}")
            ax.set_xscale("log"); ax.set_yscale("log")
            ax.set_xlabel("1 / gap"); ax.set_title(f"m = n = {m}, T = {tmax:.0e}", fontsize=8)
            ax.legend(fontsize=7)
        axes[0].set_ylabel("regret at the horizon")
        fig.tight_layout(); fig.savefig(os.path.join(IMG, f"{stem}_regret_vs_gap.png"), dpi=70); plt.close(fig)
    with open(os.path.join(RESULTS, f"{stem}_fits.json"), "w") as f:
        json.dump(fits, f, indent=1, sort_keys=True)

    # Markdown: one row per (size, gap, horizon); regret mean +- sd, and
    # (ratio to UCB, best-arm fraction) per algorithm.
    print("| m = n | gap | T | " + " | ".join(names) + " |")
    print("|---" * (3 + len(names)) + "|")
    for m in sizes:
        for gap in gaps:
            for horizon in horizons:
                ucb = get("ucb", m, gap, horizon)
                cells = []
                for name in names:
                    r = get(name, m, gap, horizon)
                    if r is None:
                        cells.append("-")
                        continue
                    c = f"{r['mean_final_regret']:.3g} ± {r['sd_final_regret']:.2g}"
                    if ucb is not None and name != "ucb":
                        c += f" ({r['mean_final_regret'] / ucb['mean_final_regret']:.2f}x)"
                    if r["found_best_fraction"] < 1.0:
                        c += f" [best {r['found_best_fraction']:.2f}]"
                    cells.append(c)
                print(f"| {m} | {gap} | {horizon:.0e} | " + " | ".join(cells) + " |")
    print("\nwall seconds per configuration (all seeds):")
    for r in recs:
        print(f"  m = n = {r['size']} gap {r['gap']} T {r['horizon']:.0e} {r['name']}: {r['wall_s']:.1f} s")
    print("\nfitted exponents:", json.dumps(fits, indent=1, sort_keys=True))


def exponent_table(size_path, gap_path):
    """One row per algorithm: least-squares slopes of log regret against
    log(m + n) (every size of the size sweep, per gap, at its largest horizon)
    and against log(1 / gap) (every gap of the gap sweep, per size, at its
    largest horizon). Only algorithms present in both sweeps get a row."""
    size_recs = [json.loads(l) for l in open(size_path)]
    gap_recs = [json.loads(l) for l in open(gap_path)]

    def final(recs, name, m, gap, horizon):
        r = next((r for r in recs if r["name"] == name and r["size"] == m and abs(r["gap"] - gap) < 1e-12
                  and r["horizon"] == horizon), None)
        return None if r is None else r["mean_final_regret"]

    t_size = max(r["horizon"] for r in size_recs)
    t_gap = max(r["horizon"] for r in gap_recs)
    size_gaps = sorted({r["gap"] for r in size_recs})
    sizes = sorted({r["size"] for r in size_recs})
    gap_sizes = sorted({r["size"] for r in gap_recs})
    gaps = sorted({r["gap"] for r in gap_recs})
    names = [n for n in ALGORITHMS if any(r["name"] == n for r in size_recs) and any(r["name"] == n for r in gap_recs)]
    out = {"size_sweep": os.path.basename(size_path), "gap_sweep": os.path.basename(gap_path),
           "size_horizon": t_size, "gap_horizon": t_gap, "sizes": sizes, "gaps": gaps, "vs_size": {},
           "vs_inverse_gap": {}}
    head = [f"vs m + n (gap {g})" for g in size_gaps] + [f"vs 1/gap (m = n = {m})" for m in gap_sizes]
    print("| algorithm | " + " | ".join(head) + " |")
    print("|---" * (1 + len(head)) + "|")
    for name in names:
        cells = []
        for g in size_gaps:
            pts = [(2 * m, final(size_recs, name, m, g, t_size)) for m in sizes]
            pts = [p for p in pts if p[1] is not None]
            a = slope(*zip(*pts)) if len(pts) >= 2 else None
            out["vs_size"][f"{name} gap {g}"] = a
            cells.append("-" if a is None else f"{a:.2f}")
        for m in gap_sizes:
            pts = [(1.0 / g, final(gap_recs, name, m, g, t_gap)) for g in gaps]
            pts = [p for p in pts if p[1] is not None]
            a = slope(*zip(*pts)) if len(pts) >= 2 else None
            out["vs_inverse_gap"][f"{name} m=n={m}"] = a
            cells.append("-" if a is None else f"{a:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    with open(os.path.join(RESULTS, "bandit_exponents.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
