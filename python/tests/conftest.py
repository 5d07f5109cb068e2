"""pytest set-up: finds the module (PYTHONPATH=<build>/python, set by ctest)
and the CLI (LOWRANK_CLI, set by ctest) for the Python-vs-CLI comparisons."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ecology"
SHARED = Path(os.environ.get("LOWRANK_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("MPLBACKEND", "Agg")


def _find_cli():
    env = os.environ.get("LOWRANK_CLI")
    if env and Path(env).exists():
        return Path(env)
    import lowrank
    build = Path(lowrank.__file__).resolve().parents[2]  # <build>/python/lowrank/__init__.py
    cand = build / "lowrank"
    if cand.exists():
        return cand
    found = shutil.which("lowrank")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def cli():
    path = _find_cli()
    if path is None:
        pytest.skip("the lowrank CLI is not built (set LOWRANK_CLI)")

    def run(*args, expect=0):
        p = subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, timeout=300)
        assert p.returncode == expect, f"lowrank {' '.join(map(str, args))} -> {p.returncode}\n{p.stderr}"
        return p
    run.path = path
    return run


def run_json(cli, *args):
    return json.loads(cli(*args, "--json").stdout)


@pytest.fixture(scope="session")
def dune():
    import pandas as pd
    return pd.read_csv(DATA / "dune.csv", index_col=0)


@pytest.fixture(scope="session")
def dune_env():
    import pandas as pd
    return pd.read_csv(DATA / "dune_env.csv", index_col=0)


@pytest.fixture(scope="session")
def dune_missing(dune):
    """dune with 20% of its cells set missing (seeded), as float64."""
    x = dune.to_numpy(dtype=float).copy()
    rng = np.random.default_rng(7)
    x[rng.random(x.shape) < 0.2] = np.nan
    return x


def write_csv(path, x, row_names, col_names):
    import pandas as pd
    pd.DataFrame(x, index=row_names, columns=col_names).to_csv(path, na_rep="", float_format="%.17g")
    return path


def planted(m=60, n=40, r=3, missing=0.5, noise=0.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    x = truth + noise * rng.standard_normal((m, n))
    x[rng.random((m, n)) < missing] = np.nan
    return truth.astype(dtype), x.astype(dtype)
