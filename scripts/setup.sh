#!/usr/bin/env bash
# The two commands of the README, in one script:
#   scripts/setup.sh demo   install missing Debian packages, build (Release),
#                           run the main demo on the bundled data
#   scripts/setup.sh test   same set-up, then the whole test suite: ctest on
#                           the Release build, then the tests again under
#                           AddressSanitizer + UBSan
# Environment: LOWRANK_JOBS (parallel build jobs, default nproc),
#              LOWRANK_SKIP_SANITIZE=1 to skip the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
jobs="${LOWRANK_JOBS:-$(nproc)}"

step() { printf '\n== %s\n' "$*" >&2; }

step "installing missing Debian packages"
scripts/install-deps.sh

step "configuring and building (Release) in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

case "$mode" in
  demo)
    step "demo"
    scripts/demo.sh build/lowrank
    ;;
  test)
    step "unit and integration tests (Release)"
    ctest --test-dir build --output-on-failure -j "$jobs"
    if [[ "${LOWRANK_SKIP_SANITIZE:-0}" != 1 ]]; then
      step "tests under AddressSanitizer + UBSan in build-asan/"
      cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOWRANK_SANITIZE=ON \
            -DLOWRANK_BENCH=OFF >/dev/null
      cmake --build build-asan -j "$jobs"
      # OpenBLAS and libgomp keep thread pools alive at exit: not our leaks.
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs"
    fi
    ;;
  *)
    echo "usage: scripts/setup.sh demo|test" >&2
    exit 2
    ;;
esac
