"""Before/after CPU-time rate of `lowrank train` for two binaries, alternated (issue 30, docs/benchmarks.md
"GEMM epilogues"):  ab_binaries.py STEPS ROUNDS WIDTHS PARAMS BEFORE AFTER, e.g.
    /usr/bin/python3 experiments/sltrain/ab_binaries.py 30 2 128,256 dense,lowrank,sltrain /tmp/main/lowrank build/lowrank
"""
import json, os, resource, subprocess, sys
data = "../shared/data/text/tinyshakespeare.txt"
bins = {"before": sys.argv[5], "after": sys.argv[6]}
steps = int(sys.argv[1]); rounds = int(sys.argv[2]); widths = [int(w) for w in sys.argv[3].split(",")]
params = sys.argv[4].split(",")
env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
for w in widths:
  for p in params:
    res = {k: [] for k in bins}
    for r in range(rounds):
      for k, b in bins.items():
        cmd = [b, "train", "--data", data, "--parameterization", p, "--layers", "4", "--heads", "4", "--width", str(w),
               "--context", "64", "--batch", "12", "--steps", str(steps), "--lr", "1e-3", "--warmup", "100",
               "--eval-interval", "0", "--eval-batches", "1", "--threads", "1", "--json", "--quiet"]
        if p != "dense": cmd += ["--rank", str(w // 4)]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        res[k].append(cpu / steps * 1e3)
    print(json.dumps({"width": w, "param": p, "steps": steps, "before_ms_per_step": [round(x, 1) for x in res["before"]],
                      "after_ms_per_step": [round(x, 1) for x in res["after"]]}), flush=True)
