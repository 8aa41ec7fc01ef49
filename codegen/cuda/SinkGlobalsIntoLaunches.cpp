//===- SinkGlobalsIntoLaunches.cpp - Constant globals inside kernels ------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/RegionUtils.h"

#define DEBUG_TYPE "jikji-sink-globals-into-launches"

namespace jikji {
#define GEN_PASS_DEF_SINKGLOBALSINTOLAUNCHESPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct SinkGlobalsIntoLaunchesPass final
    : jikji::impl::SinkGlobalsIntoLaunchesPassBase<
          SinkGlobalsIntoLaunchesPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(launch.getBody(), captured);
      OpBuilder builder = OpBuilder::atBlockBegin(&launch.getBody().front());
      for (Value value : captured) {
        auto global = value.getDefiningOp<memref::GetGlobalOp>();
        if (!global)
          continue;
        Operation *copy = builder.clone(*global);
        replaceAllUsesInRegionWith(value, copy->getResult(0), launch.getBody());
      }
    });
  }
};
} // namespace
