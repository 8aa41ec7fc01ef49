//===- jikji-run.cpp - Run a compiled DeepSeek model ----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-run/RunDriver.h"

int main(int argc, char **argv) { return jikji::runRunDriver(argc, argv); }
