#!/usr/bin/python3
"""Reward-free best-policy identification with a stopping rule (issue 28), through `lowrank mdp --reward-free --json`.

For each model and size, seeds 0..SEEDS-1 (seed s fixes the MDP and the data),
the learners sample a generative model in rounds (n_1 = 16 per pair, growth
1.25, the same grid, delta split and stopping rule for all) until their
certificate built from the row-l1 bounds B is <= epsilon for every reward in
[0, 1]. A learner is method:bound:weighting:certificate:
  spectral:first-order:frequency:value    the library default: frequency-weighted spectral
                                           estimate, first-order bound, value certificate
  spectral:first-order:frequency:max-row  the same with gamma max B / (1 - gamma)^2
  spectral:first-order:none:max-row       the paper's estimator (no weighting)
  empirical:first-order:-:value           counts, the same kind of bound and certificate
  empirical:weissman:-:value              counts, the proved Weissman et al. (2003) bound (its
                                           rows share one bound, so value = max-row)
Each run also records its "oracle" samples: the first round whose *true*
max row-l1 error met the certificate (what a learner told the truth would
need on the same grid). Settings: gamma = 0.5, epsilon = 0.2 (B <= 0.1),
delta = 0.1.
  random     S in SIZES, A = 4, rank 3, Dirichlet concentration 0.3
  gridworld  W x W cells with 2 x 2 rooms (rank 4), slip 0.1, W in GRID
Writes results/reward_free.jsonl (one record per configuration, appended as
it goes: Ctrl-C keeps the finished ones) and docs/img/rl/mdp_reward_free.png,
prints the docs table.

usage: /usr/bin/python3 experiments/rl/reward_free_sweep.py [--cli build/lowrank] [--seeds 10] [--plot-only]
       [--learners spectral:first-order:frequency:value,...]  (rerun only these learners; the other records in the
       results file are kept, e.g. the counts ones when only the spectral bound changed)
       [--sizes 50,100,200,400] [--grid 10,15,20]  (random S and gridworld widths; default all)
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

SIZES = [50, 100, 200, 400]
GRID = [10, 15, 20]
LEARNERS = [("spectral", "first-order", "frequency", "value"), ("spectral", "first-order", "frequency", "max-row"),
            ("spectral", "first-order", "none", "max-row"), ("empirical", "first-order", "-", "value"),
            ("empirical", "weissman", "-", "value")]


def learner(rec):
    """(method, bound, weighting, certificate) of a record; records from before the weighting existed are 'none',
    from before the value certificate 'max-row'."""
    w = rec.get("weighting", "none") if rec["method"] == "spectral" else "-"
    return rec["method"], rec["bound"], w, rec.get("certificate", "max-row")


COMMON = ["--reward-free", "--discount", "0.5", "--epsilon", "0.2", "--delta", "0.1", "--first-samples", "16",
          "--growth", "1.25", "--rewards", "5"]


def configs(sizes=SIZES, grid=GRID):
    for s in sizes:
        yield "random", s, ["--model", "random", "--states", str(s), "--actions", "4", "--rank", "3",
                            "--concentration", "0.3"]
    for w in grid:
        yield "gridworld", w * w, ["--model", "gridworld", "--width", str(w), "--height", str(w), "--blocks-x", "2",
                                   "--blocks-y", "2", "--slip", "0.1"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "lowrank"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--learners", default=",".join(":".join(l) for l in LEARNERS),
                    help="method:bound:weighting:certificate learners to run (default: all)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="random model: numbers of states")
    ap.add_argument("--grid", default=",".join(map(str, GRID)), help="gridworld: widths (S = width^2)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    grid = [int(x) for x in args.grid.split(",") if x]
    chosen = [tuple(x.split(":")) for x in args.learners.split(",") if x]
    for c in chosen:
        if c not in LEARNERS:
            ap.error(f"unknown learner {':'.join(c)} (expected one of "
                     f"{', '.join(':'.join(l) for l in LEARNERS)})")
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(IMG, exist_ok=True)
    path = os.path.join(RESULTS, "reward_free.jsonl")

    if not args.plot_only:
        todo = [(m, s, f, l) for (m, s, f) in configs(sizes, grid) for l in LEARNERS if l in chosen]
        t_start = time.time()
        # Keep the records of the learners and sizes not rerun; drop the ones rerun.
        kept = []
        if os.path.exists(path):
            rerun = {(m, s, l) for (m, s, _, l) in todo}
            # Records of learners no longer in LEARNERS (e.g. the counts' max-row records from before the
            # Weissman bound got each row's whole share of delta) are dropped too.
            kept = [l for l in open(path) if (json.loads(l)["model_name"], json.loads(l)["states"],
                                               learner(json.loads(l))) not in rerun
                    and learner(json.loads(l)) in LEARNERS]
        with open(path, "w") as f:
            f.writelines(kept)
        try:
            for k, (model, states, flags, (method, bound, weighting, certificate)) in enumerate(todo):
                cmd = ["mdp", "-q", "--json"] + flags + COMMON + ["--method", method, "--bound", bound,
                                                                  "--certificate", certificate,
                                                                  "--seeds", str(args.seeds), "--seed", "0"]
                if method == "spectral":
                    cmd += ["--weighting", weighting]
                t0 = time.time()
                out = subprocess.run([args.cli] + cmd, check=True, capture_output=True, text=True).stdout
                rec = json.loads(out)
                rec["model_name"] = model
                rec["command"] = "lowrank " + " ".join(cmd)
                rec["wall_s"] = time.time() - t0
                with open(path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                med = np.median([r["samples"] for r in rec["runs"]])
                print(f"[{k + 1}/{len(todo)}] {model:9s} S = {states:4d} {method:9s} {bound:11s} {weighting:9s} "
                      f"{certificate:7s} "
                      f"median samples "
                      f"{med:.3g} ({time.time() - t_start:.0f} s total)", file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted: keeping the configurations finished so far", file=sys.stderr)

    recs = [json.loads(l) for l in open(path)]

    def med(model, S, lrn, key):
        r = next((r for r in recs if r["model_name"] == model and r["states"] == S and learner(r) == lrn), None)
        if r is None:
            return None, None
        vals = [run[key] for run in r["runs"] if run[key] > 0]
        return (float(np.median(vals)) if vals else None), r

    def need(r):
        """Per-run samples a continuous grid would need: the certificate falls like 1 / sqrt(n), so
        n* = n_stop (certificate_stop / epsilon)^2 (between the last two rounds)."""
        return [run["samples"] * (run["certified_epsilon"] / r["epsilon"]) ** 2 for run in r["runs"]
                if run["certified"]]

    rows = []
    print("| model | S | seeds | spectral | spectral, max-row cert. | spectral, unweighted, max-row | "
          "counts, first-order | counts, Weissman | Weissman / spectral | counts first-order / spectral | "
          "Weissman / spectral without the grid | oracle: spectral | oracle: counts (Weissman) | oracle ratio | "
          "spectral: certified, covered, max gap |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    present = sorted({(r["model_name"], r["states"]) for r in recs}, key=lambda x: (x[0] != "random", x[1]))
    for model, states in present:
        sp, rsp = med(model, states, LEARNERS[0], "samples")
        sm, _ = med(model, states, LEARNERS[1], "samples")
        sn, _ = med(model, states, LEARNERS[2], "samples")
        fo, _ = med(model, states, LEARNERS[3], "samples")
        we, rwe = med(model, states, LEARNERS[4], "samples")
        osp, _ = med(model, states, LEARNERS[0], "oracle_samples")
        oem, _ = med(model, states, LEARNERS[4], "oracle_samples")
        if rsp is None:  # the default learner not run at this size: compare with the max-row one, marked
            sp, rsp = med(model, states, LEARNERS[1], "samples")
            osp, _ = med(model, states, LEARNERS[1], "oracle_samples")
            if rsp is None:
                continue
            sp_mark = " (max-row)"
        else:
            sp_mark = ""
        cert = sum(r["certified"] for r in rsp["runs"])
        cov = sum(r["covered"] for r in rsp["runs"])
        gap = max(r["max_value_gap"] for r in rsp["runs"])
        nsp = float(np.median(need(rsp))) if need(rsp) else None
        nwe = float(np.median(need(rwe))) if rwe and need(rwe) else None
        fmt = lambda v: f"{v / 1e6:.2f}M" if v else "-"
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
        print(f"| {model} | {states} | {len(rsp['runs'])} | {fmt(sp) if not sp_mark else '-'} | {fmt(sm)} | "
              f"{fmt(sn)} | {fmt(fo)} | {fmt(we)} | {ratio(we, sp)}{sp_mark} | {ratio(fo, sp)}{sp_mark} | "
              f"{ratio(nwe, nsp)}{sp_mark} | {fmt(osp)} | {fmt(oem)} | "
              f"{ratio(oem, osp)} | {cert}/{len(rsp['runs'])}, {cov}/{len(rsp['runs'])}, {gap:.3g} |")
        rows.append((model, states, sp if not sp_mark else None, sm, sn, fo, we, osp, oem))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, model in zip(axes, ["random", "gridworld"]):
        pts = [r for r in rows if r[0] == model]
        if not pts:
            ax.set_axis_off()
            continue
        S = [p[1] for p in pts]
        for idx, label, style in [(2, "spectral (weighted, value certificate)", "C0-o"),
                                  (3, "spectral, max-row certificate", "C4--x"),
                                  (4, "spectral, unweighted, max-row", "C2-d"),
                                  (5, "counts, first-order bound", "C1-s"), (6, "counts, Weissman bound", "C3-^"),
                                  (7, "spectral, oracle", "C0:o"), (8, "counts (Weissman), oracle", "C3:^")]:
            ax.plot(S, [p[idx] or np.nan for p in pts], style, ms=4, label=label)
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel("states S", fontsize=8); ax.set_ylabel("samples to certify (median)", fontsize=8)
        ax.set_title(f"{model}: reward-free, gamma 0.5, eps 0.2, delta 0.1", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout(); fig.savefig(os.path.join(IMG, "mdp_reward_free.png"), dpi=70); plt.close(fig)


if __name__ == "__main__":
    main()
