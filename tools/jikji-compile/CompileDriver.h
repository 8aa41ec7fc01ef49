//===- CompileDriver.h - jikji-compile's phases -----------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_COMPILE_COMPILEDRIVER_H
#define JIKJI_TOOLS_JIKJI_COMPILE_COMPILEDRIVER_H

#include "mlir/IR/DialectRegistry.h"

namespace jikji {

/// Parses jikji-compile's command line and runs the requested phases:
/// read the checkpoint (or config.json alone), import the as-written graph,
/// and emit it or summarize it. Returns the process exit code.
int runCompileDriver(int argc, char **argv, mlir::DialectRegistry &registry);

} // namespace jikji

#endif // JIKJI_TOOLS_JIKJI_COMPILE_COMPILEDRIVER_H
