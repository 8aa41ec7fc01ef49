//===- BenchModels.h - The checkpoints jikji-bench runs ---------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The bench checkpoints are made by the project's own generator
// (utils/make-tiny-model.py --fast-random --override), with random BF16
// weights at the layer shapes of the released models (or their FP8 block
// quantization, as V3 is released), once: they are
// cached in a folder with a stamp of the command that made them, and made
// again only when that command changes. Each run compiles them afresh with
// jikji-compile, so that the numbers are those of the compiler built.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_BENCHMODELS_H
#define JIKJI_TOOLS_JIKJI_BENCH_BENCHMODELS_H

#include "frontends/huggingface/Result.h"
#include "tools/jikji-bench/Subprocess.h"

#include <string>
#include <vector>

namespace jikji::bench {

/// A built-in bench checkpoint: the generator's arguments.
struct BenchModelSpec {
  std::string name;
  std::string variant;
  int layers = 0;
  /// The JSON object merged into the generator's config.
  std::string overrideJson;
  /// More generator arguments (--fp8).
  std::vector<std::string> extraArguments;
};

/// bench-v2-lite, bench-v3 and bench-v3-fp8 (see docs/benchmarks.md for
/// their shapes).
const std::vector<BenchModelSpec> &builtInBenchModels();

/// "bench-v2-lite, bench-v3 or bench-v3-fp8", for messages.
std::string benchModelNames();

/// The built-in model called `name`, or null.
const BenchModelSpec *findBenchModel(const std::string &name);

/// Where to find the programs jikji-bench runs.
struct ToolPaths {
  std::string python = "python3";
  /// utils/make-tiny-model.py.
  std::string generator;
  /// utils/make-config.py (the compile-time mode derives configs with it).
  std::string configEditor;
  std::string compiler;
};

/// The checkpoint of `spec` under `cacheDir`, generated first when it is
/// missing or was made by another command. Returns its folder.
Result<std::string> ensureCheckpoint(const BenchModelSpec &spec,
                                     const std::string &cacheDir,
                                     const ToolPaths &tools);

/// Runs `jikji-compile INPUT --target=TARGET -o OUTPUT FLAGS...`; fails
/// with the command when it exits nonzero.
Result<ProcessRun> compileModel(const ToolPaths &tools,
                                const std::string &input,
                                const std::string &target,
                                const std::string &output,
                                const std::vector<std::string> &flags = {});

/// Creates `path` and its parents.
Result<bool> makeDirectories(const std::string &path);

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_BENCHMODELS_H
