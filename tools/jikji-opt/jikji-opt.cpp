//===- jikji-opt.cpp - mlir-opt for the deepseek dialect ------------------===//
//
// Part of Jikji. Parses, verifies, transforms and prints Jikji IR: the tool
// that lit tests and pass writers use.
//
//===----------------------------------------------------------------------===//

#include "tools/InitAll.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  jikji::registerAllDialects(registry);
  jikji::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Jikji optimizer driver\n", registry));
}
