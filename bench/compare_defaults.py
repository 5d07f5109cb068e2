#!/usr/bin/python3
"""Do lowrank's completion defaults beat the obvious baselines? (issue 34)

On MovieLens-100k (u1.base / u1.test, and a random 80/20 split of u.data)
runs, each on the same split:

  - `lowrank complete --train A --test B --json -q` (all defaults) and the
    time of one fixed-lambda fit of the same model (`--centering biases
    --lambda <the lambda the defaults chose>`), the issue's time yardstick,
    back to back, in CPU seconds (user + system of the child process: wall
    time on a shared machine says little);
  - Python `lowrank.SoftImpute()` with defaults (the same library call);
  - a regularised user + item bias model (ten alternating passes, shrinkage
    5, clipped to 1..5: the scoreboard's baseline);
  - scikit-learn's KNNImputer (defaults) and IterativeImputer (BayesianRidge,
    max_iter=5, n_nearest_features=100: the default all-features version
    needs hours on 1682 columns) on the user x item matrix with NaN.

Test RMSE is over the test entries whose user and item occur in training
(the CLI skips the others with a warning; u1.test has a few).

Usage (from the repository root, after a Release build of lowrank_cli and
the Python module):
    /usr/bin/python3 bench/compare_defaults.py [--lowrank build/lowrank] [--data DIR] [--no-sklearn] [--repeat N]
"""
import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bias_baseline(tr, te):
    mu, bu, bi = tr[:, 2].mean(), collections.defaultdict(float), collections.defaultdict(float)
    for _ in range(10):
        s, c = collections.defaultdict(float), collections.defaultdict(int)
        for u, i, r in tr[:, :3]:
            s[i] += r - mu - bu[u]
            c[i] += 1
        bi = collections.defaultdict(float, {i: s[i] / (c[i] + 5) for i in s})
        s, c = collections.defaultdict(float), collections.defaultdict(int)
        for u, i, r in tr[:, :3]:
            s[u] += r - mu - bi[i]
            c[u] += 1
        bu = collections.defaultdict(float, {u: s[u] / (c[u] + 5) for u in s})
    return np.clip([mu + bu[u] + bi[i] for u, i in te[:, :2]], 1, 5)


def rmse(p, y):
    return float(np.sqrt(np.mean((np.asarray(p, float) - y) ** 2)))


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run_cli(lr, args, cpu=None):
    """Runs `lowrank complete ARGS --json -q`; returns its JSON and wall seconds
    (and, with a list `cpu`, appends its CPU seconds, user + system: the
    comparable figure on a shared machine)."""
    t, c = time.perf_counter(), child_cpu()
    r = subprocess.run([lr, "complete"] + args + ["--json", "-q"], capture_output=True, text=True)
    secs = time.perf_counter() - t
    if cpu is not None:
        cpu.append(child_cpu() - c)
    if r.returncode != 0:
        sys.exit(f"lowrank complete {' '.join(args)} failed: {r.stderr}")
    return json.loads(r.stdout), secs


def one_split(name, tr, te, lr, use_sklearn, tmp, repeat=1):
    users = {u: k for k, u in enumerate(np.unique(tr[:, 0]))}
    items = {i: k for k, i in enumerate(np.unique(tr[:, 1]))}
    keep = np.array([u in users and i in items for u, i in te[:, :2]])
    te = te[keep]
    y = te[:, 2].astype(float)
    a, b = os.path.join(tmp, f"{name}.train"), os.path.join(tmp, f"{name}.test")
    np.savetxt(a, tr[:, :3], fmt="%d", delimiter="\t")
    np.savetxt(b, te[:, :3], fmt="%d", delimiter="\t")
    rows = []

    # `repeat` pairs (defaults, then the fixed fit at the lambda they chose),
    # each back to back; the median pair's CPU ratio is the figure.
    pairs = []
    for _ in range(repeat):
        cpu = []
        j, secs = run_cli(lr, ["--train", a, "--test", b], cpu)
        j1, secs1 = run_cli(lr, ["--train", a, "--test", b, "--centering", "biases", "--lambda", repr(j["lambda"])],
                            cpu)
        pairs.append((cpu[0] / cpu[1], cpu, secs, secs1, j, j1))
    pairs.sort(key=lambda p: p[0])
    ratio, cpu, secs, secs1, j, j1 = pairs[len(pairs) // 2]
    every = ", ".join(f"{p[0]:.1f}x" for p in pairs)
    rows.append(("lowrank complete (all defaults)", j["test"]["rmse"], secs,
                 f"centering {j.get('centering')}, lambda {j['lambda']:.4g}, rank {j['rank']}, "
                 f"caps bound: {','.join(j.get('caps_bound', [])) or 'none'}; {cpu[0]:.2f} s CPU"))
    rows.append(("  one fixed-lambda centred fit (yardstick)", j1["test"]["rmse"], secs1,
                 f"{cpu[1]:.2f} s CPU; defaults took {ratio:.1f}x this in CPU time "
                 f"({secs / secs1:.1f}x wall); median of {len(pairs)} pairs: {every}"))

    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import scipy.sparse as sp
    try:
        import lowrank
        lowrank.SoftImpute
    except (ImportError, AttributeError) as err:
        lowrank = None
        print(f"(Python module not importable, its row skipped: {err})")
    r_idx = np.array([users[u] for u in tr[:, 0]])
    c_idx = np.array([items[i] for i in tr[:, 1]])
    X = sp.csr_matrix((tr[:, 2].astype(float), (r_idx, c_idx)), shape=(len(users), len(items)))
    if lowrank is not None:
        t, c = time.perf_counter(), time.process_time()
        est = lowrank.SoftImpute().fit(X)
        secs, csecs = time.perf_counter() - t, time.process_time() - c
        p = est.predict(np.array([users[u] for u in te[:, 0]], dtype=np.int32),
                        np.array([items[i] for i in te[:, 1]], dtype=np.int32))
        rows.append(("Python SoftImpute() (defaults)", rmse(p, y), secs,
                     f"centering {est.centering_}, lambda {est.lambda_:.4g}, rank {est.rank_}; {csecs:.2f} s CPU "
                     f"({csecs / cpu[1]:.1f}x the yardstick's CPU time)"))

    t = time.perf_counter()
    p = bias_baseline(tr, te)
    rows.append(("user + item biases (shrinkage 5, clipped)", rmse(p, y), time.perf_counter() - t, ""))

    if use_sklearn:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer, KNNImputer
        D = np.full((len(users), len(items)), np.nan)
        D[r_idx, c_idx] = tr[:, 2]
        tr_r = np.array([users[u] for u in te[:, 0]])
        tr_c = np.array([items[i] for i in te[:, 1]])
        for label, imp in (("sklearn KNNImputer()", KNNImputer()),
                           ("sklearn IterativeImputer(max_iter=5, n_nearest_features=100)",
                            IterativeImputer(max_iter=5, n_nearest_features=100, random_state=0))):
            t = time.perf_counter()
            F = imp.fit_transform(D)
            rows.append((label, rmse(F[tr_r, tr_c], y), time.perf_counter() - t, ""))
    return rows, len(te)


def planted_block(lr, tmp):
    """The issue's zero-mean block: 200 x 300, rank 3, N(0, 1) factors, 12% observed, noise 0.5
    (numpy seed 0); test = the noise-free truth at the other cells."""
    rng = np.random.default_rng(0)
    m, n = 200, 300
    T = rng.standard_normal((m, 3)) @ rng.standard_normal((3, n))
    seen = rng.random((m, n)) < 0.12
    X = T + 0.5 * rng.standard_normal((m, n))
    a, b = os.path.join(tmp, "block.train"), os.path.join(tmp, "block.test")
    with open(a, "w") as f:
        for i, j in zip(*np.nonzero(seen)):
            f.write(f"r{i}\tc{j}\t{X[i, j]:.6f}\n")
    with open(b, "w") as f:
        for i, j in zip(*np.nonzero(~seen)):
            f.write(f"r{i}\tc{j}\t{T[i, j]:.6f}\n")
    print(f"\n## Planted zero-mean rank-3 block 200 x 300, {seen.sum()} observed (12 %)")
    print("| settings | test RMSE | seconds | centring, lambda, rank, stop |\n|---|---|---|---|")
    for extra in ([], ["--centering", "none"], ["--center"], ["--lambda", "2", "--max-iter", "100"], ["--lambda", "2"]):
        j, secs = run_cli(lr, ["--train", a, "--test", b] + extra)
        print(f"| {' '.join(extra) or 'defaults'} | {j['test']['rmse']:.4f} | {secs:.1f} | {j.get('centering')}, "
              f"{j['lambda']:.4g}, {j['rank']}, {j.get('stop_reason')} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lowrank", default=os.path.join(ROOT, "build", "lowrank"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "movielens-100k"))
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="pairs (defaults, fixed fit) per split; the median ratio")
    ap.add_argument("--planted", action="store_true", help="also the planted zero-mean block")
    args = ap.parse_args()
    if args.planted:
        with tempfile.TemporaryDirectory() as tmp:
            planted_block(args.lowrank, tmp)
    if not os.path.exists(os.path.join(args.data, "u.data")):
        print(f"skipped: MovieLens-100k not found in {args.data}")
        return
    full = np.loadtxt(os.path.join(args.data, "u.data"), dtype=int)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(full))
    cut = int(0.8 * len(full))
    splits = [("u1", np.loadtxt(os.path.join(args.data, "u1.base"), dtype=int),
               np.loadtxt(os.path.join(args.data, "u1.test"), dtype=int)),
              ("random 80/20 (seed 0)", full[perm[:cut]], full[perm[cut:]])]
    with tempfile.TemporaryDirectory() as tmp:
        for name, tr, te in splits:
            rows, n = one_split(name.split()[0], tr, te, args.lowrank, not args.no_sklearn, tmp, args.repeat)
            print(f"\n## MovieLens-100k, {name}: {len(tr)} training, {n} test entries")
            print(f"| method | test RMSE | seconds | notes |\n|---|---|---|---|")
            for label, r, s, note in rows:
                print(f"| {label} | {r:.4f} | {s:.1f} | {note} |")


if __name__ == "__main__":
    main()
