#!/usr/bin/python3
"""Logit-matrix rank against future length L and history horizon H (issue 35).

Golowich, Liu & Shetty's extended logit matrix has singular values that decay
as a power law sigma_i ~ i^(-alpha) (alpha ~ 0.536 for OLMo-7b, ~ 0.374
untrained, as issue 35 quotes the paper); with alpha > 1/2 the rank needed for
a fixed relative error stays bounded as the matrix grows. This script trains
the small character model of experiments/logits/run.sh (or reuses it), then
runs `lowrank logit-rank` over
  * the future length L in {1, 2, 4, 8, 16} at history length H = 32, and
  * the history length H in {4, 8, 16, 32, 48} at L = 4,
for the untrained (step 1) and trained (step 300) checkpoints, with both
normalisations (ours: mean-centred logits; the paper's: log-probabilities,
`--log-probs`). Per cell: alpha of the power-law fit, the rank r_0.1 needed for
10% relative Frobenius error, and the stable rank; per row of the sweep a
log-log fit r_0.1 ~ L^beta (or H^beta) says how the rank scales.

    cmake --build build -j2 --target lowrank_cli
    /usr/bin/python3 experiments/logits/scaling.py --bin build/lowrank      # trains to /tmp unless --runs has it
    /usr/bin/python3 experiments/logits/scaling.py --table-only
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
RESULTS = os.path.join(HERE, "results", "scaling.jsonl")
DATA = os.path.join(ROOT, "data", "text", "tinyshakespeare_head.txt")
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def fit_exponent(x, y):
    """beta and prefactor of y = c x^beta by least squares in log-log."""
    beta, logc = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(beta), float(np.exp(logc))


def rank_for_error(sv, eps):
    """Smallest r with ||M - M_r||_F / ||M||_F <= eps (Eckart-Young)."""
    sv = np.asarray(sv, float)
    tail = np.sqrt(np.maximum(np.cumsum((sv ** 2)[::-1])[::-1] / (sv ** 2).sum(), 0))  # tail[r] = err of rank r
    for r in range(len(sv) + 1):
        err = tail[r] if r < len(sv) else 0.0
        if err <= eps:
            return r
    return len(sv)


def selftest():
    """The fits recover planted exponents (the scaling fit and rank_for_error)."""
    x = np.array([1, 2, 4, 8, 16.0])
    beta, c = fit_exponent(x, 3.0 * x ** 0.7)
    assert abs(beta - 0.7) < 1e-12 and abs(c - 3.0) < 1e-12, (beta, c)
    # A planted power-law spectrum sigma_i = i^-alpha of growing length n: for
    # alpha = 1 the 10% rank converges (tail sum ~ 1/r), for alpha = 0.3 < 1/2 it
    # grows ~ n (tail sum ~ n^(1 - 2 alpha) - r^(1 - 2 alpha)).
    ns = np.array([1000, 2000, 4000, 8000, 16000])
    r_fast = [rank_for_error(np.arange(1, n + 1) ** -1.0, 0.1) for n in ns]
    r_slow = [rank_for_error(np.arange(1, n + 1) ** -0.3, 0.1) for n in ns]
    assert fit_exponent(ns, r_fast)[0] < 0.05, r_fast
    assert abs(fit_exponent(ns, r_slow)[0] - 1.0) < 0.02, r_slow
    sv = np.array([3.0, 2.0, 1.0])
    assert rank_for_error(sv, 0.0) == 3 and rank_for_error(sv, 1.0) == 0
    assert rank_for_error(sv, np.sqrt(1 / 14) + 1e-12) == 2 and rank_for_error(sv, np.sqrt(1 / 14) - 1e-9) == 3


def train(args):
    os.makedirs(args.runs, exist_ok=True)
    cfg = os.path.join(args.runs, "config.json")
    with open(cfg, "w") as f:
        json.dump({"model": {"context": 64, "n_layer": 3, "n_head": 4, "width": 96, "seed": 1},
                   "optim": {"lr": 0.003, "warmup_steps": 50, "total_steps": 2000}, "data": DATA, "batch": 16,
                   "steps": 1, "eval_interval": 0, "eval_batches": 8, "seed": 1}, f)
    ck = os.path.join(args.runs, "ck")
    prev = 0
    for s in args.steps:
        dest = os.path.join(args.runs, f"ck_{s}")
        if os.path.isdir(dest):
            prev = s
            continue
        if prev == 0:
            cmd = [args.bin, "train", "--config", cfg, "--steps", str(s), "--checkpoint", ck, "-q", "--threads", "1"]
        else:
            cmd = [args.bin, "train", "--resume", ck, "--steps", str(s), "-q", "--threads", "1"]
        subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)
        subprocess.run(["cp", "-r", ck, dest], check=True)
        prev = s


def run(args):
    train(args)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    cells = [("L", 32, L) for L in args.future_lengths] + [("H", H, 4) for H in args.history_lengths]
    with open(RESULTS, "w") as out:
        for step in args.steps:
            for norm in ("centred", "log_probs"):
                for sweep, H, L in cells:
                    svf = os.path.join(args.runs, "sv.csv")
                    cmd = [args.bin, "logit-rank", "--checkpoint", os.path.join(args.runs, f"ck_{step}"),
                           "--histories", str(args.histories), "--history-length", str(H), "--futures",
                           str(args.futures), "--future-length", str(L), "--top-k", "50", "--threads", "1", "-q",
                           "--json", "--sv", svf] + (["--log-probs"] if norm == "log_probs" else [])
                    t0 = time.time()
                    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
                    if res.returncode != 0:
                        sys.exit(res.stderr)
                    j = json.loads(res.stdout)
                    sv = np.loadtxt(svf, delimiter=",", skiprows=1)[:, 1]
                    line = {"step": step, "norm": norm, "sweep": sweep, "H": H, "L": L, "rows": j["rows"],
                            "cols": j["cols"], "alpha": j["alpha"], "fit": j["fit"], "stable_rank": j["stable_rank"],
                            "r_0.1": rank_for_error(sv, 0.1), "r_0.3": rank_for_error(sv, 0.3),
                            "wall_s": time.time() - t0}
                    out.write(json.dumps(line) + "\n")
                    out.flush()
                    print(json.dumps({k: line[k] for k in ("step", "norm", "H", "L", "cols", "alpha", "r_0.1",
                                                           "wall_s")}), flush=True)


def table():
    with open(RESULTS) as f:
        rs = [json.loads(l) for l in f if l.strip()]
    print("| step | normalisation | sweep | values | alpha per value | r_0.1 per value | beta (r_0.1 ~ x^beta) "
          "| r_0.3 per value | beta (r_0.3) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for step in sorted({r["step"] for r in rs}):
        for norm in ("centred", "log_probs"):
            for sweep in ("L", "H"):
                cell = sorted((r for r in rs if r["step"] == step and r["norm"] == norm and r["sweep"] == sweep),
                              key=lambda r: r[sweep])
                if not cell:
                    continue
                xs = [r[sweep] for r in cell]
                b1 = fit_exponent(xs, [max(r["r_0.1"], 1) for r in cell])[0]
                b3 = fit_exponent(xs, [max(r["r_0.3"], 1) for r in cell])[0]
                other = f"H = {cell[0]['H']}" if sweep == "L" else f"L = {cell[0]['L']}"
                print(f"| {step} | {norm} | {sweep} ({other}) | {', '.join(map(str, xs))} "
                      f"| {', '.join('%.3f' % r['alpha'] for r in cell)} "
                      f"| {', '.join(str(r['r_0.1']) for r in cell)} | {b1:.3f} "
                      f"| {', '.join(str(r['r_0.3']) for r in cell)} | {b3:.3f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "lowrank"))
    ap.add_argument("--runs", default="/tmp/lowrank_logits_scaling")
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 300])
    ap.add_argument("--future-lengths", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--history-lengths", type=int, nargs="+", default=[4, 8, 16, 32, 48])
    ap.add_argument("--histories", type=int, default=200)
    ap.add_argument("--futures", type=int, default=40)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    selftest()
    if not args.table_only:
        run(args)
    table()


if __name__ == "__main__":
    main()
