//===- jikji-bench.cpp - Measure compiled models against the machine ------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/BenchDriver.h"

int main(int argc, char **argv) { return jikji::runBenchDriver(argc, argv); }
