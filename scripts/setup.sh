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
#                           under AddressSanitizer + UBSan
#   scripts/setup.sh sanitize   only the sanitizer pass (install, build in
#                           build-asan/, ctest there)
# Environment: LOWRANK_JOBS (parallel build jobs, default nproc),
#              LOWRANK_SKIP_SANITIZE=1 to skip the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
jobs="${LOWRANK_JOBS:-$(nproc)}"

step() { printf '\n== %s\n' "$*" >&2; }

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
sanitize_pass() {
  step "tests under AddressSanitizer + UBSan in build-asan/"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOWRANK_SANITIZE=ON -DLOWRANK_BENCH=OFF -DLOWRANK_UNITY=ON \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build build-asan -j "$jobs"
  pin_openblas_core build-asan/lowrank
  # OpenBLAS and libgomp keep thread pools alive at exit: not our leaks.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
}

# Every reader's libFuzzer harness for a few seconds on its seeds and saved
# findings (tests/fuzz): the io sources compiled with clang-14 under ASan +
# UBSan in build-fuzz/, so a reader that crashes, hangs or over-allocates on
# a known input fails CI. The long runs are scripts/fuzz.sh without --ci
# (docs/errors.md, "Fuzzing").
fuzz_pass() {
  step "fuzzing each reader briefly (clang-14, libFuzzer) in build-fuzz/"
  scripts/fuzz.sh --ci --jobs "$jobs"
}

# The CUDA backend (LOWRANK_CUDA=ON) compiled with nvcc for sm_90 even where
# no GPU exists, so it never rots; only its library is built (no GPU needed).
cuda_compile_pass() {
  if [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
    step "CUDA compile check skipped: /usr/local/cuda/bin/nvcc not found"
    return 0
  fi
  step "compiling the CUDA backend (nvcc, sm_90) in build-cuda/"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DLOWRANK_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DLOWRANK_TESTS=OFF -DLOWRANK_BENCH=OFF -DLOWRANK_PYTHON=OFF >/dev/null
  cmake --build build-cuda -j "$jobs" --target lowrank_cuda
}

case "$mode" in
  demo | test | sanitize) ;;
  *)
    echo "usage: scripts/setup.sh demo|test|sanitize" >&2
    exit 2
    ;;
esac

step "installing missing Debian packages"
scripts/install-deps.sh

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
step "configuring and building (Release) in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLOWRANK_UNITY=ON -DLOWRANK_BENCH=$bench -DLOWRANK_MPI=$mpi >/dev/null
cmake --build build -j "$jobs"
pin_openblas_core build/lowrank

case "$mode" in
  demo)
    step "demo"
    scripts/demo.sh build/lowrank
    ;;
  test)
    step "unit and integration tests (Release)"
    ctest --test-dir build --output-on-failure -j "$jobs"
    step "installs: pip wheel into a venv, the .deb, cmake --install + examples/cpp (reusing build/)"
    scripts/check-install.sh build
    fuzz_pass
    cuda_compile_pass
    if [[ "${LOWRANK_SKIP_SANITIZE:-0}" != 1 ]]; then
      sanitize_pass
    fi
    ;;
esac
