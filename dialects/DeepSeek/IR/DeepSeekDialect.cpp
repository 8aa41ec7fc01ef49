//===- DeepSeekDialect.cpp - The deepseek dialect -------------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "dialects/DeepSeek/IR/DeepSeekDialect.h"
#include "dialects/DeepSeek/IR/DeepSeekAttrs.h"
#include "dialects/DeepSeek/IR/DeepSeekOps.h"

using namespace mlir;
using namespace jikji::deepseek;

#include "dialects/DeepSeek/IR/DeepSeekDialect.cpp.inc"

void DeepSeekDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/DeepSeek/IR/DeepSeekOps.cpp.inc"
      >();
  registerAttributes();
}
