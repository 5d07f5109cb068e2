#!/usr/bin/env python3
"""PyTorch (CPU, eager) mirror of `lowrank train`'s model, the speed and correctness anchor (issue 30).

The model is the engine's Gpt (include/lowrank/nn/model.hpp) written with torch
ops: token embedding, n_layer blocks of x += Attn(RMSNorm(x)) (causal, rotary
on the interleaved pairs (2i, 2i+1) with angle pos * theta^(-2i/D), scale
1/sqrt(D)) and x += SwiGLU(RMSNorm(x)), a final RMSNorm and an untied LM head,
no biases. Block projections are dense W, low rank (alpha/r) B A or SLTrain
(alpha/r) B A + S on a fixed support; parameter names and shapes are the
engine's ("blocks.0.attn.q.W", gains [1, C], S [nnz, 1]), so its tensors load
one to one. Initialisation follows linear.hpp (W, A uniform +-1/sqrt(in); B
uniform +-1/sqrt(r) or 0; S uniform +-1/sqrt(in); wte N(0, 1)); the optimiser
is the engine's AdamW (decoupled decay on matrices and S, global-norm clip,
linear warm-up then cosine to min_lr_ratio * lr).

Modes:
  check DIR      DIR/case.json (written by tests/nn/torch_mirror_test.cpp:
                 config, parameters, a fixed batch, the engine's loss and
                 gradients) -> torch's loss and gradients on the same weights;
                 exit 0 when they agree to float32 tolerance, 1 when not,
                 77 when torch is missing (the test then skips).
  speed          tokens/s of PyTorch eager and of `lowrank train` on the same
                 model, data and batch, one thread each, run back to back
                 (ROUNDS alternating rounds), CPU-time and wall-time rates and
                 their ratio; one JSON line per round and a summary.
  curves         trains the mirror on a text file like `lowrank train` does
                 (random windows, 90/10 split, validation every N steps on
                 fixed batches) and writes a CSV with the engine's columns.

  python3 bench/torch_mirror.py speed --lowrank build/lowrank --data ../shared/data/text/tinyshakespeare.txt
  python3 bench/torch_mirror.py curves --data ../shared/data/text/tinyshakespeare.txt --steps 500 --out t.csv
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

# Every mode runs torch on one thread. torch.set_num_threads(1) limits its
# OpenMP pool but not OpenBLAS's own threads (Debian's torch calls OpenBLAS),
# which would add a second, spinning thread to torch's CPU time; OpenBLAS
# reads this when it loads, so it is set before the import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the check mode reports 77 (skip), the others exit 2
    torch = None


def hidden_size(width, hidden=0):
    if hidden > 0:
        return hidden
    return ((8 * width + 2) // 3 + 15) // 16 * 16


class Mirror:
    """The engine's Gpt as a dict of named torch tensors and a forward function."""

    def __init__(self, cfg, gen=None):
        self.cfg = cfg
        C, V, L = cfg["width"], cfg["vocab"], cfg["n_layer"]
        self.C, self.V, self.H = C, V, cfg["n_head"]
        self.D = C // self.H
        self.Fh = hidden_size(C, cfg.get("hidden", 0))
        self.kind = cfg.get("parameterization", "dense")
        self.r = cfg.get("rank", 0) or max(1, C // 4)
        self.scale = cfg.get("alpha", 32.0) / self.r
        self.eps = cfg.get("norm_eps", 1e-5)
        self.b_init = cfg.get("b_init", "default")
        if self.b_init == "default":
            self.b_init = "random" if self.kind == "lowrank" else "zero"
        self.p = {}
        self.support = {}
        g = gen
        u = lambda shape, b: (torch.rand(shape, generator=g) * 2 - 1) * b
        self.p["wte"] = torch.randn(V, C, generator=g)
        for l in range(L):
            pre = f"blocks.{l}"
            self.p[pre + ".ln1"] = torch.ones(1, C)
            for nm in ("q", "k", "v", "o"):
                self._linear(f"{pre}.attn.{nm}", C, C, u, g, cfg.get("delta", 0.03))
            self.p[pre + ".ln2"] = torch.ones(1, C)
            self._linear(f"{pre}.mlp.gate", C, self.Fh, u, g, cfg.get("delta", 0.03))
            self._linear(f"{pre}.mlp.up", C, self.Fh, u, g, cfg.get("delta", 0.03))
            self._linear(f"{pre}.mlp.down", self.Fh, C, u, g, cfg.get("delta", 0.03))
        self.p["ln_f"] = torch.ones(1, C)
        self.p["lm_head.W"] = u((V, C), 1 / math.sqrt(C))
        for t in self.p.values():
            t.requires_grad_(True)
        T = cfg["context"]
        pos = torch.arange(T, dtype=torch.float64)
        freq = cfg.get("rope_theta", 10000.0) ** (-2.0 * torch.arange(self.D // 2, dtype=torch.float64) / self.D)
        ang = pos[:, None] * freq[None, :]
        self.cos, self.sin = ang.cos().float(), ang.sin().float()
        self.mask = torch.ones(T, T, dtype=torch.bool).triu(1)

    def _linear(self, name, fin, fout, u, g, delta):
        b = 1 / math.sqrt(fin)
        if self.kind in ("dense", "galore"):
            self.p[name + ".W"] = u((fout, fin), b)
            return
        self.p[name + ".A"] = u((self.r, fin), b)
        if self.b_init == "random":
            self.p[name + ".B"] = u((fout, self.r), 1 / math.sqrt(self.r))
        else:
            self.p[name + ".B"] = torch.zeros(fout, self.r)
        if self.kind == "sltrain":
            nnz = 0 if delta == 0 else max(1, round(delta * fin * fout))
            self.support[name] = torch.randperm(fin * fout, generator=g)[:nnz].sort().values
            self.p[name + ".S"] = u((nnz, 1), b)

    def weight(self, name, fin, fout):
        if self.kind in ("dense", "galore"):
            return self.p[name + ".W"]
        w = self.scale * (self.p[name + ".B"] @ self.p[name + ".A"])
        if self.kind == "sltrain":
            w = w.flatten().index_add(0, self.support[name], self.p[name + ".S"].flatten()).view(fout, fin)
        return w

    def lin(self, name, x, fin, fout):
        if self.kind == "lowrank":  # the engine's order: (x A^T) B^T s
            return (x @ self.p[name + ".A"].t()) @ self.p[name + ".B"].t() * self.scale
        return x @ self.weight(name, fin, fout).t()

    def rms(self, x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * g

    def rope(self, x, T):  # x [B, T, H, D]
        x2 = x.view(*x.shape[:-1], self.D // 2, 2)
        a0, b0 = x2[..., 0], x2[..., 1]
        c, s = self.cos[:T, None, :], self.sin[:T, None, :]
        return torch.stack((a0 * c - b0 * s, a0 * s + b0 * c), dim=-1).flatten(-2)

    def loss(self, idx, targets):
        Bn, T = idx.shape
        C, H, D, Fh = self.C, self.H, self.D, self.Fh
        x = self.p["wte"][idx]
        for l in range(self.cfg["n_layer"]):
            pre = f"blocks.{l}"
            h = self.rms(x, self.p[pre + ".ln1"])
            q = self.rope(self.lin(pre + ".attn.q", h, C, C).view(Bn, T, H, D), T).transpose(1, 2)
            k = self.rope(self.lin(pre + ".attn.k", h, C, C).view(Bn, T, H, D), T).transpose(1, 2)
            v = self.lin(pre + ".attn.v", h, C, C).view(Bn, T, H, D).transpose(1, 2)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
            att = s.masked_fill(self.mask[:T, :T], float("-inf")).softmax(-1) @ v
            x = x + self.lin(pre + ".attn.o", att.transpose(1, 2).reshape(Bn, T, C), C, C)
            h = self.rms(x, self.p[pre + ".ln2"])
            a = self.lin(pre + ".mlp.gate", h, C, Fh)
            b = self.lin(pre + ".mlp.up", h, C, Fh)
            x = x + self.lin(pre + ".mlp.down", F.silu(a) * b, Fh, C)
        logits = self.rms(x, self.p["ln_f"]) @ self.p["lm_head.W"].t()
        return F.cross_entropy(logits.view(-1, self.V), targets.reshape(-1))

    def decayed(self, name):  # linear.hpp's ParamKind: Weight and Sparse decay; embedding and gains do not
        return name != "wte" and not name.endswith((".ln1", ".ln2")) and name != "ln_f"


class AdamW:
    """The engine's AdamW (optim.cpp): decay, then m, v and m/bc1 / (sqrt(v/bc2) + eps)."""

    def __init__(self, model, o):
        self.m, self.o, self.t = model, o, 0
        self.state = {n: (torch.zeros_like(p), torch.zeros_like(p)) for n, p in model.p.items()}

    def lr(self, step):
        o = self.o
        warm = round(o["warmup_fraction"] * o["total_steps"]) if o.get("warmup_fraction", 0) > 0 else o["warmup_steps"]
        if step < warm:
            return o["lr"] * (step + 1) / warm
        lo = o["lr"] * o["min_lr_ratio"]
        p = min(1.0, (step - warm) / max(1, o["total_steps"] - warm))
        return lo + 0.5 * (o["lr"] - lo) * (1 + math.cos(math.pi * p))

    @torch.no_grad()
    def step(self):
        o = self.o
        ps = self.m.p
        norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in ps.values()))
        clip = o["grad_clip"] / norm if o["grad_clip"] > 0 and norm > o["grad_clip"] else 1.0
        lr = self.lr(self.t)
        self.t += 1
        bc1, bc2 = 1 - o["beta1"] ** self.t, 1 - o["beta2"] ** self.t
        for n, p in ps.items():
            g = p.grad * clip
            if self.m.decayed(n) and o["weight_decay"] > 0:
                p.mul_(1 - lr * o["weight_decay"])
            m, v = self.state[n]
            m.mul_(o["beta1"]).add_(g, alpha=1 - o["beta1"])
            v.mul_(o["beta2"]).addcmul_(g, g, value=1 - o["beta2"])
            p.sub_(lr * ((m / bc1) / ((v / bc2).sqrt() + o["eps"])))
            p.grad = None
        return norm


ENGINE_OPTIM = {"lr": 1e-3, "min_lr_ratio": 0.1, "warmup_steps": 100, "warmup_fraction": 0.0, "beta1": 0.9,
                "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0}


def load_text(path, val_fraction=0.1):
    data = open(path, "rb").read()
    vocab = sorted(set(data))
    lut = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([lut[c] for c in data], dtype=torch.long)
    n_train = int(len(ids) * (1 - val_fraction))
    return ids[:n_train], ids[n_train:], len(vocab)


def batch(ids, B, T, gen):
    off = torch.randint(0, len(ids) - T, (B,), generator=gen)
    x = torch.stack([ids[o:o + T] for o in off.tolist()])
    y = torch.stack([ids[o + 1:o + T + 1] for o in off.tolist()])
    return x, y


def model_cfg(a, vocab):
    return {"vocab": vocab, "context": a.context, "n_layer": a.layers, "n_head": a.heads, "width": a.width,
            "hidden": a.hidden, "parameterization": a.parameterization, "rank": a.rank, "alpha": a.alpha,
            "delta": a.delta, "b_init": a.b_init}


def cmd_check(a):
    if torch is None:
        print("torch_mirror.py: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
        return 77
    torch.set_num_threads(1)
    bad = 0
    for d in a.dir:
        print(f"{d}:")
        bad += check_one(os.path.join(d, "case.json"), a.rtol) != 0
    return 1 if bad else 0


def check_one(path, rtol):
    case = json.load(open(path))
    cfg = case["config"]
    m = Mirror(cfg, torch.Generator().manual_seed(0))
    for name, t in case["params"].items():
        if name not in m.p:
            print(f"check: the engine has a parameter {name} the mirror lacks", file=sys.stderr)
            return 1
        val = torch.tensor(t["data"], dtype=torch.float32).view(t["shape"])
        if tuple(val.shape) != tuple(m.p[name].shape):
            print(f"check: {name} has shape {tuple(val.shape)} in the engine, {tuple(m.p[name].shape)} here", file=sys.stderr)
            return 1
        m.p[name] = val.clone().requires_grad_(True)
    for name, idx in case.get("supports", {}).items():
        m.support[name] = torch.tensor(idx, dtype=torch.long)
    if set(case["params"]) != set(m.p):
        print(f"check: parameter sets differ: {sorted(set(m.p) ^ set(case['params']))}", file=sys.stderr)
        return 1
    B, T = case["batch"], case["context"]
    x = torch.tensor(case["tokens"]).view(B, T)
    y = torch.tensor(case["targets"]).view(B, T)
    loss = m.loss(x, y)
    loss.backward()
    ok = True
    dl = abs(float(loss) - case["loss"])
    print(f"loss: engine {case['loss']:.7f}, torch {float(loss):.7f}, |diff| {dl:.2e}")
    if dl > 1e-5 * max(1.0, abs(case["loss"])):
        ok = False
    worst = 0.0
    for name, t in case["grads"].items():
        ours = torch.tensor(t["data"], dtype=torch.float32).view(t["shape"])
        theirs = m.p[name].grad if m.p[name].grad is not None else torch.zeros_like(ours)
        scale = float(theirs.abs().max()) + 1e-6
        err = float((ours - theirs).abs().max()) / scale
        worst = max(worst, err)
        if err > rtol:
            ok = False
            print(f"gradient {name}: max |diff| / max |grad| = {err:.2e} > {rtol}", file=sys.stderr)
    print(f"gradients: {len(case['grads'])} tensors, worst max|diff|/max|grad| {worst:.2e} (tolerance {rtol})")
    return 0 if ok else 1


def train_torch(a, steps, gen_seed, log=None):
    """Trains the mirror like `lowrank train`; returns (tokens/s wall, tokens/s CPU, rows)."""
    train_ids, val_ids, vocab = load_text(a.data)
    cfg = model_cfg(a, vocab)
    m = Mirror(cfg, torch.Generator().manual_seed(gen_seed))
    o = dict(ENGINE_OPTIM, lr=a.lr, warmup_steps=a.warmup, total_steps=max(1, steps))
    opt = AdamW(m, o)
    if getattr(a, "torch_optim", False):
        # Speed: PyTorch as its users write it, torch.optim.AdamW (foreach) and
        # clip_grad_norm_, the same update up to where eps enters (sqrt(v)/sqrt(bc2) + eps).
        dec = [p for n, p in m.p.items() if m.decayed(n)]
        rest = [p for n, p in m.p.items() if not m.decayed(n)]
        topt = torch.optim.AdamW([{"params": dec, "weight_decay": o["weight_decay"]},
                                  {"params": rest, "weight_decay": 0.0}], lr=o["lr"],
                                 betas=(o["beta1"], o["beta2"]), eps=o["eps"], foreach=True)
        params = list(m.p.values())
        engine = opt  # its lr() is the schedule

        class _Torch:
            t = 0

            def lr(self, step):
                return engine.lr(step)

            def step(self):
                norm = float(torch.nn.utils.clip_grad_norm_(params, o["grad_clip"]))
                for g in topt.param_groups:
                    g["lr"] = engine.lr(self.t)
                topt.step()
                topt.zero_grad(set_to_none=True)
                self.t += 1
                return norm

        opt = _Torch()
    gen = torch.Generator().manual_seed(gen_seed + 1)
    val_gen_seed = gen_seed + 2
    rows = []

    def evaluate():
        g = torch.Generator().manual_seed(val_gen_seed)
        with torch.no_grad():
            src = val_ids if len(val_ids) > a.context else train_ids
            return sum(float(m.loss(*batch(src, a.batch, a.context, g))) for _ in range(a.eval_batches)) / a.eval_batches

    w0, c0 = time.perf_counter(), time.process_time()
    eval_s = 0.0
    for s in range(1, steps + 1):
        x, y = batch(train_ids, a.batch, a.context, gen)
        loss = m.loss(x, y)
        loss.backward()
        lr = opt.lr(opt.t)
        norm = opt.step()
        val = ""
        if log is not None and a.eval_interval > 0 and (s % a.eval_interval == 0 or s == steps):
            e0 = time.perf_counter()
            val = f"{evaluate():.6f}"
            eval_s += time.perf_counter() - e0
        rows.append(f"{s},{float(loss):.6f},{val},{lr:.6g},{norm:.6g},0,{time.perf_counter() - w0:.3f}")
    wall, cpu = time.perf_counter() - w0 - eval_s, time.process_time() - c0
    if log is not None:
        with open(log, "w") as f:
            f.write("step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n")
            f.write("\n".join(rows) + "\n")
    tok = steps * a.batch * a.context
    return tok / wall, tok / cpu


def run_lowrank(a, steps, cpu_seconds=False):
    """One `lowrank train` run on the same model; returns (tokens/s wall as it reports, tokens/s CPU of the process),
    or with cpu_seconds the process's CPU seconds instead of the CPU rate."""
    cmd = [a.lowrank, "train", "--data", a.data, "--parameterization", a.parameterization, "--layers", str(a.layers),
           "--heads", str(a.heads), "--width", str(a.width), "--context", str(a.context), "--batch", str(a.batch),
           "--steps", str(steps), "--lr", str(a.lr), "--warmup", str(a.warmup), "--eval-interval", "0",
           "--eval-batches", "1", "--threads", "1", "--json", "--quiet"]
    if a.hidden:
        cmd += ["--hidden", str(a.hidden)]
    if a.parameterization != "dense":
        cmd += ["--rank", str(a.rank or a.width // 4), "--alpha", str(a.alpha), "--delta", str(a.delta),
                "--b-init", a.b_init]
    if a.arm:  # experiments/sltrain/arm.cpp: the same library calls without the CLI
        cmd = [a.arm, a.data, os.devnull, f"parameterization={a.parameterization}", f"width={a.width}",
               f"steps={steps}", f"lr={a.lr}", f"warmup={a.warmup}", "eval_interval=0", "eval_batches=1"]
        if a.parameterization != "dense":
            cmd += [f"rank={a.rank or a.width // 4}", f"alpha={a.alpha}", f"delta={a.delta}", f"b_init={a.b_init}"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    j = json.loads(out.stdout.replace("\n", " "))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return j["tokens_per_s"], cpu if cpu_seconds else steps * a.batch * a.context / cpu


def cmd_speed(a):
    if torch is None:
        print("torch_mirror.py: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    res = []
    for rnd in range(a.rounds):
        tw, tc = train_torch(a, a.steps, a.seed)
        lw, lcpu = run_lowrank(a, a.steps, cpu_seconds=True)
        lc = a.steps * a.batch * a.context / lcpu
        row = {"round": rnd, "torch_tokens_per_s_wall": round(tw), "torch_tokens_per_s_cpu": round(tc),
               "lowrank_tokens_per_s_wall": round(lw), "lowrank_tokens_per_s_cpu": round(lc),
               "ratio_cpu": round(lc / tc, 3), "ratio_wall": round(lw / tw, 3)}
        if a.net:
            # Ours' CPU time above includes its process start, data loading and model set-up, which torch's
            # (timed from its first step) does not: subtract a 1-step run's CPU time, leaving steps 2..S.
            _, l1 = run_lowrank(a, 1, cpu_seconds=True)
            net = (a.steps - 1) * a.batch * a.context / max(lcpu - l1, 1e-9)
            row.update({"lowrank_startup_cpu_s": round(l1, 3), "lowrank_tokens_per_s_cpu_net": round(net),
                        "ratio_cpu_net": round(net / tc, 3)})
        print(json.dumps(row), flush=True)
        res.append(row)
    med = lambda k: sorted(r[k] for r in res)[len(res) // 2]
    print(json.dumps({"summary": True, "torch": torch.__version__, "threads": 1, "steps": a.steps,
                      "parameterization": a.parameterization, "width": a.width, "layers": a.layers,
                      "batch": a.batch, "context": a.context,
                      "median_ratio_cpu": med("ratio_cpu"), "median_ratio_wall": med("ratio_wall"),
                      **({"median_ratio_cpu_net": med("ratio_cpu_net")} if a.net else {}),
                      "median_lowrank_tokens_per_s_cpu": med("lowrank_tokens_per_s_cpu"),
                      "median_torch_tokens_per_s_cpu": med("torch_tokens_per_s_cpu")}))
    return 0


def cmd_curves(a):
    if torch is None:
        print("torch_mirror.py: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    tw, tc = train_torch(a, a.steps, a.seed, log=a.out)
    print(json.dumps({"out": a.out, "steps": a.steps, "tokens_per_s_wall": round(tw), "tokens_per_s_cpu": round(tc)}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir", nargs="+")
    c.add_argument("--rtol", type=float, default=1e-4, help="max |diff| / max |grad| per tensor")
    for name in ("speed", "curves"):
        s = sub.add_parser(name)
        s.add_argument("--data", required=True)
        s.add_argument("--layers", type=int, default=4)
        s.add_argument("--heads", type=int, default=4)
        s.add_argument("--width", type=int, default=256)
        s.add_argument("--hidden", type=int, default=0)
        s.add_argument("--context", type=int, default=64)
        s.add_argument("--batch", type=int, default=12)
        s.add_argument("--parameterization", default="dense", choices=["dense", "lowrank", "sltrain"])
        s.add_argument("--rank", type=int, default=0)
        s.add_argument("--alpha", type=float, default=32.0)
        s.add_argument("--delta", type=float, default=0.03)
        s.add_argument("--b-init", dest="b_init", default="default", choices=["default", "zero", "random"])
        s.add_argument("--lr", type=float, default=1e-3)
        s.add_argument("--warmup", type=int, default=100)
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--steps", type=int, default=30 if name == "speed" else 500)
        s.add_argument("--torch-optim", dest="torch_optim", action="store_true",
                       help="torch.optim.AdamW + clip_grad_norm_ instead of the engine's AdamW written in torch")
        s.add_argument("--eval-interval", type=int, default=50)
        s.add_argument("--eval-batches", type=int, default=20)
        if name == "speed":
            s.add_argument("--lowrank", default="build/lowrank")
            s.add_argument("--rounds", type=int, default=3)
            s.add_argument("--net", action="store_true",
                           help="also time a 1-step run of ours and report its rate without start-up (ratio_cpu_net)")
            s.add_argument("--arm", default="", help="run experiments/sltrain/arm.cpp's binary instead of the CLI")
        else:
            s.add_argument("--out", required=True)
    a = ap.parse_args()
    return {"check": cmd_check, "speed": cmd_speed, "curves": cmd_curves}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
