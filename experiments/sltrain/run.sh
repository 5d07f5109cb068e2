#!/usr/bin/env bash
# Issue 7's experiment: dense vs low-rank vs SLTrain vs GaLore on tinyshakespeare
# (character level, 90/10 split) at nanoGPT's CPU "baby" size -- 4 layers,
# 4 heads, width 128, context 64, batch 12 (820,608 parameters dense) -- with
# rank = width/4 = 32, SLTrain delta = 0.03, the same token budget
# (STEPS x 12 x 64 tokens) for every method, one seed per call (SEED, default
# 0; the seed sets both the initialisation and the data-loader order). Each
# run writes OUT/<method>.csv (loss per step, val loss every EVAL steps),
# OUT/<method>.json (the `lowrank train --json` summary: losses, parameter
# count, optimiser / activation memory, peak RSS, wall time) and
# OUT/<method>.log (stderr). Then plot.py draws OUT/loss.png and OUT/summary.md.
#
#   experiments/sltrain/run.sh [BUILD_DIR] [STEPS] [OUT_DIR] [DATA]
#   (LOWRANK=path/to/lowrank overrides BUILD_DIR/lowrank)
#
# Long: run it in the background and keep the logs, e.g.
#   nohup experiments/sltrain/run.sh build 1000 experiments/sltrain/results/seed0 > /tmp/sltrain.log 2>&1 &
#   SEED=1 nohup experiments/sltrain/run.sh build 1000 experiments/sltrain/results/seed1 > /tmp/sltrain1.log 2>&1 &
# and draw all seeds together with
#   /usr/bin/python3 experiments/sltrain/plot.py experiments/sltrain/results/seed* --png docs/img/sltrain/loss.png
# (docs/sltrain.md lists the exact commands behind its figures).
#
# Size: WIDTH (default 128) sets the model width; the rank is WIDTH/4 unless
# RANK is given. WIDTH=256 is the issue's ~3M size (3,197,700 parameters dense).
#
# Default learning rates (docs/sltrain.md has the sweep; 3e-3 was better at 0.8M): 1e-3 (nanoGPT's
# baby-model rate) for dense, lowrank and sltrain; GaLore multiplies its
# projected update by scale = 0.25 (the paper's default), so it gets
# lr = 4e-3 to take steps of the same size, as the GaLore paper raises its
# rate. Override with LR_DENSE, LR_LOWRANK, LR_SLTRAIN, LR_GALORE.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
STEPS=${2:-2000}
SEED=${SEED:-0}
OUT=${3:-$HERE/results/seed$SEED}
DATA=${4:-$HERE/../../../shared/data/text/tinyshakespeare.txt}
EVAL=${EVAL:-$(( STEPS / 20 > 0 ? STEPS / 20 : 1 ))}
METHODS=${METHODS:-dense lowrank sltrain galore}
declare -A LR=([dense]=${LR_DENSE:-1e-3} [lowrank]=${LR_LOWRANK:-1e-3} [sltrain]=${LR_SLTRAIN:-1e-3}
               [galore]=${LR_GALORE:-4e-3})
EVAL_BATCHES=${EVAL_BATCHES:-20}
WIDTH=${WIDTH:-128}
RANK=${RANK:-$(( WIDTH / 4 ))}
# PARALLEL=1 runs the four methods at once, one thread each (what fits a
# shared 2-core machine best); PARALLEL=0 runs them one after another with
# the default threads.
PARALLEL=${PARALLEL:-1}
LOWRANK=${LOWRANK:-$BUILD/lowrank}
mkdir -p "$OUT"
run_one() {
  local m=$1
  echo "$(date -u +%FT%TZ) start $m (lr ${LR[$m]}, $STEPS steps, width $WIDTH, rank $RANK)"
  "$LOWRANK" train --data "$DATA" --parameterization "$m" --layers 4 --heads 4 --width "$WIDTH" \
    --context 64 --batch 12 --steps "$STEPS" --lr "${LR[$m]}" --warmup 100 --rank "$RANK" --delta 0.03 \
    --eval-interval "$EVAL" --eval-batches "$EVAL_BATCHES" --seed "$SEED" \
    --log "$OUT/$m.csv" --json > "$OUT/$m.json" 2> "$OUT/$m.log"
  echo "$(date -u +%FT%TZ) done  $m"
}
if [ "$PARALLEL" = 1 ]; then
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
  for m in $METHODS; do run_one "$m" & done
  wait
else
  for m in $METHODS; do run_one "$m"; done
fi
/usr/bin/python3 "$HERE/plot.py" "$OUT"
