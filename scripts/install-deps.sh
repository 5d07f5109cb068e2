#!/usr/bin/env bash
# Installs the Debian packages lowrank needs, skipping what is already there.
# Idempotent; works as root (CI) or through sudo. Set LOWRANK_PEERS=1 to also
# install the peers used by cross-checks and benchmarks (R, irlba, rsvd).
set -euo pipefail

core=(build-essential cmake ninja-build pkg-config git
      libeigen3-dev libopenblas-dev liblapacke-dev libspectra-dev
      libcli11-dev libfmt-dev nlohmann-json3-dev libzip-dev zlib1g-dev libre2-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      clang-14 clang-format-14 libfuzzer-14-dev libomp-14-dev
      pybind11-dev python3-dev python3-pybind11
      python3-numpy python3-scipy python3-pytest
      python3-tqdm python3-pandas python3-matplotlib python3-sklearn
      python3-torch
      python3-venv python3-pip python3-setuptools python3-wheel dpkg-dev
      libopenmpi-dev openmpi-bin)
peers=(r-base-core r-cran-matrix r-cran-irlba r-cran-rsvd gfortran)

want=("${core[@]}")
if [[ "${LOWRANK_PEERS:-0}" == 1 ]]; then want+=("${peers[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
