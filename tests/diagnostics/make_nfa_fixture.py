#!/usr/bin/python3
"""Reference AGOPs for tests/diagnostics/nfa_test.cpp, computed with numpy only.

Run with Debian's interpreter (the `python3` on PATH may lack numpy):
    /usr/bin/python3 tests/diagnostics/make_nfa_fixture.py
Writes tests/data/nfa/tiny_tanh.npz: a 3-layer tanh MLP 4 -> 5 -> 3 -> 2
(W0, b0, W1, b1, W2, b2; W is [out, in]), inputs X [7, 4], and for each layer
l the uncentred AGOP G<l> and the centred AGOP C<l> of the Jacobian of the 2
outputs w.r.t. that layer's input. The Jacobians are written out by the chain
rule in closed form (d tanh = 1 - tanh^2), independently of the C++ backward
pass. Seeded: reruns give the same file.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "nfa")
rng = np.random.default_rng(8_2_2026)
sizes = [4, 5, 3, 2]
W = [rng.normal(size=(sizes[i + 1], sizes[i])) / np.sqrt(sizes[i]) for i in range(3)]
b = [0.3 * rng.normal(size=sizes[i + 1]) for i in range(3)]
X = rng.normal(size=(7, 4))

jac = [[], [], []]  # per layer, per input: J [c, d_l]
for x in X:
    h1 = np.tanh(W[0] @ x + b[0])
    h2 = np.tanh(W[1] @ h1 + b[1])
    J2 = W[2]                                   # d f / d h2
    J1 = W[2] @ np.diag(1 - h2**2) @ W[1]       # d f / d h1
    J0 = J1 @ np.diag(1 - h1**2) @ W[0]         # d f / d x
    for l, J in enumerate((J0, J1, J2)):
        jac[l].append(J)

arrays = {"X": X}
for l in range(3):
    arrays[f"W{l}"] = W[l]
    arrays[f"b{l}"] = b[l]
    Js = np.array(jac[l])                       # [n, c, d]
    arrays[f"G{l}"] = np.mean([J.T @ J for J in Js], axis=0)
    Jbar = Js.mean(axis=0)
    arrays[f"C{l}"] = np.mean([(J - Jbar).T @ (J - Jbar) for J in Js], axis=0)

os.makedirs(OUT, exist_ok=True)
np.savez(os.path.join(OUT, "tiny_tanh.npz"), **arrays)
print("wrote", os.path.join(OUT, "tiny_tanh.npz"))
