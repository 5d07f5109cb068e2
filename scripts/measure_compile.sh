#!/usr/bin/env bash
# CPU seconds of one compile of a build directory, with its own flags or
# edited ones (docs/benchmarks.md, "CI time"): CPU time, unlike wall time,
# barely moves with the load of a shared machine.
#   scripts/measure_compile.sh BUILD_DIR OBJECT_SUBSTRING LABEL [SED_EXPR...]
# takes the first command of BUILD_DIR/compile_commands.json whose output
# contains OBJECT_SUBSTRING, applies each sed expression to it, compiles to
# a scratch object under /dev/shm at nice 10 and prints user + system CPU
# seconds, peak RSS and object size. The precompiled header is replaced by
# a copy of its text (no .gch next to it), so that variants whose flags the
# .gch would not accept parse the same headers. With KEEP=PATH in the
# environment the object is copied to PATH (to link and run a variant).
# Example:
#   scripts/measure_compile.sh build-asan tests/CMakeFiles/test_game.dir/Unity/unity_0 no-uas \
#     's/ -fno-omit-frame-pointer / -fno-omit-frame-pointer -fno-sanitize-address-use-after-scope /'
set -euo pipefail
bd=$(cd "$1" && pwd); sub=$2; label=$3; shift 3
keep=${KEEP:+$(realpath -m "$KEEP")}
line=$(python3 - "$bd" "$sub" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1] + '/compile_commands.json')):
    out = e['command'].split(' -o ')[1].split()[0]
    if sys.argv[2] in out:
        print(e['directory'] + '\t' + e['command'])
        break
else:
    sys.exit(f'no compile of {sys.argv[2]} in {sys.argv[1]}/compile_commands.json')
PY
)
dir=${line%%$'\t'*}; cmd=${line#*$'\t'}
scratch=$(mktemp -d /dev/shm/measure_compile.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cmd=$(sed -E "s# -o [^ ]+# -o $scratch/out.o#" <<<"$cmd")
pch=$(grep -oE -- '-include [^ ]+cmake_pch.hxx' <<<"$cmd" | awk '{print $2}' || true)
if [[ -n "$pch" ]]; then
  cp "$pch" "$scratch/pch.hxx"
  cmd=${cmd//$pch/$scratch/pch.hxx}
fi
for e in "$@"; do cmd=$(sed -E "$e" <<<"$cmd"); done
cd "$dir"
if ! /usr/bin/time -f "%U %S %M" -o "$scratch/time" nice -n 10 bash -c "$cmd" 2>"$scratch/err"; then
  tail -n 20 "$scratch/err" >&2
  exit 1
fi
read -r u s m <"$scratch/time"
if [[ -n "$keep" ]]; then cp "$scratch/out.o" "$keep"; fi
awk -v n="$(basename "$sub")" -v l="$label" -v u="$u" -v s="$s" -v m="$m" -v b="$(stat -c %s "$scratch/out.o")" \
  'BEGIN { printf "%-28s %-24s CPU %6.1f s  RSS %5.2f GB  object %6.1f MB\n", n, l, u + s, m / 1048576, b / 1048576 }'
