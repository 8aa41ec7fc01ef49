//===- Subprocess.h - Run a program and measure it --------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-bench runs the checkpoint generator and jikji-compile as child
// processes, and for the compile-time mode needs their wall time and peak
// memory: wait4 reports the child's own resource use, so the figure is the
// compiler's and not the benchmark's.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_SUBPROCESS_H
#define JIKJI_TOOLS_JIKJI_BENCH_SUBPROCESS_H

#include "frontends/huggingface/Result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace jikji::bench {

/// How a child process ended and what it cost.
struct ProcessRun {
  /// The exit code, or 128 + the signal that ended it.
  int exitCode = 0;
  double wallSeconds = 0;
  /// The child's peak resident memory (ru_maxrss).
  uint64_t peakResidentBytes = 0;
};

/// Runs `arguments` (arguments[0] looked up on PATH when it has no slash)
/// and waits for it. Its standard output goes to our standard error, so that
/// `--json` output stays machine-readable. Fails only when the program could
/// not be started; a nonzero exit is in the result.
Result<ProcessRun> runProcess(const std::vector<std::string> &arguments);

/// The arguments joined with spaces, for messages.
std::string commandLine(const std::vector<std::string> &arguments);

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_SUBPROCESS_H
