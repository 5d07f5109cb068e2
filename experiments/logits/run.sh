#!/usr/bin/env bash
# Logit-matrix rank across training (issue 8, part 3). Trains a small
# character model on the bundled tinyshakespeare excerpt with `lowrank train`,
# keeps checkpoints along the way, and runs `lowrank logit-rank` on held-out
# and on shuffled ("nonsense") text at each checkpoint, then `lowrank lingen`
# at the first and the last. Results (JSON, one file per run) go to $OUT;
# experiments/logits/summarize.py turns them into tables and plots.
#   usage: experiments/logits/run.sh [BUILD_DIR] [OUT_DIR]
# Cost (2026-11-23, THREADS=1): 4.3 min CPU (user), 16 min wall on the shared
# 2-core VM with three other jobs running. For a quicker run:
#   STEPS="1 30 100 300 1000" TOTAL=1000 experiments/logits/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-diag}
OUT=${2:-$ROOT/experiments/logits/results}
LR="$BUILD/lowrank"
DATA=$ROOT/data/text/tinyshakespeare_head.txt
RUNS=${RUNS:-/tmp/lowrank_logits_runs}
STEPS=${STEPS:-"1 30 100 300 1000 2000"}
TOTAL=${TOTAL:-2000}
THREADS=${THREADS:-2}
mkdir -p "$OUT" "$RUNS"
cat > "$RUNS/config.json" <<JSON
{"model": {"context": 64, "n_layer": 3, "n_head": 4, "width": 96, "seed": 1},
 "optim": {"lr": 0.003, "warmup_steps": 50, "total_steps": $TOTAL},
 "data": "$DATA", "batch": 16, "steps": 1, "eval_interval": 0, "eval_batches": 8, "seed": 1}
JSON
CK=$RUNS/ck
rm -rf "$CK"
prev=0
for s in $STEPS; do
  if [ "$prev" = 0 ]; then
    "$LR" train --config "$RUNS/config.json" --steps "$s" --checkpoint "$CK" --threads "$THREADS" -q --json > "$OUT/train_$s.json"
  else
    "$LR" train --resume "$CK" --steps "$s" --threads "$THREADS" -q --json > "$OUT/train_$s.json"
  fi
  rm -rf "$RUNS/ck_$s"; cp -r "$CK" "$RUNS/ck_$s"
  prev=$s
done
W="--histories 200 --history-length 32 --futures 40 --future-length 4 --top-k 50 --threads $THREADS -q"
for s in $STEPS; do
  "$LR" logit-rank --checkpoint "$RUNS/ck_$s" $W --sv "$OUT/sv_heldout_$s.csv" --json > "$OUT/rank_heldout_$s.json"
  "$LR" logit-rank --checkpoint "$RUNS/ck_$s" $W --shuffle --sv "$OUT/sv_shuffled_$s.csv" --json > "$OUT/rank_shuffled_$s.json"
done
# Weight spectra of the same checkpoints (docs/diagnostics.md, "across training").
for s in $STEPS; do
  "$LR" inspect "$RUNS/ck_$s" --threads "$THREADS" -q --json > "$OUT/inspect_$s.json"
done
last=${STEPS##* }
first=${STEPS%% *}
G="--histories 200 --history-length 32 --futures 40 --future-length 4 --length 24 --samples 4 --threads $THREADS -q"
for seed in 1 2 3 4 5; do
  for ck in "$first" "$last"; do
    "$LR" lingen --checkpoint "$RUNS/ck_$ck" $G --seed "$seed" --json > "$OUT/lingen_heldout_${ck}_$seed.json"
    "$LR" lingen --checkpoint "$RUNS/ck_$ck" $G --seed "$seed" --shuffle --json > "$OUT/lingen_shuffled_${ck}_$seed.json"
  done
done
echo "results in $OUT"
