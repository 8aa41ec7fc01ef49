//===- RunDriver.h - jikji-run's command line and modes ---------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-run loads a compiled model with its weights and either generates
// tokens from prompts or runs a teacher-forced pass over a token file and
// compares the logits with a reference. The driver is plain C++17 over the
// runtime library, with no MLIR or LLVM (DESIGN.md, decision 7).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_RUN_RUNDRIVER_H
#define JIKJI_TOOLS_JIKJI_RUN_RUNDRIVER_H

namespace jikji {

/// jikji-run's exit codes.
enum RunExitCode : int {
  kRunSucceeded = 0,
  /// A failure that is not the user's input: the artifact or weights could
  /// not be loaded, the compiled code failed, an output could not be
  /// written, or a check (--max-relative-error, --check-greedy) failed.
  kRunFailed = 1,
  /// Bad input: a malformed flag or number, a token id outside [0, vocab),
  /// an empty prompt, more positions than the context limit, weights that do
  /// not match the artifact.
  kRunBadInput = 2,
};

/// Parses jikji-run's command line (see `jikji-run --help`) and runs it.
/// Returns the process exit code (RunExitCode); messages go to stderr,
/// results to stdout.
int runRunDriver(int argc, char **argv);

} // namespace jikji

#endif // JIKJI_TOOLS_JIKJI_RUN_RUNDRIVER_H
