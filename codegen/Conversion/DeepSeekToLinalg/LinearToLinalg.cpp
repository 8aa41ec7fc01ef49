//===- LinearToLinalg.cpp - deepseek.linear to linalg ---------------------===//
//
// Part of Jikji. x Wᵀ as one linalg.generic whose body widens the weight
// element (and applies its FP8 block scale) next to the multiply, so the
// weight stays in its storage type in memory.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

namespace {
/// result[t, o] = Σ_i input[t, i] · W[o, i] (· scales[o / b0, i / b1]).
struct LinearPattern final : OpRewritePattern<ds::LinearOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::LinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    RankedTensorType resultType = op.getType();
    Value zeros =
        filledTensor(rewriter, loc, resultType,
                     dynamicSizesOf(rewriter, loc, op.getInput()), 0.0);
    AffineExpr t = getAffineDimExpr(0, context);
    AffineExpr o = getAffineDimExpr(1, context);
    AffineExpr i = getAffineDimExpr(2, context);
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(3, 0, results, context);
    };
    SmallVector<Value> inputs{op.getInput(), op.getWeight()};
    SmallVector<AffineMap> maps{map({t, i}), map({o, i})};
    if (Value scales = op.getScales()) {
      ArrayRef<int64_t> block = *op.getBlockSize();
      inputs.push_back(scales);
      maps.push_back(map({o.floorDiv(block[0]), i.floorDiv(block[1])}));
    }
    maps.push_back(map({t, o}));
    bool scaled = inputs.size() == 3;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, inputs, ValueRange{zeros}, maps,
        iterators(2, 1), [&](OpBuilder &b, Location loc, ValueRange args) {
          arith::FastMathFlagsAttr fastmath = contract(b);
          Value weight = widenToF32(b, loc, args[1]);
          if (scaled)
            weight = arith::MulFOp::create(b, loc, weight, args[2]);
          Value product =
              arith::MulFOp::create(b, loc, args[0], weight, fastmath);
          yieldValue(
              b, loc,
              arith::AddFOp::create(b, loc, args.back(), product, fastmath));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};
/// gate and up in one loop nest over x (two accumulators), then
/// silu(gate) * up, then the down projection as a linear layer.
struct SwiGluPattern final : OpRewritePattern<ds::SwiGluOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::SwiGluOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    int64_t width = op.getGate().getType().getDimSize(0);
    auto hiddenType = RankedTensorType::get({ShapedType::kDynamic, width},
                                            rewriter.getF32Type());
    SmallVector<Value> tokens = dynamicSizesOf(rewriter, loc, op.getInput());
    Value zeros = filledTensor(rewriter, loc, hiddenType, tokens, 0.0);
    AffineExpr t = getAffineDimExpr(0, context);
    AffineExpr i = getAffineDimExpr(1, context);
    AffineExpr h = getAffineDimExpr(2, context);
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(3, 0, results, context);
    };
    auto gateUp = linalg::GenericOp::create(
        rewriter, loc, TypeRange{hiddenType, hiddenType},
        ValueRange{op.getInput(), op.getGate(), op.getUp()},
        ValueRange{zeros, zeros},
        ArrayRef<AffineMap>{map({t, h}), map({i, h}), map({i, h}), map({t, i}),
                            map({t, i})},
        iterators(2, 1), [&](OpBuilder &b, Location loc, ValueRange args) {
          arith::FastMathFlagsAttr fastmath = contract(b);
          Value gate = arith::AddFOp::create(
              b, loc, args[3],
              arith::MulFOp::create(b, loc, args[0],
                                    widenToF32(b, loc, args[1]), fastmath),
              fastmath);
          Value up = arith::AddFOp::create(
              b, loc, args[4],
              arith::MulFOp::create(b, loc, args[0],
                                    widenToF32(b, loc, args[2]), fastmath),
              fastmath);
          linalg::YieldOp::create(b, loc, ValueRange{gate, up});
        });
    Value activated = ds::SiluMulOp::create(rewriter, loc, gateUp.getResult(0),
                                            gateUp.getResult(1));
    rewriter.replaceOpWithNewOp<ds::LinearOp>(op, op.getType(), activated,
                                              op.getDown(), Value(), nullptr);
    return success();
  }
};
} // namespace

void jikji::populateLinearToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearPattern, SwiGluPattern>(patterns.getContext());
}
