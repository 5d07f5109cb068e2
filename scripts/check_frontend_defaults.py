#!/usr/bin/env python3
"""Front-ends hold no defaults of their own (issue 27, item 1).

The CLI (app/) and the Python package (python/lowrank/) take every default of a
library option from the library's options structs: a flag binds to a field of
a default-constructed struct (or starts at it), and a Python keyword's default
comes from a `_core.*_defaults()` dict built from the same struct. A number
written into a front-end as a default can drift from the library's; this
check fails when one appears:
  1. app/*.cpp: a member of a `struct ...Flags` initialised with a number other
     than the sentinels 0 and -1 ("not given: the library decides");
  2. python/lowrank/*.py (not the private _*.py helpers): a keyword argument
     of a public function or method whose default is a number other than 0
     and -1.
Settings that exist only in a front-end (how a plot looks) are listed in
FRONT_END_ONLY and pass.
Known debts are listed in KNOWN with the reason; they are reported and do not
fail. Usage: check_frontend_defaults.py [REPO_ROOT]   (exit 0 clean, 1 violations)
"""
import ast
import pathlib
import re
import sys

SENTINELS = {0, -1}

# (file, name): why it is still there. Pay these down; do not add to them.
KNOWN = {
}

# (file, name): a setting of the front-end itself, with no library option behind it.
FRONT_END_ONLY = {
    ("python/lowrank/plot.py", "group_angles:max_angles"): "how many principal angles the figure draws",
}

FLAGS_STRUCT = re.compile(r"^struct\s+\w*Flags\s*\{(.*?)^\};", re.S | re.M)
# `Type name = <number>;` or `Type a = 1, b = 2;` (several declarators)
DECL = re.compile(r"(\w+)\s*=\s*(-?[0-9][0-9'.eE+-]*)\s*[,;]")


def number(text):
    try:
        return float(text.replace("'", ""))
    except ValueError:
        return None


def check_app(root):
    found = []
    for path in sorted((root / "app").glob("*.cpp")):
        text = path.read_text(encoding="utf-8")
        for block in FLAGS_STRUCT.finditer(text):
            body_start = block.start(1)
            for m in DECL.finditer(block.group(1)):
                v = number(m.group(2))
                if v is None or v in SENTINELS:
                    continue
                line = text.count("\n", 0, body_start + m.start()) + 1
                found.append((path.relative_to(root).as_posix(), m.group(1), line, m.group(2)))
    return found


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
                        v = literal_number(default)
                        if v is None or v in SENTINELS:
                            continue
                        found.append((path.relative_to(root).as_posix(), f"{name}:{arg.arg}", default.lineno,
                                      ast.unparse(default)))
    return found


def main():
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
