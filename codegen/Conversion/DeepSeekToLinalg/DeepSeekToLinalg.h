//===- DeepSeekToLinalg.h - deepseek to linalg patterns ---------*- C++ -*-===//
//
// Part of Jikji. Pattern sets, one per family of ops, so that a pipeline can
// lower some ops early and others later.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_DEEPSEEKTOLINALG_H
#define JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_DEEPSEEKTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace jikji {

/// Choices the patterns make for a target.
struct LoweringOptions {
  /// Register-blocked products and a column-tiled SwiGLU (the CPU's); off,
  /// every product is one linalg.generic.
  bool cpuKernels = true;
  /// With `cpuKernels`: products over BF16 weights round their input to
  /// BF16, and those of 4 or more rows multiply with `vdpbf16ps`
  /// (avx512_bf16), twice the float32 FMA's work per instruction. The
  /// numbers change by the rounding of the activations, so it is opt-in.
  bool bf16Dot = false;
  /// With `cpuKernels`: the target has AVX-512 VBMI, so the FP8 kernel's
  /// one-row products decode their weights by byte lookups (vpermi2b).
  /// Exact, like the float16 decoding it replaces.
  bool x86Vbmi = false;
};

/// embedding, rms_norm, split, view, rope, silu_mul, add.
void populateElementwiseToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// linear, with FP8 block scales applied in the body.
void populateLinearToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                    const LoweringOptions &options = {});
/// mla_attention over the expanded cache.
void populateAttentionToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                       const LoweringOptions &options = {});
/// latent_attention over the latent cache, absorbed or expanded per call.
void populateLatentAttentionToLinalgPatterns(
    mlir::RewritePatternSet &patterns, const LoweringOptions &options = {});
/// mla_attention and latent_attention of a batched decode step (with
/// `positions`): one attention per slot, in a parallel loop over the slots.
/// Without `cpuKernels`, latent_attention is left to its own pattern,
/// which lowers the batched step whole.
void populateSlotLoopPatterns(mlir::RewritePatternSet &patterns,
                              const LoweringOptions &options = {});
/// moe_router and moe_experts.
void populateMoeToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                 const LoweringOptions &options = {});

/// All of the above.
void populateDeepSeekToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                      const LoweringOptions &options = {});

} // namespace jikji

#endif // JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_DEEPSEEKTOLINALG_H
