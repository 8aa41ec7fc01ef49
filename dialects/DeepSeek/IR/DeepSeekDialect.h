//===- DeepSeekDialect.h - The deepseek dialect -----------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_H
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "dialects/DeepSeek/IR/DeepSeekDialect.h.inc"

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKDIALECT_H
