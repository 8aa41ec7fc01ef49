#!/usr/bin/env bash
# Jikji's main job on a built-in default: builds everything, writes a tiny
# DeepSeek-V3-architecture checkpoint with deterministic random weights
# (utils/make-tiny-model.py; nothing is downloaded), compiles it for this
# CPU, and generates tokens from a short prompt, printing each step.
#
#   utils/run.sh                      the built-in tiny model
#   utils/run.sh path/to/checkpoint   any checkpoint folder instead
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${JIKJI_BUILD_DIR:-$root/build}

"$root/utils/build.sh"
model=${1:-}
if [ -z "$model" ]; then
  model=$build/demo/tiny-v3
  echo "== writing the built-in tiny DeepSeek-V3 model to $model"
  python3 "$root/utils/make-tiny-model.py" "$model"
fi
echo "== what it holds"
"$build/bin/jikji-compile" "$model" --summary
echo "== compiling for this CPU"
"$build/bin/jikji-compile" "$model" --target=cpu -o "$build/demo/model.so"
echo "== generating 16 tokens after the prompt 0,3,17,42"
"$build/bin/jikji-run" "$build/demo/model.so" --weights "$model" \
  --prompt-ids 0,3,17,42 --max-new-tokens 16 --stats
