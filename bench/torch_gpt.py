#!/usr/bin/env python3
"""The lowrank training engine's Gpt written in PyTorch, for the GPU comparison.

Mirrors include/lowrank/nn/model.hpp: token embedding, n_layer blocks of
x += Attn(RMSNorm(x)) (causal, rotary on the interleaved pairs (2i, 2i+1),
n_head heads) and x += SwiGLU-MLP(RMSNorm(x)), a final RMSNorm and an untied
LM head, no biases; block projections dense, low-rank (alpha/r) B A, or
SLTrain (alpha/r) B A + S on a fixed random support. AdamW (beta 0.9, 0.99,
weight decay 0.1), global-norm clip 1.0, as `lowrank train`.

Times `--steps` training steps on random tokens after `--warmup` untimed ones
(eager PyTorch: no torch.compile) and prints one JSON line: tokens/s, step
time, peak CUDA memory (torch.cuda.max_memory_allocated), parameter count.

  python3 bench/torch_gpt.py --layers 4 --heads 4 --width 128 --context 64 --batch 12 --steps 200
  python3 bench/torch_gpt.py --layers 6 --heads 6 --width 384 --context 256 --batch 64 --steps 100

bench/compare_gpu_train.py runs it beside `lowrank train --device cuda`.
Needs PyTorch (the GPU machine has it; Debian's CI machine does not).
"""
import argparse
import json
import math
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=0, help="SwiGLU width (0: 8C/3 rounded up to 16, as lowrank)")
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=65)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--parameterization", choices=["dense", "lowrank", "sltrain"], default="dense")
    ap.add_argument("--rank", type=int, default=0, help="0: width / 4")
    ap.add_argument("--alpha", type=float, default=32.0)
    ap.add_argument("--delta", type=float, default=0.03)
    ap.add_argument("--attention", choices=["sdpa", "naive"], default="sdpa",
                    help="sdpa: F.scaled_dot_product_attention(is_causal=True); naive: explicit softmax")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("torch_gpt.py: PyTorch is not installed here", file=sys.stderr)
        return 2
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("torch_gpt.py: no CUDA device", file=sys.stderr)
        return 2
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    C, H, T, V = a.width, a.heads, a.context, a.vocab
    D = C // H
    F_ = a.hidden or ((8 * C + 2) // 3 + 15) // 16 * 16
    r = a.rank or max(1, C // 4)

    class Proj(torch.nn.Module):
        def __init__(self, fin, fout):
            super().__init__()
            b = 1 / math.sqrt(fin)
            self.kind = a.parameterization
            if self.kind == "dense":
                self.W = torch.nn.Parameter(torch.empty(fout, fin).uniform_(-b, b))
            else:
                self.A = torch.nn.Parameter(torch.empty(r, fin).uniform_(-b, b))
                self.B = torch.nn.Parameter(torch.empty(fout, r).uniform_(-1 / math.sqrt(r), 1 / math.sqrt(r)))
                self.s = a.alpha / r
            if self.kind == "sltrain":
                nnz = max(1, round(a.delta * fin * fout))
                self.register_buffer("idx", torch.randperm(fin * fout)[:nnz].sort().values)
                self.S = torch.nn.Parameter(torch.empty(nnz).uniform_(-b, b))
                self.shape = (fout, fin)

        def forward(self, x):
            if self.kind == "dense":
                return x @ self.W.t()
            if self.kind == "lowrank":
                return (x @ self.A.t()) @ self.B.t() * self.s
            w = (self.B @ self.A) * self.s
            w = w.flatten().index_add(0, self.idx, self.S).view(self.shape)
            return x @ w.t()

    class RMSNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.g = torch.nn.Parameter(torch.ones(C))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.g

    pos = torch.arange(T, dtype=torch.float64)
    freq = 10000.0 ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / D)
    ang = pos[:, None] * freq[None, :]
    cos_t, sin_t = ang.cos().float().to(dev), ang.sin().float().to(dev)

    def rope(x):  # x [B, H, T, D], pairs (2i, 2i+1)
        x2 = x.view(*x.shape[:-1], D // 2, 2)
        a0, b0 = x2[..., 0], x2[..., 1]
        c, s = cos_t[: x.shape[2]], sin_t[: x.shape[2]]
        return torch.stack((a0 * c - b0 * s, a0 * s + b0 * c), dim=-1).flatten(-2)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = RMSNorm(), RMSNorm()
            self.q, self.k, self.v, self.o = Proj(C, C), Proj(C, C), Proj(C, C), Proj(C, C)
            self.gate, self.up, self.down = Proj(C, F_), Proj(C, F_), Proj(F_, C)

        def forward(self, x):
            Bn, Tn, _ = x.shape
            h = self.ln1(x)
            split = lambda y: y.view(Bn, Tn, H, D).transpose(1, 2)
            q, k, v = rope(split(self.q(h))), rope(split(self.k(h))), split(self.v(h))
            if a.attention == "sdpa":
                att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
                mask = torch.ones(Tn, Tn, dtype=torch.bool, device=x.device).triu(1)
                att = s.masked_fill(mask, float("-inf")).softmax(-1) @ v
            x = x + self.o(att.transpose(1, 2).reshape(Bn, Tn, C))
            h = self.ln2(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h))

    class Gpt(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = torch.nn.Parameter(torch.randn(V, C))
            self.blocks = torch.nn.ModuleList(Block() for _ in range(a.layers))
            self.ln_f = RMSNorm()
            self.head = torch.nn.Parameter(torch.empty(V, C).uniform_(-1 / math.sqrt(C), 1 / math.sqrt(C)))

        def forward(self, idx, targets):
            x = self.wte[idx]
            for b in self.blocks:
                x = b(x)
            logits = self.ln_f(x) @ self.head.t()
            return F.cross_entropy(logits.view(-1, V), targets.view(-1))

    model = Gpt().to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "wte" or n.endswith(".S")]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n != "wte" or n.endswith(".S"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    gen = torch.Generator(device="cpu").manual_seed(a.seed)

    def step():
        x = torch.randint(0, V, (a.batch, T), generator=gen).to(dev, non_blocking=True)
        y = torch.randint(0, V, (a.batch, T), generator=gen).to(dev, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    float(loss)  # waits for the device
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    out = {
        "tool": "pytorch-eager",
        "torch": torch.__version__,
        "parameterization": a.parameterization,
        "layers": a.layers, "heads": H, "width": C, "context": T, "batch": a.batch, "vocab": V,
        "params": sum(p.numel() for p in model.parameters()),
        "steps": a.steps,
        "step_ms": 1e3 * dt / a.steps,
        "tokens_per_s": a.steps * a.batch * T / dt,
        "peak_cuda_bytes": torch.cuda.max_memory_allocated() if dev.type == "cuda" else 0,
        "attention": a.attention,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
