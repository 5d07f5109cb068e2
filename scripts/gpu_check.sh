#!/usr/bin/env bash
# The GPU checks of the training engine, in one short run for a machine with
# an NVIDIA GPU (Hopper: sm_90): build the CUDA configuration (or reuse
# BUILD_DIR when it is already built, e.g. carried from a CPU machine), run
# the CPU-vs-GPU tests, then the tokens/s comparison with eager PyTorch.
#   scripts/gpu_check.sh [BUILD_DIR] [OUT_DIR]
# Writes OUT_DIR/tests.txt and OUT_DIR/throughput.md (default OUT_DIR: $OUT or gpu-check/).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
out=${2:-${OUT:-gpu-check}}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
if [[ ! -x "$build/tests/test_nn" ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWRANK_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DLOWRANK_UNITY=ON -DLOWRANK_BENCH=OFF -DLOWRANK_PYTHON=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)" --target test_nn test_cuda lowrank_cli
fi
{
  "$build/tests/test_cuda"
  "$build/tests/test_nn" --gtest_filter='GpuEngine*:NnTrain.GpuEngine*'
} 2>&1 | tee "$out/tests.txt"
python3 bench/compare_gpu_train.py --build "$build" --methods dense,lowrank,sltrain 2>&1 | tee "$out/throughput.md"
