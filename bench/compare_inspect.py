#!/usr/bin/python3
"""Side-by-side timing of `lowrank inspect` against numpy/scipy (issue 8, part 1).

1. Generates a ~113M-parameter float32 safetensors file (16 transformer-like
   blocks of width 768: q, k, v, o [768, 768], up [3072, 768], down
   [768, 3072]) under the build directory, with a planted power-law spectrum
   per layer so that the tail fits have something to find.
2. Runs `lowrank inspect FILE --json --values` and checks its singular values
   against scipy.linalg.svdvals on the same layers (float32 gesdd, like ours)
   BEFORE comparing times: per-layer max |sigma_ours - sigma_scipy| / sigma_1.
3. Times scipy.linalg.svdvals and numpy.linalg.svd(compute_uv=False) over the
   same layers (BLAS threads as set in the environment).
4. ESD tail (xmin search): our per-layer esd_tail_s (C++, sorted suffix sums,
   early exit of the KS scan) against a WeightWatcher-style loop (one numpy
   pass per candidate xmin, as the `powerlaw` package that WeightWatcher calls
   does), on exactly the eigenvalues we fitted; alpha, xmin and KS must agree.

Usage:
  /usr/bin/python3 bench/compare_inspect.py --cli build-diag/lowrank \
      --dir build-diag/bench_inspect [--blocks 16] [--width 768] [--threads 2]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import scipy.linalg


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 array). Streams the data."""
    header, offset = {}, 0
    for name, a in tensors:
        nbytes = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(np.ascontiguousarray(a, dtype=np.float32).tobytes())


def read_safetensors(path):
    """name -> memory-mapped float32 array (read-only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = mm[8 + n + b: 8 + n + e].view(np.float32).reshape(info["shape"])
    return out


def planted(rng, m, n, alpha):
    """m x n with sigma_i ~ i^-alpha plus Gaussian noise (a trained-layer-like spectrum)."""
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)).astype(np.float32))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)).astype(np.float32))
    s = (np.arange(1, k + 1, dtype=np.float32) ** -alpha) * 10
    return (u * s) @ v.T + 0.02 * rng.standard_normal((m, n)).astype(np.float32) / np.sqrt(n)


def make_model(path, blocks, width, seed=0):
    rng = np.random.default_rng(seed)
    tensors = []
    for b in range(blocks):
        for p in "qkvo":
            tensors.append((f"blocks.{b}.attn.{p}.weight", planted(rng, width, width, 0.6 + 0.05 * (b % 5))))
        tensors.append((f"blocks.{b}.mlp.up.weight", planted(rng, 4 * width, width, 0.8)))
        tensors.append((f"blocks.{b}.mlp.down.weight", planted(rng, width, 4 * width, 0.8)))
    write_safetensors(path, tensors)
    return sum(a.size for _, a in tensors)


def ww_style_tail(evals, floor, min_tail=10):
    """WeightWatcher / powerlaw-style xmin search: a Python loop over candidate
    xmins, each a full numpy pass over its tail (alpha by MLE, KS distance)."""
    x = np.sort(evals[(evals > floor) & np.isfinite(evals)])
    n = len(x)
    best = (np.inf, 0.0, 0.0, 0)
    for k in range(0, n - min_tail + 1):
        if k > 0 and x[k] == x[k - 1]:
            continue
        tail = x[k:]
        m = len(tail)
        denom = np.sum(np.log(tail / x[k]))
        if not denom > 0:
            continue
        alpha = 1.0 + m / denom
        cdf = 1.0 - (tail / x[k]) ** (1.0 - alpha)
        i = np.arange(m)
        d = max(np.max(np.abs(cdf - i / m)), np.max(np.abs((i + 1) / m - cdf)))
        if d < best[0]:
            best = (d, alpha, x[k], m)
    return {"ks": best[0], "alpha": best[1], "xmin": best[2], "n_tail": best[3]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, f"model_{args.blocks}x{args.width}.safetensors")
    if not os.path.exists(path):
        t = time.perf_counter()
        n = make_model(path, args.blocks, args.width)
        print(f"generated {path}: {n / 1e6:.1f}M parameters, {os.path.getsize(path) / 2**20:.0f} MiB "
              f"({time.perf_counter() - t:.1f} s)")
    layers = read_safetensors(path)
    nparams = sum(a.size for a in layers.values())
    print(f"{path}: {len(layers)} layers, {nparams / 1e6:.1f}M parameters")

    # --- ours --------------------------------------------------------------
    ours_wall = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        r = subprocess.run([args.cli, "inspect", path, "--json", "--values", "-q", "--threads", str(args.threads)],
                           capture_output=True, text=True)
        ours_wall.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"lowrank inspect failed: {r.stderr}")
    rep = json.loads(r.stdout)
    by_name = {l["name"]: l for l in rep["layers"]}

    # --- correctness first ---------------------------------------------------
    worst = 0.0
    scipy_t = 0.0
    for name, a in layers.items():
        t = time.perf_counter()
        s = scipy.linalg.svdvals(a)
        scipy_t += time.perf_counter() - t
        ours = np.array(by_name[name]["singular_values"])
        worst = max(worst, np.max(np.abs(ours - s)) / s[0])
    print(f"max over layers of max_i |sigma_ours - sigma_scipy| / sigma_1 = {worst:.2e}")
    if worst > 1e-4:
        sys.exit("singular values disagree: not timing")

    numpy_t = 0.0
    for name, a in layers.items():
        t = time.perf_counter()
        np.linalg.svd(a, compute_uv=False)
        numpy_t += time.perf_counter() - t

    svd_sum = sum(l["timing"]["svd_s"] for l in rep["layers"])
    print(f"\nsingular values of all {len(layers)} layers ({nparams / 1e6:.1f}M parameters), threads = {args.threads}:")
    print(f"  lowrank inspect (whole command: mmap load, SVDs, all diagnostics, bound): "
          f"{min(ours_wall):.2f} s wall (report.seconds {rep['seconds']:.2f} s; sum of per-layer gesdd {svd_sum:.2f} s)")
    print(f"  scipy.linalg.svdvals, layer after layer:      {scipy_t:.2f} s")
    print(f"  numpy.linalg.svd(compute_uv=False):           {numpy_t:.2f} s")

    # --- ESD tail: xmin search -------------------------------------------------
    ours_esd, ww_t, agree = 0.0, 0.0, 0
    worst_alpha = 0.0
    for name, l in by_name.items():
        s = np.array(l["singular_values"])
        ev = s * s
        floor = l["rank_tolerance"] ** 2
        t = time.perf_counter()
        w = ww_style_tail(ev, floor)
        ww_t += time.perf_counter() - t
        ours_esd += l["timing"]["esd_tail_s"]
        e = l["esd_tail"]
        worst_alpha = max(worst_alpha, abs(e["alpha"] - w["alpha"]) / w["alpha"])
        agree += int(e["n_tail"] == w["n_tail"])
    print(f"\nESD tail fit (xmin search) over the same {len(by_name)} layers' eigenvalues:")
    print(f"  same xmin on {agree}/{len(by_name)} layers, max relative alpha difference {worst_alpha:.1e}")
    print(f"  lowrank (C++, sum of per-layer esd_tail_s): {ours_esd * 1e3:.1f} ms")
    print(f"  WeightWatcher-style numpy loop:             {ww_t * 1e3:.1f} ms  ({ww_t / max(ours_esd, 1e-9):.0f}x)")


if __name__ == "__main__":
    main()
