#!/bin/bash
# What a precompiled header costs and saves (docs/benchmarks.md, "CI time"):
#   scripts/measure_pch.sh BUILD_DIR PCH_TARGET_DIR BATCH_OBJECT_SUBSTRING...
# compiles the .gch of PCH_TARGET_DIR (e.g. lowrank_python.dir) with the command of
# BUILD_DIR/compile_commands.json into a scratch folder, then each batch twice: with
# that .gch and with the headers as text; prints CPU seconds (user + system) of each,
# at nice 10. Example: scripts/measure_pch.sh build lowrank_python.dir lowrank_python.dir/Unity/unity_0
set -euo pipefail
bd=$(cd "$1" && pwd); pdir=$2; shift 2
s=$(mktemp -d /dev/shm/pchm.XXXXXX); trap 'rm -rf $s' EXIT
cmd_of() { python3 - "$bd" "$1" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1] + '/compile_commands.json')):
    out = e['command'].split(' -o ')[1].split()[0]
    if sys.argv[2] in out:
        print('cd ' + e['directory'] + ' && ' + e['command']); break
PY
}
t() { /usr/bin/time -f "%U %S" -o $s/time nice -n 10 bash -c "$1" 2>$s/err || { tail $s/err; exit 1; }; awk '{printf "%.1f", $1+$2}' $s/time; }
gcmd=$(cmd_of "$pdir/cmake_pch.hxx.gch")
pch=$(grep -oE -- '-include [^ ]+cmake_pch.hxx' <<<"$gcmd" | awk '{print $2}')
cp "$pch" $s/pch.hxx
gcmd=${gcmd//"-include $pch "/"-include $s/pch.hxx "}; gcmd=$(sed -E "s# -o [^ ]+# -o $s/pch.hxx.gch#" <<<"$gcmd")
echo "gch $(t "$gcmd")"
for b in "$@"; do
  c=$(cmd_of "$b"); c=${c//"-include $pch "/"-include $s/pch.hxx "}; c=$(sed -E "s# -o [^ ]+# -o $s/out.o#" <<<"$c")
  echo "$b with-gch $(t "$c") invalid-pch-warnings $(grep -c 'not used because' $s/err)"
  mv $s/pch.hxx.gch $s/keep.gch
  echo "$b text $(t "$c")"
  mv $s/keep.gch $s/pch.hxx.gch
done
