#!/usr/bin/env bash
# Jikji's main job on a built-in default: builds everything, then imports the
# bundled DeepSeek-V3 configuration (no weights needed) and prints what the
# compiled graph holds. Pass another checkpoint folder or config.json to
# summarize that instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${JIKJI_BUILD_DIR:-$root/build}

"$root/utils/build.sh"
input=${1:-$root/utils/configs/deepseek-v3.json}
echo "== jikji-compile $input --summary"
"$build/bin/jikji-compile" "$input" --summary
