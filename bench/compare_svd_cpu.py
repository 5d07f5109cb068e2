#!/usr/bin/python3
"""CPU-time comparison of the dense top-k case of compare_svd.py (4000 x 3000,
k = 50, 1/(1+i)^1.5 with a flat tail): lowrank krylov (bench/svd_probe.cpp,
same spectrum, its own random U, V) against scipy svds and sklearn
randomized_svd, one thread each. CPU seconds do not depend on how many other
jobs share the machine, unlike wall-clock seconds.

Usage: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench/compare_svd_cpu.py [build/svd_probe]
"""
import sys
import time, subprocess, numpy as np
from scipy.sparse.linalg import svds
from sklearn.utils.extmath import randomized_svd
m, n, k = 4000, 3000, 50
rng = np.random.default_rng(0)
u, _ = np.linalg.qr(rng.standard_normal((m, n))); v, _ = np.linalg.qr(rng.standard_normal((n, n)))
s = 1.0 / (1.0 + np.arange(n)) ** 1.5; s[k:] = np.minimum(s[k:], s[k] * 0.5)
a = np.asfortranarray((u * s) @ v.T)
print(subprocess.run([sys.argv[1] if len(sys.argv) > 1 else "build/svd_probe", "4000", "3000", "50", "krylov", "1e-8", "10", "1"], capture_output=True, text=True).stdout.strip())
for name, f in (("svds tol=1e-8", lambda: svds(a, k=k, tol=1e-8)[1]), ("sklearn randomized_svd", lambda: randomized_svd(a, k, random_state=0)[1])):
    b = 1e9
    for _ in range(2):
        t = time.process_time(); x = f(); b = min(b, time.process_time() - t)
    x = np.sort(x)[::-1]
    print(f"{name}: cpu {b:.3f} s err {np.max(np.abs(x - s[:k]) / s[:k]):.2e}")
