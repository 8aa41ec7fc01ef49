//===- EmulateGpuLaunches.cpp - gpu.launch as host loops, for testing -----===//
//
// Part of Jikji. No GPU is needed to check what the CUDA pipeline's kernels
// compute: each launch becomes loops over its blocks and threads, which the
// CPU pipeline then compiles like any host loop. Threads that never meet
// run one after another; those of a kernel with barriers, tensor-core
// instructions or workgroup memory run in lockstep (LockstepEmulation.h).
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/LockstepEmulation.h"
#include "codegen/cuda/Passes.h"

#include "mlir/IR/IRMapping.h"

#include <optional>

#define DEBUG_TYPE "jikji-emulate-gpu-launches"

namespace jikji {
#define GEN_PASS_DEF_EMULATEGPULAUNCHESPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
/// Why `launch` cannot be emulated at all; nothing when it can.
std::optional<std::string> whyNotEmulated(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return std::string("an asynchronous launch");
  if (launch.hasClusterSize())
    return std::string("a launch with a cluster");
  if (!launch.getBody().hasOneBlock())
    return std::string("a launch whose body has several blocks");
  return std::nullopt;
}

/// Whether `launch`'s threads meet (barriers, warp-wide instructions) or
/// share memory, so that they must run in lockstep rather than in turn.
bool needsLockstep(gpu::LaunchOp launch) {
  if (!launch.getWorkgroupAttributions().empty() ||
      !launch.getPrivateAttributions().empty() ||
      launch.getDynamicSharedMemorySize())
    return true;
  return jikji::cuda::containsMeetingPoint(launch);
}

/// The value of the emulated dimension `dimension` among `x`, `y`, `z`.
Value select(gpu::Dimension dimension, const gpu::KernelDim3 &xyz) {
  switch (dimension) {
  case gpu::Dimension::x:
    return xyz.x;
  case gpu::Dimension::y:
    return xyz.y;
  case gpu::Dimension::z:
    return xyz.z;
  }
  llvm_unreachable("a dimension other than x, y, z");
}

/// Replaces the id and size ops a kernel may use by the launch's block
/// arguments, which the emulation maps.
void useLaunchArguments(gpu::LaunchOp launch) {
  launch.getBody().walk([&](Operation *op) {
    Value replacement;
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      replacement = select(id.getDimension(), launch.getThreadIds());
    else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      replacement = select(id.getDimension(), launch.getBlockIds());
    else if (auto size = dyn_cast<gpu::BlockDimOp>(op))
      replacement = select(size.getDimension(), launch.getBlockSize());
    else if (auto size = dyn_cast<gpu::GridDimOp>(op))
      replacement = select(size.getDimension(), launch.getGridSize());
    if (!replacement)
      return;
    op->getResult(0).replaceAllUsesWith(replacement);
    op->erase();
  });
}

LogicalResult emulate(gpu::LaunchOp launch) {
  std::optional<std::string> reason = whyNotEmulated(launch);
  bool lockstep = needsLockstep(launch);
  if (!reason && lockstep)
    reason = jikji::cuda::whyNotLockstep(launch);
  if (reason)
    return launch.emitOpError("cannot be emulated on the host: ") << *reason;
  useLaunchArguments(launch);

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
  // Returns the outermost loop.
  auto nest = [&](ArrayRef<Value> bounds, MutableArrayRef<Value> ids) {
    Operation *outermost = nullptr;
    for (int dim = 2; dim >= 0; --dim) {
      auto loop = scf::ForOp::create(b, loc, zero, bounds[dim], one);
      if (!outermost)
        outermost = loop;
      ids[dim] = loop.getInductionVar();
      b.setInsertionPoint(loop.getBody()->getTerminator());
    }
    return outermost;
  };
  // The per-thread arrays of a lockstep launch are needed while it runs
  // only, and it may run in a loop: the stack they take is given back
  // after it (memref.alloca_scope would not survive the CPU pipeline's
  // lowering of the loops to branches before its own lowering).
  Value stack;
  if (lockstep)
    stack = LLVM::StackSaveOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()));
  Operation *outermost = nest(grid, blockIds);
  if (lockstep) {
    OpBuilder scratch(outermost);
    if (failed(jikji::cuda::emitBlockInLockstep(b, scratch, launch, blockIds,
                                                grid)))
      return failure();
    b.setInsertionPointAfter(outermost);
    LLVM::StackRestoreOp::create(b, loc, stack);
    launch.erase();
    return success();
  }
  nest(block, threadIds);

  IRMapping mapping;
  auto map = [&](gpu::KernelDim3 from, ArrayRef<Value> to) {
    mapping.map(from.x, to[0]);
    mapping.map(from.y, to[1]);
    mapping.map(from.z, to[2]);
  };
  map(launch.getBlockIds(), blockIds);
  map(launch.getThreadIds(), threadIds);
  map(launch.getGridSize(), grid);
  map(launch.getBlockSize(), block);
  for (Operation &op : launch.getBody().front().without_terminator())
    b.clone(op, mapping);
  launch.erase();
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
