#!/usr/bin/env bash
# Installs lowrank the three ways a user would, from an existing Release build
# (nothing is compiled again but the small examples/cpp program), and runs
# each install from outside the repository:
#   1. pip: a wheel built with `pip wheel` (reusing the CMake build through
#      LOWRANK_CMAKE_BUILD_DIR), installed into a fresh
#      `python3 -m venv --system-site-packages`; a short fit, __version__,
#      `python -m lowrank` and the `lowrank` console script;
#   2. the Debian package: cpack, `dpkg -x` into a temporary root, then
#      `lowrank --version`, `lowrank info` on bundled data and the man page;
#   3. `cmake --install` into a temporary prefix, then examples/cpp configured
#      with find_package(lowrank) against it (and against the .deb's root),
#      built, and run on its bundled ratings.
# Usage: scripts/check-install.sh [BUILD_DIR]   (default build/, as setup.sh)
# Called by `scripts/setup.sh test` after the Release tests; docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build="$(cd "${1:-build}" && pwd)"
jobs="${LOWRANK_JOBS:-$(nproc)}"
version=$(cat VERSION)
python=/usr/bin/python3  # Debian's, the interpreter the CMake build's module is for
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lowrank-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
step() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "check-install: $*" >&2; exit 1; }
elapsed() { echo "check-install: $1 took $((SECONDS - $2)) s" >&2; }

for f in "$build/lowrank" "$build/CPackConfig.cmake" "$build/lowrank.1.gz"; do
  [[ -e "$f" ]] || fail "$f missing: build the Release tree first (scripts/setup.sh)"
done

# ---- 1. pip -------------------------------------------------------------------
t=$SECONDS
step "pip wheel + pip install into a fresh venv (reusing $build)"
"$python" -m venv --system-site-packages "$tmp/venv"
pip_flags=(--no-build-isolation --no-index --disable-pip-version-check --quiet)
LOWRANK_CMAKE_BUILD_DIR="$build" "$tmp/venv/bin/python" -m pip wheel "${pip_flags[@]}" --no-deps -w "$tmp/wheel" "$root"
wheel=$(ls "$tmp"/wheel/lowrank-"$version"-*.whl) || fail "no lowrank-$version wheel in $tmp/wheel"
"$tmp/venv/bin/python" -m pip install "${pip_flags[@]}" "$wheel"
cd "$tmp"
"$tmp/venv/bin/python" - "$version" <<'PY'
import sys
import numpy as np
import lowrank

version = sys.argv[1]
assert lowrank.__version__ == version == lowrank._core.__version__, (lowrank.__version__, version)
assert lowrank.__file__.startswith(sys.prefix), f"imported {lowrank.__file__}, not the venv's copy"
# A planted rank-3 matrix, 30 % of it hidden: the fit must recover it.
rng = np.random.default_rng(0)
x = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 30))
hidden = rng.random(x.shape) < 0.3
observed = np.where(hidden, np.nan, x)
fit = lowrank.SoftImpute(lam=0.5, max_rank=6).fit(observed)
rel = np.linalg.norm(fit.transform(observed)[hidden] - x[hidden]) / np.linalg.norm(x[hidden])
assert rel < 0.2, rel
print(f"pip: lowrank {lowrank.__version__} from {lowrank.__file__}: rank {fit.rank_}, "
      f"held-out relative error {rel:.3f}")
PY
[[ "$("$tmp/venv/bin/python" -m lowrank --version)" == "lowrank $version" ]] || fail "python -m lowrank --version"
[[ "$("$tmp/venv/bin/lowrank" --version)" == "lowrank $version" ]] || fail "the lowrank console script"
"$tmp/venv/bin/lowrank" info "$root/data/ecology/dune.csv" >/dev/null
cd "$root"
elapsed "pip" $t

# ---- 2. Debian package ----------------------------------------------------------
t=$SECONDS
step "Debian package (cpack) unpacked into a temporary root"
cpack --config "$build/CPackConfig.cmake" -B "$tmp/deb" >/dev/null
deb="$tmp/deb/lowrank_${version}_$(dpkg --print-architecture).deb"
[[ -f "$deb" ]] || fail "$deb not written (found: $(ls "$tmp/deb"))"
dpkg-deb --field "$deb" Package Version Depends >&2
dpkg -x "$deb" "$tmp/root"
cd "$tmp"
[[ "$("$tmp/root/usr/bin/lowrank" --version)" == "lowrank $version" ]] || fail "the .deb's lowrank --version"
"$tmp/root/usr/bin/lowrank" info "$root/data/ecology/mite.csv"
man="$tmp/root/usr/share/man/man1/lowrank.1.gz"
[[ -s "$man" ]] || fail "no man page in the .deb"
zcat "$man" >"$tmp/lowrank.1"
grep -q '^\.SS "lowrank complete"' "$tmp/lowrank.1" || fail "the man page lacks the complete subcommand"
if command -v groff >/dev/null; then  # roff warnings are errors here
  [[ -z "$(groff -man -Tutf8 -ww -z "$tmp/lowrank.1" 2>&1)" ]] || fail "groff warns about the man page"
fi
for f in usr/lib/cmake/lowrank/lowrankConfig.cmake usr/include/lowrank/core/version.hpp usr/lib/liblowrank_core.a; do
  [[ -f "$tmp/root/$f" ]] || fail "the .deb lacks /$f"
done
cd "$root"
elapsed "deb" $t

# ---- 3. cmake --install + find_package ----------------------------------------------
t=$SECONDS
step "cmake --install, then examples/cpp against the installed package"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S examples/cpp -B "$tmp/example-deb" -DCMAKE_PREFIX_PATH="$tmp/root/usr" >/dev/null  # the .deb's package resolves
cmake -S examples/cpp -B "$tmp/example" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
grep -q "lowrank_DIR:PATH=$tmp/prefix/" "$tmp/example/CMakeCache.txt" || fail "find_package did not use $tmp/prefix"
cmake --build "$tmp/example" -j "$jobs" >/dev/null
cd "$tmp"
"$tmp/example/complete_ratings" "$root/examples/cpp/ratings.tsv"
cd "$root"
# With LOWRANK_MPI the package carries the MPI layer (issue 32): its header
# is installed and a consumer of lowrank::distributed compiles and links.
if grep -q '^LOWRANK_MPI:BOOL=ON' "$build/CMakeCache.txt"; then
  [[ -f "$tmp/prefix/include/lowrank/distributed/completion.hpp" ]] || fail "distributed headers not installed"
  mkdir -p "$tmp/mpi-src"
  cat >"$tmp/mpi-src/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(lowrank_mpi_consumer CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(lowrank REQUIRED)
add_executable(mpi_consumer main.cpp)
target_link_libraries(mpi_consumer PRIVATE lowrank::distributed)
CM
  cat >"$tmp/mpi-src/main.cpp" <<'CPP'
#include <lowrank/distributed/completion.hpp>
// Links the library's symbols and MPI's; runs nothing (no mpirun here).
int main(int argc, char**) {
  lowrank::Matrix<double> local = lowrank::Matrix<double>::Identity(4, 2);
  if (argc > 99) return static_cast<int>(lowrank::distributed::tsqr(MPI_COMM_WORLD, local).rows());
  return lowrank::distributed::DistributedReadOptions{}.rows == 0 ? 0 : 1;
}
CPP
  cmake -S "$tmp/mpi-src" -B "$tmp/mpi-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
  cmake --build "$tmp/mpi-build" >/dev/null
  "$tmp/mpi-build/mpi_consumer" || fail "the lowrank::distributed consumer"
  echo "check-install: lowrank::distributed and include/lowrank/distributed installed; a consumer built" >&2
fi
elapsed "cmake --install + example" $t
step "install checks passed (lowrank $version)"
