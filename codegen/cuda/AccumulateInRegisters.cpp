//===- AccumulateInRegisters.cpp - Reductions summed in registers ---------===//
//
// Part of Jikji. `convert-linalg-to-parallel-loops` writes a reduction as a
// loop that loads the output element, adds to it and stores it back in
// every iteration: on a GPU, a global load and store per multiply-add.
// Nothing tells LLVM that the output does not alias the inputs, so it
// cannot keep the sum in a register itself; linalg's semantics can: an op
// reads its inputs and yields the new value of its output.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define DEBUG_TYPE "jikji-accumulate-in-registers"

namespace jikji {
#define GEN_PASS_DEF_ACCUMULATEINREGISTERSPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// An element the loop's body loads and then stores a new value to, at a
/// place that does not change from one iteration to the next.
struct Accumulator {
  memref::LoadOp load;
  memref::StoreOp store;
};

/// The loop's accumulators, or none when anything else in the loop writes
/// memory or touches an accumulated buffer (then it is left as written).
SmallVector<Accumulator> findAccumulators(scf::ForOp loop) {
  SmallVector<Accumulator> accumulators;
  Block *body = loop.getBody();
  auto invariant = [&](ValueRange values) {
    return llvm::all_of(values, [&](Value value) {
      return !loop.getRegion().isAncestor(value.getParentRegion());
    });
  };
  for (auto store : body->getOps<memref::StoreOp>()) {
    if (!invariant(store.getMemRef()) || !invariant(store.getIndices()))
      return {};
    memref::LoadOp load;
    for (auto candidate : body->getOps<memref::LoadOp>())
      if (candidate.getMemRef() == store.getMemRef() &&
          candidate.getIndices() == store.getIndices() &&
          candidate->isBeforeInBlock(store))
        load = candidate;
    // One store per element: a second one would need an order between
    // the two new values.
    bool stored = llvm::any_of(accumulators, [&](Accumulator a) {
      return a.store.getMemRef() == store.getMemRef();
    });
    if (!load || stored)
      return {};
    accumulators.push_back({load, store});
  }
  // Nothing else may write, and nothing else may touch an accumulated
  // buffer: its element would be stale in memory.
  bool safe = true;
  loop.getBody()->walk([&](Operation *op) {
    bool isAccumulator = llvm::any_of(accumulators, [&](Accumulator a) {
      return op == a.load.getOperation() || op == a.store.getOperation();
    });
    if (isAccumulator)
      return WalkResult::advance();
    if (!isMemoryEffectFree(op) &&
        !hasSingleEffect<MemoryEffects::Read>(op) &&
        !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      safe = false;
    for (Value operand : op->getOperands())
      for (Accumulator a : accumulators)
        if (operand == a.store.getMemRef())
          safe = false;
    return safe ? WalkResult::advance() : WalkResult::interrupt();
  });
  if (!safe)
    return {};
  return accumulators;
}

/// Carries the loop's accumulators in iter_args: loaded once before it,
/// stored once after it.
void accumulateInRegisters(scf::ForOp loop,
                           ArrayRef<Accumulator> accumulators) {
  IRRewriter rewriter(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> initial;
  for (Accumulator a : accumulators)
    initial.push_back(memref::LoadOp::create(rewriter, loc,
                                             a.store.getMemRef(),
                                             a.store.getIndices()));
  auto grown = cast<scf::ForOp>(
      *cast<LoopLikeOpInterface>(loop.getOperation())
           .replaceWithAdditionalYields(
               rewriter, initial, /*replaceInitOperandUsesInLoop=*/false,
               [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                 SmallVector<Value> stored;
                 for (Accumulator a : accumulators)
                   stored.push_back(a.store.getValueToStore());
                 return stored;
               }));
  unsigned first = grown.getNumRegionIterArgs() - accumulators.size();
  rewriter.setInsertionPointAfter(grown);
  for (auto [index, accumulator] : llvm::enumerate(accumulators)) {
    Accumulator a = accumulator;
    rewriter.replaceAllUsesWith(a.load.getResult(),
                                grown.getRegionIterArgs()[first + index]);
    memref::StoreOp::create(rewriter, loc, grown.getResult(first + index),
                            a.store.getMemRef(), a.store.getIndices());
    rewriter.eraseOp(a.store);
    rewriter.eraseOp(a.load);
  }
}

struct AccumulateInRegistersPass final
    : jikji::impl::AccumulateInRegistersPassBase<AccumulateInRegistersPass> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    // Kernels only: the loops inside what becomes a launch.
    getOperation().walk([&](scf::ForOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops) {
      SmallVector<Accumulator> accumulators = findAccumulators(loop);
      if (!accumulators.empty())
        accumulateInRegisters(loop, accumulators);
    }
  }
};

} // namespace
