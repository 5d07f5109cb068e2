#!/usr/bin/env bash
# The two commands of the README, in one script:
#   scripts/setup.sh demo   install missing Debian packages, build (Release),
#                           run the main demo on the bundled data
#   scripts/setup.sh test   same set-up, then the whole test suite: ctest on
#                           the Release build, the install checks
#                           (scripts/check-install.sh: pip, .deb, find_package
#                           on that build), a few seconds of each reader's
#                           fuzzer, a compile of the CUDA backend
#                           (when nvcc is installed), then the tests again
#                           under AddressSanitizer + UBSan (whose build runs
#                           in the background at nice 19 from the end of the
#                           Release build on, in the idle core-time)
#   scripts/setup.sh sanitize   only the sanitizer pass (install, build in
#                           build-asan/, ctest there)
# Every phase prints its wall and CPU seconds, and a table of them ends the
# run. Environment: LOWRANK_JOBS (parallel build jobs, default nproc),
#              LOWRANK_SKIP_SANITIZE=1 to skip the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
jobs="${LOWRANK_JOBS:-$(nproc)}"

step() { printf '\n== %s\n' "$*" >&2; }

# Each phase's wall time and CPU time (user + system of everything it ran,
# from bash's `times`), printed as it ends and as a table at the end: on a
# shared machine wall time says little, CPU time / cores is the estimate for
# a quiet one (docs/benchmarks.md, "CI time"). `times` must run in this shell
# (a $(...) subshell would start from zero), hence the file.
phase_log=()
cpu_now() {
  local f
  f=$(mktemp)
  times >"$f"
  # second line: the children's user and system times, e.g. "1m2.345s 0m6.789s"
  awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } }
       END { printf "%.1f", t }' "$f"
  rm -f "$f"
}
phase() {  # phase NAME COMMAND...: run it, record its wall and CPU seconds
  local name="$1" w0=$EPOCHREALTIME c0 c1 w
  shift
  cpu_now >"$phase_tmp"
  c0=$(<"$phase_tmp")
  "$@"
  cpu_now >"$phase_tmp"
  c1=$(<"$phase_tmp")
  w=$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  phase_log+=("$(printf '%-34s %8s %8.1f' "$name" "$w" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')")")
  printf '== %s: %s s wall, %s s CPU\n' "$name" "$w" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')" >&2
}
phase_summary() {
  ((${#phase_log[@]})) || return 0
  printf '\n== time per phase (CPU = user + system of all processes; %s cores)\n%-34s %8s %8s\n' "$(nproc)" phase \
    "wall s" "CPU s" >&2
  printf '%s\n' "${phase_log[@]}" >&2
}
phase_tmp=$(mktemp)
trap '[[ -n "${asan_pid:-}" ]] && kill -- -"$asan_pid" 2>/dev/null; phase_summary; rm -f "$phase_tmp"' EXIT

# Ninja where it is installed (scripts/install-deps.sh installs ninja-build):
# it starts a target's compiles as soon as their headers exist, where make
# waits for every library the target links to be archived. With unity
# batches a build is a few dozen large translation units, one of them
# lowrank_linalg's (the SVDs and eigensolvers for float and double, 165 s of
# CPU at -O3): under make everything above linalg waits for it while the
# second core has little to do. A build directory already configured with
# another generator keeps it (CMake refuses to switch).
generator_for() {  # generator_for DIR: the -G argument for a new build directory
  if [[ ! -f "$1/CMakeCache.txt" ]] && command -v ninja >/dev/null; then
    echo "-GNinja"
  elif [[ -f "$1/CMakeCache.txt" ]] && grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$1/CMakeCache.txt"; then
    echo "-GNinja"
  else
    local g
    g=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null)
    echo "-G${g:-Unix Makefiles}"
  fi
}

# Both builds are unity builds (LOWRANK_UNITY, CMakeLists.txt): half the
# compile time of a clean clone.
# Debian's OpenBLAS picks its kernels from the CPUID model; on a VM that
# reports a generic "Intel(R) Xeon(R) Processor" it falls back to the old
# Prescott kernels, whose dsymv reads past the end of the matrix (a SEGV
# under ASan, seen 2026-12-03) and which ignore AVX2. Where the CPU has AVX2,
# name the Haswell kernels instead; an OPENBLAS_CORETYPE already set wins.
pin_openblas_core() {
  [[ -n "${OPENBLAS_CORETYPE:-}" ]] && return 0
  local core
  core=$(OPENBLAS_VERBOSE=2 "$1" --version 2>&1 || true)
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null && [[ "$core" == *"Core: Prescott"* ]]; then
    export OPENBLAS_CORETYPE=Haswell
    step "OpenBLAS would use its Prescott kernels on this AVX2 CPU: OPENBLAS_CORETYPE=Haswell"
  fi
}

# The tests (and the CLI that test_cli drives) under ASan + UBSan. -O1 without
# full debug info (line tables only, for readable reports) compiles in about
# half the time of RelWithDebInfo's -O2 -g and the tests still run in seconds;
# no benchmarks. See docs/benchmarks.md, "CI time".
# The test command runs the Release build's test_cli against build-asan's CLI
# (LOWRANK_TEST_CLI_FROM, tests/CMakeLists.txt) rather than compiling the CLI
# tests' driver under ASan too; the sanitize command builds its own.
# Its executables link with LLVM's lld where it is installed: an ASan test
# binary (40 MB, line tables) took 1.7 s of CPU with GNU ld, 1.05 with gold
# and 0.65 with lld (test_completion, twice each). The Release build keeps
# the system linker, so a link order that only lld forgives still fails there.
asan_test_cli_from=
asan_build() {
  local ld=(-DCMAKE_EXE_LINKER_FLAGS=)
  command -v ld.lld >/dev/null && ld=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld)
  cmake -S . -B build-asan "$(generator_for build-asan)" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOWRANK_SANITIZE=ON -DLOWRANK_BENCH=OFF -DLOWRANK_UNITY=ON \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DLOWRANK_TEST_CLI_FROM=$asan_test_cli_from" "${ld[@]}" >/dev/null &&
    cmake --build build-asan -j "$jobs"
}
# The test command starts the sanitizer build in the background at nice 19
# once the Release build is done: the phases between (ctest's tail and the
# CLI tests' waits, pip, cpack, dpkg, the single-threaded fuzz runs, the
# configure steps) leave a core idle much of the time, and at nice 19 the
# build takes only what they leave (CFS gives it about 1.5 % of a contended
# core). Its output goes to build-asan/build.log, shown if it fails.
asan_pid=
asan_build_background() {
  mkdir -p build-asan
  # Its own process group (job control on while it starts), so that a
  # failing script can stop it and all it started: kill -- -PGID at exit.
  set -m
  (
    renice -n 19 -p "$BASHPID" >/dev/null || true
    w0=$EPOCHREALTIME
    rc=0
    asan_build || rc=$?
    times >build-asan/build.times
    echo "$rc $w0 $EPOCHREALTIME" >build-asan/build.status
    exit "$rc"
  ) >build-asan/build.log 2>&1 &
  asan_pid=$!
  set +m
}
asan_build_wait() {
  local w0=$EPOCHREALTIME rc=0 cpu wall
  wait "$asan_pid" || rc=$?
  asan_pid=
  phase_log+=("$(printf '%-34s %8s %8s' "asan: waiting for its build" \
    "$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" -)")
  if [[ -f build-asan/build.times && -f build-asan/build.status ]]; then
    cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } }
               END { printf "%.1f", t }' build-asan/build.times)
    wall=$(awk '{ printf "%.1f", $3 - $2 }' build-asan/build.status)
    phase_log+=("$(printf '%-34s %8s %8s' "asan: configure + build (bg)" "$wall" "$cpu")")
  fi
  if ((rc != 0)); then
    tail -n 60 build-asan/build.log >&2
    echo "setup.sh: the ASan + UBSan build failed (build-asan/build.log)" >&2
    exit 1
  fi
}
sanitize_pass() {
  step "tests under AddressSanitizer + UBSan in build-asan/"
  if [[ -n "$asan_pid" ]]; then
    asan_build_wait
  else
    phase "asan: configure + build" asan_build
  fi
  pin_openblas_core build-asan/lowrank
  # OpenBLAS and libgomp keep thread pools alive at exit: not our leaks.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    phase "asan: ctest" ctest --test-dir build-asan --output-on-failure -j "$jobs"
}

# Every reader's libFuzzer harness for a few seconds on its seeds and saved
# findings (tests/fuzz): the io sources compiled with clang-14 under ASan +
# UBSan at -O0 in build-fuzz-ci/, so a reader that crashes, hangs or over-allocates on
# a known input fails CI. The long runs are scripts/fuzz.sh without --ci
# (docs/errors.md, "Fuzzing").
fuzz_pass() {
  step "fuzzing each reader briefly (clang-14, libFuzzer, -O0) in build-fuzz-ci/"
  phase "fuzz: clang build + runs" scripts/fuzz.sh --ci --jobs "$jobs"
}

# The CUDA backend (LOWRANK_CUDA=ON) compiled with nvcc for sm_90 even where
# no GPU exists, so it never rots; only its library is built (no GPU needed).
cuda_build() {
  cmake -S . -B build-cuda "$(generator_for build-cuda)" -DCMAKE_BUILD_TYPE=Release -DLOWRANK_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DLOWRANK_TESTS=OFF -DLOWRANK_BENCH=OFF -DLOWRANK_PYTHON=OFF >/dev/null
  cmake --build build-cuda -j "$jobs" --target lowrank_cuda lowrank_cuda_nn
}
cuda_compile_pass() {
  if [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
    step "CUDA compile check skipped: /usr/local/cuda/bin/nvcc not found"
    return 0
  fi
  step "compiling the CUDA backend (nvcc, sm_90) in build-cuda/"
  phase "cuda: configure + nvcc" cuda_build
}

case "$mode" in
  demo | test | sanitize) ;;
  *)
    echo "usage: scripts/setup.sh demo|test|sanitize" >&2
    exit 2
    ;;
esac

step "installing missing Debian packages"
phase "apt: install-deps" scripts/install-deps.sh

if [[ "$mode" == sanitize ]]; then
  sanitize_pass
  exit 0
fi

# The test command leaves out the Google Benchmark binaries (bench/): they
# are not tests, and skipping them keeps CI inside its time budget; the demo
# command builds everything.
bench=ON
[[ "$mode" == test ]] && bench=OFF
# The MPI solvers (LOWRANK_MPI, src/distributed) are built and run on 4
# localhost ranks by the test command only (tests/CMakeLists.txt).
mpi=OFF
[[ "$mode" == test ]] && mpi=ON
# The test command's ctest runs each test binary as four GoogleTest shards
# (LOWRANK_TEST_SHARDS, tests/CMakeLists.txt): one process per test spent
# ~20 s of CPU starting processes. A developer's build keeps one ctest entry
# per test (ctest -R Name).
shards=OFF
[[ "$mode" == test ]] && shards=ON
step "configuring and building (Release) in build/"
release_build() {
  cmake -S . -B build "$(generator_for build)" -DCMAKE_BUILD_TYPE=Release -DLOWRANK_UNITY=ON -DLOWRANK_BENCH=$bench \
        -DLOWRANK_MPI=$mpi -DLOWRANK_TEST_SHARDS=$shards >/dev/null
  cmake --build build -j "$jobs"
}
phase "release: configure + build" release_build
pin_openblas_core build/lowrank

case "$mode" in
  demo)
    step "demo"
    scripts/demo.sh build/lowrank
    ;;
  test)
    if [[ "${LOWRANK_SKIP_SANITIZE:-0}" != 1 ]]; then
      asan_test_cli_from="$PWD/build/tests/test_cli"
      asan_build_background
    fi
    step "unit and integration tests (Release)"
    phase "release: ctest" ctest --test-dir build --output-on-failure -j "$jobs"
    step "installs: pip wheel into a venv, the .deb, cmake --install + examples/cpp (reusing build/)"
    phase "check-install" scripts/check-install.sh build
    fuzz_pass
    cuda_compile_pass
    if [[ "${LOWRANK_SKIP_SANITIZE:-0}" != 1 ]]; then
      sanitize_pass
    fi
    ;;
esac
