#!/usr/bin/python3
"""NFA on real data (issue 35): scikit-learn's bundled 8x8 digits, bias-free
ReLU MLPs trained by plain SGD on the MSE to one-hot labels, as the paper's
reference code trains its MLPs (aradha/agop_feature_learning), then measured
with `lowrank nfa` (init-subtracted primary NFM, raw kept, the reference's
Pearson score against G^(1/2)).

The training here is numpy, independent of the library, and every run's
first-layer AGOP and scores are recomputed in numpy from the closed-form chain
rule (J_1(x) = W_3 D_2(x) W_2 D_1(x), D = diag(relu')) as a check of the CLI's
numbers (the script stops if they differ by more than 1e-8).

    cmake --build build -j2 --target lowrank_cli
    /usr/bin/python3 experiments/nfa/digits.py --bin build/lowrank            # 10 seeds x 2 widths
    /usr/bin/python3 experiments/nfa/digits.py --table-only                   # re-print from results/digits.jsonl

Data: 1797 images of 64 pixels (values 0..16) scaled to unit norm; per seed a
random split into 1000 training and 797 test images. No download: the data
ships inside python3-sklearn.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

# One BLAS thread: on the shared 2-core box a threaded BLAS made training 25x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(HERE, "results", "digits.jsonl")
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def write_checkpoint(folder, weights, step, extra):
    """Our MLP checkpoint format (docs/nfa.md): safetensors, F64, no biases."""
    os.makedirs(folder, exist_ok=True)
    header = {"__metadata__": {"format": "lowrank-nn-mlp-checkpoint", "version": "1", "activation": "relu",
                               "sizes": ",".join(str(s) for s in [weights[0].shape[1]] + [w.shape[0] for w in weights]),
                               "step": str(step), **extra}}
    blobs, off = [], 0
    for l, w in enumerate(weights):
        b = np.ascontiguousarray(w, dtype="<f8").tobytes()
        header[f"model.layers.{l}.W"] = {"dtype": "F64", "shape": list(w.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(folder, "checkpoint.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype=np.float64))


def forward(ws, x):
    hs, pre = [x], []
    for l, w in enumerate(ws):
        z = hs[-1] @ w.T
        pre.append(z)
        hs.append(np.maximum(z, 0) if l + 1 < len(ws) else z)
    return hs, pre


def train(x, y, width, depth, lr, epochs, batch, rng):
    sizes = [x.shape[1]] + [width] * (depth - 1) + [y.shape[1]]
    # He-normal hidden layers, 1/fan_in for the read-out; no biases.
    ws = [rng.normal(0, np.sqrt((2.0 if l + 2 < len(sizes) else 1.0) / sizes[l]), (sizes[l + 1], sizes[l]))
          for l in range(len(sizes) - 1)]
    w0 = [w.copy() for w in ws]
    n, step = x.shape[0], 0
    for _ in range(epochs):
        perm = rng.permutation(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            hs, pre = forward(ws, x[idx])
            delta = (hs[-1] - y[idx]) / len(idx)  # d/d out of (1/2b) ||out - y||^2
            for l in range(len(ws) - 1, -1, -1):
                g = delta.T @ hs[l]
                if l > 0:
                    delta = (delta @ ws[l]) * (pre[l - 1] > 0)
                ws[l] -= lr * g
            step += 1
    return w0, ws, step


def agop_first_layer(ws, x):
    """(1/n) sum_i J_i^T J_i with J_i [c, d] the Jacobian of the outputs w.r.t. x_i."""
    _, pre = forward(ws, x)
    g = np.zeros((x.shape[1], x.shape[1]))
    for i in range(x.shape[0]):
        j = ws[-1]
        for l in range(len(ws) - 2, -1, -1):
            j = (j * (pre[l][i] > 0)) @ ws[l]
        g += j.T @ j
    return g / x.shape[0]


def psd_power(g, a):
    lam, v = np.linalg.eigh((g + g.T) / 2)
    lam = np.clip(lam, 0, None)
    lam[lam <= len(lam) * np.finfo(float).eps * lam.max()] = 0
    return (v * lam ** a) @ v.T


def cosine(a, b):
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


def pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return cosine(a, b)


def run(args):
    from sklearn.datasets import load_digits
    xall, labels = load_digits(return_X_y=True)
    xall = xall / np.linalg.norm(xall, axis=1, keepdims=True)
    yall = np.eye(10)[labels]
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as out:
        for width in args.widths:
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                perm = rng.permutation(len(xall))
                tr, te = perm[:1000], perm[1000:]
                t0 = time.time()
                w0, ws, steps = train(xall[tr], yall[tr], width, args.depth, args.lr, args.epochs, args.batch, rng)
                acc = lambda w, idx: float((forward(w, xall[idx])[0][-1].argmax(1) == labels[idx]).mean())
                with tempfile.TemporaryDirectory() as tmp:
                    write_npy(os.path.join(tmp, "x.npy"), xall[tr])
                    write_checkpoint(os.path.join(tmp, "init"), w0, 0, {})
                    write_checkpoint(os.path.join(tmp, "final"), ws, steps, {"inputs": "../x.npy", "init": "../init"})
                    res = subprocess.run([args.bin, "nfa", os.path.join(tmp, "final"), "--json", "-q"],
                                         capture_output=True, text=True, env=ENV)
                    if res.returncode != 0:
                        sys.exit(res.stderr)
                    rep = json.loads(res.stdout)
                # Independent numpy check of layer 1 (input layer).
                g = agop_first_layer(ws, xall[tr])
                dw = ws[0] - w0[0]
                sub, raw = dw.T @ dw, ws[0].T @ ws[0]
                l0 = rep["layers"][0]
                check = {"cos_sub_half": cosine(sub, psd_power(g, 0.5)), "cos_raw_half": cosine(raw, psd_power(g, 0.5)),
                         "pearson_sub_half": pearson(sub, psd_power(g, 0.5))}
                # W - W0 lives in the span of the training inputs (SGD only moves W along inputs), the AGOP
                # does not: through W0 it has mass on pixels that are 0 in every image. The same score with
                # G^(1/2) projected on the data span P (not a library metric; a diagnostic of that floor).
                u, sv, _ = np.linalg.svd(xall[tr].T, full_matrices=False)
                pu = u[:, sv > sv[0] * 1e-10]
                proj = pu @ pu.T
                gp = proj @ psd_power(g, 0.5) @ proj
                diag = {"cos_sub_half_dataspan": cosine(sub, gp), "pearson_sub_half_dataspan": pearson(sub, gp),
                        "data_rank": int(pu.shape[1])}
                ours = {"cos_sub_half": l0["uncentred"]["alpha_half"], "cos_raw_half": l0["raw"]["alpha_half"],
                        "pearson_sub_half": l0["pearson_half"]}
                for k in check:
                    if abs(check[k] - ours[k]) > 1e-8:
                        sys.exit(f"numpy and lowrank nfa disagree on {k}: {check[k]} vs {ours[k]}")
                line = {"width": width, "depth": args.depth, "seed": seed, "lr": args.lr, "epochs": args.epochs,
                        "batch": args.batch, "steps": steps, "train_acc": acc(ws, tr), "test_acc": acc(ws, te),
                        "numpy_check": check, "dataspan": diag, "nfa": rep, "wall_s": time.time() - t0}
                out.write(json.dumps(line) + "\n")
                out.flush()
                print(f"width={width} seed={seed} train {line['train_acc']:.3f} test {line['test_acc']:.3f} "
                      f"layer-1 cos(W-W0, G^1/2) {ours['cos_sub_half']:.4f} raw {ours['cos_raw_half']:.4f} "
                      f"pearson {ours['pearson_sub_half']:.4f} ({line['wall_s']:.1f} s)", flush=True)


def ci(v):
    """Mean and 95% t-interval half-width over seeds."""
    from scipy import stats
    v = np.asarray(v, dtype=float)
    if len(v) < 2:
        return v.mean(), float("nan")
    return v.mean(), stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))


def table():
    with open(RESULTS) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    widths = sorted({r["width"] for r in runs})
    fmt = lambda v: f"{v[0]:.3f} ± {v[1]:.3f}"
    print("| width | layer | seeds | test acc | cos(W-W0) a=1/2 | cos(W-W0) a=1 | best cos (alpha) | Pearson(W-W0, G^1/2) "
          "| centred Pearson | raw cos a=1/2 | raw best | init net cos a=1/2 | cos(W-W0, P G^1/2 P) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in widths:
        rs = [r for r in runs if r["width"] == w]
        depth = rs[0]["depth"]
        for l in range(depth - 1):
            get = lambda f: [f(r["nfa"]["layers"][l]) for r in rs]
            best_a = np.mean(get(lambda x: x["uncentred"]["best_alpha"]))
            print(f"| {w} | {l + 1} | {len(rs)} | {fmt(ci([r['test_acc'] for r in rs]))} "
                  f"| {fmt(ci(get(lambda x: x['uncentred']['alpha_half'])))} "
                  f"| {fmt(ci(get(lambda x: x['uncentred']['alpha_1'])))} "
                  f"| {fmt(ci(get(lambda x: x['uncentred']['best'])))} ({best_a:.2f}) "
                  f"| {fmt(ci(get(lambda x: x['pearson_half'])))} "
                  f"| {fmt(ci(get(lambda x: x['pearson_half_centred'])))} "
                  f"| {fmt(ci(get(lambda x: x['raw']['alpha_half'])))} "
                  f"| {fmt(ci(get(lambda x: x['raw']['best'])))} "
                  f"| {fmt(ci(get(lambda x: x['init']['alpha_half'])))} "
                  f"| {fmt(ci([r['dataspan']['cos_sub_half_dataspan'] for r in rs])) if l == 0 else '-'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "lowrank"))
    ap.add_argument("--widths", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--depth", type=int, default=3, help="layers (depth 3 = two hidden layers)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    if not args.table_only:
        run(args)
    table()


if __name__ == "__main__":
    main()
