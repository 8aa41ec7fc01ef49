//===- ConvertMemRefCopyToLinalg.cpp - memref.copy as linalg.copy ---------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "convert-memref-copy-to-linalg"

namespace jikji {
#define GEN_PASS_DEF_CONVERTMEMREFCOPYTOLINALGPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct MemRefCopyPattern final : OpRewritePattern<memref::CopyOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                op.getTarget());
    return success();
  }
};

struct ConvertMemRefCopyToLinalgPass final
    : jikji::impl::ConvertMemRefCopyToLinalgPassBase<
          ConvertMemRefCopyToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MemRefCopyPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
