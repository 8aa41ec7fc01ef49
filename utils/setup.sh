#!/usr/bin/env bash
# Installs what Jikji needs from Debian's packages, and nothing when it is
# all there already. Safe to run any number of times.
set -euo pipefail

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  libclang-rt-22-dev
  cmake ninja-build ccache g++ python3 libgtest-dev
  # libomp.so.5: compiled artifacts run their products on threads with it.
  libomp5-14
  # OpenBLAS: jikji-bench's sgemm yardstick (loaded with dlopen; generated
  # code never calls it).
  libopenblas0-pthread
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
