//===- jikji-compile.cpp - Compile a DeepSeek checkpoint ------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "tools/InitAll.h"
#include "tools/jikji-compile/CompileDriver.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  jikji::registerAllDialects(registry);
  jikji::registerAllPasses();
  return jikji::runCompileDriver(argc, argv, registry);
}
