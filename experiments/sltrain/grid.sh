#!/usr/bin/env bash
# Issue 30's experiment: SLTrain against the initialisation-matched low-rank
# arm under SLTrain's reference recipe (`lowrank train --preset
# sltrain-reference`: AdamW lr 3e-3 unless LR says otherwise, betas 0.9/0.999,
# no weight decay, no clipping, 10% warm-up, cosine to 10%), on
# tinyshakespeare (character level, 90/10 split), 4 blocks, 4 heads, batch 12
# x context 64, rank = width/4.
#
# Arms (one `lowrank train` each; OUT/<arm>.csv, .json, .log):
#   lowrank-b{zero,random}-a{1,0.25}-lr{LR}
#   sltrain-d{DELTA}-b{zero,random}-a{1,0.25}-lr{LR}
#   dense-lr{LR}, galore-lr{LR}   (dense and GaLore at their own rates)
# where a = alpha / r (alpha = a * rank) and b = B's initialisation.
#
#   experiments/sltrain/grid.sh [BUILD_DIR] OUT_DIR
#
# Environment (defaults = the full grid of issue 30, far beyond a 2-core
# machine: 0.8M at ~20 tokens per parameter is 21,400 steps per run, ~150 runs):
#   WIDTH=128 (0.8M) | 256 (3.2M)     STEPS=21400 (16.4M tokens at 0.8M)
#   SEEDS="0 1 2"  LRS="1e-3 3e-3 1e-2"  DELTAS="0.001 0.03 0.1"
#   BINITS="zero random"  SCALES="1 0.25"  KINDS="lowrank sltrain"
#   DENSE_LRS="1e-3 3e-3" GALORE_LRS="1e-2 3e-2" (empty: skip)
#   EVAL (validation every EVAL steps, default STEPS/40), EVAL_BATCHES=20
#   JOBS=2 runs at once (one thread each); DRY=1 prints the commands only.
#   CKPT (checkpoint every CKPT steps, default STEPS/20; 0 = none)
# Resumable: run the same command again after Ctrl-C, a crash or a reboot.
# An arm whose JSON summary says "status": "success" (ran to its last step) is
# skipped; one with a checkpoint (OUT/seedS/<arm>.ckpt/checkpoint.safetensors)
# continues from it with `lowrank train --resume` (the same loss curve as an
# uninterrupted run; its CSV keeps the rows up to the checkpoint and gets the
# rest appended); any other arm starts from step 0. Interrupted runs write a
# checkpoint when stopped with Ctrl-C (SIGINT), so at most CKPT steps are lost
# on a kill or a crash.
# The reduced slice that docs/sltrain.md reports was run with
#   WIDTH=128 STEPS=... SEEDS=0 LRS=3e-3 DELTAS=0.03 SCALES=0.25 JOBS=5 ...
# (the exact environment is in docs/sltrain.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
OUT=${2:?usage: grid.sh [BUILD_DIR] OUT_DIR}
DATA=${DATA:-$HERE/../../../shared/data/text/tinyshakespeare.txt}
LOWRANK=${LOWRANK:-$BUILD/lowrank}
WIDTH=${WIDTH:-128}
RANK=${RANK:-$(( WIDTH / 4 ))}
STEPS=${STEPS:-21400}
EVAL=${EVAL:-$(( STEPS / 40 > 0 ? STEPS / 40 : 1 ))}
EVAL_BATCHES=${EVAL_BATCHES:-20}
SEEDS=${SEEDS:-0 1 2}
LRS=${LRS:-1e-3 3e-3 1e-2}
DELTAS=${DELTAS:-0.001 0.03 0.1}
BINITS=${BINITS:-zero random}
SCALES=${SCALES:-1 0.25}
KINDS=${KINDS:-lowrank sltrain}
DENSE_LRS=${DENSE_LRS-1e-3 3e-3}
GALORE_LRS=${GALORE_LRS-1e-2 3e-2}
JOBS=${JOBS:-2}
CKPT=${CKPT:-$(( STEPS / 20 > 0 ? STEPS / 20 : 1 ))}
DRY=${DRY:-0}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

cmds=()
add() {  # name, seed, extra flags...
  local name=$1 seed=$2
  shift 2
  local dir="$OUT/seed$seed" ck="$OUT/seed$seed/$name.ckpt"
  local ckflags=""
  [ "$CKPT" -gt 0 ] && ckflags="--checkpoint '$ck' --checkpoint-interval $CKPT"
  if grep -qs '"status": "success"' "$dir/$name.json"; then
    skipped=$(( skipped + 1 ))
    return
  fi
  if [ -f "$ck/checkpoint.safetensors" ]; then
    # the stored options (model, optimiser, data, steps, seed) come from the checkpoint
    resumed=$(( resumed + 1 ))
    cmds+=("exec '$LOWRANK' train --resume '$ck' --threads 1 --log '$dir/$name.csv' --json > '$dir/$name.json' \
2>> '$dir/$name.log'")
    return
  fi
  cmds+=("mkdir -p '$dir' && exec '$LOWRANK' train --data '$DATA' --preset sltrain-reference --layers 4 --heads 4 \
--width $WIDTH --context 64 --batch 12 --steps $STEPS --rank $RANK --eval-interval $EVAL \
--eval-batches $EVAL_BATCHES --seed $seed --threads 1 $* $ckflags --log '$dir/$name.csv' --json > '$dir/$name.json' \
2> '$dir/$name.log'")
}
skipped=0
resumed=0
for seed in $SEEDS; do
  for lr in $LRS; do
    for sc in $SCALES; do
      alpha=$(python3 -c "print($sc * $RANK)")
      for b in $BINITS; do
        for k in $KINDS; do
          if [ "$k" = lowrank ]; then
            add "lowrank-b$b-a$sc-lr$lr" "$seed" --parameterization lowrank --b-init "$b" --alpha "$alpha" --lr "$lr"
          else
            for d in $DELTAS; do
              add "sltrain-d$d-b$b-a$sc-lr$lr" "$seed" --parameterization sltrain --delta "$d" --b-init "$b" \
                --alpha "$alpha" --lr "$lr"
            done
          fi
        done
      done
    done
  done
  for lr in $DENSE_LRS; do add "dense-lr$lr" "$seed" --parameterization dense --lr "$lr"; done
  for lr in $GALORE_LRS; do add "galore-lr$lr" "$seed" --parameterization galore --lr "$lr"; done
done
echo "grid.sh: ${#cmds[@]} runs of $STEPS steps ($(( STEPS * 12 * 64 )) tokens each; $resumed of them resumed from a \
checkpoint), $JOBS at a time; $skipped already complete" >&2
if [ "$DRY" = 1 ]; then printf '%s\n' "${cmds[@]}"; exit 0; fi
# Ctrl-C / kill: pass SIGINT on to the runs (each then writes a checkpoint and
# stops; `exec` makes each job the lowrank process itself), wait, and stop.
trap 'echo "grid.sh: stopping; the runs write checkpoints" >&2; kill -INT $(jobs -p) 2> /dev/null; wait; exit 130' INT TERM
running=0
for c in "${cmds[@]}"; do
  echo "$(date -u +%FT%TZ) start: ${c##*--log }" >&2
  bash -c "$c" &
  running=$(( running + 1 ))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$(( running - 1 )); fi
done
wait
echo "$(date -u +%FT%TZ) grid.sh: done" >&2
