#!/usr/bin/env bash
# The whole test suite: sets up, builds, and runs every lit test (dialect,
# frontend, tools, unit tests). CI runs exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${JIKJI_BUILD_DIR:-$root/build}

"$root/utils/build.sh"
ninja -C "$build" mlir-doc >/dev/null
# The fuzz targets (clang-22 libFuzzer) into build-fuzz/, so that lit
# replays every seed and regression input through them
# (test/Fuzz/replay.test).
"$root/utils/fuzz.sh" build

log=$(mktemp)
status=0
/usr/lib/llvm-22/bin/lit -sv "$build/test" 2>&1 | tee "$log" || status=$?
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | head -1)
failed=$(sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' "$log" | head -1)
rm -f "$log"
echo "lit: ${passed:-0} passed, ${failed:-0} failed"
[ "${passed:-0}" -gt 0 ] || { echo "test: no test ran"; exit 1; }
exit $status
