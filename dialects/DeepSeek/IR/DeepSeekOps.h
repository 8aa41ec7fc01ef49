//===- DeepSeekOps.h - deepseek operations ----------------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_H
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_H

#include "dialects/DeepSeek/IR/DeepSeekAttrs.h"
#include "dialects/DeepSeek/IR/DeepSeekDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/DeepSeek/IR/DeepSeekOps.h.inc"

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKOPS_H
