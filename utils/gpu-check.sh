#!/usr/bin/env bash
# The GPU check of issue #7, in two halves, because the compiler cannot be
# built where the GPU is (that machine has no LLVM 22):
#
#   utils/gpu-check.sh pack DIR   here: compiles the CUDA artifacts of the
#       reference cases (float32 and --gpu-tensor-cores) with
#       build/bin/jikji-compile, copies jikji-run (checked to need no LLVM
#       or MLIR library) and the reference cases, and builds the timing
#       program utils/gpu-bench.cu with /usr/local/cuda's nvcc, into DIR
#       (about 50 MB; the device tool carries at most 64 MiB).
#   utils/gpu-check.sh run DIR    there, from the repository root: runs the
#       reference cases on the GPU (teacher-forced logits against the
#       reference, greedy tokens) and the timing program (copy bandwidth,
#       cuBLAS BF16 product), and prints one table, in well under 5 minutes;
#       each case's log (DIR/logs/CASE.err) holds its kernels by GPU time
#       (jikji-run --kernel-times).
#       The table is also written to DIR/gpu-check.md and, where the device
#       tool set $OUT, to $OUT/gpu-check.md.
#
# A GPU session runs `utils/gpu-check.sh pack gpu-check` here, then the
# device tool with carry ["gpu-check"] and the command
# `utils/gpu-check.sh run gpu-check` (docs/benchmarks.md). gpu-check/ is
# git-ignored.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: utils/gpu-check.sh pack DIR | run DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
mode=$1
dir=$2

# The reference cases and the tolerance each artifact must meet: 1e-4 for
# float32 activations, 2e-2 with BF16 operands on tensor cores (issue #7).
cases="tiny-v3 tiny-v2-lite tiny-v3-fp8"
variants="f32 tc"
tolerance() { [ "$1" = tc ] && echo 2e-2 || echo 1e-4; }

pack() {
  local build=${JIKJI_BUILD_DIR:-$root/build}
  local shared=${JIKJI_SHARED_DIR:-$root/../shared}
  local nvcc=${JIKJI_NVCC:-/usr/local/cuda/bin/nvcc}
  for tool in jikji-compile jikji-run; do
    [ -x "$build/bin/$tool" ] || {
      echo "gpu-check: $build/bin/$tool not built: run utils/build.sh" >&2
      exit 1
    }
  done
  [ -x "$nvcc" ] || { echo "gpu-check: $nvcc not found (CUDA 13)" >&2; exit 1; }

  # The GPU machine has no LLVM 22: jikji-run must not need it.
  if ldd "$build/bin/jikji-run" | grep -Eq 'libLLVM|libMLIR|libmlir|not found'; then
    ldd "$build/bin/jikji-run" >&2
    echo "gpu-check: jikji-run needs a library the GPU machine lacks" >&2
    exit 1
  fi

  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/artifacts" "$dir/reference"
  cp "$build/bin/jikji-run" "$dir/bin/"
  for case in $cases; do
    local reference=$shared/reference/$case
    [ -d "$reference" ] || { echo "gpu-check: $reference not found" >&2; exit 1; }
    mkdir -p "$dir/reference/$case"
    cp "$reference/config.json" "$reference"/*.safetensors "$dir/reference/$case/"
    for variant in $variants; do
      local flags=""
      [ "$variant" = tc ] && flags="--gpu-tensor-cores"
      echo "gpu-check: jikji-compile $case --target=cuda --gpu-arch=sm_90 $flags"
      "$build/bin/jikji-compile" "$reference" --target=cuda --gpu-arch=sm_90 \
        $flags -o "$dir/artifacts/$case-$variant.so" 2>"$dir/compile-$case-$variant.log"
    done
  done
  echo "gpu-check: nvcc utils/gpu-bench.cu"
  # libcuda comes from the GPU machine's driver (the stub only links);
  # cuBLAS is opened at run time, so its 500 MB need not travel.
  "$nvcc" -O2 -std=c++17 -arch=sm_90 -o "$dir/bin/gpu-bench" \
    "$root/utils/gpu-bench.cu" -L/usr/local/cuda/lib64/stubs -lcuda -ldl
  {
    echo "packed: $(date -u '+%Y-%m-%d %H:%M UTC') from $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' (with changes)')"
    echo "jikji-run needs: $(ldd "$build/bin/jikji-run" | awk '{print $1}' | tr '\n' ' ')"
  } >"$dir/PACKED.txt"
  local bytes
  bytes=$(du -sb "$dir" | cut -f1)
  echo "gpu-check: packed $dir: $bytes bytes"
  if [ "$bytes" -gt $((56 * 1024 * 1024)) ]; then
    echo "gpu-check: $dir is over 56 MiB; with the working tree it would not fit the device tool's 64 MiB" >&2
    exit 1
  fi
}

run() {
  [ -x "$dir/bin/jikji-run" ] || { echo "gpu-check: $dir/bin/jikji-run missing: pack first" >&2; exit 1; }
  local log=$dir/logs
  mkdir -p "$log"
  local table=$dir/gpu-check.md
  local start=$SECONDS
  local failed=0
  local gpu
  gpu=$("$dir/bin/jikji-run" --list-devices | grep '^cuda' | head -1 || true)
  local driver
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
  {
    echo "GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'): $gpu, driver ${driver:-unknown}; $(head -1 "$dir/PACKED.txt" 2>/dev/null)"
    echo
    echo "| reference case | activations | tolerance | prefill rel. error | decode rel. error | greedy tokens | decode tokens/s | result |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  } >"$table"
  for case in $cases; do
    for variant in $variants; do
      local name=$case-$variant tol
      tol=$(tolerance "$variant")
      local status=0
      # Each case takes well under a second on a GPU; 40 s each keeps a
      # hung run from spending the lease (6 x 40 s + 60 s = 5 minutes).
      timeout 40 "$dir/bin/jikji-run" "$dir/artifacts/$name.so" --device=cuda \
        --weights "$dir/reference/$case" \
        --tokens "$dir/reference/$case/reference.safetensors" \
        --check-greedy --max-relative-error "$tol" --stats --kernel-times \
        >"$log/$name.out" 2>"$log/$name.err" || status=$?
      local prefill decode greedy speed result
      prefill=$(sed -n 's/^prefill_logits relative error: //p' "$log/$name.out")
      decode=$(sed -n 's/^decode_logits relative error: //p' "$log/$name.out")
      greedy=$(sed -n 's/^greedy tokens: \([0-9]* of [0-9]*\) compared steps match.*/\1/p' "$log/$name.out")
      speed=$(sed -n 's/^jikji-run: decode: .*, \([0-9.]*\) tokens\/s$/\1/p' "$log/$name.err")
      if [ $status -eq 0 ]; then
        result=pass
      else
        result="FAIL (exit $status: $(grep -m1 'error' "$log/$name.err" | cut -c1-160 || true))"
        failed=1
      fi
      echo "| $case | $([ "$variant" = tc ] && echo 'BF16 (tensor cores)' || echo float32) | $tol | ${prefill:--} | ${decode:--} | ${greedy:--} | ${speed:--} | $result |" >>"$table"
    done
  done

  # cuBLAS: the machine's CUDA, else the one PyTorch's wheels carry.
  if [ -z "${JIKJI_CUBLAS:-}" ] && [ ! -e /usr/local/cuda/lib64/libcublas.so.13 ]; then
    local wheel
    wheel=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib", "libcublas.so.13"))' 2>/dev/null || true)
    [ -n "$wheel" ] && [ -e "$wheel" ] && export JIKJI_CUBLAS=$wheel
  fi
  local bench_status=0
  timeout 60 "$dir/bin/gpu-bench" >"$log/gpu-bench.out" 2>&1 || bench_status=$?
  local copy gemm
  copy=$(sed -n 's/^copy_gbps: //p' "$log/gpu-bench.out")
  gemm=$(sed -n 's/^gemm_tflops: //p' "$log/gpu-bench.out")
  {
    echo
    echo "| yardstick | measured |"
    echo "| --- | --- |"
    echo "| device copy bandwidth (cuMemcpyDtoD, 1 GiB, read + write) | ${copy:+$copy GB/s}${copy:-failed} |"
    if [ -n "$gemm" ]; then
      echo "| cuBLAS BF16 product 4096^3, f32 accumulation | $gemm TFLOP/s |"
    else
      echo "| cuBLAS BF16 product 4096^3 | not measured: $(sed -n 's/^cublas_unavailable: //p' "$log/gpu-bench.out" | cut -c1-160) |"
    fi
    [ $bench_status -eq 0 ] || echo "| gpu-bench | FAILED (exit $bench_status): $(grep -m1 error "$log/gpu-bench.out" || true) |"
    echo
    echo "Took $((SECONDS - start)) s. Logs: $log/."
  } >>"$table"
  [ $bench_status -eq 0 ] || failed=1
  cat "$table"
  if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
    cp "$table" "$OUT/gpu-check.md"
    tar -czf "$OUT/gpu-check-logs.tar.gz" -C "$dir" logs
  fi
  return $failed
}

case $mode in
  pack) pack ;;
  run) run ;;
  *) usage ;;
esac
