#!/usr/bin/env bash
# `mpirun -np P lowrank complete|decompose` (issue 32): the same answer on
# 1, 2 and 4 ranks, from a file or a shard directory; bad shards exit 2
# naming the shard; a job with a rank killed mid-run, restarted with
# --resume, ends where an uninterrupted run ends.
# Usage: cli.sh MPIRUN LOWRANK   (ctest sets OMPI_ALLOW_RUN_AS_ROOT etc.)
set -Eeuo pipefail
mpirun="$1"
lowrank="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { local np=$1; shift; "$mpirun" --oversubscribe -np "$np" "$lowrank" "$@"; }
field() { /usr/bin/python3 -c "import json,sys; print(repr(json.load(open(sys.argv[1]))[sys.argv[2]]))" "$1" "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# set -e would otherwise end the script without a word (a failed run, a grep that found nothing).
trap '_rc=$?; [[ $- == *e* ]] && echo "FAIL: line $LINENO exited $_rc: $BASH_COMMAND" >&2' ERR

# A rank-2 200 x 80 matrix, 40% observed, 0-based ids, with a header line.
awk 'BEGIN { print "row\tcol\tvalue";
  for (i = 0; i < 200; i++) for (j = 0; j < 80; j++)
    if ((i * 31 + j * 17) % 5 < 2) printf "%d\t%d\t%.12f\n", i, j, sin(i) * cos(j) + 0.5 * sin(2 * i) * sin(j) + 3 }' \
  > "$dir/train.tsv"

for method in als soft-impute; do
  for np in 1 2 4; do
    run "$np" complete --train "$dir/train.tsv" --method "$method" --rank 3 --lambda 0.5 --max-iter 30 --tol 1e-14 \
      --quiet --out "$dir/model_${method}_$np" > "$dir/${method}_$np.json"
  done
  o1=$(field "$dir/${method}_1.json" objective)
  for np in 2 4; do
    o=$(field "$dir/${method}_$np.json" objective)
    [[ "$o" == "$o1" ]] || fail "$method objective on $np ranks $o != 1 rank $o1"
    cmp -s "$dir/model_${method}_1/d.npy" "$dir/model_${method}_$np/d.npy" || fail "$method d.npy differs on $np ranks"
  done
done

# Shards: four parts read by three ranks give the file's answer.
mkdir "$dir/shards"
tail -n +2 "$dir/train.tsv" > "$dir/body.tsv"
split -n l/4 -d -a 5 "$dir/body.tsv" "$dir/shards/part-"
printf 'rows 200\ncols 80\nshards 4\n' > "$dir/shards/manifest"
run 3 complete --train "$dir/shards" --method als --rank 3 --lambda 0.5 --max-iter 30 --tol 1e-14 --quiet \
  > "$dir/shards.json"
[[ $(field "$dir/shards.json" objective) == $(field "$dir/als_1.json" objective) ]] || fail "shards objective differs"

# Bad shards: exit 2, the shard named.
cp -r "$dir/shards" "$dir/missing" && rm "$dir/missing/part-00002"
set +e
run 2 complete --train "$dir/missing" --method als --rank 2 --quiet > /dev/null 2> "$dir/err1"
rc=$?
cp -r "$dir/shards" "$dir/range" && printf '250\t3\t1.0\n' >> "$dir/range/part-00001"
run 2 complete --train "$dir/range" --method als --rank 2 --quiet > /dev/null 2> "$dir/err2"
rc2=$?
set -e
[[ $rc == 2 ]] || fail "missing shard: exit $rc, expected 2"
grep -q "shard part-00002 (2 of 0..3) is missing" "$dir/err1" || fail "missing shard not named: $(cat "$dir/err1")"
[[ $rc2 == 2 ]] || fail "out-of-range id: exit $rc2, expected 2"
grep -q "part-00001:[0-9]*: row id 250 out of range \[0, 200)" "$dir/err2" || fail "bad id not named: $(cat "$dir/err2")"

# Distributed SVD on 1 and 4 ranks: the same singular values.
run 1 decompose --input "$dir/train.tsv" --rank 3 --out "$dir/svd1" > "$dir/svd1.json"
run 4 decompose --input "$dir/train.tsv" --rank 3 --out "$dir/svd4" > "$dir/svd4.json"
/usr/bin/python3 - "$dir/svd1.json" "$dir/svd4.json" <<'EOF' || fail "decompose differs across ranks"
import json, sys
a, b = (json.load(open(p))["singular_values"] for p in sys.argv[1:3])
assert all(abs(x - y) <= 1e-10 * a[0] for x, y in zip(a, b)), (a, b)
EOF

# Kill one rank of a 2-rank job once a checkpoint exists, then resume. A
# 1000 x 300 problem and 200 iterations, so that the job is still iterating
# when the poll below sees the first checkpoint, also on a loaded machine (at
# 20 iterations a busy CI machine once killed it after its last checkpoint:
# the resumed run had nothing left to iterate).
awk 'BEGIN { for (i = 0; i < 1000; i++) for (j = 0; j < 300; j++)
    if ((i * 31 + j * 17) % 5 < 2) printf "%d\t%d\t%.12f\n", i, j, sin(i) * cos(j) + 0.5 * sin(2 * i) * sin(j) + 3 }' \
  > "$dir/big.tsv"
iters=200
args=(complete --train "$dir/big.tsv" --method als --rank 3 --lambda 0.5 --max-iter $iters --tol 1e-300 --quiet)
run 2 "${args[@]}" > "$dir/full.json"
"$mpirun" --oversubscribe -np 2 "$lowrank" "${args[@]}" --checkpoint "$dir/ck" > /dev/null 2>&1 &
job=$!
for _ in $(seq 1200); do [[ -f "$dir/ck" ]] && break; sleep 0.02; done
[[ -f "$dir/ck" ]] || fail "no checkpoint written"
victim=$(pgrep -P "$job" -f "$lowrank" | tail -n 1 || true)
[[ -n "$victim" ]] || fail "rank process not found (the run ended before the kill: raise iters)"
kill -9 "$victim"
set +e
wait "$job"
killed_rc=$?
set -e
[[ $killed_rc != 0 ]] || fail "the killed job exited 0"
run 2 complete --train "$dir/big.tsv" --method als --rank 3 --lambda 0.5 --max-iter $iters --tol 1e-300 \
  --checkpoint "$dir/ck" --resume > "$dir/resumed.json" 2> "$dir/resumed.err"
first=$(grep -m1 "^als iteration" "$dir/resumed.err" | sed -n 's/^als iteration \([0-9]*\) .*/\1/p' || true)
[[ -n "$first" && "$first" -gt 1 ]] || fail "the resumed run did not start from the checkpoint: $(head -n 2 "$dir/resumed.err")"
[[ $(field "$dir/resumed.json" objective) == $(field "$dir/full.json" objective) ]] ||
  fail "resumed objective $(field "$dir/resumed.json" objective) != $(field "$dir/full.json" objective)"
echo "distributed CLI: all checks passed (killed at iteration $((first - 1)) of $iters)"
