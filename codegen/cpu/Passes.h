//===- Passes.h - CPU codegen passes ----------------------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CPU_PASSES_H
#define JIKJI_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace jikji {

#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

} // namespace jikji

#endif // JIKJI_CODEGEN_CPU_PASSES_H
