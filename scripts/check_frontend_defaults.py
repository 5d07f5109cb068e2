#!/usr/bin/env python3
"""Front-ends hold no defaults of their own (issue 27, item 1).

The CLI (app/) and the Python package (python/lowrank/) take every default of a
library option from the library's options structs: a flag binds to a field of
a default-constructed struct (or starts at it), and a Python keyword's default
comes from a `_core.*_defaults()` dict built from the same struct. A number
written into a front-end as a default can drift from the library's; and so
can a choice written as a string ("random" for ALS's start); this check fails
when one appears:
  1. app/*.cpp, app/*.hpp: a member of a `struct ...Flags` initialised with a
     number other than the sentinels 0 and -1 ("not given: the library
     decides"), or with a non-empty string literal (bind it to the library's
     name of the default instead, e.g. to_string(AlsOptions{}.init));
  2. app/*.cpp: a CLI11 `->default_val(...)` given a literal (the flag's
     variable already holds the library's default: capture_default_str());
  3. python/lowrank/*.py (not the private _*.py helpers): a keyword argument
     of a public function or method whose default is a number other than 0
     and -1, or a non-empty string.
Settings that exist only in a front-end (how a plot looks) are listed in
FRONT_END_ONLY and pass.
Known debts are listed in KNOWN with the reason; they are reported and do not
fail. Usage: check_frontend_defaults.py [REPO_ROOT]   (exit 0 clean, 1 violations)
       check_frontend_defaults.py --self-test     (the checks on planted examples)
"""
import ast
import pathlib
import re
import sys
import tempfile

SENTINELS = {0, -1}

# (file, name): why it is still there. Pay these down; do not add to them.
KNOWN = {
}

# (file, name): a setting of the front-end itself, with no library option behind it.
FRONT_END_ONLY = {
    ("python/lowrank/plot.py", "group_angles:max_angles"): "how many principal angles the figure draws",
    ("python/lowrank/plot.py", "group_angles:reference"): "which fitted group the figure measures from ('all')",
    ("python/lowrank/estimators.py", "GAME.group_angles:reference"): "which fitted group to measure from ('all')",
    ("python/lowrank/estimators.py", "SoftImpute.__init__:scaling"):
        "deprecated alias of centering; 'none' means not given",
}

FLAGS_STRUCT = re.compile(r"^struct\s+\w*Flags\s*\{(.*?)^\};", re.S | re.M)
# `Type name = <number>;` or `Type a = 1, b = 2;` (several declarators)
DECL = re.compile(r"(\w+)\s*=\s*(-?[0-9][0-9'.eE+-]*)\s*[,;]")
# `std::string name = "literal";` (the empty string means "not given")
STRING_DECL = re.compile(r'(\w+)\s*=\s*("[^"]+")\s*[,;]')
# CLI11: `->default_val("random")` or `->default_val(5)`
DEFAULT_VAL = re.compile(r'default_val\(\s*("[^"]*"|-?[0-9][0-9\'.eE+-]*)\s*\)')


def number(text):
    try:
        return float(text.replace("'", ""))
    except ValueError:
        return None


def check_app(root):
    found = []
    for path in sorted((root / "app").glob("*.cpp")) + sorted((root / "app").glob("*.hpp")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        for block in FLAGS_STRUCT.finditer(text):
            body_start = block.start(1)
            for m in DECL.finditer(block.group(1)):
                v = number(m.group(2))
                if v is None or v in SENTINELS:
                    continue
                line = text.count("\n", 0, body_start + m.start()) + 1
                found.append((rel, m.group(1), line, m.group(2)))
            for m in STRING_DECL.finditer(block.group(1)):
                line = text.count("\n", 0, body_start + m.start()) + 1
                found.append((rel, m.group(1), line, m.group(2)))
        for m in DEFAULT_VAL.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((rel, f"default_val@{line}", line, m.group(1)))
    return found


def literal_default(node):
    """A number (not a sentinel) or a non-empty string written as a default, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if node.value else None
    v = literal_number(node)
    return None if v is None or v in SENTINELS else v


def literal_number(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = literal_number(node.operand)
        return None if v is None else -v
    return None


def check_python(root):
    found = []
    for path in sorted((root / "python" / "lowrank").glob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        scopes = [(tree, "")]
        while scopes:
            node, prefix = scopes.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    scopes.append((child, prefix + child.name + "."))
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = prefix + child.name
                    if child.name.startswith("_") and child.name != "__init__":
                        continue
                    a = child.args
                    positional = a.posonlyargs + a.args
                    pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
                    pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
                    for arg, default in pairs:
                        if literal_default(default) is None:
                            continue
                        found.append((path.relative_to(root).as_posix(), f"{name}:{arg.arg}", default.lineno,
                                      ast.unparse(default)))
    return found


def self_test():
    """Plants each kind of front-end default in a scratch tree and checks it is found (and the allowed forms are not)."""
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        (root / "app").mkdir()
        (root / "python" / "lowrank").mkdir(parents=True)
        (root / "app" / "cmd_x.cpp").write_text(
            "struct XFlags {\n  int k = 5;\n  int given = 0;\n  std::string init = \"random\";\n"
            "  std::string out;\n  std::string none = \"\";\n  std::string m = to_string(Options{}.m);\n};\n"
            "void add(CLI::App* cmd, XFlags* f) {\n  cmd->add_option(\"--init\", f->init)->default_val(\"random\");\n"
            "  cmd->add_option(\"--k\", f->k)->capture_default_str();\n}\n", encoding="utf-8")
        (root / "app" / "common.hpp").write_text("struct InputFlags {\n  std::string duplicates = \"error\";\n};\n",
                                                 encoding="utf-8")
        (root / "python" / "lowrank" / "est.py").write_text(
            "_D = {}\nclass A:\n    def __init__(self, rank=10, init='random', lam=_D['lam'], seed=0, name=''):\n"
            "        pass\n    def _private(self, k=3):\n        pass\n", encoding="utf-8")
        got = {(f, n, v) for f, n, _, v in check_app(root) + check_python(root)}
        want = {("app/cmd_x.cpp", "k", "5"), ("app/cmd_x.cpp", "init", '"random"'),
                ("app/cmd_x.cpp", "default_val@10", '"random"'), ("app/common.hpp", "duplicates", '"error"'),
                ("python/lowrank/est.py", "A.__init__:rank", "10"), ("python/lowrank/est.py", "A.__init__:init", "'random'")}
        if got != want:
            print(f"self-test failed: found {sorted(got)}, expected {sorted(want)}")
            return 1
    print("front-end defaults self-test: ok")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
    bad = 0
    for file, name, line, value in check_app(root) + check_python(root):
        why = KNOWN.get((file, name))
        if (file, name) in FRONT_END_ONLY:
            continue
        if why:
            print(f"known: {file}:{line}: {name} = {value} ({why})")
        else:
            print(f"{file}:{line}: {name} defaults to {value} in the front-end; take it from the library's "
                  f"options struct (app: bind the flag to the struct's field; Python: a _core.*_defaults() dict)")
            bad += 1
    print(f"front-end defaults: {bad} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
