#!/usr/bin/python3
"""Reference values for tests/diagnostics, computed with numpy only.

Run with Debian's interpreter (the `python3` on PATH may lack numpy):
    /usr/bin/python3 tests/diagnostics/make_fixtures.py
Writes tests/data/diagnostics/{weights.npz, model.safetensors,
sharded/, expected.json}. Seeded: reruns give the same files.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "diagnostics")
P_GRID = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
rng = np.random.default_rng(20261123)


def clauset(x, min_tail):
    """Brute-force Clauset-Shalizi-Newman fit: every distinct xmin, MLE alpha, KS."""
    x = np.sort(x[x > 0])
    n = len(x)
    best = (np.inf, 0.0, 0.0, 0)
    for k in range(0, n - min_tail + 1):
        if k > 0 and x[k] == x[k - 1]:
            continue
        tail = x[k:]
        m = len(tail)
        alpha = 1.0 + m / np.sum(np.log(tail / x[k]))
        cdf = 1.0 - (tail / x[k]) ** (1.0 - alpha)
        ks = max(np.max(np.abs(cdf - np.arange(m) / m)), np.max(np.abs(np.arange(1, m + 1) / m - cdf)))
        if ks < best[0]:
            best = (ks, alpha, x[k], m)
    if not np.isfinite(best[0]):  # too few samples: not fitted
        best = (0.0, 0.0, 0.0, 0)
    return {"ks": best[0], "alpha": best[1], "xmin": best[2], "n_tail": best[3]}


def describe(a):
    s = np.linalg.svd(a, compute_uv=False)
    tol = s.max() * max(a.shape) * np.finfo(a.dtype).eps
    s = s.astype(np.float64)
    e = {"svdvals": s.tolist(),
         "matrix_rank": int(np.linalg.matrix_rank(a)),
         "frobenius": float(np.linalg.norm(a.astype(np.float64), "fro")),
         "spectral": float(np.linalg.norm(a.astype(np.float64), 2)),
         "nuclear": float(np.linalg.norm(a.astype(np.float64), "nuc"))}
    e["stable_rank"] = e["frobenius"] ** 2 / e["spectral"] ** 2
    p = s / s.sum()
    p = p[p > 0]
    e["entropy_rank"] = float(np.exp(-(p * np.log(p)).sum()))
    e["participation_ratio"] = float((s ** 2).sum() ** 2 / (s ** 4).sum())
    c = np.cumsum(s ** 2) / (s ** 2).sum()
    e["energy_rank_90"] = int(np.searchsorted(c, 0.90 - 1e-15) + 1)
    e["energy_rank_99"] = int(np.searchsorted(c, 0.99 - 1e-15) + 1)
    e["schatten"] = [{"p": q, "sum": float((s[s > tol] ** q).sum())} for q in P_GRID]
    last = int((s > tol).sum())
    i = np.arange(1, last + 1)
    slope, icept = np.polyfit(np.log(i), np.log(s[:last]), 1)
    e["decay"] = {"alpha": float(-slope), "c": float(np.exp(icept)), "first": 1, "last": last}
    lam = s ** 2
    e["esd_tail"] = clauset(lam[lam > tol * tol], 10)
    return e


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.float32: "F32", np.float64: "F64", np.int32: "I32"}[arr.dtype.type]
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    gauss = rng.standard_normal((30, 20))
    low = rng.standard_normal((40, 5)) @ rng.standard_normal((5, 25))
    u, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    v, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    decay = (u[:, :50] * (3.0 * np.arange(1, 51) ** -0.8)) @ v.T
    np.savez(os.path.join(OUT, "weights.npz"), gauss=gauss, low=low, decay=decay)
    # float32 layers: numpy's matrix_rank uses float32 eps on them.
    w1 = (rng.standard_normal((16, 8)) @ rng.standard_normal((8, 24))).astype(np.float32)
    w2 = rng.standard_normal((10, 16)).astype(np.float32)
    conv = rng.standard_normal((6, 3, 2, 2)).astype(np.float32)
    bias = rng.standard_normal(10).astype(np.float32)
    write_safetensors(os.path.join(OUT, "model.safetensors"),
                      {"layer1.weight": w1, "layer1.bias": bias[:8].copy(), "layer2.weight": w2, "conv.weight": conv})
    write_safetensors(os.path.join(OUT, "sharded", "model-00001-of-00002.safetensors"), {"layer1.weight": w1})
    write_safetensors(os.path.join(OUT, "sharded", "model-00002-of-00002.safetensors"),
                      {"layer2.weight": w2, "layer2.bias": bias})
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": {"layer1.weight": "model-00001-of-00002.safetensors",
                                                  "layer2.weight": "model-00002-of-00002.safetensors",
                                                  "layer2.bias": "model-00002-of-00002.safetensors"}}, f, indent=1)
    expected = {"gauss": describe(gauss), "low": describe(low), "decay": describe(decay),
                "layer1.weight": describe(w1), "layer2.weight": describe(w2),
                "conv.weight": describe(conv.reshape(6, -1))}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
