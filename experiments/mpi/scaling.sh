#!/usr/bin/env bash
# Strong and weak scaling of `mpirun -np P lowrank complete --method als` on
# localhost ranks (docs/scaling.md). Writes a markdown table to stdout.
# Usage: experiments/mpi/scaling.sh [LOWRANK] [MAX_RANKS]
# Ranks run one OpenMP thread each; on a machine with fewer cores than ranks
# the extra ranks time-share (mpirun --oversubscribe).
set -euo pipefail
lowrank="${1:-build/lowrank}"
max_np="${2:-4}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# m x n rank-3 planted matrix plus noise, nnz entries at distinct pseudo-random positions.
gen() {  # gen M N NNZ FILE
  awk -v m="$1" -v n="$2" -v nnz="$3" 'BEGIN { srand(7); seen = 0;
    while (seen < nnz) { i = int(rand() * m); j = int(rand() * n); key = i * n + j;
      if (key in used) continue; used[key] = 1; seen++;
      v = sin(0.37 * i) * cos(0.11 * j) + 0.5 * sin(0.13 * i + 1) * sin(0.29 * j) + 0.25 * cos(0.71 * i) * cos(0.53 * j + 2);
      printf "%d\t%d\t%.6f\n", i, j, v + 0.01 * (rand() - 0.5) } }' > "$4"
}
# seconds per iteration (fit time without reading, over the iterations run)
time_fit() {  # time_fit NP FILE
  mpirun --oversubscribe -np "$1" "$lowrank" complete --train "$2" --method als --rank 10 --lambda 0.05 \
    --max-iter 10 --tol 1e-15 --quiet --threads 1 > "$dir/out.json"
  /usr/bin/python3 -c "import json; j = json.load(open('$dir/out.json')); \
print(f\"{j['entries']} | {(j['seconds'] - j['read_seconds']) / j['iterations']:.4f} | {j['read_seconds']:.3f} | {j['objective']:.10g}\")"
}
echo "| kind | ranks | entries | s / iteration | read s | objective |"
echo "|---|---|---|---|---|---|"
gen 20000 4000 1000000 "$dir/strong.tsv"
for np in 1 2 4; do
  (( np <= max_np )) || continue
  echo "| strong | $np | $(time_fit "$np" "$dir/strong.tsv") |"
done
for np in 1 2 4; do
  (( np <= max_np )) || continue
  gen $((5000 * np)) 4000 $((250000 * np)) "$dir/weak$np.tsv"
  echo "| weak | $np | $(time_fit "$np" "$dir/weak$np.tsv") |"
done
