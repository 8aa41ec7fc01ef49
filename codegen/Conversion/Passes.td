//===- Passes.td - Jikji's conversion passes ---------------*- tablegen -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_PASSES_TD
#define JIKJI_CODEGEN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertDeepSeekToLinalgPass
    : Pass<"convert-deepseek-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower deepseek compute ops to linalg, tensor, arith, math and scf";
  let description = [{
    Rewrites every compute op of the `deepseek` dialect into destination-style
    ops on tensors that MLIR's bufferization, tiling and vectorization
    understand. Weights keep their storage type and are widened inside the
    consuming `linalg.generic`, so a later lowering never materializes a
    float32 copy of a weight. `deepseek.param` and `deepseek.expert_param`
    stay: binding weights to memory is the artifact's concern, not this
    pass's.

    With `cpu-kernels` (the default) products over weights with 4 or more
    rows take a register-blocked kernel in the vector dialect and a SwiGLU
    MLP is tiled by columns for threads: choices made for the CPU. Without,
    every product is one `linalg.generic` (the CUDA pipeline maps those to
    its own kernels).
  }];
  let options = [
    Option<"cpuKernels", "cpu-kernels", "bool", /*default=*/"true",
           "Use the CPU's register-blocked products and tiled SwiGLU">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // JIKJI_CODEGEN_CONVERSION_PASSES_TD
