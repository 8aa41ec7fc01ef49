//===- BenchDriver.h - jikji-bench's command line and report ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-bench measures the machine's limits (read bandwidth, OpenBLAS sgemm)
// and the compiled models side by side in one run, and reports each model
// phase as a fraction of those limits: absolute times on shared machines
// are noise, ratios measured together are not. A second mode times
// jikji-compile itself. The driver is plain C++17 over the runtime, with no
// MLIR or LLVM; it runs the generator and the compiler as programs.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_BENCHDRIVER_H
#define JIKJI_TOOLS_JIKJI_BENCH_BENCHDRIVER_H

namespace jikji {

/// jikji-bench's exit codes.
enum BenchExitCode : int {
  kBenchSucceeded = 0,
  /// Generating, compiling, loading or running failed, or --quiet-check
  /// found the machine busy.
  kBenchFailed = 1,
  /// Bad command-line input.
  kBenchBadInput = 2,
};

/// Parses jikji-bench's command line (see `jikji-bench --help`) and runs it.
/// Results go to stdout, progress and messages to stderr.
int runBenchDriver(int argc, char **argv);

} // namespace jikji

#endif // JIKJI_TOOLS_JIKJI_BENCH_BENCHDRIVER_H
