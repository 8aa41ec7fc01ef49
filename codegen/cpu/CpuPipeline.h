//===- CpuPipeline.h - deepseek to the LLVM dialect for the CPU -*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CPU_CPUPIPELINE_H
#define JIKJI_CODEGEN_CPU_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace jikji {

/// The phases of the CPU pipeline, in order; jikji-compile can stop after
/// any of them (`--emit=linalg|bufferized|llvm`).
enum class CpuPhase { Linalg, Bufferized, LLVM };

/// Choices of the CPU pipeline.
struct CpuPipelineOptions {
  /// Products over BF16 weights multiply BF16-rounded activations with
  /// `vdpbf16ps` (convert-deepseek-to-linalg{bf16-dot}); the target CPU
  /// must have avx512_bf16.
  bool bf16Dot = false;
  /// The target CPU has AVX-512 VBMI: FP8 weights of one-row products
  /// decode through byte-table lookups (convert-deepseek-to-linalg{x86-vbmi}).
  bool x86Vbmi = false;
};

/// deepseek -> linalg on tensors, with the artifact's entry point.
void addCpuLinalgPasses(mlir::OpPassManager &pm,
                        const CpuPipelineOptions &options = {});
/// The same for a target other than the CPU: every product one
/// linalg.generic (convert-deepseek-to-linalg{cpu-kernels=false}).
void addPortableLinalgPasses(mlir::OpPassManager &pm);
/// linalg on tensors -> bufferized memrefs, temporaries freed.
void addCpuBufferizePasses(mlir::OpPassManager &pm);
/// bufferized memrefs -> the LLVM dialect.
void addCpuLlvmPasses(mlir::OpPassManager &pm);
/// The conversions of host code to the LLVM dialect that every target
/// shares (memrefs, math, arith, index, control flow, functions); with
/// `genericAllocationFunctions`, heap buffers go through
/// _mlir_memref_to_llvm_alloc/free, for a runtime to redirect.
void addHostLlvmConversionPasses(mlir::OpPassManager &pm,
                                 bool genericAllocationFunctions);

/// Adds the passes that take the as-written (or fused) deepseek graph to
/// `phase`: the three steps above, in order, up to `phase`.
void buildLowerToCpuPipeline(mlir::OpPassManager &pm,
                             CpuPhase phase = CpuPhase::LLVM,
                             const CpuPipelineOptions &options = {});

/// Registers `jikji-lower-to-cpu` with jikji-opt.
void registerCpuPipelines();

} // namespace jikji

#endif // JIKJI_CODEGEN_CPU_CPUPIPELINE_H
