//===- Passes.h - Jikji's conversion passes ---------------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_PASSES_H
#define JIKJI_CODEGEN_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace jikji {

#define GEN_PASS_DECL
#include "codegen/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Conversion/Passes.h.inc"

} // namespace jikji

#endif // JIKJI_CODEGEN_CONVERSION_PASSES_H
