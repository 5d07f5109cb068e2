#!/usr/bin/env bash
# Dense vs low-rank vs SLTrain vs GaLore at matched steps on tinyshakespeare,
# one method after another with the default threads. This used to be a copy of
# experiments/sltrain/run.sh with its own (drifting) settings -- one learning
# rate for all four methods, a different eval interval, no plot; it now
# delegates, so the two cannot disagree. Settings, outputs and the results
# behind docs/sltrain.md: experiments/sltrain/run.sh.
#
#   experiments/nn/compare.sh [BUILD_DIR] [STEPS] [OUT_DIR] [DATA]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PARALLEL=${PARALLEL:-0} exec "$HERE/../sltrain/run.sh" "$@"
