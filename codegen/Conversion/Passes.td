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

    With `bf16-dot` as well, products over BF16 weights (linear layers,
    SwiGLU MLPs, experts) round their input to BF16 once and those of 4 or
    more rows multiply with `x86vector.avx512.dot` (`vdpbf16ps`, two BF16
    products per float32 lane, float32 sums): about twice the arithmetic
    of the float32 FMA kernel, for activations rounded to BF16. FP8
    products and the attention's own products stay exact.

    With `x86-vbmi` as well (the CPU pipeline sets it when the host has
    AVX-512 VBMI), the FP8 kernel's one-row products (decode steps) decode
    64 e4m3 codes at a time by two byte lookups (`vpermi2b`, an
    `llvm.call_intrinsic`) instead of float16 bit moves: exact either way.
  }];
  let options = [
    Option<"cpuKernels", "cpu-kernels", "bool", /*default=*/"true",
           "Use the CPU's register-blocked products and tiled SwiGLU">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "With cpu-kernels: round the input of products over BF16 "
           "weights to BF16 and multiply with vdpbf16ps (avx512_bf16)">,
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
    "::mlir::x86vector::X86VectorDialect",
  ];
}

#endif // JIKJI_CODEGEN_CONVERSION_PASSES_TD
