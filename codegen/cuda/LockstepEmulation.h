//===- LockstepEmulation.h - Kernels whose threads meet, on the host -*- C++ -*-===//
//
// Part of Jikji. `jikji-emulate-gpu-launches` runs a kernel's threads one
// after another, which is only faithful while they never meet. A kernel
// with barriers, warp-wide tensor-core instructions or workgroup memory is
// run in lockstep instead: its body is cut at every meeting point, the ops
// between two meeting points run as a loop over the block's threads, and
// the meeting point itself is computed for all the threads at once.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_LOCKSTEPEMULATION_H
#define JIKJI_CODEGEN_CUDA_LOCKSTEPEMULATION_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace jikji::cuda {

/// Whether `op` itself is a point where the threads of a block or warp
/// meet: a barrier, a warp-wide instruction or any other NVVM op.
bool isMeetingPoint(mlir::Operation *op);

/// Whether `op` is, or holds, a meeting point.
bool containsMeetingPoint(mlir::Operation *op);

/// Why `launch` cannot run in lockstep; nothing when it can.
std::optional<std::string> whyNotLockstep(mlir::gpu::LaunchOp launch);

/// Emits at `b` one block of `launch` in lockstep: its block ids are
/// `blockIds` and its grid size `gridSize` (x, y, z). Per-thread arrays and
/// workgroup memory are allocated at `scratch`, which must dominate `b`'s
/// insertion point: once for all the blocks, which run one after another.
/// Fails, with a diagnostic on the op, where the body does what lockstep
/// cannot emulate; `whyNotLockstep` tells that beforehand for the launch
/// as a whole.
mlir::LogicalResult emitBlockInLockstep(mlir::OpBuilder &b,
                                        mlir::OpBuilder &scratch,
                                        mlir::gpu::LaunchOp launch,
                                        mlir::ArrayRef<mlir::Value> blockIds,
                                        mlir::ArrayRef<mlir::Value> gridSize);

} // namespace jikji::cuda

#endif // JIKJI_CODEGEN_CUDA_LOCKSTEPEMULATION_H
