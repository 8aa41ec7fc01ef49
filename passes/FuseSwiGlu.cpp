//===- FuseSwiGlu.cpp - The deepseek-fuse-swiglu pass ---------------------===//
//
// Part of Jikji. The worked example of docs/writing-a-fusion-pass.md: a
// dense MLP reads its input twice, once for the gate and once for the up
// projection. As one deepseek.swiglu op the lowering reads it once and
// computes both products in the same loop nest.
//
//===----------------------------------------------------------------------===//

#include "passes/FuseSwiGlu.h"
#include "passes/Passes.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "deepseek-fuse-swiglu"

namespace jikji {
#define GEN_PASS_DEF_FUSESWIGLUPASS
#include "passes/Passes.h.inc"
} // namespace jikji

using namespace mlir;
namespace ds = jikji::deepseek;

namespace {

/// linear(silu_mul(linear(x, Wg), linear(x, Wu)), Wd) -> swiglu(x, Wg, Wu, Wd).
struct FuseSwiGluPattern final : OpRewritePattern<ds::LinearOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::LinearOp down,
                                PatternRewriter &rewriter) const override {
    auto activation = down.getInput().getDefiningOp<ds::SiluMulOp>();
    if (!activation)
      return rewriter.notifyMatchFailure(down, "the input is not silu_mul");
    auto gate = activation.getGate().getDefiningOp<ds::LinearOp>();
    auto up = activation.getUp().getDefiningOp<ds::LinearOp>();
    if (!gate || !up)
      return rewriter.notifyMatchFailure(
          down, "the gate or the up projection is not a linear layer");
    if (gate.getInput() != up.getInput())
      return rewriter.notifyMatchFailure(
          down, "the gate and up projections read different inputs");
    if (gate.getScales() || up.getScales() || down.getScales())
      return rewriter.notifyMatchFailure(
          down, "block-scaled FP8 weights are not fused (yet)");
    if (!activation->hasOneUse() || !gate->hasOneUse() || !up->hasOneUse())
      return rewriter.notifyMatchFailure(
          down, "an intermediate value has other users");
    rewriter.replaceOpWithNewOp<ds::SwiGluOp>(down, down.getType(),
                                              gate.getInput(), gate.getWeight(),
                                              up.getWeight(), down.getWeight());
    return success();
  }
};

struct FuseSwiGluPass final : jikji::impl::FuseSwiGluPassBase<FuseSwiGluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    jikji::populateFuseSwiGluPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void jikji::populateFuseSwiGluPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSwiGluPattern>(patterns.getContext());
}
