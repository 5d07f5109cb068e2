#!/usr/bin/env bash
# Builds LIBMF (the reference peer for hard-rank ALS / MF, issue 4) out of the
# source tree, idempotently: mf-train and mf-predict end up in
# build-peers/libmf/.
#
# Environment: LIBMF_TARBALL (default ../shared/peers/libmf.tar.gz relative to
# the repository), PEERS_DIR (default <repo>/build-peers).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tarball="${LIBMF_TARBALL:-$repo/../shared/peers/libmf.tar.gz}"
peers="${PEERS_DIR:-$repo/build-peers}"
dest="$peers/libmf"

if [[ -x "$dest/mf-train" && -x "$dest/mf-predict" ]]; then
  echo "LIBMF already built in $dest"
  exit 0
fi
[[ -f "$tarball" ]] || { echo "error: $tarball not found" >&2; exit 1; }
mkdir -p "$peers"
rm -rf "$dest"
tar xzf "$tarball" -C "$peers"   # unpacks to $peers/libmf
make -C "$dest" -j"${JOBS:-2}"
ls -l "$dest/mf-train" "$dest/mf-predict"
