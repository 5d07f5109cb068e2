"""Writes ratings.tsv, the bundled input of complete_ratings.cpp: 50 users x 40
items, ratings 1-5 from a planted rank-2 matrix plus noise, about half observed.
    /usr/bin/python3 examples/cpp/make_ratings.py
"""
from pathlib import Path

import numpy as np

rng = np.random.default_rng(33)
users, items, rank = 50, 40, 2
taste = rng.normal(size=(users, rank)) * 0.9
kind = rng.normal(size=(items, rank)) * 0.9
full = 3.2 + rng.normal(scale=0.3, size=(users, 1)) + taste @ kind.T + rng.normal(scale=0.3, size=(users, items))
ratings = np.clip(np.round(full * 2) / 2, 1, 5)  # half stars
seen = rng.random((users, items)) < 0.5
with open(Path(__file__).with_name("ratings.tsv"), "w") as f:
    f.write("# user\titem\trating (examples/cpp/make_ratings.py: planted rank 2 plus noise)\n")
    for u, i in zip(*np.nonzero(seen)):
        f.write(f"u{u + 1}\tmovie{i + 1}\t{ratings[u, i]:g}\n")
