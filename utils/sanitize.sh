#!/usr/bin/env bash
# Builds the MLIR-free half of Jikji (the checkpoint reader in
# frontends/huggingface and the runtime) with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (or $JIKJI_ASAN_DIR), and runs
# their unit tests, JikjiHuggingFaceTests and JikjiRuntimeTests. Exits
# non-zero on any failing test or sanitizer report (LeakSanitizer included).
#
#   utils/sanitize.sh
#
# The compiler (MLIR) side is not built here yet: JIKJI_BUILD_COMPILER=OFF.
# See docs/validation.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${JIKJI_ASAN_DIR:-$root/build-asan}
cxx=${JIKJI_ASAN_CXX:-clang++-22}
cc=${JIKJI_ASAN_CC:-clang-22}

"$root/utils/setup.sh"
if ! command -v "$cxx" >/dev/null; then
  echo "sanitize: $cxx not found: run utils/setup.sh (clang-22)" >&2
  exit 2
fi

# clang-22 alone lacks the sanitizers' runtimes (libclang-rt-22-dev).
mkdir -p "$build"
if ! echo 'int main() { return 0; }' |
  "$cxx" -x c++ -fsanitize=address,undefined - -o "$build/probe" >"$build/probe.log" 2>&1; then
  cat "$build/probe.log" >&2
  echo "sanitize: $cxx cannot link with -fsanitize=address,undefined: install libclang-rt-22-dev" >&2
  exit 2
fi

start=$(date +%s)
# -O1 keeps the tests quick and the stacks readable; assertions stay on
# (no NDEBUG), since Result's value()/error() checks are assertions.
flags="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DJIKJI_BUILD_COMPILER=OFF >/dev/null
fi
ninja -C "$build" -j "${JIKJI_JOBS:-$(nproc)}" JikjiHuggingFaceTests JikjiRuntimeTests
built=$(date +%s)

# Abort on the first report of any kind, with a stack; leaks count. A failed
# allocation returns null as in production (allocator_may_return_null): the
# runtime reports an impossible size as a message, and its tests check that.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for test in JikjiHuggingFaceTests JikjiRuntimeTests; do
  log="$build/$test.log"
  echo "sanitize: $test"
  if ! "$build/bin/$test" --gtest_brief=1 >"$log" 2>&1; then
    status=1
    tail -n 40 "$log"
    echo "sanitize: $test FAILED (log: $log)"
  elif grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer)|runtime error:' "$log"; then
    # A report that did not end the process still fails the run.
    status=1
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -10
    echo "sanitize: $test reported a problem (log: $log)"
  else
    grep -E '^\[  PASSED  \]' "$log" | sed "s/^/  /"
  fi
done
echo "sanitize: build $((built - start))s, tests $(($(date +%s) - built))s"
exit $status
