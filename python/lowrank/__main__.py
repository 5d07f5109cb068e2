"""`python3 -m lowrank ARGS` (and the `lowrank` console script of a pip
install) run the lowrank command-line program with ARGS.

The program is compiled C++; pip puts it inside the package as
lowrank/bin/lowrank (setup.py). In a CMake build tree the package is
<build>/python/lowrank and the program <build>/lowrank, which is used instead.
"""
import os
import sys
from pathlib import Path


def cli_path():
    """Path of the lowrank program that belongs to this package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "bin" / "lowrank", here.parent.parent / "lowrank"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SystemExit(f"lowrank: the lowrank program is not in {here / 'bin'} (reinstall the package: pip install .)")


def main(argv=None):
    """Replaces this process by the program, so its exit code is ours."""
    program = cli_path()
    args = sys.argv[1:] if argv is None else list(argv)
    sys.stdout.flush()
    os.execv(program, [program, *args])


if __name__ == "__main__":
    main()
