#!/usr/bin/python3
"""NFA sweep for docs/nfa.md: engine MLPs on a low-rank chain teacher.

Runs build-diag/experiments/nfa/nfa_teacher over depth x teacher rank x weight
decay x seeds (one JSON line per run into results/runs.jsonl), then deep linear
networks over depth x initialisation x seeds (results/linear.jsonl), prints the
per-layer cosine similarities and draws docs/img/nfa/*.png.

    cmake -S . -B build-diag -DCMAKE_BUILD_TYPE=Release -DLOWRANK_EXPERIMENTS=ON
    cmake --build build-diag --target nfa_teacher
    /usr/bin/python3 experiments/nfa/sweep.py --bin build-diag/experiments/nfa/nfa_teacher
    /usr/bin/python3 experiments/nfa/sweep.py --only linear   # the deep linear part alone
    /usr/bin/python3 experiments/nfa/sweep.py --plot-only     # re-plot results/*.jsonl
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results", "runs.jsonl")
LINEAR = os.path.join(HERE, "results", "linear.jsonl")
# One thread per run: on a shared 2-core box OpenMP spinning made wall times vary 10x.
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
IMG = os.path.join(ROOT, "docs", "img", "nfa")


def run_grid(args):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as out:
        for depth in args.depths:
            for rank in args.ranks:
                for wd in args.wds:
                    for seed in range(args.seeds):
                        with tempfile.TemporaryDirectory() as tmp:
                            cmd = [args.bin, f"depth={depth}", f"rank={rank}", f"wd={wd}", f"seed={seed}",
                                   f"steps={args.steps}", f"width={args.width}", f"n={args.n}", f"d={args.d}",
                                   f"activation={args.activation}", f"out={tmp}"]
                            t0 = time.time()
                            res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV)
                            line = json.loads(res.stdout.strip().splitlines()[-1])
                            line["wall_s"] = time.time() - t0
                            out.write(json.dumps(line) + "\n")
                            out.flush()
                            lay = line["nfa"]["layers"]
                            print(f"depth={depth} rank={rank} wd={wd} seed={seed} test_rel_mse="
                                  f"{line['test_rel_mse']:.3f} best cos per layer="
                                  f"{[round(l['uncentred']['best'], 3) for l in lay]} "
                                  f"({line['wall_s']:.1f} s)", flush=True)


def load():
    with open(RESULTS) as f:
        return [json.loads(l) for l in f if l.strip()]


# Deep linear networks (nfa_teacher activation=linear): (init, init_scale) cases.
LINEAR_INITS = [("balanced", 0.5), ("random", 0.2), ("random", 1.0)]


def run_linear(args):
    """Deep linear nets trained by full-batch GD on a rank-3 linear teacher;
    one JSON line per run into results/linear.jsonl."""
    os.makedirs(os.path.dirname(LINEAR), exist_ok=True)
    with open(LINEAR, "w") as out:
        for depth in args.linear_depths:
            for init, scale in LINEAR_INITS:
                for seed in range(args.seeds):
                    with tempfile.TemporaryDirectory() as tmp:
                        cmd = [args.bin, "activation=linear", f"depth={depth}", "rank=3", "d=20", "outputs=10",
                               "width=32", "n=1000", f"init={init}", f"init_scale={scale}", f"seed={seed}",
                               f"steps={args.linear_steps}", "lr=0.02", f"out={tmp}"]
                        t0 = time.time()
                        res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV)
                        line = json.loads(res.stdout.strip().splitlines()[-1])
                        line["wall_s"] = time.time() - t0
                        out.write(json.dumps(line) + "\n")
                        out.flush()
                        lay = line["nfa"]["layers"]
                        print(f"linear depth={depth} init={init} scale={scale} seed={seed} "
                              f"test_rel_mse={line['test_rel_mse']:.2e} imbalance={line['max_imbalance_rel']:.3f} "
                              f"best alpha per layer={[round(l['uncentred']['best_alpha'], 3) for l in lay]} "
                              f"({line['wall_s']:.1f} s)", flush=True)


def linear_summary():
    with open(LINEAR) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    print("\n| depth L | init | scale | layer l | 1/(L-l+1) | best alpha | cos at best | cos at 1/(L-l+1) "
          "| cos at 1 | cos at 1/2 | imbalance | test rel. MSE | seeds |")
    print("|" + "---|" * 13)
    rows = []
    for depth in sorted({int(r["config"]["depth"]) for r in runs}):
        for init, scale in LINEAR_INITS:
            group = [r for r in runs if int(r["config"]["depth"]) == depth and r["config"]["init"] == init
                     and float(r["config"]["init_scale"]) == scale]
            if not group:
                continue
            for l in range(depth):
                # The raw W^T W (section 1's table); since issue 35 "uncentred" is the W - W0 NFM
                # whenever the run has an init, and "raw" the raw one (older runs have only "uncentred").
                m = lambda key: float(np.mean([r["nfa"]["layers"][l].get("raw", r["nfa"]["layers"][l]["uncentred"])[key]
                                               for r in group]))
                row = dict(depth=depth, init=init, scale=scale, layer=l + 1, theory=1.0 / (depth - l),
                           best_alpha=m("best_alpha"), best=m("best"), at_theory=m("alpha_layer"),
                           at_one=m("alpha_1"), at_half=m("alpha_half"),
                           imbalance=float(np.mean([r["max_imbalance_rel"] for r in group])),
                           test=float(np.mean([r["test_rel_mse"] for r in group])), seeds=len(group))
                rows.append(row)
                print(f"| {depth} | {init} | {scale:g} | {l + 1} | {row['theory']:.3f} | {row['best_alpha']:.3f} "
                      f"| {row['best']:.4f} | {row['at_theory']:.4f} | {row['at_one']:.4f} | {row['at_half']:.4f} "
                      f"| {row['imbalance']:.3f} | {row['test']:.1e} | {len(group)} |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(IMG, exist_ok=True)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for (init, scale), mk, col in zip(LINEAR_INITS, "os^", ("C0", "C2", "C3")):
        sel = [r for r in rows if r["init"] == init and r["scale"] == scale]
        lab = f"{init} init, scale {scale:g}"
        ax[0].scatter([r["theory"] for r in sel], [r["best_alpha"] for r in sel], marker=mk, color=col, label=lab)
        ax[1].scatter([r["theory"] for r in sel], [r["at_theory"] for r in sel], marker=mk, color=col, label=lab)
    ax[0].plot([0, 1.05], [0, 1.05], "k--", lw=0.7, label="alpha = 1/(L-l+1)")
    ax[0].set_xlabel("theory 1/(L-l+1)")
    ax[0].set_ylabel("best alpha (measured)")
    ax[1].set_xlabel("theory 1/(L-l+1)")
    ax[1].set_ylabel("cos(W^T W, G^(1/(L-l+1)))")
    ax[0].legend(fontsize=7)
    fig.suptitle("Deep linear networks trained by GD: NFA exponent per layer (mean over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "nfa_deep_linear.png"), dpi=110)
    plt.close(fig)


def summarise(runs):
    """Mean over seeds per (depth, rank, wd, layer)."""
    keys = sorted({(int(r["config"]["depth"]), int(r["config"]["rank"]), float(r["config"]["wd"])) for r in runs})
    rows = []
    for depth, rank, wd in keys:
        group = [r for r in runs if (int(r["config"]["depth"]), int(r["config"]["rank"]),
                                     float(r["config"]["wd"])) == (depth, rank, wd)]
        for l in range(depth):
            def m(path):
                vals = []
                for r in group:
                    v = r
                    for p in path:
                        v = v[p]
                    vals.append(np.nan if v is None else v)
                return float(np.nanmean(vals))
            lay = ("nfa", "layers", l)
            rows.append(dict(depth=depth, rank=rank, wd=wd, layer=l + 1, seeds=len(group),
                             test_rel_mse=m(("test_rel_mse",)),
                             a1=m(lay + ("uncentred", "alpha_1")), ahalf=m(lay + ("uncentred", "alpha_half")),
                             ainvL=m(lay + ("uncentred", "alpha_inv_depth")),
                             best=m(lay + ("uncentred", "best")), best_alpha=m(lay + ("uncentred", "best_alpha")),
                             centred_best=m(lay + ("centred", "best")),
                             centred_alpha=m(lay + ("centred", "best_alpha")),
                             sub_best=m(("nfa_subtract_init", "layers", l, "uncentred", "best")),
                             sub_half=m(("nfa_subtract_init", "layers", l, "uncentred", "alpha_half")),
                             init_best=m(lay + ("init", "best")), baseline_best=m(lay + ("baseline", "best")),
                             baseline_half=m(lay + ("baseline", "alpha_half")),
                             agop_srank=m(lay + ("agop_stable_rank",)),
                             nfm_teacher=m(("cos_nfm1_teacher_projector",)),
                             agop_teacher=m(("cos_agop1_teacher_projector",))))
    return rows


def print_table(rows):
    cols = ["depth", "rank", "wd", "layer", "seeds", "test_rel_mse", "a1", "ahalf", "ainvL", "best", "best_alpha",
            "centred_best", "centred_alpha", "sub_best", "sub_half", "init_best", "baseline_best", "baseline_half",
            "agop_srank"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(IMG, exist_ok=True)
    wds = sorted({r["wd"] for r in rows})
    ranks = sorted({r["rank"] for r in rows})
    fig, axes = plt.subplots(len(wds), len(ranks), figsize=(4.2 * len(ranks), 3.4 * len(wds)), squeeze=False,
                             sharey=True)
    for i, wd in enumerate(wds):
        for k, rank in enumerate(ranks):
            ax = axes[i][k]
            sel = [r for r in rows if r["wd"] == wd and r["rank"] == rank]
            labels, x = [], 0
            for depth in sorted({r["depth"] for r in sel}):
                for r in [s for s in sel if s["depth"] == depth]:
                    for off, key, col, name in ((-0.3, "a1", "C0", "alpha=1"), (-0.1, "ahalf", "C1", "alpha=1/2"),
                                                (0.1, "best", "C2", "best alpha"),
                                                (0.3, "baseline_best", "0.6", "W0 vs trained G (best)")):
                        ax.bar(x + off, r[key], width=0.2, color=col, label=name if x == 0 else None)
                    labels.append(f"L{depth}\nl{r['layer']}")
                    x += 1
                x += 0.5
            ticks = []
            x = 0
            for depth in sorted({r["depth"] for r in sel}):
                for _ in range(depth):
                    ticks.append(x)
                    x += 1
                x += 0.5
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels, fontsize=7)
            ax.axhline(0.9, color="k", lw=0.6, ls="--")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"teacher rank {rank}, weight decay {wd}", fontsize=9)
            if k == 0:
                ax.set_ylabel("cos(W^T W, G^alpha)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Neural Feature Ansatz: engine ReLU MLPs on a chain teacher (mean over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "nfa_correlations.png"), dpi=110)
    plt.close(fig)

    # Best alpha against the deep-linear exponent 1/(L-l+1) (1/L for the first
    # layer). The last layer is left out: with one output G_L = W_L^T W_L and
    # every alpha scores 1, so its "best" is just the first grid point.
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for wd, mk in zip(wds, "os^"):
        for rank, col in zip(ranks, ("C0", "C3", "C2")):
            sel = [r for r in rows if r["wd"] == wd and r["rank"] == rank and r["layer"] < r["depth"]]
            ax.scatter([1.0 / (r["depth"] - r["layer"] + 1) for r in sel], [r["best_alpha"] for r in sel],
                       marker=mk, color=col, facecolors="none" if wd else col, label=f"rank {rank}, wd {wd}")
    ax.plot([0.2, 0.55], [0.2, 0.55], "k--", lw=0.7, label="alpha = 1/(L-l+1)")
    ax.set_xlabel("1/(L-l+1)   (= 1/L for the first layer)")
    ax.set_ylabel("best alpha (measured)")
    ax.legend(fontsize=7)
    ax.set_title("ReLU MLPs: best alpha in W^T W ~ G^alpha, layers 1..L-1", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "nfa_best_alpha.png"), dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-diag", "experiments", "nfa", "nfa_teacher"))
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--ranks", type=int, nargs="+", default=[2, 5])
    ap.add_argument("--wds", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--linear-depths", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--linear-steps", type=int, default=3000)
    ap.add_argument("--only", choices=["all", "relu", "linear"], default="all")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    if args.only in ("all", "relu"):
        if not args.plot_only:
            run_grid(args)
        rows = summarise(load())
        print_table(rows)
        plot(rows)
    if args.only in ("all", "linear"):
        if not args.plot_only:
            run_linear(args)
        linear_summary()


if __name__ == "__main__":
    sys.exit(main())
