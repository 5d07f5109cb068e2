#!/bin/bash
# Issue 34 time yardstick: the all-defaults fit on MovieLens u1 and one fixed-lambda
# centred fit at the lambda it chose, back to back, CPU seconds (user + sys).
# Usage: bench/time_defaults.sh BIN [runs] [data dir]   (BIN: a lowrank CLI build)
D=${3:-$(dirname "$0")/../../shared/data/movielens-100k}
export OMP_WAIT_POLICY=passive
BIN=$1; N=${2:-1}
T=$(mktemp -d); trap "rm -rf $T" EXIT
for k in $(seq $N); do
  a=$( { /usr/bin/time -f "%U %S" $BIN complete --train $D/u1.base --test $D/u1.test --json -q --threads 2 > $T/def.json; } 2>&1 | tail -1)
  lam=$(/usr/bin/python3 -c "import json; j=json.load(open('$T/def.json')); print(repr(j['lambda']))")
  b=$( { /usr/bin/time -f "%U %S" $BIN complete --train $D/u1.base --test $D/u1.test --json -q --threads 2 --centering biases --lambda $lam > $T/fix.json; } 2>&1 | tail -1)
  /usr/bin/python3 - "$a" "$b" "$T" <<'PY'
import json,sys
a=sum(map(float,sys.argv[1].split())); b=sum(map(float,sys.argv[2].split()))
j=json.load(open(sys.argv[3] + "/def.json")); f=json.load(open(sys.argv[3] + "/fix.json"))
print(f"defaults rmse {j['test']['rmse']:.5f} {j['centering']} lam {j['lambda']:.4g} rank {j['rank']} it {j['iterations']} fits {j['cv']['fits']} cpu {a:.2f} | fixed rmse {f['test']['rmse']:.5f} it {f['iterations']} cpu {b:.2f} | ratio {a/b:.1f}")
PY
done
