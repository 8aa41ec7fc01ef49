//===- CheckParallelLoopsMapped.cpp - Every parallel loop is a kernel -----===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#define DEBUG_TYPE "jikji-check-parallel-loops-mapped"

namespace jikji {
#define GEN_PASS_DEF_CHECKPARALLELLOOPSMAPPEDPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct CheckParallelLoopsMappedPass final
    : jikji::impl::CheckParallelLoopsMappedPassBase<
          CheckParallelLoopsMappedPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([](scf::ParallelOp loop) {
      if (loop->getParentOfType<gpu::LaunchOp>())
        return WalkResult::advance();
      loop.emitOpError("was not mapped to a GPU kernel and would run on the "
                       "host");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
