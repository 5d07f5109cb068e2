#!/usr/bin/python3
"""Small SVD cases timed interleaved, best of --repeat, wall and CPU seconds (issue 29):
MovieLens-100k k = 20 through lowrank.svd_info against scipy svds(tol=1e-8), and every
triplet of N(0,1) x 0.99^j matrices, lowrank.svd_info(a, n, "full") against
numpy.linalg.svd (with and without vectors). Every case runs once per thread setting in
--threads (threadpoolctl caps OpenBLAS and OpenMP for both tools; "default" = no cap, what
a user gets), all in one process, so the rows are back to back.
Usage: bench/compare_svd_small.py [--python build/python] [--threads 1,default]
                                  [--full 500x375,1000x750] [--repeat 7] [--rounds 2]
"""
import argparse, os, sys, time
import numpy as np, scipy.sparse as sp
from scipy.sparse.linalg import svds
from threadpoolctl import threadpool_info, threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("--python", default="build/python")
ap.add_argument("--threads", default="1,default")
ap.add_argument("--full", default="500x375,1000x750", help="m x n of the full-SVD cases ('' for none)")
ap.add_argument("--repeat", type=int, default=7, help="best of this many calls (full SVD: half, at least 2)")
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--movielens", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                                                   "data", "movielens-100k", "u.data"))
args = ap.parse_args()
sys.path.insert(0, args.python)
import lowrank  # noqa: E402


def best(f, r):
    bw = bc = 1e9
    for _ in range(r):
        t = time.perf_counter(); c = time.process_time(); f()
        bc = min(bc, time.process_time() - c); bw = min(bw, time.perf_counter() - t)
    return bw, bc


def row(case, threads, l, s, peer):
    print(f"{case:28s} {threads:>7s}  lowrank wall {l[0]:.4f} cpu {l[1]:.4f} | {peer} wall {s[0]:.4f} "
          f"cpu {s[1]:.4f} | {peer}/lowrank wall {s[0] / l[0]:.2f} cpu {s[1] / l[1]:.2f}", flush=True)


cases = []
if os.path.exists(args.movielens):
    d = np.loadtxt(args.movielens, dtype=np.int64)
    c = sp.csr_matrix((d[:, 2].astype(float), (d[:, 0] - 1, d[:, 1] - 1)))
    ref = np.linalg.svd(c.toarray(), compute_uv=False)[:20]
    e = np.max(np.abs(np.sort(lowrank.svd_info(c, 20)["S"])[::-1] - ref) / ref)
    print(f"movielens: lowrank max rel sv error {e:.1e}")
    cases.append(("movielens k=20", args.repeat, lambda: lowrank.svd_info(c, 20),
                  lambda: svds(c, k=20, tol=1e-8), "svds"))
else:
    print(f"movielens: {args.movielens} absent, case skipped")
rng = np.random.default_rng(0)
for shape in filter(None, args.full.split(",")):
    m, n = map(int, shape.split("x"))
    a = rng.standard_normal((m, n)) * (0.99 ** np.arange(n))
    r = max(2, args.repeat // 2)
    cases.append((f"full {m}x{n}", r, lambda a=a, n=n: lowrank.svd_info(a, n, "full"),
                  lambda a=a: np.linalg.svd(a, full_matrices=False), "numpy"))
    cases.append((f"full {m}x{n} values only", r,
                  lambda a=a, n=n: lowrank.svd_info(a, n, "full", compute_vectors=False),
                  lambda a=a: np.linalg.svd(a, compute_uv=False), "numpy"))
print("load", os.getloadavg(), "env threads", os.environ.get("OPENBLAS_NUM_THREADS"),
      os.environ.get("OMP_NUM_THREADS"), os.environ.get("OMP_WAIT_POLICY"))
print("pools", [(p["internal_api"], p.get("threading_layer"), p["num_threads"]) for p in threadpool_info()])
for rnd in range(args.rounds):
    for t in args.threads.split(","):
        with threadpool_limits(limits=None if t == "default" else int(t)):
            for name, reps, ours, peer, pname in cases:
                row(name, t, best(ours, reps), best(peer, reps), pname)
print("load", os.getloadavg())
