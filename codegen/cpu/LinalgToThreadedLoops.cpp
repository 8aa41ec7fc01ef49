//===- LinalgToThreadedLoops.cpp - Loops, parallel where they pay ---------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/ParallelLoops.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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
/// How many of `op`'s loops, from the outermost, are parallel.
unsigned leadingParallelLoops(linalg::LinalgOp op) {
  unsigned count = 0;
  for (utils::IteratorType type : op.getIteratorTypesArray()) {
    if (type != utils::IteratorType::parallel)
      break;
    ++count;
  }
  return count;
}

/// Turns the outermost `count` loops of the perfect nest `loops` (scf.for
/// on buffers, outermost first, as linalgOpToLoops builds them) into one
/// scf.parallel; the loops inside stay as they were.
LogicalResult shareOuterLoops(RewriterBase &rewriter,
                              ArrayRef<Operation *> loops, unsigned count) {
  if (count == 0)
    return success();
  SmallVector<scf::ForOp> shared;
  for (Operation *loop : loops.take_front(count)) {
    auto forOp = dyn_cast<scf::ForOp>(loop);
    if (!forOp || forOp.getNumResults() != 0)
      return failure();
    shared.push_back(forOp);
  }
  auto outer = cast<scf::ForOp>(loops.front());
  SmallVector<Value> lowerBounds, upperBounds, steps;
  for (auto [index, loop] : llvm::enumerate(shared)) {
    // Each loop but the innermost holds only the next one.
    if (index + 1 < shared.size() &&
        &loop.getBody()->front() != shared[index + 1].getOperation())
      return failure();
    for (Value bound :
         {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()}) {
      Operation *definition = bound.getDefiningOp();
      if (definition && outer->isAncestor(definition))
        return failure();
    }
    lowerBounds.push_back(loop.getLowerBound());
    upperBounds.push_back(loop.getUpperBound());
    steps.push_back(loop.getStep());
  }
  rewriter.setInsertionPoint(outer);
  auto parallel = scf::ParallelOp::create(rewriter, outer.getLoc(), lowerBounds,
                                          upperBounds, steps);
  for (auto [loop, index] :
       llvm::zip_equal(shared, parallel.getInductionVars()))
    rewriter.replaceAllUsesWith(loop.getInductionVar(), index);
  Block *body = shared.back().getBody();
  Block *target = parallel.getBody();
  target->getOperations().splice(target->getTerminator()->getIterator(),
                                 body->getOperations(), body->begin(),
                                 std::prev(body->end()));
  rewriter.eraseOp(outer);
  return success();
}

/// Lowers `op` to loops in its own order, the reductions and any parallel
/// loops after them included, so that the innermost loop LLVM vectorizes
/// stays the same on threads as on one (upstream's parallel lowering
/// hoists every parallel loop above the reductions: the weighted sum over a
/// cache, loops (t, h, s, d), lost its vectorized d loop and prefill ran 3x
/// slower, docs/benchmarks.md). With `share`, threads share the parallel
/// loops outside the first reduction. Erases `op`.
LogicalResult lowerToLoops(RewriterBase &rewriter, linalg::LinalgOp op,
                           bool share) {
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::LinalgLoops> loops = linalg::linalgOpToLoops(rewriter, op);
  if (failed(loops))
    return op.emitOpError("cannot be lowered to loops");
  if (share &&
      failed(shareOuterLoops(rewriter, *loops, leadingParallelLoops(op))))
    return op.emitOpError("cannot share its loops among threads");
  rewriter.eraseOp(op);
  return success();
}

/// Lowers `op`, marked to share its loops from `minimum` iterations of its
/// outermost loop on, as both forms behind a run-time test of that count:
/// its row count is dynamic (a prefill's hundreds of tokens, a decode
/// step's one), and for a few rows a fork costs more than it saves.
LogicalResult lowerBehindRowCount(RewriterBase &rewriter, linalg::LinalgOp op,
                                  int64_t minimum) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Range> ranges = op.createLoopRanges(rewriter, loc);
  Value iterations = getValueOrCreateConstantIndexOp(rewriter, loc,
                                                     ranges.front().size);
  Value enough = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::uge, iterations,
      arith::ConstantIndexOp::create(rewriter, loc, minimum));
  auto choice = scf::IfOp::create(rewriter, loc, enough, /*withElse=*/true);
  rewriter.setInsertionPoint(choice.thenBlock()->getTerminator());
  auto threaded = cast<linalg::LinalgOp>(rewriter.clone(*op));
  rewriter.setInsertionPoint(choice.elseBlock()->getTerminator());
  auto serial = cast<linalg::LinalgOp>(rewriter.clone(*op));
  rewriter.eraseOp(op);
  if (failed(lowerToLoops(rewriter, threaded, /*share=*/true)))
    return failure();
  return lowerToLoops(rewriter, serial, /*share=*/false);
}

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
      Attribute mark = op->getAttr(jikji::kParallelLoopsAttrName);
      LogicalResult lowered = success();
      if (auto minimum = dyn_cast_if_present<IntegerAttr>(mark)) {
        // Work marked for its row count alone stays on its thread inside
        // loops that threads already share (a SwiGLU tile's epilogue).
        bool nested = op->getParentOfType<scf::ParallelOp>() ||
                      op->getParentOfType<scf::ForallOp>();
        lowered = nested || leadingParallelLoops(op) == 0
                      ? lowerToLoops(rewriter, op, /*share=*/false)
                      : lowerBehindRowCount(rewriter, op, minimum.getInt());
      } else {
        lowered = lowerToLoops(rewriter, op, /*share=*/mark != nullptr);
      }
      if (failed(lowered))
        return signalPassFailure();
    }
  }
};
} // namespace
