//===- CompileTime.h - Timing jikji-compile itself --------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-compile should cost about the same for 61 layers as for 4: the
// layers share their functions. This mode compiles a config as it is and
// with fewer layers (derived with utils/make-config.py), per target, and
// records each compile's wall time (median of the runs) and peak memory
// (the child's ru_maxrss, the largest of the runs).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_COMPILETIME_H
#define JIKJI_TOOLS_JIKJI_BENCH_COMPILETIME_H

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Result.h"
#include "tools/jikji-bench/BenchModels.h"
#include "tools/jikji-bench/BenchReport.h"

#include <cstdint>
#include <string>
#include <vector>

namespace jikji::bench {

/// What to compile.
struct CompileTimePlan {
  /// The config.json path, and `config` parsed from it.
  std::string configPath;
  hf::ModelConfig config;
  /// The layer counts to compare with the config's own.
  std::vector<int64_t> layers;
  std::vector<std::string> targets;
  int runs = 3;
  /// Where the derived configs and the artifact go.
  std::string workDir;
};

/// Times every compile of `plan` into `report`. A target the compiler
/// refuses (--target=cuda before it exists) is a row with its message and
/// makes the result false; errors are for what stops the mode (a config
/// that cannot be derived, a compiler that cannot be started).
Result<bool> timeCompiles(const CompileTimePlan &plan, const ToolPaths &tools,
                          Report &report);

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_COMPILETIME_H
