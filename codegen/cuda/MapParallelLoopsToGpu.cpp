//===- MapParallelLoopsToGpu.cpp - scf.parallel to blocks and threads -----===//
//
// Part of Jikji. The first, correct mapping of loops to the GPU: every
// element of a linalg op's parallel iteration space gets one thread; the
// reductions run sequentially inside the thread.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "jikji-map-parallel-loops-to-gpu"

namespace jikji {
#define GEN_PASS_DEF_MAPPARALLELLOOPSTOGPUPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// Tile sizes that give the innermost dimensions the threads of a block:
/// a static dimension takes the power of two that covers it (at most what
/// is left), a dynamic one takes all that is left; outer dimensions get 1.
SmallVector<int64_t> threadTileSizes(scf::ParallelOp loop,
                                     int64_t threadsPerBlock) {
  SmallVector<int64_t> sizes(loop.getNumLoops(), 1);
  int64_t left = threadsPerBlock;
  for (int64_t dim = loop.getNumLoops() - 1; dim >= 0 && left > 1; --dim) {
    std::optional<int64_t> lower =
        getConstantIntValue(loop.getLowerBound()[dim]);
    std::optional<int64_t> upper =
        getConstantIntValue(loop.getUpperBound()[dim]);
    std::optional<int64_t> step = getConstantIntValue(loop.getStep()[dim]);
    int64_t size = left;
    if (lower && upper && step && *step > 0) {
      int64_t trips =
          llvm::divideCeil(std::max<int64_t>(*upper - *lower, 1), *step);
      size = std::min<int64_t>(llvm::PowerOf2Ceil(trips), left);
    }
    sizes[dim] = size;
    left /= size;
  }
  return sizes;
}

/// Replaces `loop` with a one-dimensional scf.parallel over the product of
/// its trip counts; the body recovers the original induction variables by
/// division (innermost dimension fastest).
scf::ParallelOp collapseToOneDimension(IRRewriter &rewriter,
                                       scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<Value> trips;
  Value total = one;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value extent = rewriter.createOrFold<arith::SubIOp>(loc, upper, lower);
    Value trip = rewriter.createOrFold<arith::CeilDivUIOp>(loc, extent, step);
    trips.push_back(trip);
    total = rewriter.createOrFold<arith::MulIOp>(loc, total, trip);
  }
  auto collapsed = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                           ValueRange{total}, ValueRange{one});
  rewriter.setInsertionPointToStart(collapsed.getBody());
  Value rest = collapsed.getInductionVars()[0];
  SmallVector<Value> ivs(loop.getNumLoops());
  for (int64_t dim = loop.getNumLoops() - 1; dim >= 0; --dim) {
    Value index =
        dim == 0 ? rest
                 : rewriter.createOrFold<arith::RemUIOp>(loc, rest, trips[dim]);
    if (dim > 0)
      rest = rewriter.createOrFold<arith::DivUIOp>(loc, rest, trips[dim]);
    Value scaled =
        rewriter.createOrFold<arith::MulIOp>(loc, index, loop.getStep()[dim]);
    ivs[dim] = rewriter.createOrFold<arith::AddIOp>(
        loc, loop.getLowerBound()[dim], scaled);
  }
  Block *body = loop.getBody();
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, collapsed.getBody()->getTerminator(), ivs);
  rewriter.eraseOp(loop);
  return collapsed;
}

LogicalResult mapTo(scf::ParallelOp loop, gpu::Processor processor) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  return gpu::setMappingAttr(
      loop, {gpu::ParallelLoopDimMappingAttr::get(context, processor, identity,
                                                  identity)});
}

struct MapParallelLoopsToGpuPass final
    : jikji::impl::MapParallelLoopsToGpuPassBase<MapParallelLoopsToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threadsPerBlock < 1 || threadsPerBlock > 1024 ||
        !llvm::isPowerOf2_64(threadsPerBlock)) {
      getOperation().emitError("threads-per-block must be a power of two in "
                               "[1, 1024], found ")
          << std::to_string(threadsPerBlock);
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Element-wise foralls (no loop inside, so no kernel inside either)
    // are parallel loops like the linalg ops'.
    SmallVector<scf::ForallOp> elementwise;
    getOperation().walk([&](scf::ForallOp forall) {
      bool holdsLoops = forall.getBody()
                            ->walk([](LoopLikeOpInterface) {
                              return WalkResult::interrupt();
                            })
                            .wasInterrupted();
      if (!holdsLoops && !forall->getParentOfType<scf::ParallelOp>() &&
          !forall->getParentOfType<gpu::LaunchOp>())
        elementwise.push_back(forall);
    });
    for (scf::ForallOp forall : elementwise) {
      rewriter.setInsertionPoint(forall);
      if (failed(scf::forallToParallelLoop(rewriter, forall))) {
        forall.emitOpError("could not become a parallel loop");
        return signalPassFailure();
      }
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          !loop->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      if (!loop.getInitVals().empty()) {
        loop.emitOpError("has reductions, which the GPU mapping does not "
                         "handle yet");
        return signalPassFailure();
      }
      // noMinMaxBounds: the thread loop keeps constant bounds and guards
      // the remainder with an scf.if, so the block size is static.
      auto [blocks, threads] =
          scf::tileParallelLoop(loop, threadTileSizes(loop, threadsPerBlock),
                                /*noMinMaxBounds=*/true);
      threads = collapseToOneDimension(rewriter, threads);
      blocks = collapseToOneDimension(rewriter, blocks);
      if (failed(mapTo(blocks, gpu::Processor::BlockX)) ||
          failed(mapTo(threads, gpu::Processor::ThreadX)))
        return signalPassFailure();
    }
  }
};

} // namespace
