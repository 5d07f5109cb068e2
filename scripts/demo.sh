#!/usr/bin/env bash
# The README's main demo, on data bundled in data/ (vegan's mite table).
# Usage: scripts/demo.sh [path/to/lowrank]
set -euo pipefail
cd "$(dirname "$0")/.."
lr="${1:-build/lowrank}"
out="${LOWRANK_DEMO_OUT:-out/demo}"
mkdir -p "$out"

echo "--- lowrank info: what is in the mite table (70 soil cores x 35 mite species)"
"$lr" info data/ecology/mite.csv

echo
echo "--- lowrank decompose: top 5 singular triplets of the centred log1p counts"
"$lr" decompose --input data/ecology/mite.csv --rank 5 --center --log1p --out "$out/mite"

if "$lr" complete --help >/dev/null 2>&1; then
  echo
  echo "--- lowrank complete: hide 20% of the dune table, complete it, score the hidden cells"
  "$lr" complete --train data/ecology/dune.csv --holdout 0.2 --seed 0 --method soft-impute \
    --lambda-path 20 --cv 5 --out "$out/dune"
fi
echo
echo "demo outputs are in $out/"
