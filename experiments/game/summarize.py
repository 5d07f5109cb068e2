#!/usr/bin/python3
"""Tables (markdown, mean ± sd over seeds) and small PNG plots from the CSVs
the experiment scripts wrote to docs/img/game/.

    /usr/bin/python3 experiments/game/summarize.py > docs/img/game/summary.md
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
D = os.path.join(ROOT, "docs/img/game")


def table(df, keys, value, digits=3):
    g = df.groupby(keys + ["method"])[value]
    s = pd.DataFrame({"mean": g.mean(), "sd": g.std(), "n": g.count()}).reset_index()
    s["cell"] = s.apply(lambda r: f"{r['mean']:.{digits}f} ± {r['sd']:.{digits}f}" if r["n"] > 1
                        else f"{r['mean']:.{digits}f}", axis=1)
    w = s.pivot_table(index="method", columns=keys, values="cell", aggfunc="first")
    order = s.groupby("method")["mean"].mean().sort_values().index
    w = w.loc[order]
    cols = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in w.columns]
    out = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for meth, r in w.iterrows():
        out.append(f"| {meth} | " + " | ".join(str(v) for v in r.values) + " |")
    return "\n".join(out)


def bars(df, keys, value, fname, title, ylabel):
    g = df.groupby(keys + ["method"])[value].agg(["mean", "std"]).reset_index()
    panels = g[keys[0]].unique()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), squeeze=False)
    for ax, p in zip(axes[0], panels):
        q = g[g[keys[0]] == p].sort_values("mean")
        ax.barh(q["method"], q["mean"], xerr=q["std"].fillna(0), color="#4c72b0")
        ax.barh(q["method"][q["method"].str.startswith("game")], q["mean"][q["method"].str.startswith("game")],
                color="#dd8452")
        lo = q["mean"].min()
        ax.set_xlim(lo * 0.85, (q["mean"] + q["std"].fillna(0)).max() * 1.02)
        ax.set_title(str(p), fontsize=9)
        ax.set_xlabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(D, fname), dpi=80)
    plt.close(fig)


SWEEP_FACTORS = (("missing", "fraction held out (1 - density)"), ("group_rank", "rank of each group's own part"),
                 ("shared_scale", "scale of the shared part"))
SWEEP_METHODS = ("game", "soft-impute", "side-info", "per-group-si")


def sweep(df, base):
    """Sweep table and plot: each factor's settings plus the base design. The
    sweeps' GAME fits ran with --cv-tol 1e-3; the base design's GAME row is
    its re-run with that flag (setting base-cv-tol) where there is one, the
    other methods (whose fits do not depend on that flag) come from the
    uniform scenario of synthetic_runs.csv for the same seeds."""
    base = base[(base.scenario == "uniform") & base.method.isin(df.method.unique())].copy()
    rerun = df[df.setting == "base-cv-tol"]
    if len(rerun):
        base = base[base.seed.isin(rerun.seed.unique()) & (base.method != "game")]
        base = pd.concat([base, rerun[rerun.method == "game"]], ignore_index=True)
        df = df[df.setting != "base-cv-tol"]
    base["setting"], base["missing"], base["group_rank"], base["shared_scale"] = "base", 0.15, 2, 1.0
    both = pd.concat([base, df], ignore_index=True)
    print("Test RMSE against the noiseless M, per setting (uniform missingness; base: 15 % held out, "
          "group rank 2, shared scale 1):\n")
    print(table(both, ["setting"], "test_rmse_vs_M"))
    print("\nGAME minus soft-impute (paired by seed), RMSE vs M, and mean sin theta:\n")
    print("| setting | seeds | RMSE diff | GAME better | sin theta GAME | sin theta soft-impute |")
    print("|---|---|---|---|---|---|")
    for setting, d in both.groupby("setting", sort=False):
        w = d.pivot_table(index="seed", columns="method", values="test_rmse_vs_M")
        t = d.pivot_table(index="seed", columns="method", values="mean_sin_theta")
        if "game" not in w or "soft-impute" not in w:
            continue
        diff = (w["game"] - w["soft-impute"]).dropna()
        print(f"| {setting} | {len(diff)} | {diff.mean():+.4f} ± {diff.std():.4f} | {(diff < 0).sum()}/{len(diff)} | "
              f"{t['game'].mean():.3f} | {t['soft-impute'].mean():.3f} |")
    fig, axes = plt.subplots(1, len(SWEEP_FACTORS), figsize=(10, 3.0))
    for ax, (factor, label) in zip(axes, SWEEP_FACTORS):
        others = [f for f, _ in SWEEP_FACTORS if f != factor]
        at_base = (both[others[0]] == base[others[0]].iloc[0]) & (both[others[1]] == base[others[1]].iloc[0])
        q = both[at_base].groupby([factor, "method"]).test_rmse_vs_M.agg(["mean", "std"]).reset_index()
        for meth in SWEEP_METHODS:
            r = q[q.method == meth].sort_values(factor)
            if len(r):
                ax.errorbar(r[factor], r["mean"], yerr=r["std"].fillna(0), marker="o", ms=3, capsize=2, label=meth,
                            lw=2 if meth == "game" else 1)
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("test RMSE vs M", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("Synthetic sweeps, uniform missingness (mean ± sd over seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(D, "synthetic_sweeps.png"), dpi=80)
    plt.close(fig)


def main():
    f = os.path.join(D, "ecology_runs.csv")
    if os.path.exists(f):
        df = pd.read_csv(f)
        n = df.groupby("dataset").seed.nunique().to_dict()
        print(f"### Ecology: test RMSE on log1p counts, 20% holdout (seeds per dataset: {n})\n")
        print(table(df, ["dataset"], "test_rmse"))
        bars(df, ["dataset"], "test_rmse", "ecology_rmse.png", "Ecology, 20% holdout, log1p scale", "test RMSE")
        g = pd.read_csv(os.path.join(D, "ecology_groups.csv"))
        print("\nPer group (mite), test RMSE:\n")
        print(table(g[g.dataset == "mite"], ["group"], "test_rmse"))
        print()
    f = os.path.join(D, "synthetic_runs.csv")
    if os.path.exists(f):
        df = pd.read_csv(f)
        print(f"### Synthetic: seeds {sorted(df.seed.unique())}\n")
        print("Test RMSE against the noisy X:\n")
        print(table(df, ["scenario"], "test_rmse"))
        print("\nTest RMSE against the noiseless M:\n")
        print(table(df, ["scenario"], "test_rmse_vs_M"))
        print("\nMean over the 5 groups of sin(largest principal angle), top-4 right subspace vs truth:\n")
        print(table(df, ["scenario"], "mean_sin_theta"))
        if "cli_subspace_mean_sin_theta" in df:
            q = df[df.method == "game"].groupby("scenario").cli_subspace_mean_sin_theta.agg(["mean", "std"])
            print("\nGAME, same score from the CLI's --subspaces V files: " +
                  ", ".join(f"{k} {r['mean']:.3f} ± {r['std']:.3f}" for k, r in q.iterrows()))
        g = pd.read_csv(os.path.join(D, "synthetic_groups.csv"))
        print("\nPer group, structured scenario, test RMSE:\n")
        print(table(g[g.scenario == "structured"], ["group"], "test_rmse"))
        print("\nPer group, block scenario, sin theta:\n")
        print(table(g[g.scenario == "block"], ["group"], "sin_theta"))
        bars(df, ["scenario"], "test_rmse_vs_M", "synthetic_rmse.png", "Synthetic: test RMSE vs noiseless M", "RMSE")
        bars(df, ["scenario"], "mean_sin_theta", "synthetic_sintheta.png", "Synthetic: mean sin theta (top-4)",
             "sin theta")
        print()
        f = os.path.join(D, "synthetic_sweep_runs.csv")
        if os.path.exists(f):
            print("### Synthetic sweeps\n")
            sweep(pd.read_csv(f), df)
            print()
    f = os.path.join(D, "movielens_runs.csv")
    if os.path.exists(f):
        df = pd.read_csv(f)
        print(f"### MovieLens-100k: seeds {sorted(df.seed.unique())}\n")
        print(table(df, ["holdout"], "test_rmse", 4))
        g = pd.read_csv(os.path.join(D, "movielens_groups.csv"))
        g = g[g.group.str.startswith("age") | g.group.str.startswith("gender")]
        print("\nPer group (age bands, gender), test RMSE:\n")
        print(table(g, ["holdout", "group"], "test_rmse", 4))
        print()
    f = os.path.join(D, "neural_sim_runs.csv")
    if os.path.exists(f):
        df = pd.read_csv(f)
        df["all"] = "SIMULATED"
        print(f"### SIMULATED neural recordings: seeds {sorted(df.seed.unique())}\n")
        for v in ("test_rmse", "rmse_vs_rate", "s0_block_rmse"):
            print(f"\n{v}:\n")
            print(table(df, ["all"], v))
        print()


if __name__ == "__main__":
    main()
