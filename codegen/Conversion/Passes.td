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

    With `x86-vbmi` as well (the CPU pipeline sets it when the host has
    AVX-512 VBMI), the FP8 kernel's one-row products (decode steps) decode
    64 e4m3 codes at a time by two byte lookups (`vpermi2b`, an
    `llvm.call_intrinsic`) instead of float16 bit moves: exact either way.
  }];
  let options = [
    Option<"cpuKernels", "cpu-kernels", "bool", /*default=*/"true",
           "Use the CPU's register-blocked products and tiled SwiGLU">,
    Option<"x86Vbmi", "x86-vbmi", "bool", /*default=*/"false",
           "With cpu-kernels: the target has AVX-512 VBMI, so one-row FP8 "
           "products decode their weights by byte lookups (vpermi2b)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // JIKJI_CODEGEN_CONVERSION_PASSES_TD
