//===- MmaProducts.h - Products for the tensor cores ------------*- C++ -*-===//
//
// Part of Jikji. What `jikji-lower-products-to-mma` recognizes in a
// bufferized function (MatchMmaProducts.cpp for bf16 weights,
// MatchBlockScaledProducts.cpp for FP8 ones, MatchMmaEpilogues.cpp for the
// elementwise op that may follow) and the kernels it builds (MmaKernel.cpp,
// MmaTiledKernel.cpp, with MmaOperands.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_MMAPRODUCTS_H
#define JIKJI_CODEGEN_CUDA_MMAPRODUCTS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace jikji::cuda {

/// The m16n8k16 tile of one mma.sync.
constexpr int64_t kMmaTileM = 16, kMmaTileN = 8, kMmaTileK = 16;

/// `y[m, n] += x[m, k] * W[n, k]` with x f32 or bf16, y f32 and W either
/// bf16 or f8E4M3FN with float32 block scales (`W[n, k] * scales[n /
/// blockN, k / blockK]` is the real weight). N is a multiple of 8 and K of
/// 16; with scales, blockN is a multiple of 8 and blockK of 16, so that no
/// tile of the kernel straddles two blocks.
struct MmaProduct {
  mlir::Value input, weight, output;
  int64_t n = 0, k = 0;
  mlir::Value scales;
  int64_t blockN = 0, blockK = 0;
};

/// The elementwise op a kernel finishes with: the residual add after an
/// output projection (`z = r + y`) or the SwiGLU after the gate and up
/// products (`z = silu(g) * u`, both products in one kernel).
struct MmaEpilogue {
  /// Two-dimensional, identity maps, a body of pure scalar ops; it reads
  /// every product's y. The kernel is built in its place (after any
  /// allocation between the products and it) and clones its body where it
  /// stores, taking each y from the accumulators and loading the rest.
  mlir::linalg::GenericOp consumer;
  /// Per product, whether its y is stored as well (read later, not the
  /// consumer's result).
  llvm::SmallVector<bool, 2> storeProducts;
};

/// The product `op` computes when its weight is bf16 (widened in the body).
std::optional<MmaProduct> matchBf16Product(mlir::linalg::GenericOp op);

/// The product `op` computes when its weight is FP8 e4m3 decoded through the
/// lowering's 256-entry table and multiplied by its block scale in the body
/// (codegen/Conversion/DeepSeekToLinalg, weightContraction).
std::optional<MmaProduct> matchBlockScaledProduct(mlir::linalg::GenericOp op);

/// The elementwise op after `ops` (one product, or two adjacent products
/// over the same x), past allocations only, that the kernel of `products`
/// can finish with, or an epilogue without a consumer.
MmaEpilogue matchMmaEpilogue(llvm::ArrayRef<mlir::linalg::GenericOp> ops,
                             llvm::ArrayRef<MmaProduct> products);

/// Whether `second` can share a kernel with `first`: the same x, shapes and
/// weight encoding, another y.
bool canShareKernel(const MmaProduct &first, const MmaProduct &second);

/// Loops (m, n, k) parallel, parallel, reduction on buffers; `inputs`
/// inputs and one init; x indexed (m, k), W (n, k), y (m, n).
bool hasProductLoops(mlir::linalg::GenericOp op, unsigned inputs);

/// The terms `a`, `b` of the body's `yield(addf(acc, mulf(a, b)))`, acc
/// being the init's argument, when every op of the body feeds the yield.
std::optional<std::pair<mlir::Value, mlir::Value>>
matchMultiplyAccumulate(mlir::linalg::GenericOp op);

/// `value` is block argument `index` widened from bf16, or (when `f32Ok`)
/// that argument itself in f32.
bool isWidenedArgument(mlir::Value value, unsigned index, bool f32Ok);

/// Builds the kernel of `products` (one, or two sharing x) at `b`'s
/// insertion point: a gpu.launch of one warp per 16 x 8 tile of y
/// (MmaKernel.cpp), for any M.
void buildMmaWarpKernel(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<MmaProduct> products,
                        const MmaEpilogue &epilogue);

/// Whether the tiled kernel takes `product`: N a multiple of 64 and K of
/// 32, and with scales, blocks that no 64 x 32 slice straddles.
bool fitsMmaTiles(const MmaProduct &product);

/// The fewest rows for which the tiled kernel runs rather than the warp
/// kernel: a decode step's few rows would fill a 64-row tile with padding
/// and give the GPU too few blocks to stream the weights at full speed.
constexpr int64_t kMmaTiledMinRows = 64;

/// Builds the kernel of `products` (fitting the tiles) at `b`'s insertion
/// point: a gpu.launch of four warps per 64 x 64 tile of y, x and W
/// staged through workgroup memory (MmaTiledKernel.cpp).
void buildMmaTiledKernel(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<MmaProduct> products,
                         const MmaEpilogue &epilogue);

/// The bf16 bits of an operand element in the low half of an i32:
/// activations in f32 are rounded to bf16, FP8 weights decoded exactly.
mlir::Value bf16BitsOf(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value element);

/// Elements (row, column) and (row, column + 1) of the two-dimensional
/// `memref` as the bf16x2 in a .b32 register that mma.sync takes: the
/// element at `column` in the low half.
mlir::Value loadBf16Pair(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value memref, mlir::Value row,
                         mlir::Value column);

/// mma.sync m16n8k16 row.col with bf16 operands onto the f32 accumulators
/// `c`: the four results, in the C fragment's order.
llvm::SmallVector<mlir::Value, 4>
multiplyAccumulateBf16(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::ValueRange a, mlir::ValueRange bFragment,
                       mlir::ValueRange c);

/// `accumulators` (the same number per product, in the products' order)
/// plus the products over block-scaled weights: per K block, the block's
/// sum from zero, by `accumulate(begin, end, zeros)`, times each product's
/// scale at (`scaleRow`, block). The last block may be shorter (K not a
/// multiple of blockK).
llvm::SmallVector<mlir::Value> accumulateBlockScaled(
    mlir::OpBuilder &b, mlir::Location loc,
    llvm::ArrayRef<MmaProduct> products, mlir::Value scaleRow,
    mlir::ValueRange accumulators,
    llvm::function_ref<llvm::SmallVector<mlir::Value>(
        mlir::Value, mlir::Value, mlir::ValueRange)>
        accumulate);

/// Stores element (row, column) of each product, `values` in the products'
/// order, or what the epilogue's consumer makes of them.
void storeMmaResults(mlir::OpBuilder &b, mlir::Location loc,
                     llvm::ArrayRef<MmaProduct> products,
                     const MmaEpilogue &epilogue, mlir::Value row,
                     mlir::Value column, llvm::ArrayRef<mlir::Value> values);

} // namespace jikji::cuda

#endif // JIKJI_CODEGEN_CUDA_MMAPRODUCTS_H
