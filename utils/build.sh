#!/usr/bin/env bash
# Sets up, configures (once) and builds Jikji into build/ (or $JIKJI_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${JIKJI_BUILD_DIR:-$root/build}

"$root/utils/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
# Two cores and heavy MLIR translation units: one job per core.
ninja -C "$build" -j "${JIKJI_JOBS:-$(nproc)}" ${JIKJI_TARGETS:-all}
