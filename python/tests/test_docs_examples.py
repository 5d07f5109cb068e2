"""The examples in README.md and the docs run, so they cannot go stale.

Every ```python block of README.md and docs/python.md that reads bundled data
(data/...) runs as written; every `build/lowrank info|decompose|complete|
predict|recommend ...` line of README.md, docs/python.md and
docs/completion.md whose files are bundled runs in document order (so a
`predict` finds the model its `complete` wrote). Both run in a scratch folder
that sees the repository's data/ folder, so outputs (out/, *.png) land there.
Blocks that need MovieLens, a training run or a variable from the text are
listed as skipped with the reason."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DOCS_PY = ["README.md", "docs/python.md"]
DOCS_CLI = ["README.md", "docs/python.md", "docs/completion.md"]
CLI_COMMANDS = {"info", "decompose", "complete", "predict", "recommend"}


def _blocks(path, lang):
    text = (ROOT / path).read_text()
    return re.findall(r"```" + lang + r"\n(.*?)```", text, flags=re.S)


def _python_examples():
    out = []
    for doc in DOCS_PY:
        for k, code in enumerate(_blocks(doc, "python")):
            bundled = "data/" in code and "shared" not in code and "u.user" not in code
            out.append(pytest.param(code, id=f"{doc}#{k}", marks=() if bundled else pytest.mark.skip(
                reason="needs data that is not bundled (MovieLens, a training run) or names from the text")))
    return out


def _cli_lines(doc):
    lines = []
    for block in _blocks(doc, "sh"):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("build/lowrank "):
                lines.append(line)
    return lines


def _runnable_lines(doc):
    """The doc's CLI lines on bundled data, in order; a line that reads out/X
    (--model) runs only when an earlier runnable line wrote out/X (--out)."""
    made, out = set(), []
    for line in _cli_lines(doc):
        words = shlex.split(line.split(">")[0])
        if len(words) < 2 or words[1] not in CLI_COMMANDS or "--help" in words or "pairs.tsv" in line:
            continue
        files = [w for w in words if "/" in w and not w.startswith(("out/", "build/"))]
        # A bare file name (u1.base) is not bundled data either: the line needs files we do not ship.
        files += [words[k + 1] for k, w in enumerate(words[:-1])
                  if w in ("--train", "--test", "--input", "-i", "--data", "--groups", "--pairs", "--seen")
                  and not words[k + 1].startswith("out/")]
        reads = [words[k + 1] for k, w in enumerate(words[:-1]) if w == "--model"]
        if all(w.startswith("data/") and (ROOT / w).exists() for w in files) and all(r in made for r in reads):
            out.append(line)
            made.update(words[k + 1] for k, w in enumerate(words[:-1]) if w in ("--out", "-o"))
    return out


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "data").symlink_to(ROOT / "data")
    return tmp_path


@pytest.mark.parametrize("code", _python_examples())
def test_python_block_runs(code, scratch):
    import lowrank
    pkg_root = str(Path(lowrank.__file__).resolve().parents[1])  # the scratch cwd must still import this build
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([pkg_root, os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-c", code], cwd=scratch, capture_output=True, text=True, timeout=300,
                       env=env)
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.parametrize("doc", DOCS_CLI)
def test_cli_lines_run(doc, cli, scratch):
    lines = _runnable_lines(doc)
    if not lines:
        pytest.skip(f"{doc}: no CLI example on bundled data")
    for line in lines:
        words = shlex.split(line)
        p = subprocess.run([str(Path(cli.path).resolve()), *words[1:]], cwd=scratch, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"{doc}: {line}\n{p.stderr[-2000:]}"


def test_some_examples_are_checked():
    # Guards the extraction itself: the README's mite/dune lines and the worked examples are found.
    assert len(_runnable_lines("README.md")) >= 3
    assert sum(1 for p in _python_examples() if not p.marks) >= 2
