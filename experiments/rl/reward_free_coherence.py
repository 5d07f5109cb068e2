#!/usr/bin/python3
"""Why random S = 100 is the hard case of the reward-free sweep (issue 28, docs/rl.md).

numpy only; it redraws kernels from the same distributions as the library's
generators (`random_low_rank_mdp`: Phi rows Dirichlet(phi_conc) over r latent
factors, Psi rows Dirichlet(psi_conc) over S states; `latent_gridworld`:
one room per latent state, slip 0.1), not with the library's RNG, so the
kernels are other draws of the same models. For each kernel it prints
  * s1 / s_r and the coherences mu_U = max_i ||U_i||^2 SA / r and
    mu_V = max_j ||V_j||^2 S / r of its rank-r SVD;
  * the max row-l1 error of the spectral kernel (rank-r truncation of N / n,
    rows projected onto the simplex, as `estimate_kernel`), of the
    frequency-weighted spectral kernel (truncation of N D^(-1/2) / n, D the
    next-state frequencies floored at 1 / (50 S), times D^(1/2), then the
    simplex: `--weighting frequency` of the reward-free learner) and of the
    counts N / n, from n generative draws per (s, a), times sqrt(n): a
    sample-size-free constant c, error ~ c / sqrt(n).

usage: /usr/bin/python3 experiments/rl/reward_free_coherence.py [--draws 3] [--n 6935] [--seed 0]
"""
import argparse

import numpy as np


def proj_simplex(v):
    u = np.sort(v)[::-1]
    c = np.cumsum(u) - 1.0
    k = np.arange(1, len(v) + 1)
    rho = np.nonzero(u - c / k > 0)[0][-1]
    return np.maximum(v - c[rho] / (rho + 1), 0.0)


def random_kernel(S, A, r, psi_conc, phi_conc, rng):
    psi = rng.dirichlet(np.full(S, psi_conc), size=r)
    phi = rng.dirichlet(np.full(r, phi_conc), size=S * A)
    return phi @ psi


def gridworld_kernel(W, b, slip, rng):
    S, r = W * W, b * b
    room = lambda x, y: (y * b // W) * b + (x * b // W)
    psi = np.zeros((r, S))
    for y in range(W):
        for x in range(W):
            psi[room(x, y), y * W + x] = rng.uniform(0.5, 1.5)
    psi /= psi.sum(1, keepdims=True)
    phi = np.zeros((S * 4, r))
    for y in range(W):
        for x in range(W):
            for a, (dx, dy) in enumerate([(0, -1), (0, 1), (-1, 0), (1, 0)]):
                nx, ny = min(max(x + dx, 0), W - 1), min(max(y + dy, 0), W - 1)
                phi[(y * W + x) * 4 + a] = slip / r
                phi[(y * W + x) * 4 + a, room(nx, ny)] += 1 - slip
    return phi @ psi


def errors(P, r, n, rng):
    Pt = np.array([rng.multinomial(n, p) for p in P]) / n
    U, s, Vt = np.linalg.svd(Pt, full_matrices=False)
    Ph = np.array([proj_simplex(x) for x in (U[:, :r] * s[:r]) @ Vt[:r]])
    cw = np.sqrt(np.maximum(Pt.mean(0), 1.0 / (50 * P.shape[1])))
    U, s, Vt = np.linalg.svd(Pt / cw, full_matrices=False)
    Pw = np.array([proj_simplex(x) for x in ((U[:, :r] * s[:r]) @ Vt[:r]) * cw])
    return np.abs(Ph - P).sum(1).max(), np.abs(Pw - P).sum(1).max(), np.abs(Pt - P).sum(1).max()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--n", type=int, default=6935, help="transitions per (s, a)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = [("random S=100 A=4 r=3 (Psi 0.3, Phi 1)", lambda: random_kernel(100, 4, 3, 0.3, 1.0, rng), 3),
             ("random S=200 A=4 r=3 (Psi 0.3, Phi 1)", lambda: random_kernel(200, 4, 3, 0.3, 1.0, rng), 3),
             ("gridworld 10x10, 2x2 rooms (r=4)", lambda: gridworld_kernel(10, 2, 0.1, rng), 4),
             ("random S=100 r=3 (Psi 1.0, Phi 1)", lambda: random_kernel(100, 4, 3, 1.0, 1.0, rng), 3),
             ("random S=100 r=3 (Psi 3.0, Phi 1)", lambda: random_kernel(100, 4, 3, 3.0, 1.0, rng), 3),
             ("random S=100 r=3 (Psi 0.3, Phi 0.2)", lambda: random_kernel(100, 4, 3, 0.3, 0.2, rng), 3)]
    print(f"n = {args.n} transitions per (s, a), {args.draws} draws per kernel, c = max row-l1 error x sqrt(n)")
    print("| kernel | s1/s_r | mu_U | mu_V | spectral c | weighted spectral c | counts c |")
    print("|---|---|---|---|---|---|---|")
    for name, make, r in cases:
        P = make()
        U, s, Vt = np.linalg.svd(P, full_matrices=False)
        mu_u = (U[:, :r] ** 2).sum(1).max() * P.shape[0] / r
        mu_v = (Vt[:r] ** 2).sum(0).max() * P.shape[1] / r
        e = np.array([errors(P, r, args.n, rng) for _ in range(args.draws)]) * np.sqrt(args.n)
        print(f"| {name} | {s[0] / s[r - 1]:.2f} | {mu_u:.2f} | {mu_v:.1f} | {e[:, 0].mean():.2f} | "
              f"{e[:, 1].mean():.2f} | {e[:, 2].mean():.2f} |")


if __name__ == "__main__":
    main()
