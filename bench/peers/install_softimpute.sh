#!/usr/bin/env bash
# Installs R softImpute 1.4-3 (the reference peer for soft-impute, issue 4)
# into a private library, idempotently.
#
#   bench/peers/install_softimpute.sh            # -> build-peers/Rlib
#   R_LIBS=/work/main/build-peers/Rlib Rscript -e 'library(softImpute)'
#
# Needs r-base-core, r-cran-matrix and gfortran (Debian packages).
# Environment: SOFTIMPUTE_TARBALL (default ../shared/peers/softImpute_1.4-3.tar.gz
# relative to the repository), PEERS_DIR (default <repo>/build-peers).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tarball="${SOFTIMPUTE_TARBALL:-$repo/../shared/peers/softImpute_1.4-3.tar.gz}"
peers="${PEERS_DIR:-$repo/build-peers}"
lib="$peers/Rlib"
want="1.4.3"

have="$(R_LIBS="$lib" Rscript -e 'cat(tryCatch(as.character(packageVersion("softImpute", lib.loc=Sys.getenv("R_LIBS"))), error=function(e) ""))' 2>/dev/null || true)"
if [[ "$have" == "$want" ]]; then
  echo "softImpute $have already installed in $lib"
  exit 0
fi
[[ -f "$tarball" ]] || { echo "error: $tarball not found" >&2; exit 1; }
command -v R >/dev/null || { echo "error: R not found (apt-get install r-base-core r-cran-matrix gfortran)" >&2; exit 1; }
mkdir -p "$lib"
R CMD INSTALL --no-docs --no-html --library="$lib" "$tarball"
R_LIBS="$lib" Rscript -e 'suppressMessages(library(softImpute)); cat("softImpute", as.character(packageVersion("softImpute")), "installed\n")'
