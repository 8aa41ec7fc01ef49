//===- DeepSeekAttrs.h - deepseek attributes and enums ----------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_H
#define JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/DeepSeek/IR/DeepSeekEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/DeepSeek/IR/DeepSeekAttrs.h.inc"

#endif // JIKJI_DIALECTS_DEEPSEEK_IR_DEEPSEEKATTRS_H
