//===- EmulateGpuLaunches.cpp - gpu.launch as host loops, for testing -----===//
//
// Part of Jikji. No GPU is needed to check what the CUDA pipeline's kernels
// compute: each launch becomes loops over its blocks and threads, which the
// CPU pipeline then compiles like any host loop.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "jikji-emulate-gpu-launches"

namespace jikji {
#define GEN_PASS_DEF_EMULATEGPULAUNCHESPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
/// Why `launch` cannot run its threads one after another, or failure()
/// when it can.
FailureOr<std::string> whyNotSequential(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return std::string("an asynchronous launch");
  if (launch.hasClusterSize())
    return std::string("a launch with a cluster");
  if (!launch.getWorkgroupAttributions().empty() ||
      !launch.getPrivateAttributions().empty() ||
      launch.getDynamicSharedMemorySize())
    return std::string("a launch with workgroup or private memory");
  if (!launch.getBody().hasOneBlock())
    return std::string("a launch whose body has several blocks");
  std::string reason;
  launch.getBody().walk([&](Operation *op) {
    // Threads that exchange values or wait for each other need to run
    // together; so do the warp-wide tensor-core instructions.
    bool waits = isa<gpu::BarrierOp, gpu::ShuffleOp, gpu::SubgroupReduceOp,
                     gpu::AllReduceOp>(op) ||
                 isa<NVVM::NVVMDialect>(op->getDialect());
    if (!waits)
      return WalkResult::advance();
    reason = "'" + op->getName().getStringRef().str() +
             "', which needs the threads to run together";
    return WalkResult::interrupt();
  });
  if (!reason.empty())
    return reason;
  return failure();
}

/// The value of the emulated dimension `dimension` among `x`, `y`, `z`.
Value select(gpu::Dimension dimension, ArrayRef<Value> xyz) {
  return xyz[static_cast<unsigned>(dimension)];
}

LogicalResult emulate(gpu::LaunchOp launch) {
  if (FailureOr<std::string> reason = whyNotSequential(launch);
      succeeded(reason))
    return launch.emitOpError("cannot be emulated on the host: ") << *reason;
  Location loc = launch.getLoc();
  OpBuilder b(launch);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 gridSize = launch.getGridSizeOperandValues();
  gpu::KernelDim3 blockSize = launch.getBlockSizeOperandValues();
  SmallVector<Value, 3> grid = {gridSize.x, gridSize.y, gridSize.z};
  SmallVector<Value, 3> block = {blockSize.x, blockSize.y, blockSize.z};
  // z outermost: block ids, then thread ids, each in z, y, x order.
  SmallVector<Value, 3> blockIds(3), threadIds(3);
  scf::ForOp outermost;
  auto nest = [&](ArrayRef<Value> bounds, MutableArrayRef<Value> ids) {
    for (int dim = 2; dim >= 0; --dim) {
      auto loop = scf::ForOp::create(b, loc, zero, bounds[dim], one);
      if (!outermost)
        outermost = loop;
      ids[dim] = loop.getInductionVar();
      b.setInsertionPoint(loop.getBody()->getTerminator());
    }
  };
  nest(grid, blockIds);
  nest(block, threadIds);

  IRMapping mapping;
  gpu::KernelDim3 blockArgs = launch.getBlockIds();
  gpu::KernelDim3 threadArgs = launch.getThreadIds();
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockSizeArgs = launch.getBlockSize();
  auto map = [&](gpu::KernelDim3 from, ArrayRef<Value> to) {
    mapping.map(from.x, to[0]);
    mapping.map(from.y, to[1]);
    mapping.map(from.z, to[2]);
  };
  map(blockArgs, blockIds);
  map(threadArgs, threadIds);
  map(gridArgs, grid);
  map(blockSizeArgs, block);
  for (Operation &op : launch.getBody().front().without_terminator())
    b.clone(op, mapping);
  launch.erase();

  // The id and size ops a kernel may use instead of the block arguments.
  outermost->walk([&](Operation *op) {
    Value replacement;
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      replacement = select(id.getDimension(), threadIds);
    else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      replacement = select(id.getDimension(), blockIds);
    else if (auto size = dyn_cast<gpu::BlockDimOp>(op))
      replacement = select(size.getDimension(), block);
    else if (auto size = dyn_cast<gpu::GridDimOp>(op))
      replacement = select(size.getDimension(), grid);
    if (!replacement)
      return;
    op->getResult(0).replaceAllUsesWith(replacement);
    op->erase();
  });
  return success();
}

struct EmulateGpuLaunchesPass final
    : jikji::impl::EmulateGpuLaunchesPassBase<EmulateGpuLaunchesPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp launch) {
      launches.push_back(launch);
    });
    for (gpu::LaunchOp launch : launches)
      if (failed(emulate(launch)))
        return signalPassFailure();
  }
};
} // namespace
