#!/usr/bin/python3
"""Side-by-side benchmark of lowrank's matrix completion against its peers (issue 4).

One run executes lowrank, R softImpute 1.4-3 and LIBMF on the same files and
prints one table per data set with ratios against the peer:

  (a) MovieLens-100k, random 80/20 split with numpy seed 0: test RMSE and wall
      time of every lowrank method; R softImpute (type "svd" and "als") at the
      same lambda / rank.max on the same (uncentred) training matrix, with the
      objective 1/2 ||P_Omega(X - Z)||_F^2 + lambda ||Z||_* of both; LIBMF
      (mf-train, squared loss, no biases) at the same rank and L2 weight; and
      Surprise's published SVD RMSE on 100k (0.934, 5-fold, from its docs) as a
      reference point only (not run here).
  (b) --synthetic: a 100000 x 20000 rank-20 matrix with 10^7 observed entries
      (plus 10^5 held-out ones), generated once under build-bench/: time and peak
      RSS (/usr/bin/time -v) of soft-impute ALS and hard-rank ALS in lowrank, R
      softImpute (als) and LIBMF, all at a fixed iteration budget.

Regularisation mapping for LIBMF: LIBMF minimises
  sum_Omega (x_ij - p_i.q_j)^2 + l2 * sum_Omega (||p_i||^2 + ||q_j||^2)
(its SGD applies the L2 term once per observed entry), which is 2x lowrank's
hard-rank objective with RegularizationWeighting::Frequency (the default):
  1/2 sum_Omega r_ij^2 + lambda/2 (sum_i |Omega_i| ||p_i||^2 + sum_j |Omega_j| ||q_j||^2).
So `mf-train -l2 L` and `lowrank complete --method als --lambda L` fit the same
model (no biases on either side).

Usage (repository root):
  /usr/bin/python3 bench/compare_completion.py [--synthetic] [--build build-completion]
Needs the lowrank binary (cmake --build <build> --target lowrank_cli), R with
softImpute in build-peers/Rlib (bench/peers/install_softimpute.sh) and LIBMF in
build-peers/libmf (bench/peers/build_libmf.sh). MovieLens-100k is read from
../shared/data/movielens-100k (never copied into the repository); part (a) is
skipped with a message when it is absent.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SURPRISE_SVD_RMSE = 0.934  # Surprise docs, "Benchmarks", SVD on ml-100k (5-fold CV)

R_SOFTIMPUTE = r"""
suppressMessages({library(Matrix); library(softImpute)})
a <- commandArgs(trailingOnly = TRUE)
tr <- scan(a[1], what = list(0L, 0L, 0), quiet = TRUE)
te <- scan(a[2], what = list(0L, 0L, 0), quiet = TRUE)
m <- as.integer(a[3]); n <- as.integer(a[4]); lambda <- as.numeric(a[5]); rmax <- as.integer(a[6])
type <- a[7]; thresh <- as.numeric(a[8]); maxit <- as.integer(a[9])
x <- Incomplete(tr[[1]] + 1L, tr[[2]] + 1L, tr[[3]])
x <- as(x, "Incomplete")
if (nrow(x) < m || ncol(x) < n) stop("dimension mismatch")
t0 <- proc.time()[["elapsed"]]
fit <- softImpute(x, rank.max = rmax, lambda = lambda, type = type, thresh = thresh, maxit = maxit)
secs <- proc.time()[["elapsed"]] - t0
d <- if (is.null(fit$d)) 0 else fit$d
u <- as.matrix(fit$u); v <- as.matrix(fit$v)
fitted_tr <- rowSums((u[tr[[1]] + 1L, , drop = FALSE] * rep(d, each = length(tr[[1]]))) * v[tr[[2]] + 1L, , drop = FALSE])
obj <- 0.5 * sum((tr[[3]] - fitted_tr)^2) + lambda * sum(d)
pred <- rowSums((u[te[[1]] + 1L, , drop = FALSE] * rep(d, each = length(te[[1]]))) * v[te[[2]] + 1L, , drop = FALSE])
rmse <- sqrt(mean((te[[3]] - pred)^2))
cat(sprintf("{\"seconds\": %.6f, \"objective\": %.17g, \"rank\": %d, \"test_rmse\": %.10g}\n",
            secs, obj, sum(d > 0), rmse))
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, stderr, wall seconds, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    return p.stdout, p.stderr, wall, rss


def write_triplets(path, r, c, v):
    with open(path, "w") as f:
        for k in range(0, len(r), 1_000_000):
            s = slice(k, k + 1_000_000)
            block = np.char.add(np.char.add(np.char.add(r[s].astype(str), "\t"), np.char.add(c[s].astype(str), "\t")),
                                np.char.mod("%.6g", v[s]))
            f.write("\n".join(block.tolist()))
            f.write("\n")


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


class Tools:
    def __init__(self, build, threads, need_r=True):
        self.lowrank = os.path.join(build, "lowrank")
        self.rlib = os.path.join(REPO, "build-peers", "Rlib")
        self.libmf = os.path.join(REPO, "build-peers", "libmf")
        self.threads = threads
        self.rscript = os.path.join(REPO, "build-bench", "softimpute_bench.R")
        os.makedirs(os.path.dirname(self.rscript), exist_ok=True)
        with open(self.rscript, "w") as f:
            f.write(R_SOFTIMPUTE)
        needed = [self.lowrank, os.path.join(self.libmf, "mf-train")]
        if need_r:
            needed.append(os.path.join(self.rlib, "softImpute"))
        for p in needed:
            if not os.path.exists(p):
                sys.exit(f"error: {p} is missing (see the usage note at the top of this script)")

    def lowrank_complete(self, train, test, args):
        cmd = [self.lowrank, "complete", "--json", "-q", "--threads", str(self.threads), "--train", train,
               "--test", test] + args
        out, _, wall, rss = run_timed(cmd)
        j = json.loads(out)
        return {"seconds": wall, "fit_seconds": j["seconds"], "rss": rss, "test_rmse": j["test"]["rmse"],
                "objective": j.get("objective"), "rank": j.get("rank"), "iterations": j.get("iterations"),
                "lambda": j.get("lambda")}

    def softimpute(self, train, test, m, n, lam, rank_max, typ, thresh, maxit):
        env = dict(os.environ, R_LIBS=self.rlib, OPENBLAS_NUM_THREADS="1")
        cmd = ["Rscript", self.rscript, train, test, str(m), str(n), repr(lam), str(rank_max), typ, repr(thresh),
               str(maxit)]
        out, _, wall, rss = run_timed(cmd, env)
        j = json.loads(out.strip().splitlines()[-1])
        j.update({"wall": wall, "rss": rss})
        return j

    def libmf_run(self, train, test, k, l2, iters, lr=0.1):
        d = os.path.join(REPO, "build-bench")
        model = os.path.join(d, "libmf.model")
        pred = os.path.join(d, "libmf.pred")
        cmd = [os.path.join(self.libmf, "mf-train"), "-f", "0", "-k", str(k), "-l2", repr(l2), "-t", str(iters),
               "-r", repr(lr), "-s", str(self.threads), "--quiet", train, model]
        _, _, wall, rss = run_timed(cmd)
        subprocess.run([os.path.join(self.libmf, "mf-predict"), "-e", "0", test, model, pred], check=True,
                       capture_output=True)
        p = np.loadtxt(pred)
        truth = np.loadtxt(test, usecols=2)
        return {"seconds": wall, "rss": rss, "test_rmse": rmse(p, truth)}


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    sys.stdout.flush()


def fmt_t(s):
    return f"{s:.2f}"


def movielens(tools, args):
    src = os.path.join(REPO, "..", "shared", "data", "movielens-100k", "u.data")
    if not os.path.exists(src):
        print(f"\n(a) skipped: MovieLens-100k not found at {os.path.normpath(src)}")
        return
    d = os.path.join(REPO, "build-bench", "ml100k")
    os.makedirs(d, exist_ok=True)
    raw = np.loadtxt(src, dtype=np.int64)
    users, u_idx = np.unique(raw[:, 0], return_inverse=True)
    items, i_idx = np.unique(raw[:, 1], return_inverse=True)
    vals = raw[:, 2].astype(float)
    perm = np.random.RandomState(0).permutation(len(vals))
    ntr = int(round(0.8 * len(vals)))
    tr, te = perm[:ntr], perm[ntr:]
    # Integer 0-based ids: every tool reads the same two files. Test pairs whose
    # user or item never occurs in training are dropped (all tools, equally).
    seen_u, seen_i = np.zeros(len(users), bool), np.zeros(len(items), bool)
    seen_u[u_idx[tr]] = True
    seen_i[i_idx[tr]] = True
    te = te[seen_u[u_idx[te]] & seen_i[i_idx[te]]]
    train, test = os.path.join(d, "train.tsv"), os.path.join(d, "test.tsv")
    write_triplets(train, u_idx[tr], i_idx[tr], vals[tr])
    write_triplets(test, u_idx[te], i_idx[te], vals[te])
    m, n = len(users), len(items)
    log(f"(a) MovieLens-100k: {m} x {n}, {len(tr)} train / {len(te)} test entries")

    if not args.skip_r:
        movielens_soft_impute(tools, args, train, test, m, n)
    movielens_als(tools, args, train, test)


def movielens_soft_impute(tools, args, train, test, m, n):
    lam, rmax = args.ml_lambda, args.ml_rank_max
    rows = []
    # Soft-impute at the same lambda / rank.max as R on the same raw matrix.
    si = {}
    for typ, method in (("svd", "soft-impute-svd"), ("als", "soft-impute")):
        ours = tools.lowrank_complete(train, test, ["--method", method, "--lambda", repr(lam), "--rank", str(rmax),
                                                    "--tol", "1e-9", "--max-iter", "1000"])
        log(f"  lowrank {method}: {ours}")
        peer = tools.softimpute(train, test, m, n, lam, rmax, typ, args.r_thresh, 1000)
        log(f"  R softImpute {typ}: {peer}")
        si[typ] = (ours, peer)
        rel = (ours["objective"] - peer["objective"]) / abs(peer["objective"])
        rows.append([f"soft-impute ({typ}), lambda {lam:g}, rank.max {rmax}", f"{ours['test_rmse']:.4f}",
                     f"{peer['test_rmse']:.4f}", f"{ours['objective']:.6g}", f"{peer['objective']:.6g}",
                     f"{rel:+.1e}", f"{ours['rank']} / {peer['rank']}", fmt_t(ours["seconds"]),
                     fmt_t(peer["seconds"]), f"{peer['seconds'] / ours['seconds']:.1f}x"])
    table("(a) MovieLens-100k soft-impute vs R softImpute 1.4-3 (same raw training matrix)",
          ["method", "test RMSE lowrank", "test RMSE R", "objective lowrank", "objective R", "rel. diff",
           "rank lowrank / R", "lowrank s (wall)", "R s (fit only)", "R / lowrank"], rows)

    # The target is "faster at equal objective": R stops at its own threshold,
    # lowrank above ran to 1e-9. Loosen our tolerance until one run reaches an
    # objective no higher than R's, and time that run.
    rows = []
    for typ, method in (("svd", "soft-impute-svd"), ("als", "soft-impute")):
        peer = si[typ][1]
        hit = None
        for tol in ("1e-4", "3e-5", "1e-5", "3e-6", "1e-6", "1e-7", "1e-8"):
            r = tools.lowrank_complete(train, test, ["--method", method, "--lambda", repr(lam), "--rank", str(rmax),
                                                     "--tol", tol, "--max-iter", "1000"])
            log(f"  lowrank {method} tol {tol}: {r['seconds']:.2f} s, objective {r['objective']:.8g}")
            if r["objective"] <= peer["objective"]:
                hit = (tol, r)
                break
        if hit is None:
            rows.append([f"soft-impute ({typ})", f"{peer['objective']:.8g}", "not reached", "", "", ""])
            continue
        tol, r = hit
        rows.append([f"soft-impute ({typ})", f"{peer['objective']:.8g}", f"{r['objective']:.8g} (--tol {tol})",
                     fmt_t(r["seconds"]), f"{fmt_t(peer['seconds'])} / {fmt_t(peer['wall'])}",
                     f"{peer['seconds'] / r['seconds']:.1f}x / {peer['wall'] / r['seconds']:.1f}x"])
    table(f"(a) MovieLens-100k soft-impute: time to R's objective (lambda {lam:g}, rank.max {rmax}, "
          f"R thresh {args.r_thresh:g})",
          ["method", "R objective", "lowrank objective", "lowrank s (wall, incl. I/O)", "R s (fit / wall)",
           "R / lowrank (fit / wall)"], rows)



def movielens_als(tools, args, train, test):
    # Hard-rank ALS vs LIBMF at the same rank and L2 weight.
    k, l2 = args.ml_k, args.ml_l2
    ours = tools.lowrank_complete(train, test, ["--method", "als", "--rank", str(k), "--lambda", repr(l2),
                                                "--tol", "1e-6", "--max-iter", "200"])
    log(f"  lowrank als: {ours}")
    peer = tools.libmf_run(train, test, k, l2, args.libmf_iters)
    log(f"  LIBMF: {peer}")
    table(f"(a) MovieLens-100k hard-rank ALS vs LIBMF (k = {k}, L2 = {l2:g}, no biases, {tools.threads} threads)",
          ["tool", "test RMSE", "seconds (wall, incl. I/O)", "time / LIBMF"],
          [["lowrank als", f"{ours['test_rmse']:.4f}", fmt_t(ours["seconds"]),
            f"{ours['seconds'] / peer['seconds']:.2f}x"],
           [f"LIBMF mf-train -t {args.libmf_iters}", f"{peer['test_rmse']:.4f}", fmt_t(peer["seconds"]), "1.00x"]])

    time_to_rmse(tools, train, test, k)

    # Every lowrank method, as a user would run it (centred soft-impute, biased ALS, ...).
    rows = []
    for name, extra in (("soft-impute (ALS), --center, CV over 12 lambdas", ["--method", "soft-impute", "--center",
                                                                             "--lambda-path", "12", "--cv", "3",
                                                                             "--rank", "40"]),
                        ("soft-impute-svd, --center, lambda %g" % args.ml_center_lambda,
                         ["--method", "soft-impute-svd", "--center", "--lambda", repr(args.ml_center_lambda),
                          "--rank", "40"]),
                        ("soft-impute (ALS), --center, lambda %g" % args.ml_center_lambda,
                         ["--method", "soft-impute", "--center", "--lambda", repr(args.ml_center_lambda),
                          "--rank", "40"]),
                        (f"als k={k} L2={l2:g} --biases", ["--method", "als", "--rank", str(k), "--lambda", repr(l2),
                                                            "--biases"]),
                        (f"robust-als k={k} L2={l2:g} --biases", ["--method", "robust-als", "--rank", str(k),
                                                                   "--lambda", repr(l2), "--biases"]),
                        ("rpca (default lambda)", ["--method", "rpca"])):
        try:
            r = tools.lowrank_complete(train, test, extra)
            log(f"  lowrank {name}: {r}")
            rows.append([name, f"{r['test_rmse']:.4f}", r["rank"], fmt_t(r["seconds"]),
                         f"{r['test_rmse'] / SURPRISE_SVD_RMSE:.3f}"])
        except RuntimeError as e:
            rows.append([name, "failed: " + str(e).splitlines()[-1][:80], "", "", ""])
    rows.append(["Surprise SVD (published, 5-fold CV; not run)", f"{SURPRISE_SVD_RMSE:.3f}", 100, "", "1.000"])
    table("(a) MovieLens-100k, every lowrank method (80/20 split, seed 0)",
          ["method", "test RMSE", "rank", "seconds (wall)", "RMSE / Surprise SVD"], rows)


# The default random start and the spectral one (--als-init), reported apart.
ALS_INITS = (("lowrank als", "random"), ("lowrank als --als-init spectral", "spectral"))


def time_to_rmse(tools, train, test, k):
    """The issue's ALS target is time "to the same test RMSE": an SGD solver
    (LIBMF) stopped early and an exact ALS minimiser do not reach the same
    RMSE at the same L2 weight, so run both over a small grid (L2 weight x
    epochs / sweeps, wall time incl. reading the file), take the best test RMSE
    LIBMF reaches on its grid as the target, and report the least time each
    tool needs to reach it."""
    l2s = (0.05, 0.1)
    runs = []
    for l2 in l2s:
        for it in (10, 20, 50, 100, 200):
            r = tools.libmf_run(train, test, k, l2, it)
            runs.append(("LIBMF", l2, it, r["seconds"], r["test_rmse"]))
        for tool, init in ALS_INITS:
            for it in (5, 10, 15, 20, 30, 50):
                r = tools.lowrank_complete(train, test, ["--method", "als", "--rank", str(k), "--lambda", repr(l2),
                                                         "--max-iter", str(it), "--tol", "1e-12", "--als-init", init])
                runs.append((tool, l2, it, r["seconds"], r["test_rmse"]))
    for t, l2, it, sec, e in runs:
        log(f"  {t} L2={l2} iterations={it}: {sec:.3f} s, test RMSE {e:.4f}")
    target = min(e for t, _, _, _, e in runs if t == "LIBMF")
    rows, first = [], {}
    for tool in [t for t, _ in ALS_INITS] + ["LIBMF"]:
        hits = [(sec, l2, it, e) for t, l2, it, sec, e in runs if t == tool and e <= target + 1e-12]
        best = min((e for t, _, _, _, e in runs if t == tool))
        if hits:
            sec, l2, it, e = min(hits)
            first[tool] = sec
            rows.append([tool, f"{best:.4f}", f"L2 {l2:g}, {it} {'epochs' if tool == 'LIBMF' else 'sweeps'}",
                         f"{e:.4f}", fmt_t(sec)])
        else:
            rows.append([tool, f"{best:.4f}", "never on this grid", "", ""])
    ratio = (f"{first['lowrank als'] / first['LIBMF']:.2f}x" if len(first) == 2 else "n/a")
    table(f"(a) MovieLens-100k, time to LIBMF's best test RMSE {target:.4f} (k = {k}, no biases, grid over "
          f"L2 {', '.join(map(str, l2s))}; lowrank / LIBMF = {ratio})",
          ["tool", "best test RMSE on its grid", "first run reaching the target", "its test RMSE",
           "seconds (wall, incl. I/O)"], rows)


SYN = (100_000, 20_000, 20, 10_000_000, 100_000)  # m, n, rank, observed, held out


def generate_synthetic():
    d = os.path.join(REPO, "build-bench", "synthetic")
    os.makedirs(d, exist_ok=True)
    m, n, r, nnz, ntest = SYN
    train, test = os.path.join(d, "train.tsv"), os.path.join(d, "test.tsv")
    if not (os.path.exists(train) and os.path.exists(test)):
        log("(b) generating the synthetic matrix (once)...")
        rng = np.random.default_rng(0)
        U = rng.standard_normal((m, r)) / np.sqrt(r)
        V = rng.standard_normal((n, r))
        flat = np.unique(rng.integers(0, m * n, size=int(1.02 * (nnz + ntest)), dtype=np.int64))
        flat = rng.permutation(flat)[: nnz + ntest]
        rows, cols = flat // n, flat % n
        vals = np.empty(len(flat))
        for k in range(0, len(flat), 1_000_000):
            s = slice(k, k + 1_000_000)
            vals[s] = np.einsum("ij,ij->i", U[rows[s]], V[cols[s]]) + 0.1 * rng.standard_normal(len(vals[s]))
        write_triplets(train, rows[:nnz], cols[:nnz], vals[:nnz])
        write_triplets(test + ".tmp", rows[nnz:], cols[nnz:], vals[nnz:])
        os.replace(test + ".tmp", test)
    return train, test


def synthetic(tools, args):
    m, n, r, nnz, ntest = SYN
    train, test = generate_synthetic()
    it = args.synthetic_iters
    rows_out = []
    res = {}
    res["si"] = tools.lowrank_complete(train, test, ["--method", "soft-impute", "--lambda", repr(args.syn_lambda),
                                                     "--rank", "25", "--max-iter", str(it), "--tol", "1e-12"])
    log(f"  lowrank soft-impute: {res['si']}")
    res["als"] = tools.lowrank_complete(train, test, ["--method", "als", "--rank", "20", "--lambda", "0.01",
                                                      "--max-iter", str(it), "--tol", "1e-12"])
    log(f"  lowrank als: {res['als']}")
    res["libmf"] = tools.libmf_run(train, test, 20, 0.01, args.libmf_iters_syn)
    log(f"  LIBMF: {res['libmf']}")
    if not (args.skip_r_synthetic or args.skip_r):
        res["r"] = tools.softimpute(train, test, m, n, args.syn_lambda, 25, "als", 1e-12, it)
        log(f"  R softImpute als: {res['r']}")
    rows_out.append([f"lowrank soft-impute (ALS), {it} iterations", f"{res['si']['test_rmse']:.4f}",
                     fmt_t(res["si"]["seconds"]), f"{res['si']['rss']:.0f}", f"{res['si']['objective']:.6g}"])
    if "r" in res:
        rows_out.append([f"R softImpute als, {it} iterations", f"{res['r']['test_rmse']:.4f}",
                         f"{fmt_t(res['r']['wall'])} (fit {fmt_t(res['r']['seconds'])})", f"{res['r']['rss']:.0f}",
                         f"{res['r']['objective']:.6g}"])
    rows_out.append([f"lowrank als k=20, {it} sweeps", f"{res['als']['test_rmse']:.4f}", fmt_t(res["als"]["seconds"]),
                     f"{res['als']['rss']:.0f}", ""])
    rows_out.append([f"LIBMF k=20, {args.libmf_iters_syn} epochs", f"{res['libmf']['test_rmse']:.4f}",
                     fmt_t(res["libmf"]["seconds"]), f"{res['libmf']['rss']:.0f}", ""])
    table(f"(b) synthetic {m} x {n}, rank {r}, {nnz} observed (+{ntest} test), noise sd 0.1",
          ["run", "test RMSE", "seconds (wall, incl. reading the file)", "peak RSS MiB", "objective"], rows_out)
    if "r" in res:
        print(f"\nR / lowrank soft-impute time: {res['r']['wall'] / res['si']['seconds']:.1f}x (wall, both incl. I/O)")
    print(f"lowrank als ({it} sweeps) / LIBMF ({args.libmf_iters_syn} epochs) time: "
          f"{res['als']['seconds'] / res['libmf']['seconds']:.2f}x")
    # The target is time to the same test RMSE: the fewest sweeps
    # whose RMSE is at or below LIBMF's (a fresh run per sweep count, wall
    # time incl. reading, as for LIBMF).
    target = res["libmf"]["test_rmse"]
    for tool, init in ALS_INITS:
        for sweeps in range(1, it + 1):
            r_s = tools.lowrank_complete(train, test, ["--method", "als", "--rank", "20", "--lambda", "0.01",
                                                       "--max-iter", str(sweeps), "--tol", "1e-12", "--als-init", init])
            log(f"  {tool}, {sweeps} sweeps: {r_s}")
            if r_s["test_rmse"] <= target:
                print(f"time to LIBMF's test RMSE {target:.4f}: {tool}, {sweeps} sweeps (RMSE "
                      f"{r_s['test_rmse']:.4f}) {fmt_t(r_s['seconds'])} s vs LIBMF {fmt_t(res['libmf']['seconds'])} s: "
                      f"{r_s['seconds'] / res['libmf']['seconds']:.2f}x")
                break
        else:
            print(f"{tool} did not reach LIBMF's test RMSE {target:.4f} within {it} sweeps")
    print(f"peak RSS per observed entry: soft-impute {res['si']['rss'] * 2**20 / nnz:.0f} B, "
          f"als {res['als']['rss'] * 2**20 / nnz:.0f} B, LIBMF {res['libmf']['rss'] * 2**20 / nnz:.0f} B")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build-completion"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ml-lambda", type=float, default=20.0, help="soft-impute lambda vs R (raw ratings)")
    ap.add_argument("--ml-rank-max", type=int, default=40)
    ap.add_argument("--ml-center-lambda", type=float, default=12.0)
    ap.add_argument("--r-thresh", type=float, default=1e-7, help="softImpute thresh (relative change of Z)")
    ap.add_argument("--ml-k", type=int, default=10)
    ap.add_argument("--ml-l2", type=float, default=0.05)
    ap.add_argument("--libmf-iters", type=int, default=100)
    ap.add_argument("--synthetic", action="store_true", help="also run (b), the 10^7-entry synthetic matrix")
    ap.add_argument("--skip-movielens", action="store_true")
    ap.add_argument("--skip-r-synthetic", action="store_true")
    ap.add_argument("--skip-r", action="store_true", help="no R softImpute runs at all (only LIBMF as a peer)")
    ap.add_argument("--synthetic-iters", type=int, default=10)
    ap.add_argument("--libmf-iters-syn", type=int, default=20)
    # Between the noise edge (~40) and the 20 signal singular values (55-58) of
    # the observed matrix (lowrank decompose --rank 22), so the fit has rank 20.
    ap.add_argument("--syn-lambda", type=float, default=45.0)
    ap.add_argument("--generate-only", action="store_true", help="only write the synthetic files")
    args = ap.parse_args()
    if args.generate_only:
        generate_synthetic()
        return
    # R is only needed for MovieLens and for (b) unless --skip-r-synthetic.
    tools = Tools(args.build, args.threads,
                  need_r=not args.skip_r and (not args.skip_movielens or (args.synthetic and not args.skip_r_synthetic)))
    print(f"# lowrank completion vs peers, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, {args.threads} threads")
    if not args.skip_movielens:
        movielens(tools, args)
    if args.synthetic:
        synthetic(tools, args)


if __name__ == "__main__":
    main()
