//===- Builders.h - Small builders shared by the lowerings ------*- C++ -*-===//
//
// Part of Jikji. The lowerings build many linalg.generic ops over tensors
// whose only dynamic sizes are the token count and the cache length; these
// helpers keep each pattern about the math rather than the plumbing.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_BUILDERS_H
#define JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_BUILDERS_H

#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace jikji::lowering {

/// `tensor.empty` of `type`; `dynamicSizes` gives its dynamic dims in order.
inline mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::RankedTensorType type,
                               mlir::ValueRange dynamicSizes) {
  return mlir::tensor::EmptyOp::create(b, loc, type.getShape(),
                                       type.getElementType(), dynamicSizes);
}

/// The sizes of `value`'s dynamic dimensions, as `tensor.empty` wants them.
inline llvm::SmallVector<mlir::Value>
dynamicSizesOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value) {
  llvm::SmallVector<mlir::Value> sizes;
  auto type = mlir::cast<mlir::RankedTensorType>(value.getType());
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      sizes.push_back(mlir::tensor::DimOp::create(b, loc, value, dim));
  return sizes;
}

/// A float32 tensor of `type` filled with `value`.
inline mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::RankedTensorType type,
                                mlir::ValueRange dynamicSizes, double value) {
  mlir::Value empty = emptyTensor(b, loc, type, dynamicSizes);
  mlir::Value constant = mlir::arith::ConstantOp::create(
      b, loc, b.getFloatAttr(type.getElementType(), value));
  return mlir::linalg::FillOp::create(b, loc, constant, empty).getResult(0);
}

/// An f8E4M3FN element (or vector of them) as the float32 of the same
/// value, exactly: its bits moved into a float16, widened, times 2^8
/// (Float8.cpp). LLVM has no f8 type to extend from.
mlir::Value widenFloat8E4M3FN(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value value);

/// The same without the final multiply: value / 2^8, for products that fold
/// the 2^8 into a block scale.
mlir::Value float8E4M3FNOver256(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value value);

/// e4m3 codes given as their i8 bits (or a vector of them) as float32 /
/// 2^8, every code decoded as if finite: the NaN codes S.1111.111 come out
/// as ±480 / 2^8, so a caller must find them itself (the block-scaled
/// kernel tests 64 codes at a time rather than each one).
mlir::Value float8E4M3FNBitsAsFiniteOver256(mlir::OpBuilder &b,
                                            mlir::Location loc,
                                            mlir::Value bits);

/// Declares the byte lookups of float8E4M3FNByLookup free of memory
/// effects (Float8.cpp), for the passes after the lowering.
void registerByteLookupEffects(mlir::DialectRegistry &registry);

/// 64 e4m3 codes (`bits`, vector<64xi8>) as four vector<16xf32> of their
/// values, codes 16r to 16r + 15 in the r-th, exactly, NaN codes as NaN:
/// a permute of the codes, two byte lookups (AVX-512 VBMI's vpermi2b), a
/// sign merge and six unpacks for the 64, for targets with VBMI
/// (Float8.cpp).
llvm::SmallVector<mlir::Value> float8E4M3FNByLookup(mlir::OpBuilder &b,
                                                    mlir::Location loc,
                                                    mlir::Value bits);

/// Whether `blockScaledWeightProduct` takes a weight of `features` rows.
bool hasBlockScaledWeightProduct(int64_t features);

/// Rows [0, rows) of input · (weight · scale)ᵀ over the first `blocks`
/// whole 128-column blocks, into `output` [M, N], for an FP8 weight [N, K]
/// with scales [ceil(N/128), ceil(K/128)]: 4 output features per register
/// block, each block of 128 columns summed in its own accumulators and
/// scaled once (BlockScaledWeightProduct.cpp). With `byteLookup` (a target
/// with AVX-512 VBMI), the one-row products decode by float8E4M3FNByLookup.
mlir::Value blockScaledWeightProduct(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::Value input, mlir::Value weight,
                                     mlir::Value scales,
                                     llvm::ArrayRef<int64_t> block,
                                     int64_t blocks, mlir::Value output,
                                     bool threaded, bool byteLookup);

/// Widens a weight element to float32; f32 passes, bf16 takes a shift, FP8
/// its exact decoding.
inline mlir::Value widenToF32(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value value) {
  if (value.getType().isF32())
    return value;
  if (mlir::isa<mlir::Float8E4M3FNType>(value.getType()))
    return widenFloat8E4M3FN(b, loc, value);
  if (value.getType().isBF16()) {
    // A bf16 is the top half of the float32 of the same value. As integer
    // ops LLVM vectorizes the widening 16 wide; as `fpext` its cost model
    // picked 4 lanes for every product over bf16 weights.
    mlir::Value bits =
        mlir::arith::BitcastOp::create(b, loc, b.getI16Type(), value);
    mlir::Value wide =
        mlir::arith::ExtUIOp::create(b, loc, b.getI32Type(), bits);
    mlir::Value shifted = mlir::arith::ShLIOp::create(
        b, loc, wide,
        mlir::arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)));
    return mlir::arith::BitcastOp::create(b, loc, b.getF32Type(), shifted);
  }
  return mlir::arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

/// `result[..., o] = Σ_i input[..., i] · W[o, i]` for an input of rank 1
/// or 2 and a weight `[out, in]` in its storage type, widened (and, for FP8,
/// multiplied by `scales[o / block[0], i / block[1]]`) next to the multiply.
/// The one contraction behind linear layers and expert projections.
/// With `threaded`, its loops are shared among threads; without, it runs
/// on the calling thread (for products that are already one thread's
/// share of a larger piece of work). With `options.cpuKernels`, FP8
/// products take the block-scaled kernel (blockScaledWeightProduct) and
/// bf16 ones of 4 or more rows the register-blocked kernel; without, every
/// product is one linalg.generic. With `options.x86Vbmi` as well, the
/// block-scaled kernel's one-row products decode by byte lookups. With
/// `options.bf16Dot` as well, a
/// product over a bf16 weight rounds its input to bf16 first (an input
/// already in bf16 is taken as it is) and its register-blocked part
/// multiplies with `vdpbf16ps`.
mlir::Value weightContraction(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value input, mlir::Value weight,
                              mlir::Value scales = mlir::Value(),
                              llvm::ArrayRef<int64_t> block = {},
                              bool threaded = true,
                              const LoweringOptions &options = {});

/// `input` as a product over `weight` multiplies it: rounded to bf16 when
/// weightContraction would round it (options.bf16Dot and a bf16 weight),
/// else as it is. For callers that feed one input to several products and
/// round it once (weightContraction takes an input already in bf16 as it
/// is). With `threaded`, the rounding's loops are shared among threads.
mlir::Value roundedForProduct(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value input, mlir::Value weight,
                              bool threaded, const LoweringOptions &options);

/// Computes rows [0, rows) of `output` [M, features] one block of output
/// features at a time: `columns(column, width, tile, offset)` returns
/// features [column, column + width) written into `tile`, which is the
/// [rows, width] slice of the output at `column` when `offset`, else the
/// whole output. With `threaded` the blocks are the largest of 64, 32, ...,
/// 4 features that divides `features`, and an scf.forall shares them among
/// threads; without, one block holds every feature. The CPU product
/// kernels' shared outer structure.
mlir::Value overFeatureBlocks(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value rows,
    mlir::Value output, int64_t features, bool threaded,
    llvm::function_ref<mlir::Value(mlir::Value column, int64_t width,
                                   mlir::Value tile, bool offset)>
        columns);

/// Whether `blockedWeightProduct` takes `input` [M, K] and `weight` [N, K]:
/// bf16 or f32 weights, K a multiple of 16 and N of 4; for a bf16 input
/// (the `vdpbf16ps` kernel), a bf16 weight and K a multiple of 32.
bool hasBlockedWeightProduct(mlir::Value input, mlir::Value weight);

/// Threads `tile` through `kernel(row, feature, tile)` over rows
/// [rowBegin, rowEnd) in steps of `rowStep` and features [0, width) in steps
/// of `featureStep`: rows outside features when `rowsOutside`, else
/// features outside rows (a block of weight rows then stays in cache while
/// every row uses it). The loop nest of the register-blocked kernels.
mlir::Value overRegisterBlocks(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value rowBegin,
    mlir::Value rowEnd, int64_t rowStep, int64_t width, int64_t featureStep,
    bool rowsOutside, mlir::Value tile,
    llvm::function_ref<mlir::Value(mlir::Value row, mlir::Value feature,
                                   mlir::Value tile)>
        kernel);

/// Writes a register block of dot products: `sums` holds `rows` x `columns`
/// vector accumulators, row-major, each reduced to the float32 at (row + i,
/// column + j) of `out` [M, N]. The epilogue of the register-blocked
/// kernels (BlockedWeightProduct.cpp, BlockScaledWeightProduct.cpp).
mlir::Value writeRegisterBlock(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::ValueRange sums, int64_t rows,
                               int64_t columns, mlir::Value out,
                               mlir::Value row, mlir::Value column);

/// Rows [0, rows) of input · weightᵀ into `output` [M, N], register-blocked
/// 4 rows x 4 features x 16 lanes (rows a multiple of 4): the prefill
/// kernel (BlockedWeightProduct.cpp). A float32 input multiplies with FMAs
/// over the widened weight; a bf16 input with `vdpbf16ps`, 32 of the
/// reduction per step.
mlir::Value blockedWeightProduct(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value input, mlir::Value weight,
                                 mlir::Value rows, mlir::Value output,
                                 bool threaded);

/// Whether `blockedProductUpTo` takes a reduction of `depth`: a multiple
/// of 16.
bool hasBlockedProductUpTo(int64_t depth);

/// Rows [0, rows) of input · weightᵀ into `output` [M, N] for float32
/// `input` [M, K] and `weight` [N, K] of any row counts, each block of 4
/// rows over the features [0, featureEnd(row)) only (rows and every
/// featureEnd multiples of 4; the rest of `output` is left as it is), on
/// the calling thread: the register-blocked kernel for products whose
/// extent depends on the row, such as causal attention scores.
mlir::Value
blockedProductUpTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                   mlir::Value weight, mlir::Value rows,
                   llvm::function_ref<mlir::Value(mlir::Value row)> featureEnd,
                   mlir::Value output);

/// silu(input · gateᵀ) * (input · upᵀ), `[..., I]` for weights `[I, in]`:
/// the gate and up products of column tiles of I, shared among threads,
/// with the SwiGLU applied to each tile while it is in cache (the
/// products' epilogue). FP8 weights take their block scales. Without
/// `options.cpuKernels`: the two whole products, then the SwiGLU. With
/// `options.bf16Dot`, the input is rounded to bf16 once for every tile.
mlir::Value swigluProduct(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value input, mlir::Value gate, mlir::Value up,
                          mlir::Value gateScales = mlir::Value(),
                          mlir::Value upScales = mlir::Value(),
                          llvm::ArrayRef<int64_t> block = {},
                          const LoweringOptions &options = {});

/// Ends a linalg.generic body with one value.
inline void yieldValue(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value value) {
  mlir::linalg::YieldOp::create(b, loc, mlir::ValueRange{value});
}

/// Iterator types: `parallel` for the first `parallel` loops, then
/// `reduction` for the next `reduction` loops.
inline llvm::SmallVector<mlir::utils::IteratorType>
iterators(unsigned parallel, unsigned reduction = 0) {
  llvm::SmallVector<mlir::utils::IteratorType> types(
      parallel, mlir::utils::IteratorType::parallel);
  types.append(reduction, mlir::utils::IteratorType::reduction);
  return types;
}

/// fastmath<contract> so that LLVM forms FMAs (MLIR22-NOTES.md: 30% faster),
/// and reassoc so that it vectorizes reductions (docs/benchmarks.md: 2x).
inline mlir::arith::FastMathFlagsAttr contract(mlir::OpBuilder &b) {
  return mlir::arith::FastMathFlagsAttr::get(
      b.getContext(), mlir::arith::FastMathFlags::contract |
                          mlir::arith::FastMathFlags::reassoc);
}

} // namespace jikji::lowering

#endif // JIKJI_CODEGEN_CONVERSION_DEEPSEEKTOLINALG_BUILDERS_H
