#!/usr/bin/env python3
"""Layering check: each library folder includes only the folders below it.

The layers (README, issue 27):  core <- linalg <- completion / game / rl / nn <- diagnostics;
io reads and writes formats on top of core; front-ends (app/, python/) on top of everything.
Rules checked on include/lowrank/<area>/ and src/<area>/:
  1. an area includes lowrank headers only from the areas it may depend on (ALLOWED);
  2. nothing outside linalg includes linalg/detail (not part of the public API);
  3. numerical code (NUMERICAL) includes no JSON and no file-format (io/) header;
  4. nn and diagnostics include no JSON library (NO_JSON).
Known debts are listed in KNOWN with the reason; they are reported but do not fail, so the
test fails only when a new forbidden include appears. A debt that is paid (the include is gone)
must be removed from KNOWN: a stale entry fails too, so the list cannot rot.
Usage: check_layering.py [REPO_ROOT]   (exit 0 clean, 1 violations)
"""
import pathlib
import re
import sys

ALLOWED = {
    "core": {"core"},
    "cuda": {"core", "cuda"},
    "linalg": {"core", "linalg", "cuda"},
    "io": {"core", "io"},
    "completion": {"core", "linalg", "completion"},
    "game": {"core", "linalg", "completion", "game"},
    "rl": {"core", "linalg", "completion", "rl"},
    "nn": {"core", "linalg", "nn", "io", "cuda"},
    "diagnostics": {"core", "linalg", "nn", "io", "diagnostics"},
    "distributed": {"core", "linalg", "completion", "io", "distributed"},
}
NUMERICAL = {"core", "linalg", "completion", "game", "rl"}
JSON_OR_FORMAT = re.compile(r"^(nlohmann/|zip\.h$|lowrank/io[/.])")
# nn and diagnostics read and write formats through io/ (nn's options through
# io::JsonObject) but include no JSON library themselves; the JSON forms of
# their reports are built in frontend/, shared by the CLI and Python.
NO_JSON = {"nn", "diagnostics"}
JSON = re.compile(r"^nlohmann/")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')

# (file, included header): why it is still there. Pay these down; do not add to them.
KNOWN = {
}




def area_of(rel: str):
    parts = rel.split("/")
    if parts[0] == "include" and len(parts) > 3 and parts[1] == "lowrank":
        return parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    return None


# Top-level headers that belong to an area: lowrank/fit.hpp, the one fit entry
# of every completion method, is compiled with game (it dispatches to
# completion and game, and completion may not include game).
TOP_LEVEL = {"fit": "game"}


def header_area(header: str):
    if not header.startswith("lowrank/"):
        return None
    rest = header[len("lowrank/"):]
    area = rest.split("/")[0].removesuffix(".hpp")
    return TOP_LEVEL.get(area, area)


def check(root: pathlib.Path):
    found, problems = set(), []
    files = [p for d in ("include/lowrank", "src") for p in (root / d).rglob("*")
             if p.suffix in (".hpp", ".cpp", ".h", ".cu", ".cuh")]
    for path in sorted(files):
        rel = path.relative_to(root).as_posix()
        area = area_of(rel)
        if area is None or area not in ALLOWED:
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            header = m.group(1)
            why = None
            target = header_area(header)
            if target is not None and target not in ALLOWED[area]:
                why = f"{area} may not include {target}"
            elif "linalg/detail/" in header and area != "linalg":
                why = "linalg/detail is private to linalg"
            elif area in NUMERICAL and JSON_OR_FORMAT.match(header):
                why = f"numerical code ({area}) includes a JSON or file-format header"
            elif area in NO_JSON and JSON.match(header):
                why = f"{area} includes a JSON library (go through io/; JSON output is built in frontend/)"
            if why is None:
                continue
            key = (rel, header)
            if key in KNOWN:
                found.add(key)
                continue
            problems.append(f"{rel}:{lineno}: includes {header}: {why}")
    stale = [f"{f}: KNOWN lists '{h}' but it is no longer included; remove the entry"
             for (f, h) in KNOWN if (f, h) not in found]
    return problems, stale, found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    problems, stale, known = check(root)
    for p in problems + stale:
        print(f"layering: {p}", file=sys.stderr)
    print(f"layering: {len(problems)} new violation(s), {len(stale)} stale debt entr(ies), "
          f"{len(known)} known debt(s) still open")
    return 1 if problems or stale else 0


if __name__ == "__main__":
    sys.exit(main())
