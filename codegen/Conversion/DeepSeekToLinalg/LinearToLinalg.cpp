//===- LinearToLinalg.cpp - deepseek.linear to linalg ---------------------===//
//
// Part of Jikji. x Wᵀ as one linalg.generic whose body widens the weight
// element (and applies its FP8 block scale) next to the multiply, so the
// weight stays in its storage type in memory.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"
#include "codegen/Conversion/ParallelLoops.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

/// The loops of a product over a weight: the output features, the input's
/// rows (none for a vector), then `reductions` loops over the depth. With
/// `featuresOutermost` (the CPU's) the features come first, so that each
/// weight row is read from memory once and reused from L1 for every input
/// row; else the rows come first.
struct ProductLoops {
  ProductLoops(MLIRContext *context, unsigned rowCount, unsigned reductionCount,
               bool featuresOutermost = true)
      : context(context), count(rowCount + 1 + reductionCount) {
    unsigned firstRow = featuresOutermost ? 1 : 0;
    feature = getAffineDimExpr(featuresOutermost ? 0 : rowCount, context);
    for (unsigned d = 0; d < rowCount; ++d)
      rows.push_back(getAffineDimExpr(firstRow + d, context));
    for (unsigned d = 0; d < reductionCount; ++d)
      reductions.push_back(getAffineDimExpr(rowCount + 1 + d, context));
  }

  AffineMap map(ArrayRef<AffineExpr> results) const {
    return AffineMap::get(count, 0, results, context);
  }
  /// The map of (rows..., trailing...): the input's and the output's.
  AffineMap withRows(ArrayRef<AffineExpr> trailing) const {
    SmallVector<AffineExpr> results(rows);
    llvm::append_range(results, trailing);
    return map(results);
  }

  MLIRContext *context;
  unsigned count;
  AffineExpr feature;
  SmallVector<AffineExpr> rows, reductions;
};

/// The contraction as one linalg.generic: loops that LLVM vectorizes, one
/// dot product at a time. What decode (one row) and FP8 weights use.
///
/// With `featuresOutermost` the loops are (o, rows..., i): each weight row
/// is read from memory once and reused from L1 for every input row (the
/// 1-3 rows an expert gets in a batched decode step), where (rows..., o, i)
/// streams the whole weight once per row. The CPU takes it; the CUDA
/// target's tensor-core matcher (codegen/cuda) expects rows outermost.
static Value genericWeightContraction(OpBuilder &b, Location loc, Value input,
                                      Value weight, Value scales,
                                      ArrayRef<int64_t> block, bool threaded,
                                      bool featuresOutermost) {
  MLIRContext *context = b.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  unsigned rows = inputType.getRank() - 1;
  ProductLoops loops(context, rows, /*reductionCount=*/1, featuresOutermost);
  AffineExpr o = loops.feature, i = loops.reductions[0];

  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(weightType.getDimSize(0));
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  Value zeros =
      filledTensor(b, loc, resultType, dynamicSizesOf(b, loc, input), 0.0);
  SmallVector<Value> inputs{input, weight};
  SmallVector<AffineMap> maps{loops.withRows({i}), loops.map({o, i})};
  if (scales) {
    inputs.push_back(scales);
    maps.push_back(loops.map({o.floorDiv(block[0]), i.floorDiv(block[1])}));
  }
  maps.push_back(loops.withRows({o}));
  bool scaled = static_cast<bool>(scales);
  auto product = linalg::GenericOp::create(
      b, loc, resultType, inputs, ValueRange{zeros}, maps,
      iterators(rows + 1, 1),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        arith::FastMathFlagsAttr fastmath = contract(b);
        Value w = widenToF32(b, loc, args[1]);
        if (scaled)
          w = arith::MulFOp::create(b, loc, w, args[2]);
        // The input is float32, or bf16 when rounded for bf16 products.
        Value x = widenToF32(b, loc, args[0]);
        Value term = arith::MulFOp::create(b, loc, x, w, fastmath);
        yieldValue(b, loc,
                   arith::AddFOp::create(b, loc, args.back(), term, fastmath));
      });
  // Every product over a weight streams megabytes: worth its threads.
  if (threaded)
    product->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
  return product.getResult(0);
}

/// An FP8 contraction for the CPU, by the scale blocks' 128 columns: the
/// whole blocks by the vector kernel (BlockScaledWeightProduct.cpp) when
/// the feature count is a multiple of 4, else as loops (o, rows..., kb, ii)
/// whose innermost loop LLVM vectorizes, the block's scale invariant in it
/// (with the scale's index `i / 128` inside the innermost loop, as in the
/// generic contraction, it stayed scalar: 2.2x slower than bf16 per token
/// on bench-v3). Columns past the last whole block (a ragged edge) take the
/// generic contraction, accumulating into the same result. `byteLookup`:
/// the kernel's one-row products decode by byte lookups (x86 VBMI).
static Value blockScaledWeightContraction(OpBuilder &b, Location loc,
                                          Value input, Value weight,
                                          Value scales,
                                          ArrayRef<int64_t> block,
                                          bool threaded, bool byteLookup) {
  MLIRContext *context = b.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  auto scalesType = cast<RankedTensorType>(scales.getType());
  unsigned rows = inputType.getRank() - 1;
  int64_t features = weightType.getDimSize(0);
  int64_t depth = weightType.getDimSize(1);
  int64_t width = block[1];
  int64_t blocks = depth / width, whole = blocks * width;
  if (blocks == 0)
    return genericWeightContraction(b, loc, input, weight, scales, block,
                                    threaded, /*featuresOutermost=*/true);

  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(features);
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  Value result =
      filledTensor(b, loc, resultType, dynamicSizesOf(b, loc, input), 0.0);

  // Columns [begin, begin + size) of a matrix (itself when that is all).
  auto columns = [&](Value matrix, int64_t begin, int64_t size) -> Value {
    auto type = cast<RankedTensorType>(matrix.getType());
    if (begin == 0 && size == type.getShape().back())
      return matrix;
    SmallVector<int64_t> sliceShape(type.getShape());
    sliceShape.back() = size;
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    offsets.back() = b.getIndexAttr(begin);
    SmallVector<Value> dynamic = dynamicSizesOf(b, loc, matrix);
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0, next = 0; dim < type.getRank(); ++dim)
      sizes.push_back(type.isDynamicDim(dim)
                          ? OpFoldResult(dynamic[next++])
                          : OpFoldResult(b.getIndexAttr(sliceShape[dim])));
    sizes.back() = b.getIndexAttr(size);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
               b, loc,
               RankedTensorType::get(sliceShape, type.getElementType()), matrix,
               offsets, sizes, strides)
        .getResult();
  };
  // [..., blocks * width] as [..., blocks, width].
  auto byBlock = [&](Value matrix) {
    auto type = cast<RankedTensorType>(matrix.getType());
    unsigned last = type.getRank() - 1;
    SmallVector<int64_t> blockedShape(type.getShape().drop_back());
    blockedShape.append({blocks, width});
    SmallVector<ReassociationIndices> groups;
    for (unsigned dim = 0; dim < last; ++dim)
      groups.push_back({dim});
    groups.push_back({last, last + 1});
    SmallVector<OpFoldResult> outputShape;
    SmallVector<Value> dynamic = dynamicSizesOf(b, loc, matrix);
    for (unsigned dim = 0, next = 0; dim < last; ++dim)
      outputShape.push_back(type.isDynamicDim(dim)
                                ? OpFoldResult(dynamic[next++])
                                : OpFoldResult(b.getIndexAttr(
                                      type.getDimSize(dim))));
    outputShape.append({b.getIndexAttr(blocks), b.getIndexAttr(width)});
    return tensor::ExpandShapeOp::create(
               b, loc,
               RankedTensorType::get(blockedShape, type.getElementType()),
               matrix, groups, outputShape)
        .getResult();
  };

  // acc + x · (w · scale), for the bodies of both parts.
  auto accumulateScaled = [](OpBuilder &b, Location loc, ValueRange args) {
    arith::FastMathFlagsAttr fastmath = contract(b);
    Value w =
        arith::MulFOp::create(b, loc, widenToF32(b, loc, args[1]), args[2]);
    Value term = arith::MulFOp::create(b, loc, args[0], w, fastmath);
    yieldValue(b, loc,
               arith::AddFOp::create(b, loc, args.back(), term, fastmath));
  };

  // Features not a multiple of 4: the whole blocks as loops
  // (o, rows..., kb, ii), one dot product at a time; features outermost so
  // that a prefill's tokens share each weight row in cache.
  auto wholeBlocks = [&](Value init) -> Value {
    ProductLoops loops(context, rows, /*reductionCount=*/2);
    AffineExpr o = loops.feature;
    AffineExpr kb = loops.reductions[0], ii = loops.reductions[1];
    Value blockedInput = byBlock(columns(input, 0, whole));
    Value blockedWeight = byBlock(columns(weight, 0, whole));
    Value wholeScales = columns(scales, 0, blocks);
    auto product = linalg::GenericOp::create(
        b, loc, resultType, ValueRange{blockedInput, blockedWeight, wholeScales},
        ValueRange{init},
        ArrayRef<AffineMap>{loops.withRows({kb, ii}), loops.map({o, kb, ii}),
                            loops.map({o.floorDiv(block[0]), kb}),
                            loops.withRows({o})},
        iterators(rows + 1, 2),
        accumulateScaled);
    if (threaded)
      product->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
    return product.getResult(0);
  };
  if (hasBlockScaledWeightProduct(features)) {
    // The whole blocks by the vector kernel, on an input of rank 2.
    bool vector = rows == 0;
    Value matrixInput = input, matrixResult = result;
    if (vector) {
      auto asRow = [&](Value value, int64_t size) -> Value {
        auto type = cast<RankedTensorType>(value.getType());
        return tensor::ExpandShapeOp::create(
                   b, loc,
                   RankedTensorType::get({1, size}, type.getElementType()),
                   value, ArrayRef<ReassociationIndices>{{0, 1}},
                   ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                                          b.getIndexAttr(size)})
            .getResult();
      };
      matrixInput = asRow(input, depth);
      matrixResult = asRow(result, features);
    }
    Value product =
        blockScaledWeightProduct(b, loc, matrixInput, weight, scales, block,
                                 blocks, matrixResult, threaded, byteLookup);
    result = vector ? tensor::CollapseShapeOp::create(
                          b, loc, resultType, product,
                          ArrayRef<ReassociationIndices>{{0, 1}})
                          .getResult()
                    : product;
  } else {
    result = wholeBlocks(result);
  }
  if (whole == depth)
    return result;

  // The ragged edge: columns [whole, depth), the last column of scales.
  Value edgeInput = columns(input, whole, depth - whole);
  Value edgeWeight = columns(weight, whole, depth - whole);
  Value edgeScales = columns(scales, blocks, scalesType.getDimSize(1) - blocks);
  ProductLoops edgeLoops(context, rows, /*reductionCount=*/1);
  AffineExpr eo = edgeLoops.feature, ei = edgeLoops.reductions[0];
  auto edge = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{edgeInput, edgeWeight, edgeScales},
      ValueRange{result},
      ArrayRef<AffineMap>{edgeLoops.withRows({ei}), edgeLoops.map({eo, ei}),
                          edgeLoops.map({eo.floorDiv(block[0]),
                                         getAffineConstantExpr(0, context)}),
                          edgeLoops.withRows({eo})},
      iterators(rows + 1, 1),
      accumulateScaled);
  if (threaded)
    edge->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
  return edge.getResult(0);
}

/// Whether a product over `weight` multiplies bf16 activations: with the
/// bf16 dot products on and a bf16 weight (FP8 products stay exact).
static bool multipliesInBf16(Value weight,
                             const jikji::LoweringOptions &options) {
  return options.cpuKernels && options.bf16Dot &&
         cast<RankedTensorType>(weight.getType()).getElementType().isBF16();
}

/// `input` rounded to bf16 (to nearest even), for products that multiply
/// in bf16; an input already in bf16 is returned as it is. A pass over the
/// input that the product then reads at half the bytes.
static Value roundedToBf16(OpBuilder &b, Location loc, Value input,
                           bool threaded) {
  auto type = cast<RankedTensorType>(input.getType());
  if (type.getElementType().isBF16())
    return input;
  auto roundedType = RankedTensorType::get(type.getShape(), b.getBF16Type());
  Value init = emptyTensor(b, loc, roundedType, dynamicSizesOf(b, loc, input));
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  auto rounding = linalg::GenericOp::create(
      b, loc, roundedType, ValueRange{input}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity}, iterators(type.getRank()),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        yieldValue(b, loc,
                   arith::TruncFOp::create(b, loc, b.getBF16Type(), args[0]));
      });
  if (threaded)
    rounding->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
  return rounding.getResult(0);
}

Value jikji::lowering::roundedForProduct(OpBuilder &b, Location loc,
                                         Value input, Value weight,
                                         bool threaded,
                                         const LoweringOptions &options) {
  return multipliesInBf16(weight, options)
             ? roundedToBf16(b, loc, input, threaded)
             : input;
}

Value jikji::lowering::weightContraction(OpBuilder &b, Location loc,
                                         Value input, Value weight,
                                         Value scales, ArrayRef<int64_t> block,
                                         bool threaded,
                                         const LoweringOptions &options) {
  bool cpuKernels = options.cpuKernels;
  if (cpuKernels && scales)
    return blockScaledWeightContraction(b, loc, input, weight, scales, block,
                                        threaded, options.x86Vbmi);
  if (multipliesInBf16(weight, options))
    input = roundedToBf16(b, loc, input, threaded);
  if (!cpuKernels || scales || !hasBlockedWeightProduct(input, weight))
    return genericWeightContraction(b, loc, input, weight, scales, block,
                                    threaded, /*featuresOutermost=*/cpuKernels);
  // Rows in blocks of 4 take the register-blocked kernel; the 0-3 rows
  // left (all of a decode step's one row) take the generic contraction.
  auto index = [&](int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value).getResult();
  };
  Value rows = tensor::DimOp::create(b, loc, input, 0);
  Value blocked = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, rows, index(4)), index(4));
  Value left = arith::SubIOp::create(b, loc, rows, blocked);
  int64_t features = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  int64_t depth = cast<RankedTensorType>(input.getType()).getDimSize(1);
  auto resultType =
      RankedTensorType::get({ShapedType::kDynamic, features}, b.getF32Type());
  // An allocation, not tensor.empty: two identical empties CSE into one,
  // and one defined outside a parallel loop and yielded by the scf.if below
  // inside it became one buffer that every thread wrote (bufferization did
  // not see the write through the scf.if; caught by test/e2e/threads.test).
  Value output = bufferization::AllocTensorOp::create(b, loc, resultType,
                                                      ValueRange{rows});
  auto ifRows = [&](Value count, function_ref<Value()> compute) {
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, count,
                                      index(0));
    return scf::IfOp::create(
               b, loc, any,
               [&](OpBuilder &b, Location loc) {
                 scf::YieldOp::create(b, loc, compute());
               },
               [&](OpBuilder &b, Location loc) {
                 scf::YieldOp::create(b, loc, output);
               })
        .getResult(0);
  };
  output = ifRows(blocked, [&] {
    return blockedWeightProduct(b, loc, input, weight, blocked, output,
                                threaded);
  });
  return ifRows(left, [&] {
    auto sliceType = RankedTensorType::get(
        {ShapedType::kDynamic, depth},
        cast<RankedTensorType>(input.getType()).getElementType());
    Value rest = tensor::ExtractSliceOp::create(
        b, loc, sliceType, input,
        ArrayRef<OpFoldResult>{blocked, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{left, b.getIndexAttr(depth)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    Value product =
        genericWeightContraction(b, loc, rest, weight, Value(), {}, threaded,
                                 /*featuresOutermost=*/true);
    return tensor::InsertSliceOp::create(
               b, loc, product, output,
               ArrayRef<OpFoldResult>{blocked, b.getIndexAttr(0)},
               ArrayRef<OpFoldResult>{left, b.getIndexAttr(features)},
               ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)})
        .getResult();
  });
}

/// Columns per tile of a SwiGLU product: the largest divisor of `width` up
/// to 64, so that tiles are whole and many (a few per thread). With FP8
/// block scales a tile must also divide 128, so that it lies in one block.
static int64_t swigluTile(int64_t width, bool quantized) {
  constexpr int64_t kMaxTile = 64;
  for (int64_t tile = std::min(width, kMaxTile); tile > 1; --tile)
    if (width % tile == 0 && (!quantized || 128 % tile == 0))
      return tile;
  return 1;
}

Value jikji::lowering::swigluProduct(OpBuilder &b, Location loc, Value input,
                                     Value gate, Value up, Value gateScales,
                                     Value upScales, ArrayRef<int64_t> block,
                                     const LoweringOptions &options) {
  if (!options.cpuKernels) {
    Value gateProduct = weightContraction(b, loc, input, gate, gateScales,
                                          block, /*threaded=*/true, options);
    Value upProduct = weightContraction(b, loc, input, up, upScales, block,
                                        /*threaded=*/true, options);
    return ds::SiluMulOp::create(b, loc, gateProduct, upProduct);
  }
  auto inputType = cast<RankedTensorType>(input.getType());
  auto gateType = cast<RankedTensorType>(gate.getType());
  int64_t width = gateType.getDimSize(0), depth = gateType.getDimSize(1);
  bool quantized = static_cast<bool>(gateScales);
  int64_t tile = swigluTile(width, quantized);
  // Every tile reads the whole input: round it once, not once per tile.
  if (multipliesInBf16(gate, options))
    input = roundedToBf16(b, loc, input, /*threaded=*/true);
  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(width);
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  unsigned rank = resultType.getRank();
  SmallVector<Value> inputSizes = dynamicSizesOf(b, loc, input);
  Value init = emptyTensor(b, loc, resultType, inputSizes);

  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(width / tile)},
      ValueRange{init}, std::nullopt,
      [&](OpBuilder &, Location, ValueRange arguments) {
        Value column = arith::MulIOp::create(
            b, loc, arguments[0], arith::ConstantIndexOp::create(b, loc, tile));
        // Rows [column, column + tile) of a weight, and the row of block
        // scales that holds them (a tile divides 128).
        auto tileOf = [&](Value matrix, int64_t rows, int64_t cols,
                          OpFoldResult row) {
          auto type = RankedTensorType::get(
              {rows, cols},
              cast<RankedTensorType>(matrix.getType()).getElementType());
          SmallVector<OpFoldResult> offsets{row, b.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes{b.getIndexAttr(rows),
                                          b.getIndexAttr(cols)};
          SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
          return tensor::ExtractSliceOp::create(b, loc, type, matrix, offsets,
                                                sizes, strides)
              .getResult();
        };
        auto product = [&](Value weight, Value scales) {
          Value scaleTile;
          if (scales) {
            Value scaleRow = arith::DivUIOp::create(
                b, loc, column,
                arith::ConstantIndexOp::create(b, loc, block[0]));
            int64_t scaleCols =
                cast<RankedTensorType>(scales.getType()).getDimSize(1);
            scaleTile = tileOf(scales, 1, scaleCols, scaleRow);
          }
          // The tiles are the threads' work: each product stays on its own.
          return weightContraction(b, loc, input,
                                   tileOf(weight, tile, depth, column),
                                   scaleTile, block, /*threaded=*/false,
                                   options);
        };
        Value gateTile = product(gate, gateScales);
        Value upTile = product(up, upScales);
        Value activated = ds::SiluMulOp::create(b, loc, gateTile, upTile);

        auto terminator = scf::InParallelOp::create(b, loc);
        b.setInsertionPointToStart(terminator.getBody());
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
        offsets.back() = column;
        SmallVector<OpFoldResult> sizes;
        for (unsigned dim = 0, dynamic = 0; dim + 1 < rank; ++dim)
          sizes.push_back(resultType.isDynamicDim(dim)
                              ? OpFoldResult(inputSizes[dynamic++])
                              : OpFoldResult(
                                    b.getIndexAttr(resultType.getDimSize(dim))));
        sizes.push_back(b.getIndexAttr(tile));
        SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
        tensor::ParallelInsertSliceOp::create(b, loc, activated, arguments[1],
                                              offsets, sizes, strides);
      });
  return forall.getResult(0);
}

namespace {
/// result[t, o] = Σ_i input[t, i] · W[o, i] (· scales[o / b0, i / b1]).
struct LinearPattern final : OpRewritePattern<ds::LinearOp> {
  LinearPattern(MLIRContext *context, const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  LogicalResult matchAndRewrite(ds::LinearOp op,
                                PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> block;
    if (op.getScales())
      block = *op.getBlockSize();
    rewriter.replaceOp(
        op, weightContraction(rewriter, op.getLoc(), op.getInput(),
                              op.getWeight(), op.getScales(), block,
                              /*threaded=*/true, optionsFor(op)));
    return success();
  }

  /// The router's logits stay float32 with bf16 products on, as
  /// fused_router's do: DeepSeek scores experts in float32, and a rounded
  /// score can flip a choice between two nearly tied experts.
  jikji::LoweringOptions optionsFor(ds::LinearOp op) const {
    jikji::LoweringOptions chosen = options;
    if (!op->use_empty() && llvm::all_of(op->getUsers(), [](Operation *user) {
          return isa<ds::MoeRouterOp>(user);
        }))
      chosen.bf16Dot = false;
    return chosen;
  }
  jikji::LoweringOptions options;
};
/// Gate and up per column tile with the SwiGLU as their epilogue, then the
/// down projection. Within a tile they stay two products: one loop nest
/// with two accumulators reads x once, but LLVM vectorizes neither
/// reduction then (a decode step measured 6x slower, docs/benchmarks.md).
struct SwiGluPattern final : OpRewritePattern<ds::SwiGluOp> {
  SwiGluPattern(MLIRContext *context, const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  LogicalResult matchAndRewrite(ds::SwiGluOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value activated =
        swigluProduct(rewriter, loc, op.getInput(), op.getGate(), op.getUp(),
                      Value(), Value(), {}, options);
    rewriter.replaceOp(op, weightContraction(rewriter, loc, activated,
                                             op.getDown(), Value(), {},
                                             /*threaded=*/true, options));
    return success();
  }
  jikji::LoweringOptions options;
};
} // namespace

void jikji::populateLinearToLinalgPatterns(RewritePatternSet &patterns,
                                           const LoweringOptions &options) {
  patterns.add<LinearPattern, SwiGluPattern>(patterns.getContext(), options);
}
