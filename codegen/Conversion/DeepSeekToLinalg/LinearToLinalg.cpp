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

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

Value jikji::lowering::weightContraction(OpBuilder &b, Location loc,
                                         Value input, Value weight,
                                         Value scales,
                                         ArrayRef<int64_t> block) {
  MLIRContext *context = b.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  // Loops (rows..., o, i): the rows of the input (none for a vector), the
  // output features, then the reduction.
  unsigned rows = inputType.getRank() - 1;
  unsigned dims = rows + 2;
  SmallVector<AffineExpr> row;
  for (unsigned d = 0; d < rows; ++d)
    row.push_back(getAffineDimExpr(d, context));
  AffineExpr o = getAffineDimExpr(rows, context);
  AffineExpr i = getAffineDimExpr(rows + 1, context);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(dims, 0, results, context);
  };
  auto withRow = [&](AffineExpr last) {
    SmallVector<AffineExpr> results(row);
    results.push_back(last);
    return results;
  };

  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(weightType.getDimSize(0));
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  Value zeros =
      filledTensor(b, loc, resultType, dynamicSizesOf(b, loc, input), 0.0);
  SmallVector<Value> inputs{input, weight};
  SmallVector<AffineMap> maps{map(withRow(i)), map({o, i})};
  if (scales) {
    inputs.push_back(scales);
    maps.push_back(map({o.floorDiv(block[0]), i.floorDiv(block[1])}));
  }
  maps.push_back(map(withRow(o)));
  bool scaled = static_cast<bool>(scales);
  auto product = linalg::GenericOp::create(
      b, loc, resultType, inputs, ValueRange{zeros}, maps,
      iterators(rows + 1, 1),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        arith::FastMathFlagsAttr fastmath = contract(b);
        Value w = widenToF32(b, loc, args[1]);
        if (scaled)
          w = arith::MulFOp::create(b, loc, w, args[2]);
        Value term = arith::MulFOp::create(b, loc, args[0], w, fastmath);
        yieldValue(b, loc,
                   arith::AddFOp::create(b, loc, args.back(), term, fastmath));
      });
  // Every product over a weight streams megabytes: worth its threads.
  product->setAttr(kParallelLoopsAttrName, b.getUnitAttr());
  return product.getResult(0);
}

namespace {
/// result[t, o] = Σ_i input[t, i] · W[o, i] (· scales[o / b0, i / b1]).
struct LinearPattern final : OpRewritePattern<ds::LinearOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::LinearOp op,
                                PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> block;
    if (op.getScales())
      block = *op.getBlockSize();
    rewriter.replaceOp(op, weightContraction(rewriter, op.getLoc(),
                                             op.getInput(), op.getWeight(),
                                             op.getScales(), block));
    return success();
  }
};
/// gate and up as two products, silu(gate) * up, then the down projection.
/// One loop nest with two accumulators reads x once, but LLVM vectorizes
/// neither reduction then: a decode step measured 6x slower
/// (docs/benchmarks.md). The op keeps the MLP whole for a lowering that
/// tiles both products together.
struct SwiGluPattern final : OpRewritePattern<ds::SwiGluOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::SwiGluOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value gate = weightContraction(rewriter, loc, op.getInput(), op.getGate());
    Value up = weightContraction(rewriter, loc, op.getInput(), op.getUp());
    Value activated = ds::SiluMulOp::create(rewriter, loc, gate, up);
    rewriter.replaceOp(
        op, weightContraction(rewriter, loc, activated, op.getDown()));
    return success();
  }
};
} // namespace

void jikji::populateLinearToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearPattern, SwiGluPattern>(patterns.getContext());
}
