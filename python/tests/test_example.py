"""The notebook-style example runs end to end (quick mode) and writes its figures."""
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_example_script_runs(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "python_completion.py"), "--quick",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "soft-impute: lambda" in p.stdout
    # docs/python.md quotes this run's dune figures: they must be the ones it prints.
    ran = re.search(r"hidden-cell RMSE ([\d.]+) \(column means: ([\d.]+)\)", p.stdout)
    doc = re.search(r"hidden-cell RMSE of ([\d.]+) against ([\d.]+) for column\s+means",
                    (ROOT / "docs" / "python.md").read_text())
    assert ran and doc, p.stdout
    assert ran.groups() == doc.groups(), f"docs/python.md says {doc.groups()}, the example prints {ran.groups()}"
    assert (tmp_path / "dune_singular_values.png").stat().st_size > 0
    assert (tmp_path / "dune_cv_curve.png").stat().st_size > 0
    if "movielens: skipped" in p.stdout:
        assert "not found" in p.stdout or "no GAME" in p.stdout
    else:
        assert (tmp_path / "movielens_group_angles.png").stat().st_size > 0
        assert "GAME        lambda" in p.stdout
