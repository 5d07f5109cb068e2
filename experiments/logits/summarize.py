#!/usr/bin/python3
"""Summarise experiments/logits/run.sh: a markdown table of alpha across
checkpoints (held-out vs shuffled text), LINGEN KL vs baseline, the weight
spectra of the checkpoints (lowrank inspect), and the plots
docs/img/logits/{spectra,reconstruction}.png.
usage: /usr/bin/python3 experiments/logits/summarize.py RESULTS_DIR IMG_DIR"""
import glob
import json
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

res, img = sys.argv[1], sys.argv[2]
os.makedirs(img, exist_ok=True)


def load(p):
    with open(p) as f:
        return json.load(f)


def alpha_from(j, first):
    """Refit log sigma_i = log C - alpha log i on first..last of the CLI's range
    (first = 2 leaves out the leading singular value, which in an untrained
    model is the history-independent mean row)."""
    sv = np.array(j["singular_values"])
    i = np.arange(first, j["fit"]["last"] + 1)
    return -np.polyfit(np.log(i), np.log(sv[i - 1]), 1)[0]


steps = sorted({int(re.search(r"_(\d+)\.json$", p).group(1)) for p in glob.glob(f"{res}/rank_heldout_*.json")})
print("| step | val loss | alpha held-out (range, R^2) | alpha shuffled (R^2) | alpha from i=2 h/s | sigma_1/sigma_2 h/s "
      "| stable rank h/s | rel. err r=16 h/s | mean KL r=16 h/s | build s h/s |")
print("|---:|---:|---|---|---|---|---|---|---|---|")
for s in steps:
    tr = load(f"{res}/train_{s}.json")
    h, u = load(f"{res}/rank_heldout_{s}.json"), load(f"{res}/rank_shuffled_{s}.json")

    def at(j, r):
        return next((p for p in j["reconstruction"] if p["rank"] == r), None)
    h16, u16 = at(h, 16), at(u, 16)
    vl = tr.get("final_val_loss")
    vl = "n/a" if vl is None or (isinstance(vl, float) and np.isnan(vl)) else f"{vl:.3f}"
    print(f"| {s} | {vl} | {h['fit']['alpha']:.3f} ({h['fit']['first']}-{h['fit']['last']}, {h['fit']['r_squared']:.3f}) "
          f"| {u['fit']['alpha']:.3f} ({u['fit']['r_squared']:.3f}) | {alpha_from(h, 2):.3f} / {alpha_from(u, 2):.3f} "
          f"| {h['singular_values'][0] / h['singular_values'][1]:.1f} / {u['singular_values'][0] / u['singular_values'][1]:.1f} "
          f"| {h['stable_rank']:.2f} / {u['stable_rank']:.2f} "
          f"| {h16['relative_error']:.3f} / {u16['relative_error']:.3f} | {h16['mean_kl']:.4f} / {u16['mean_kl']:.4f} "
          f"| {h['build_s']:.1f} / {u['build_s']:.1f} |")

fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
for k, kind in enumerate(["heldout", "shuffled"]):
    for s in steps:
        sv = np.array(load(f"{res}/rank_{kind}_{s}.json")["singular_values"])
        ax[k].loglog(np.arange(1, len(sv) + 1), sv / sv[0], label=f"step {s}")
    ax[k].set_title(f"extended logit matrix, {'held-out' if kind == 'heldout' else 'shuffled'} text")
    ax[k].set_xlabel("i")
    ax[k].set_ylabel("sigma_i / sigma_1")
    ax[k].grid(True, which="both", alpha=0.3)
ax[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{img}/spectra.png", dpi=110)

fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
for s in steps:
    j = load(f"{res}/rank_heldout_{s}.json")
    pts = [p for p in j["reconstruction"] if p["rank"] < j["rows"]]  # full rank is exact (error ~ 0): left out
    r = [p["rank"] for p in pts]
    ax[0].loglog(r, [p["relative_error"] for p in pts], "o-", label=f"step {s}")
    ax[1].loglog(r, [p["mean_kl"] for p in pts], "o-", label=f"step {s}")
ax[0].set_title("rank-r truncated SVD, held-out text")
ax[1].set_title("softmax of each block, held-out text")
ax[0].set_ylabel("||M - M_r|| / ||M||")
ax[1].set_ylabel("mean KL(softmax M || softmax M_r)")
for a in ax:
    a.set_xlabel("rank r")
    a.grid(True, which="both", alpha=0.3)
ax[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{img}/reconstruction.png", dpi=110)

print()
print("| checkpoint | other histories | mean KL LINGEN | mean KL baseline | relative residual | sum c | seeds |")
print("|---:|---|---:|---:|---:|---:|---:|")
for ck in sorted({int(re.search(r"lingen_\w+?_(\d+)_\d+\.json$", p).group(1)) for p in glob.glob(f"{res}/lingen_*.json")}):
    for kind in ["heldout", "shuffled"]:
        js = [load(p) for p in sorted(glob.glob(f"{res}/lingen_{kind}_{ck}_*.json"))]
        if not js:
            continue
        kl = np.array([j["mean_kl_lingen"] for j in js])
        kb = np.array([j["mean_kl_baseline"] for j in js])
        rr = np.array([j["fit_relative_residual"] for j in js])
        sc = np.array([j["coefficient_sum"] for j in js])
        print(f"| {ck} | {kind} | {kl.mean():.4f} ± {kl.std():.4f} | {kb.mean():.4f} ± {kb.std():.4f} | "
              f"{rr.mean():.3f} | {sc.mean():.3f} | {len(js)} |")

# Weight spectra of the checkpoints (`lowrank inspect --json`), means per group.
ins = sorted(glob.glob(f"{res}/inspect_*.json"), key=lambda p: int(re.search(r"_(\d+)\.json$", p).group(1)))
if ins:
    print()
    print("| step | group (layers) | stable rank | 90% energy rank | decay alpha | ESD tail alpha |")
    print("|---:|---|---:|---:|---:|---:|")
    for p in ins:
        s = int(re.search(r"_(\d+)\.json$", p).group(1))
        groups = {}
        for l in load(p)["layers"]:
            n = l["name"]
            g = "attention q/k/v/o" if ".attn." in n else "SwiGLU gate/up/down" if ".mlp." in n else n
            groups.setdefault(g, []).append(l)
        for g, ls in groups.items():
            m = lambda f: np.mean([f(l) for l in ls])
            print(f"| {s} | {g} ({len(ls)}) | {m(lambda l: l['stable_rank']):.1f} | {m(lambda l: l['energy_rank_90']):.0f} "
                  f"| {m(lambda l: l['decay']['alpha']):.2f} | {m(lambda l: l['esd_tail']['alpha']):.2f} |")
