#!/usr/bin/env bash
# Builds Jikji with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ (or $JIKJI_ASAN_DIR) and runs, under both sanitizers and
# LeakSanitizer:
#   1. the unit tests of the MLIR-free half, JikjiHuggingFaceTests and
#      JikjiRuntimeTests;
#   2. the two reference end-to-end cases (../shared/reference/tiny-v3 and
#      tiny-v2-lite, when ../shared is there), compiled by the sanitized
#      jikji-compile and run by the sanitized jikji-run, with the checks of
#      test/e2e/tiny-v3.test;
#   3. tiny-v3 compiled for CUDA, run by the sanitized jikji-run on the CUDA
#      device with the tests' fake driver (no GPU), with each step captured
#      as a CUDA graph (the default) and without, then with a failing
#      launch and a failing graph launch;
#   4. the soak test (jikji-runtime-soak, test/e2e/soak.test) for
#      $JIKJI_SOAK_SECONDS seconds (default 30) on a tiny generated model.
# Exits non-zero on any failing test or sanitizer report.
#
#   utils/sanitize.sh
#
# JIKJI_ASAN_COMPILER=OFF builds and runs only the MLIR-free half (step 1,
# which includes the CUDA device's unit tests on the fake driver).
# Debian's LLVM and MLIR libraries are not instrumented: only Jikji's own
# code is checked, and the artifacts the sanitized compiler writes are
# ordinary libraries. See docs/validation.md.
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
with_compiler=${JIKJI_ASAN_COMPILER:-ON}
case $with_compiler in
  ON | OFF) ;;
  *) echo "sanitize: JIKJI_ASAN_COMPILER must be ON or OFF, got '$with_compiler'" >&2; exit 2 ;;
esac
# Configured again when the folder was configured for the other half.
if [ ! -f "$build/build.ninja" ] ||
  ! grep -q "^JIKJI_BUILD_COMPILER:BOOL=$with_compiler\$" "$build/CMakeCache.txt"; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DJIKJI_BUILD_COMPILER="$with_compiler" >/dev/null
fi
targets="JikjiHuggingFaceTests JikjiRuntimeTests jikji-run jikji-runtime-soak"
[ "$with_compiler" = ON ] && targets="$targets jikji-compile"
ninja -C "$build" -j "${JIKJI_JOBS:-$(nproc)}" $targets
built=$(date +%s)

# Abort on the first report of any kind, with a stack; leaks count. A failed
# allocation returns null as in production (allocator_may_return_null): the
# runtime reports an impossible size as a message, and its tests check that.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# LLVM's headers poison memory by hand under ASan: BumpPtrAllocator poisons
# a new slab and unpoisons each allocation from it. Jikji's instrumented code
# and Debian's uninstrumented LLVM and MLIR libraries share allocators (the
# MLIRContext's), so a slab our code poisoned is handed out by library code
# that never unpoisons: every such "use-after-poison" is false (seen in
# MLIRContext's constructor). allow_user_poisoning=0 ignores the manual
# poisoning only; every check of ASan's own stays on.
compiler_asan_options="$ASAN_OPTIONS:allow_user_poisoning=0"

# True when `log` holds a sanitizer report.
reported() {
  grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer)|runtime error:' "$1"
}

status=0
for test in JikjiHuggingFaceTests JikjiRuntimeTests; do
  log="$build/$test.log"
  echo "sanitize: $test"
  if ! "$build/bin/$test" --gtest_brief=1 >"$log" 2>&1; then
    status=1
    tail -n 40 "$log"
    echo "sanitize: $test FAILED (log: $log)"
  elif reported "$log"; then
    # A report that did not end the process still fails the run.
    status=1
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -10
    echo "sanitize: $test reported a problem (log: $log)"
  else
    grep -E '^\[  PASSED  \]' "$log" | sed "s/^/  /"
  fi
done
unit_done=$(date +%s)

# Runs a command with its output in `log`; fails the run on a non-zero exit
# or a sanitizer report.
run_logged() {
  local name=$1 log=$2
  shift 2
  if ! "$@" >"$log" 2>&1; then
    status=1
    tail -n 40 "$log"
    echo "sanitize: $name FAILED (log: $log)"
    return 1
  elif reported "$log"; then
    status=1
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -10
    echo "sanitize: $name reported a problem (log: $log)"
    return 1
  fi
  return 0
}

work="$build/e2e"
rm -rf "$work" && mkdir -p "$work"
shared=${JIKJI_SHARED_DIR:-$root/../shared}
if [ "$with_compiler" = ON ]; then
  for case in tiny-v3 tiny-v2-lite; do
    reference="$shared/reference/$case"
    if [ ! -d "$reference" ]; then
      echo "sanitize: $reference not found: end-to-end case $case skipped"
      continue
    fi
    echo "sanitize: $case (jikji-compile, then jikji-run --check-greedy)"
    ASAN_OPTIONS=$compiler_asan_options run_logged "jikji-compile $case" \
      "$work/$case-compile.log" \
      "$build/bin/jikji-compile" "$reference" --target=cpu -o "$work/$case.so" || continue
    if run_logged "jikji-run $case" "$work/$case-run.log" \
      "$build/bin/jikji-run" "$work/$case.so" --weights "$reference" \
      --tokens "$reference/reference.safetensors" --check-greedy \
      --max-relative-error 1e-4; then
      sed -n 's/^/  /p' "$work/$case-run.log"
    fi
  done

  # The CUDA device on the tests' fake driver (test/Runtime/FakeCudaDriver.c,
  # built with JikjiRuntimeTests; no GPU needed): the sanitized runtime runs
  # a compiled CUDA artifact's host code, its steps captured as CUDA graphs
  # and launch by launch, then runs whose third launch (while capturing) or
  # second graph launch fails, which must end with the message and a clean
  # teardown.
  reference="$shared/reference/tiny-v3"
  fake_driver="$build/test/Runtime/fake-cuda/libcuda.so.1"
  if [ ! -d "$reference" ]; then
    echo "sanitize: $reference not found: the CUDA device case skipped"
  elif ! [ -x "${JIKJI_CUDA_ROOT:-/usr/local/cuda}/bin/ptxas" ] && ! command -v ptxas >/dev/null; then
    echo "sanitize: no ptxas: the CUDA device case skipped"
  else
    echo "sanitize: tiny-v3 on the CUDA device (fake driver)"
    if ASAN_OPTIONS=$compiler_asan_options run_logged "jikji-compile tiny-v3 --target=cuda" \
      "$work/cuda-compile.log" \
      "$build/bin/jikji-compile" "$reference" --target=cuda -o "$work/tiny-v3.cuda.so" &&
      JIKJI_CUDA_DRIVER=$fake_driver run_logged "jikji-run --device=cuda" "$work/cuda-run.log" \
        "$build/bin/jikji-run" "$work/tiny-v3.cuda.so" --device=cuda --weights "$reference" \
        --prompt-ids 1,2,3 --max-new-tokens 4 --stats; then
      grep 'launches\|cuda graphs' "$work/cuda-run.log" | sed 's/^/  /'
      if JIKJI_CUDA_DRIVER=$fake_driver run_logged "jikji-run --device=cuda --cuda-graphs=off" \
        "$work/cuda-run-no-graphs.log" \
        "$build/bin/jikji-run" "$work/tiny-v3.cuda.so" --device=cuda --cuda-graphs=off \
        --weights "$reference" --prompt-ids 1,2,3 --max-new-tokens 4 --stats; then
        grep 'cuda graphs' "$work/cuda-run-no-graphs.log" | sed 's/^/  /'
      fi
      # Two prompts of different lengths decode together: the artifact's
      # jikji_forward_batch on the CUDA device.
      printf '1,2,3\n4\n' >"$work/cuda-batch.txt"
      if JIKJI_CUDA_DRIVER=$fake_driver run_logged "jikji-run --device=cuda --batch-file" \
        "$work/cuda-batch.log" \
        "$build/bin/jikji-run" "$work/tiny-v3.cuda.so" --device=cuda --weights "$reference" \
        --batch-file "$work/cuda-batch.txt" --max-new-tokens 4 --stats; then
        grep 'decode: .* steps' "$work/cuda-batch.log" | sed 's/^/  /'
      fi
      for failure in cuLaunchKernel:3:719 cuGraphLaunch:2:719; do
        log="$work/cuda-failure-${failure%%:*}.log"
        if JIKJI_CUDA_DRIVER=$fake_driver JIKJI_FAKE_CUDA_FAIL=$failure \
          "$build/bin/jikji-run" "$work/tiny-v3.cuda.so" --device=cuda --weights "$reference" \
          --prompt-ids 1,2,3 --max-new-tokens 4 >"$log" 2>&1; then
          status=1
          echo "sanitize: jikji-run with $failure succeeded (log: $log)"
        elif reported "$log" || ! grep -q 'CUDA_ERROR_LAUNCH_FAILED' "$log"; then
          status=1
          tail -n 20 "$log"
          echo "sanitize: jikji-run with $failure reported a problem (log: $log)"
        else
          sed 's/^/  /' "$log"
        fi
      done
    fi
  fi

  seconds=${JIKJI_SOAK_SECONDS:-30}
  echo "sanitize: soak test, ${seconds}s"
  python3 "$root/utils/make-tiny-model.py" "$work/soak" --layers 2 --seed 9 >/dev/null
  if ASAN_OPTIONS=$compiler_asan_options run_logged "jikji-compile (soak model)" \
    "$work/soak-compile.log" \
    "$build/bin/jikji-compile" "$work/soak" --target=cpu -o "$work/soak.so" &&
    run_logged "jikji-runtime-soak" "$work/soak.log" \
      "$build/bin/jikji-runtime-soak" "$work/soak.so" "$work/soak" "$seconds" 7 2; then
    sed -n 's/^/  /p' "$work/soak.log"
  fi
fi
echo "sanitize: build $((built - start))s, unit tests $((unit_done - built))s," \
  "end-to-end and soak $(($(date +%s) - unit_done))s"
exit $status
