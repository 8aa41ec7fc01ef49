#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang-22, ASan + UBSan) into
# build-fuzz/ (or $JIKJI_FUZZ_DIR), writes their seed corpora, and runs each
# target for SECONDS_PER_TARGET seconds (default 20, CI-sized), one after the
# other. Exits non-zero on any finding and says where the input that caused it
# was saved.
#
#   utils/fuzz.sh [SECONDS_PER_TARGET]
#
# SECONDS_PER_TARGET 0 only replays the seeds, the kept corpus and the
# regressions (test/Fuzz/regressions/<target>/) through each target;
# `utils/fuzz.sh build` only builds the targets (for test/Fuzz/replay.test).
# JIKJI_FUZZ_TARGETS="json manifest" runs a subset. The corpus each run grows
# is kept in build-fuzz/corpus/<target>/ and fed to the next run. To use both
# cores, run two targets side by side with JIKJI_FUZZ_TARGETS; one run of
# this script is one core.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${JIKJI_FUZZ_DIR:-$root/build-fuzz}
seconds=${1:-20}
targets=${JIKJI_FUZZ_TARGETS:-json safetensors-header config-json index-json manifest mlir}
cxx=${JIKJI_FUZZ_CXX:-clang++-22}

build_only=0
[ "$seconds" = build ] && build_only=1 && seconds=0
case $seconds in
  '' | *[!0-9]*) echo "fuzz: SECONDS_PER_TARGET must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found; libFuzzer needs clang 22: run utils/setup.sh (clang-22)" >&2
  exit 2
fi
for tool in ninja python3; do
  command -v $tool >/dev/null || { echo "fuzz: $tool not found: run utils/setup.sh" >&2; exit 2; }
done
# clang-22 alone lacks libFuzzer's and the sanitizers' runtimes: they are in
# libclang-rt-22-dev.
mkdir -p "$out"
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char *, unsigned long) { return 0; }' |
  "$cxx" -x c++ -fsanitize=fuzzer,address,undefined - -o "$out/probe" >"$out/probe.log" 2>&1; then
  cat "$out/probe.log" >&2
  echo "fuzz: $cxx cannot link a libFuzzer target: install libclang-rt-22-dev" >&2
  exit 2
fi

# The largest input each target is given: a little above the largest real
# file of its kind (the tiny-v3-fp8 safetensors header is 59808 bytes, the
# tiny-v3 artifact's manifest about 7 KB).
max_len() {
  case $1 in
    safetensors-header) echo 65536 ;;
    index-json | manifest) echo 16384 ;;
    # The dialect tests' cases are under 2 KB each.
    *) echo 4096 ;;
  esac
}

# The sources each target links: the MLIR-free readers, built straight from
# the tree with the fuzzing flags (never from the main build).
sources() {
  local hf=frontends/huggingface dialect=dialects/DeepSeek/IR
  case $1 in
    json) echo "$hf/Json.cpp $hf/Printable.cpp runtime/support/JsonWriter.cpp" ;;
    safetensors-header) echo "$hf/Json.cpp $hf/Printable.cpp $hf/SafeTensors.cpp" ;;
    config-json) echo "$hf/Json.cpp $hf/ModelConfig.cpp $hf/ModelParameters.cpp" ;;
    index-json) echo "$hf/Json.cpp $hf/Printable.cpp $hf/SafeTensors.cpp $hf/ModelConfig.cpp $hf/ModelParameters.cpp $hf/Checkpoint.cpp" ;;
    manifest) echo "$hf/Json.cpp $hf/Printable.cpp $hf/SafeTensors.cpp runtime/artifact/Manifest.cpp runtime/support/JsonWriter.cpp" ;;
    mlir) echo "$dialect/DeepSeekDialect.cpp $dialect/DeepSeekAttrs.cpp $dialect/DeepSeekOps.cpp" ;;
    *) echo "fuzz: unknown target '$1'" >&2; exit 2 ;;
  esac
}

for target in $targets; do
  sources "$target" >/dev/null || exit 2
done

# A ninja file, so that a second run rebuilds only what changed (headers
# tracked through depfiles). The library objects are built with
# fuzzer-no-link: instrumented for coverage but without libFuzzer's main.
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# The mlir target compiles the deepseek dialect from its sources, with the
# declarations mlir-tblgen generates from its .td files into gen/, and links
# Debian's MLIR and LLVM as two shared libraries (uninstrumented: only the
# dialect's own code is checked, and linking stays quick).
llvm=/usr/lib/llvm-22
mlir_link="-L$llvm/lib -Wl,-rpath,$llvm/lib -lMLIR -lLLVM"
case " $targets " in
  *" mlir "*)
    [ -x "$llvm/bin/mlir-tblgen" ] && [ -f "$llvm/lib/libMLIR.so" ] || {
      echo "fuzz: the mlir target needs $llvm/bin/mlir-tblgen and $llvm/lib/libMLIR.so: run utils/setup.sh" >&2
      exit 2
    } ;;
esac
tblgen_outputs() {
  echo "DeepSeekOps.h.inc:-gen-op-decls:DeepSeekOps.td"
  echo "DeepSeekOps.cpp.inc:-gen-op-defs:DeepSeekOps.td"
  echo "DeepSeekDialect.h.inc:-gen-dialect-decls -dialect=deepseek:DeepSeekDialect.td"
  echo "DeepSeekDialect.cpp.inc:-gen-dialect-defs -dialect=deepseek:DeepSeekDialect.td"
  echo "DeepSeekEnums.h.inc:-gen-enum-decls:DeepSeekAttrs.td"
  echo "DeepSeekEnums.cpp.inc:-gen-enum-defs:DeepSeekAttrs.td"
  echo "DeepSeekAttrs.h.inc:-gen-attrdef-decls -attrdefs-dialect=deepseek:DeepSeekAttrs.td"
  echo "DeepSeekAttrs.cpp.inc:-gen-attrdef-defs -attrdefs-dialect=deepseek:DeepSeekAttrs.td"
}
{
  echo "root = $root"
  echo "cxxflags = -std=c++17 -I$root -g -O1 $sanitize -Wall -Wno-deprecated-declarations"
  echo "rule cxx"
  echo "  command = $cxx \$cxxflags \$extra -MD -MF \$out.d -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = CXX \$out"
  echo "rule link"
  echo "  command = $cxx \$cxxflags -fsanitize=fuzzer \$in \$libs -o \$out"
  echo "  description = LINK \$out"
  echo "rule tblgen"
  echo "  command = $llvm/bin/mlir-tblgen \$flags -I\$root -I$llvm/include \$in -o \$out -d \$out.d"
  echo "  depfile = \$out.d"
  echo "  description = TBLGEN \$out"
  generated=""
  case " $targets " in
    *" mlir "*)
      while IFS=: read -r output flags source; do
        echo "build gen/dialects/DeepSeek/IR/$output: tblgen \$root/dialects/DeepSeek/IR/$source"
        echo "  flags = $flags"
        generated="$generated gen/dialects/DeepSeek/IR/$output"
      done < <(tblgen_outputs) ;;
  esac
  all_objects=""
  for target in $targets; do
    objects="obj/fuzz/$target-fuzzer.o"
    extra="" order="" libs=""
    if [ "$target" = mlir ]; then
      extra="-I$out/gen -I$llvm/include"
      order=" ||$generated"
      libs=$mlir_link
    fi
    echo "build obj/fuzz/$target-fuzzer.o: cxx \$root/fuzz/$target-fuzzer.cpp$order"
    echo "  extra = -fsanitize=fuzzer $extra"
    for source in $(sources "$target"); do
      object="obj/${source%.cpp}.o"
      objects="$objects $object"
      case " $all_objects " in
        *" $object "*) ;;
        *)
          all_objects="$all_objects $object"
          echo "build $object: cxx \$root/$source$order"
          echo "  extra = -fsanitize=fuzzer-no-link $extra"
          ;;
      esac
    done
    echo "build bin/$target-fuzzer: link $objects"
    echo "  libs = $libs"
  done
} >"$out/build.ninja.new"
mv "$out/build.ninja.new" "$out/build.ninja"
echo "fuzz: building the targets in $out"
ninja -C "$out" ${JIKJI_JOBS:+-j "$JIKJI_JOBS"} >"$out/build.log" 2>&1 || {
  cat "$out/build.log" >&2
  echo "fuzz: the build failed" >&2
  exit 1
}
[ $build_only -eq 1 ] && exit 0

# Seeds, regenerated each run from the project's files (see make-seeds.py).
# The manifest of a compiled artifact is added when the main build has
# jikji-compile; it is kept between runs.
compiler=${JIKJI_BUILD_DIR:-$root/build}/bin/jikji-compile
seed_args=()
[ -x "$compiler" ] && seed_args=(--compiler "$compiler")
python3 "$root/fuzz/make-seeds.py" "$out/seeds" "${seed_args[@]}"

status=0
summary=()
for target in $targets; do
  binary="$out/bin/$target-fuzzer"
  corpus="$out/corpus/$target"
  findings="$out/findings/$target"
  log="$out/logs/$target.log"
  mkdir -p "$corpus" "$findings" "$out/logs"
  # JSON tokens for the JSON readers, plus each format's own words.
  case $target in
    json) cat "$root/fuzz/json.dict" >"$out/$target.dict" ;;
    mlir) cat "$root/fuzz/mlir.dict" >"$out/$target.dict" ;;
    *) cat "$root/fuzz/json.dict" "$root/fuzz/$target.dict" >"$out/$target.dict" ;;
  esac
  inputs=("$corpus" "$out/seeds/$target")
  [ -d "$root/test/Fuzz/regressions/$target" ] && inputs+=("$root/test/Fuzz/regressions/$target")

  args=(-max_len="$(max_len "$target")" -timeout=5 -rss_limit_mb=2048
        -dict="$out/$target.dict" -artifact_prefix="$findings/"
        -print_final_stats=1)
  if [ "$seconds" -eq 0 ]; then
    args+=(-runs=0)
  else
    args+=(-max_total_time="$seconds")
  fi
  echo "fuzz: $target for ${seconds}s (log: $log)"
  rc=0
  # The mlir target links uninstrumented MLIR, which shares allocators with
  # the instrumented dialect: LLVM's manual poisoning of their slabs then
  # gives false reports (utils/sanitize.sh explains), so it is ignored there.
  asan_options=${ASAN_OPTIONS:-}
  [ "$target" = mlir ] && asan_options="allow_user_poisoning=0${asan_options:+:$asan_options}"
  ASAN_OPTIONS=$asan_options "$binary" "${args[@]}" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    status=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $target FOUND A PROBLEM (exit $rc) after ${runs:-?} runs"
    { grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' "$log" || true; } |
      head -5 | sed 's/^/    /'
    echo "    input: ${crash:-see $log}"
    [ -n "$crash" ] && echo "    replay: $binary $crash"
    summary+=("$target: FINDING ${crash:-(see $log)}")
  else
    summary+=("$target: ${runs:-?} runs, no finding")
  fi
done

echo "fuzz: summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
exit $status
