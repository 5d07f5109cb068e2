#!/usr/bin/python3
"""Small SVD cases timed interleaved, best of 7 (full: 3), wall and CPU seconds (issue 29):
MovieLens-100k k = 20 through lowrank.svd_info against scipy svds(tol=1e-8), and every
triplet of a 1000 x 750 matrix, lowrank.svd_info(a, 750, "full") against numpy.linalg.svd.
Usage: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench/compare_svd_small.py [build/python]
"""
import sys, time, os, numpy as np, scipy.sparse as sp
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "build/python")
import lowrank
from scipy.sparse.linalg import svds
def best(f, r=7):
    bw = bc = 1e9
    for _ in range(r):
        t = time.perf_counter(); c = time.process_time(); f()
        bc = min(bc, time.process_time() - c); bw = min(bw, time.perf_counter() - t)
    return bw, bc
d = np.loadtxt(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "movielens-100k", "u.data"), dtype=np.int64)
c = sp.csr_matrix((d[:, 2].astype(float), (d[:, 0] - 1, d[:, 1] - 1)))
rng = np.random.default_rng(0)
a = rng.standard_normal((1000, 750)) * (0.99 ** np.arange(750))
print("load", os.getloadavg()[0], "threads", os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"))
for rnd in range(2):
    l = best(lambda: lowrank.svd_info(c, 20)); s = best(lambda: svds(c, k=20, tol=1e-8))
    print(f"movielens k=20  lowrank wall {l[0]:.4f} cpu {l[1]:.4f} | svds wall {s[0]:.4f} cpu {s[1]:.4f} | svds/lowrank wall {s[0]/l[0]:.2f} cpu {s[1]/l[1]:.2f}")
    l = best(lambda: lowrank.svd_info(a, 750, "full"), 3); s = best(lambda: np.linalg.svd(a, full_matrices=False), 3)
    print(f"full 1000x750   lowrank wall {l[0]:.4f} cpu {l[1]:.4f} | numpy wall {s[0]:.4f} cpu {s[1]:.4f} | numpy/lowrank wall {s[0]/l[0]:.2f} cpu {s[1]/l[1]:.2f}")
print("load", os.getloadavg()[0])
