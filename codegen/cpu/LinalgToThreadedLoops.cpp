//===- LinalgToThreadedLoops.cpp - Loops, parallel where they pay ---------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/ParallelLoops.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#define DEBUG_TYPE "jikji-linalg-to-threaded-loops"

namespace jikji {
#define GEN_PASS_DEF_LINALGTOTHREADEDLOOPSPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct LinalgToThreadedLoopsPass final
    : jikji::impl::LinalgToThreadedLoopsPassBase<LinalgToThreadedLoopsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op.emitOpError("expected buffers: run after bufferization");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      bool threaded = op->hasAttr(jikji::kParallelLoopsAttrName);
      LogicalResult lowered =
          threaded ? linalg::linalgOpToParallelLoops(rewriter, op)
                   : linalg::linalgOpToLoops(rewriter, op);
      if (failed(lowered)) {
        op.emitOpError("cannot be lowered to loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};
} // namespace
