#!/usr/bin/env bash
# libFuzzer runs of every reader (tests/fuzz; docs/errors.md, "Fuzzing").
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--jobs N] [--ci] [--no-build] [FUZZER...]
#
# Builds the harnesses with clang-14 under ASan + UBSan in build-fuzz/ (only
# the io sources, plus lowrank_nn for the config / checkpoint_meta fuzzers),
# then runs each FUZZER (default: all) for --seconds (default 60) or until
# --runs executions, with a memory cap (-rss_limit_mb / -malloc_limit_mb: a
# reader that allocates more than 2 GiB for any input is a finding) and a
# per-input time limit (-timeout: a hang is a finding). Seeds come from
# tests/data, tests/fuzz/seeds and tests/fuzz/regressions; the growing corpus
# lives in build-fuzz/corpus/FUZZER and crashing inputs in
# build-fuzz/artifacts/FUZZER. One line per fuzzer (executions, exec/s,
# corpus size, findings) goes to stdout and build-fuzz/fuzz-results.tsv.
#
# --ci: the io fuzzers only (the nn ones need lowrank_nn compiled with clang,
# minutes), 3 seconds each, built at -O0 in build-fuzz-ci/ as one binary
# (fuzz_io_all; reproduce a finding with LOWRANK_FUZZ_TARGET=csv
# build-fuzz-ci/tests/fuzz/fuzz_io_all FILE): a regression
# check that CI runs from scripts/setup.sh test. Exit status 1 when any fuzzer found something.
# The nn fuzzers' saved findings (tests/fuzz/regressions/{config,
# checkpoint_meta}) are replayed instead by test_nn
# (NnHostileInput.FuzzRegressionsAreRefusedWithClearErrors), which CI runs in
# both its builds, Release and ASan + UBSan, at no extra compile.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
runs=-1
jobs="${LOWRANK_JOBS:-$(nproc)}"
ci=0
build_first=1
fuzzers=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --ci) ci=1; seconds=3; shift ;;
    --no-build) build_first=0; shift ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) fuzzers+=("$1"); shift ;;
  esac
done

io_fuzzers=(csv triplets matrix_market npy npz safetensors safetensors_index any)
nn_fuzzers=(config checkpoint_meta)
if ((${#fuzzers[@]} == 0)); then
  fuzzers=("${io_fuzzers[@]}")
  ((ci)) || fuzzers+=("${nn_fuzzers[@]}")
fi

CXX_FUZZ="${LOWRANK_FUZZ_CXX:-clang++-14}"
if ! command -v "$CXX_FUZZ" >/dev/null; then
  echo "fuzz.sh: $CXX_FUZZ not found (scripts/install-deps.sh installs clang-14 and libfuzzer-14-dev)" >&2
  exit 2
fi
# The build directory. -O1 and line tables only: the harnesses run as fast
# as -O2 ones within noise and the io sources compile in half the time.
# --ci builds at -O0 in a directory of its own (build-fuzz-ci/): its runs
# are 3 seconds of a regression check, where compile time is most of the
# cost (lowrank_io's first unity batch: 28.7 s of CPU at -O1, 15.7 s at
# -O0; docs/benchmarks.md, "CI time"), and a long run later in build-fuzz/
# keeps the faster -O1 harnesses.
opt=-O1
build="${LOWRANK_FUZZ_BUILD:-build-fuzz}"
if ((ci)); then
  opt=-O0
  build="${LOWRANK_FUZZ_BUILD:-build-fuzz-ci}"
fi
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B $build -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$opt -g1 -DNDEBUG" -DLOWRANK_FUZZ=ON -DLOWRANK_TESTS=OFF \
        -DLOWRANK_BENCH=OFF -DLOWRANK_PYTHON=OFF -DLOWRANK_UNITY=ON >/dev/null
fi
# --ci builds the io harnesses as one binary, fuzz_io_all (tests/fuzz/io_all.cpp;
# LOWRANK_FUZZ_TARGET picks the reader): one compile and one link instead of
# one per reader (docs/benchmarks.md, "CI time"). Long runs keep fuzz_<reader>.
all_in_one=0
if ((ci)); then
  all_in_one=1
  for f in "${fuzzers[@]}"; do [[ " ${io_fuzzers[*]} " == *" $f "* ]] || all_in_one=0; done
fi
targets=()
if ((all_in_one)); then
  targets=(fuzz_io_all)
else
  for f in "${fuzzers[@]}"; do targets+=("fuzz_$f"); done
fi
((build_first)) && cmake --build $build -j "$jobs" --target "${targets[@]}"

# Seeds: the test fixtures of each format (small ones: -max_len bounds the
# inputs libFuzzer makes, not the seeds it loads).
seeds_of() {
  local d=tests/data
  case "$1" in
    csv) ls $d/io/*.csv $d/io/users.user ;;
    triplets) ls $d/io/ratings* $d/completion/planted60x40.entries.txt ;;
    matrix_market) ls $d/io/*.mtx ;;
    npy) ls $d/io/*.npy ;;
    npz) ls $d/io/*.npz ;;
    safetensors) ls $d/io/*.safetensors $d/diagnostics/model.safetensors $d/diagnostics/sharded/*.safetensors ;;
    safetensors_index) ls $d/diagnostics/sharded/*.json ;;
    any) ls $d/io/*.csv $d/io/ratings* $d/io/*.mtx $d/io/*.npy $d/io/*.npz $d/io/*.safetensors ;;
    config | checkpoint_meta) ;;
  esac 2>/dev/null || true
}
max_len_of() {
  case "$1" in
    npz | safetensors | any | checkpoint_meta) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

results=$build/fuzz-results.tsv
[[ -f $results ]] || printf 'date\tfuzzer\tseconds\texecutions\texec_per_s\tcorpus\tfindings\n' >"$results"
failed=0
for f in "${fuzzers[@]}"; do
  # Absolute paths: the checkpoint_meta harness changes its working directory.
  corpus=$(realpath -m "$build/corpus/$f")
  artifacts=$(realpath -m "$build/artifacts/$f")
  seed_dir=$(realpath -m "$build/seeds/$f")
  mkdir -p "$corpus" "$artifacts" "$seed_dir"
  for s in $(seeds_of "$f"); do cp -f "$s" "$seed_dir/"; done
  extra=()
  [[ -d tests/fuzz/seeds/$f ]] && extra+=("$PWD/tests/fuzz/seeds/$f")
  [[ -d tests/fuzz/regressions/$f ]] && extra+=("$PWD/tests/fuzz/regressions/$f")
  log=$build/fuzz-$f.log
  before=$(find "$artifacts" -type f | wc -l)
  start=$(date +%s%N)
  set +e
  binary=$build/tests/fuzz/fuzz_$f
  ((all_in_one)) && binary=$build/tests/fuzz/fuzz_io_all
  LOWRANK_FUZZ_TARGET=$f ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$binary" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -timeout=10 -max_len="$(max_len_of "$f")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$seed_dir" "${extra[@]}" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  if ((rc != 0)); then
    failed=1
    echo "fuzz.sh: fuzz_$f exited $rc; see $log and $artifacts" >&2
    grep -m3 -E 'ERROR: |SUMMARY: |==[0-9]+== ' "$log" >&2 || tail -5 "$log" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$f" "$elapsed" "${execs:-?}" "${rate:-?}" "$size" \
    "$found" | tee -a "$results"
done
exit $failed
