#!/usr/bin/env bash
# Issue 30: loss curves of `lowrank train` and its PyTorch mirror
# (bench/torch_mirror.py) over the first STEPS steps, same model (the 3.2M
# dense model by default: width 256, 4 blocks, 4 heads, SwiGLU 688, batch 12
# x context 64), data, initialisation scheme and optimiser (AdamW 0.9/0.99,
# decay 0.1, clip 1.0, 100 warm-up steps, cosine to 10% at STEPS, lr 1e-3),
# one thread each. The two draw their own initial weights and batches (the
# same distributions, different random streams), so they should agree within
# seed noise; SEEDS runs both at each seed to show that noise.
#
#   experiments/sltrain/torch_curves.sh [BUILD_DIR] [OUT_DIR]
#   then: /usr/bin/python3 experiments/sltrain/plot_arms.py OUT_DIR --png docs/img/sltrain/torch_curves.png
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
BUILD=${1:-build}
OUT=${2:-$HERE/results/torch-anchor}
DATA=${DATA:-$ROOT/../shared/data/text/tinyshakespeare.txt}
LOWRANK=${LOWRANK:-$BUILD/lowrank}
STEPS=${STEPS:-500}
WIDTH=${WIDTH:-256}
SEEDS=${SEEDS:-0}
EVAL=${EVAL:-50}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for s in $SEEDS; do
  "$LOWRANK" train --data "$DATA" --parameterization dense --layers 4 --heads 4 --width "$WIDTH" --context 64 \
    --batch 12 --steps "$STEPS" --lr 1e-3 --warmup 100 --eval-interval "$EVAL" --eval-batches 20 --seed "$s" \
    --threads 1 --log "$OUT/lowrank-seed$s.csv" --json > "$OUT/lowrank-seed$s.json" 2> "$OUT/lowrank-seed$s.log" &
  /usr/bin/python3 "$ROOT/bench/torch_mirror.py" curves --data "$DATA" --width "$WIDTH" --steps "$STEPS" --lr 1e-3 \
    --warmup 100 --eval-interval "$EVAL" --eval-batches 20 --seed "$s" --out "$OUT/pytorch-seed$s.csv" \
    > "$OUT/pytorch-seed$s.json" 2> "$OUT/pytorch-seed$s.log" &
done
wait
