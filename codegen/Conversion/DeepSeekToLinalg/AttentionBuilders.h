//===- AttentionBuilders.h - Pieces shared by the attentions ----*- C++ -*-===//
//
// Part of Jikji. The as-written attention and the latent attention both
// write new rows into a cache, read the rows up to the sequence's length,
// and contract heads against cache rows; these are those pieces.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_ATTENTIONBUILDERS_H
#define JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_ATTENTIONBUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace jikji::lowering {

/// [T, heads, a + b] from `nope` [T, heads, a] and `rope`, which is either
/// [T, heads, b] or [T, b] (one vector shared by all heads).
mlir::Value concatHeads(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value nope, mlir::Value rope, mlir::Value tokens);

/// Rows [start, start + T) of `cache` become `rows`.
mlir::Value writeRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value rows,
                      mlir::Value cache, mlir::Value start, mlir::Value tokens);

/// Row positions[t] of slot t of `cache` [slots, C, n] becomes row t of
/// `rows` [slots, n], for every slot: a batched decode step's cache write.
/// One element per iteration of an scf.forall over (slot, column), which
/// the GPU pipeline runs as one kernel (MapParallelLoopsToGpu.cpp).
mlir::Value writeSlotRows(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value rows, mlir::Value cache,
                          mlir::Value positions);

/// Rows [begin, begin + count) of `cache`.
mlir::Value readRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cache,
                     mlir::OpFoldResult begin, mlir::OpFoldResult count);

/// A contraction `outs += Σ ins[0] · ins[1]` over the maps given, in
/// float32 with FMA contraction; the second input may be a weight, widened
/// (and block-scaled by `ins[2]`) in the body.
mlir::Value contraction(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type, mlir::ValueRange inputs,
                        mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                        llvm::ArrayRef<mlir::utils::IteratorType> loops);

/// The same with the reductions innermost.
mlir::Value contraction(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type, mlir::ValueRange inputs,
                        mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                        unsigned parallel, unsigned reduction);

/// Loops (p, p, r, p): a sum over rows s of an [S, n] matrix with the row's
/// contiguous axis innermost, so the cache streams instead of striding.
llvm::SmallVector<mlir::utils::IteratorType> rowSumLoops();

/// Per-head vectors [N, heads, a + b] given as the two parts they
/// concatenate: `nope` [N, heads, a] and `rope`, [N, heads, b] or [N, b]
/// (one vector shared by all heads); without `rope`, `nope` is the whole
/// [N, heads, a]. Attention concatenates them only where it needs them
/// whole, so that the CPU's blocked form copies each part once, straight
/// into its per-head layout.
struct HeadVectors {
  mlir::Value nope;
  mlir::Value rope = {};
};

/// Attention over expanded per-head keys [S, heads, dq] and values
/// [S, heads, dv] with a causal mask at `start`: the as-written form. With
/// `cpuKernels` and dq, dv multiples of 16, per head in register blocks of
/// 4 tokens, each block up to the cache rows it sees
/// (AttentionToLinalg.cpp, BlockedCausalAttention); else the scores and the
/// weighted sum are one contraction each.
mlir::Value expandedAttention(mlir::OpBuilder &b, mlir::Location loc,
                              HeadVectors query, HeadVectors keys,
                              mlir::Value values, mlir::Value start,
                              mlir::Value tokens, mlir::Value length,
                              double scale, mlir::RankedTensorType outputType,
                              bool cpuKernels);

/// The most query tokens per sequence for which the portable lowering
/// takes latentFlashDecoding; more tokens (prefill) already give enough
/// parallel work, and the scores it materializes grow with them.
constexpr int64_t kFlashDecodingMaxTokens = 4;

/// The absorbed latent attention of a few query tokens in the portable
/// form, split over the cache length and combined (flash-decoding): five
/// linalg ops whatever the length (LatentFlashDecoding.cpp). `latentQuery`
/// [T, heads, rank] and `ropeQuery` [T, heads, dr] over rows [0, length)
/// of `latentCache` [C, rank] and `ropeCache` [C, dr], causal at `start`;
/// returns the softmax-weighted latent rows [T, heads, rank].
mlir::Value latentFlashDecoding(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value latentQuery, mlir::Value ropeQuery,
                                mlir::Value latentCache, mlir::Value ropeCache,
                                mlir::Value start, mlir::Value tokens,
                                mlir::Value length, double scale);

/// The same for a batched decode step: query t is the one new token of
/// slot t, at positions[t], over rows [0, positions[t]] of slot t of
/// `latentCache` [slots, C, rank] and `ropeCache` [slots, C, dr]. The
/// kernels' grids cover the slots and each thread reads its slot's
/// position; the splits follow from the slot count and the capacity C
/// (docs/dialect/rationale.md).
mlir::Value batchedLatentFlashDecoding(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value latentQuery,
    mlir::Value ropeQuery, mlir::Value latentCache, mlir::Value ropeCache,
    mlir::Value positions, mlir::Value slots, double scale);

} // namespace jikji::lowering

#endif // JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_ATTENTIONBUILDERS_H
