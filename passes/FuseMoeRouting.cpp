//===- FuseMoeRouting.cpp - The deepseek-fuse-moe-routing pass ------------===//
//
// Part of Jikji. The as-written MoE computes the gate's logits, routes, and
// runs each expert per token. Fused, the router is one op from the hidden
// state to (weights, indices), and the routed experts are one grouped
// computation that adds into the shared experts' output.
//
//===----------------------------------------------------------------------===//

#include "passes/FuseMoeRouting.h"
#include "passes/Passes.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "deepseek-fuse-moe-routing"

namespace jikji {
#define GEN_PASS_DEF_FUSEMOEROUTINGPASS
#include "passes/Passes.h.inc"
} // namespace jikji

using namespace mlir;
namespace ds = jikji::deepseek;

namespace {

/// moe_router(linear(x, gate)) -> fused_router(x, gate).
struct FuseRouterPattern final : OpRewritePattern<ds::MoeRouterOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::MoeRouterOp router,
                                PatternRewriter &rewriter) const override {
    auto gate = router.getLogits().getDefiningOp<ds::LinearOp>();
    if (!gate)
      return rewriter.notifyMatchFailure(router,
                                         "the logits are not a linear layer");
    if (gate.getScales())
      return rewriter.notifyMatchFailure(
          router, "the gate is block-quantized (released gates never are)");
    if (!gate->hasOneUse())
      return rewriter.notifyMatchFailure(router, "the logits have other users");
    rewriter.replaceOpWithNewOp<ds::FusedRouterOp>(
        router, router.getWeights().getType(), router.getIndices().getType(),
        gate.getInput(), gate.getWeight(), router.getBias(),
        router.getScoringAttr(), router.getMethodAttr(), router.getTopKAttr(),
        router.getGroupsAttr(), router.getTopkGroupsAttr(),
        router.getNormalizeAttr(), router.getScalingAttr());
    return success();
  }
};

/// add(moe_experts(...), shared) -> grouped_experts(..., accumulate(shared)).
struct GroupExpertsPattern final : OpRewritePattern<ds::AddOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::AddOp add,
                                PatternRewriter &rewriter) const override {
    auto experts = add.getLhs().getDefiningOp<ds::MoeExpertsOp>();
    Value shared = add.getRhs();
    if (!experts) {
      experts = add.getRhs().getDefiningOp<ds::MoeExpertsOp>();
      shared = add.getLhs();
    }
    if (!experts)
      return rewriter.notifyMatchFailure(add, "neither side is moe_experts");
    if (!experts->hasOneUse())
      return rewriter.notifyMatchFailure(add,
                                         "the experts' sum has other users");
    rewriter.replaceOpWithNewOp<ds::GroupedExpertsOp>(
        add, add.getType(), experts.getInput(), experts.getWeights(),
        experts.getIndices(), experts.getGate(), experts.getUp(),
        experts.getDown(), experts.getScales(), experts.getBlockSizeAttr(),
        shared);
    rewriter.eraseOp(experts);
    return success();
  }
};

struct FuseMoeRoutingPass final
    : jikji::impl::FuseMoeRoutingPassBase<FuseMoeRoutingPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    jikji::populateFuseMoeRoutingPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void jikji::populateFuseMoeRoutingPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseRouterPattern, GroupExpertsPattern>(patterns.getContext());
}
