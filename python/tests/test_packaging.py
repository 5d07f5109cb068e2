"""One version everywhere, refusal of files from a newer lowrank, `python -m
lowrank`, the type stubs of lowrank._core and the estimator docstrings
(issue 33)."""
import ast
import inspect
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lowrank
from lowrank import _core

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()


def test_one_version_everywhere(cli):
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    assert lowrank.__version__ == VERSION
    assert _core.__version__ == VERSION  # the compiled library, not only the .py file
    assert cli("--version").stdout.strip() == f"lowrank {VERSION}"
    assert json.loads(cli("info", "--json", ROOT / "data" / "ecology" / "mite.csv").stdout)["version"] == VERSION


def _python_m(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "lowrank", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_python_m_lowrank_runs_the_cli():
    p = _python_m("--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"lowrank {VERSION}"
    # The CLI's exit code and message come through (each start imports numpy
    # and scikit-learn: two starts only).
    p = _python_m("info", ROOT / "data" / "ecology" / "no-such.csv")
    assert p.returncode == 2
    assert "no-such.csv" in p.stderr


def _write_safetensors(path, metadata):
    """A one-tensor safetensors file (the format: 8-byte header length, JSON header, data)."""
    data = np.arange(4, dtype="<f4").tobytes()
    header = {"__metadata__": metadata, "model.wte": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, len(data)]}}
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)


def test_newer_checkpoint_format_is_refused(tmp_path):
    meta = {"format": "lowrank-nn-checkpoint", "version": "2", "lowrank_version": "9.0.0",
            "options": json.dumps({"model": {"alpha": 1.0}})}
    _write_safetensors(tmp_path / "checkpoint.safetensors", meta)
    with pytest.raises(ValueError, match=r"format version 2, written by lowrank 9\.0\.0, is newer than this lowrank "
                                         + re.escape(VERSION)):
        lowrank.inspect(str(tmp_path / "checkpoint.safetensors"))


def test_newer_model_format_is_refused_with_exit_2(cli, tmp_path):
    ratings = tmp_path / "r.tsv"
    rng = np.random.default_rng(0)
    ratings.write_text("".join(f"u{i}\tm{j}\t{rng.integers(1, 6)}\n" for i in range(8) for j in range(6)
                               if (i + j) % 3))
    cli("complete", "-q", "--train", ratings, "--lambda", "1", "--out", tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["lowrank_version"] == VERSION and meta["version"] == 2
    meta["version"] = 3
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    (tmp_path / "pairs.tsv").write_text("u1\tm1\n")
    p = cli("predict", "--model", tmp_path / "m", "--pairs", tmp_path / "pairs.tsv", expect=2)
    assert f"completion model format version 3, written by lowrank {VERSION}, is newer" in p.stderr
    assert "model.json" in p.stderr


def _stub_functions():
    tree = ast.parse((Path(lowrank.__file__).with_name("_core.pyi")).read_text())
    functions, classes = {}, {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.setdefault(node.name, []).append([a.arg for a in node.args.args])
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {n.name: [a.arg for a in n.args.args][1:] for n in node.body
                                  if isinstance(n, ast.FunctionDef)}
    return functions, classes


def _runtime_signatures(doc, name):
    """Parameter lists of every overload in a pybind11 docstring."""
    out = []
    for m in re.finditer(rf"^(?:\d+\. )?{re.escape(name)}\((.*?)\) ->", doc, re.M):
        args = [a.split(":")[0].strip() for a in re.split(r", (?=\w+:)", m.group(1)) if a]
        out.append([a for a in args if a != "self"])
    return out


def test_stubs_declare_every_function_and_class_of_the_module():
    functions, classes = _stub_functions()
    for name, obj in vars(_core).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, type):
            assert name in classes, f"_core.{name} missing from _core.pyi"
            for method in ("predict", "rank", "to_dense"):
                sig = _runtime_signatures(getattr(obj, method).__doc__, method)
                assert [classes[name][method]] == sig, f"{name}.{method}: stub {classes[name][method]}, module {sig}"
            continue
        assert name in functions, f"_core.{name} missing from _core.pyi (update it with the binding)"
        runtime = _runtime_signatures(obj.__doc__, name)
        assert runtime, f"no signature in _core.{name}.__doc__"
        stub = functions[name]
        assert sorted(map(tuple, stub)) == sorted(map(tuple, runtime)), f"_core.{name}: stub {stub}, module {runtime}"
    for name in list(functions) + list(classes):
        assert hasattr(_core, name), f"_core.pyi declares {name}, which the module lacks"


@pytest.mark.parametrize("cls", [lowrank.SoftImpute, lowrank.ALS, lowrank.RobustPCA, lowrank.GAME])
def test_docstrings_show_every_parameter_and_default(cls):
    doc = cls.__doc__
    assert doc.startswith(cls.__name__ + "(")
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert re.search(rf"^{p.name} += {re.escape(repr(p.default))}$", doc, re.M), f"{cls.__name__}: {p.name}"
