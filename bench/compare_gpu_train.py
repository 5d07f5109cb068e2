#!/usr/bin/env python3
"""Training throughput on a GPU: `lowrank train --device cuda` beside the same
model in eager PyTorch (bench/torch_gpt.py), same sizes, batch and context,
in one run; prints tokens/s of both, the ratio lowrank / PyTorch and peak
memory (lowrank: the engine's device buffers, `device_bytes` of --json;
PyTorch: torch.cuda.max_memory_allocated).

lowrank's figure is steady state: tokens between step --skip and the last
step over the elapsed time between them (from its --log CSV), so the first
steps' allocations and the final validation pass are not counted. It includes
what a lowrank GPU step does today: parameters up and gradients down over
PCIe and the AdamW step on the host (include/lowrank/nn/gpu.hpp).

  python3 bench/compare_gpu_train.py --build build-cuda
  python3 bench/compare_gpu_train.py --build build-cuda --sizes baby --methods dense,lowrank,sltrain

Needs a -DLOWRANK_CUDA=ON build, a CUDA device and PyTorch.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# name: (layers, heads, width, context, batch) -- nanoGPT's CPU "baby" model and
# its shakespeare-char GPU model.
SIZES = {"baby": (4, 4, 128, 64, 12), "shakespeare-char": (6, 6, 384, 256, 64)}


def lowrank_run(exe, data, size, method, steps, skip):
    L, H, C, T, B = SIZES[size]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.csv")
        cmd = [exe, "train", "--data", data, "--device", "cuda", "--parameterization", method, "--layers", str(L),
               "--heads", str(H), "--width", str(C), "--context", str(T), "--batch", str(B), "--steps", str(steps),
               "--eval-interval", "0", "--eval-batches", "1", "--log", log, "--json", "-q"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        res = json.loads(out)
        rows = list(csv.DictReader(open(log)))
    a, b = rows[skip - 1], rows[-1]
    tokens = (int(b["step"]) - int(a["step"])) * B * T
    tps = tokens / (float(b["elapsed_s"]) - float(a["elapsed_s"]))
    mem = res.get("memory", {})
    return {"tokens_per_s": tps, "device_bytes": mem.get("device_bytes", 0), "params": mem.get("param_count", 0)}


def torch_run(size, method, steps):
    L, H, C, T, B = SIZES[size]
    cmd = [sys.executable, os.path.join(HERE, "torch_gpt.py"), "--layers", str(L), "--heads", str(H), "--width", str(C),
           "--context", str(T), "--batch", str(B), "--steps", str(steps), "--parameterization", method]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build-cuda")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "text", "tinyshakespeare_head.txt"))
    ap.add_argument("--sizes", default="baby,shakespeare-char")
    ap.add_argument("--methods", default="dense")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--skip", type=int, default=20, help="lowrank steps left out of the steady-state figure")
    a = ap.parse_args()
    exe = os.path.join(a.build, "lowrank")
    print("| size | method | params | lowrank tok/s | PyTorch eager tok/s | lowrank / PyTorch | lowrank device MiB | PyTorch peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size in a.sizes.split(","):
        for method in a.methods.split(","):
            ours = lowrank_run(exe, a.data, size, method, a.steps, a.skip)
            theirs = torch_run(size, method, a.steps)
            print(f"| {size} | {method} | {ours['params']:,} | {ours['tokens_per_s']:.0f} | {theirs['tokens_per_s']:.0f} "
                  f"| {ours['tokens_per_s'] / theirs['tokens_per_s']:.2f} | {ours['device_bytes'] / 2**20:.1f} "
                  f"| {theirs['peak_cuda_bytes'] / 2**20:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
