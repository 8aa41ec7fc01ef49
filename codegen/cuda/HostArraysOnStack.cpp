//===- HostArraysOnStack.cpp - Small host-only buffers on the stack -------===//
//
// Part of Jikji. On the CUDA target every `memref.alloc` is the runtime's
// `alloc`: managed memory, zeroed on the stream, which the host may touch
// only after waiting for the stream. Bufferization's deallocation
// bookkeeping allocates small arrays that only the host ever reads (the
// pointers and flags `dealloc_helper` compares), and filling them cost a
// wait for the GPU in every step. On the host's stack they cost nothing.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#define DEBUG_TYPE "jikji-host-arrays-on-stack"

namespace jikji {
#define GEN_PASS_DEF_HOSTARRAYSONSTACKPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The largest array moved to the stack. Deallocation bookkeeping needs a
/// word or a flag per buffer a function frees together, a few dozen.
constexpr int64_t kMaxStackBytes = 4096;

/// Whether `function` is host code that neither launches nor allocates nor
/// calls anything: what may be handed a stack array (dealloc_helper).
bool isPlainHostFunction(func::FuncOp function) {
  if (!function || function.isExternal())
    return false;
  WalkResult result = function.walk([](Operation *op) {
    if (isa<gpu::LaunchFuncOp, memref::AllocOp, CallOpInterface>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// Whether every use of `value`, through casts, is host code's own: loads,
/// stores, pointer extraction, the dealloc of the array itself, and calls
/// of plain host functions. A kernel argument, a return or any other use
/// keeps the array in the runtime's memory.
bool onlyHostUses(Value value, SymbolTable &symbols) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto cast = dyn_cast<memref::CastOp>(user)) {
      if (!onlyHostUses(cast.getResult(), symbols))
        return false;
      continue;
    }
    if (isa<memref::LoadOp, memref::StoreOp, memref::DeallocOp,
            memref::ExtractAlignedPointerAsIndexOp, memref::DimOp>(user))
      continue;
    if (auto call = dyn_cast<func::CallOp>(user))
      if (isPlainHostFunction(
              symbols.lookup<func::FuncOp>(call.getCalleeAttr().getAttr())))
        continue;
    return false;
  }
  return true;
}

/// The array's bytes, or nothing for a dynamic shape.
std::optional<int64_t> staticBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getElementType().isIntOrIndexOrFloat())
    return std::nullopt;
  // An index is 64 bits on both of Jikji's hosts; i1 takes a byte.
  Type element = type.getElementType();
  int64_t elementBytes =
      element.isIndex() ? 8
                        : std::max<int64_t>(
                              1, (element.getIntOrFloatBitWidth() + 7) / 8);
  return type.getNumElements() * elementBytes;
}

/// Erases the deallocations of `value` and of its casts.
void eraseDeallocs(Value value) {
  for (Operation *user : llvm::make_early_inc_range(value.getUsers())) {
    if (auto cast = dyn_cast<memref::CastOp>(user))
      eraseDeallocs(cast.getResult());
    else if (isa<memref::DeallocOp>(user))
      user->erase();
  }
}

struct HostArraysOnStackPass
    : jikji::impl::HostArraysOnStackPassBase<HostArraysOnStackPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto function : module.getOps<func::FuncOp>()) {
      if (function.isExternal())
        continue;
      // Only the entry block's allocations: one in a loop would grow the
      // stack with every iteration.
      SmallVector<memref::AllocOp> arrays;
      for (auto alloc : function.getBody().front().getOps<memref::AllocOp>()) {
        std::optional<int64_t> bytes = staticBytes(alloc.getType());
        if (bytes && *bytes <= kMaxStackBytes &&
            alloc.getType().getMemorySpace() == nullptr &&
            onlyHostUses(alloc.getResult(), symbols))
          arrays.push_back(alloc);
      }
      for (memref::AllocOp alloc : arrays) {
        OpBuilder builder(alloc);
        auto stack = memref::AllocaOp::create(
            builder, alloc.getLoc(), alloc.getType(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), alloc.getAlignmentAttr());
        // The stack frees itself when the function returns.
        eraseDeallocs(alloc.getResult());
        alloc.replaceAllUsesWith(stack.getResult());
        alloc.erase();
      }
    }
  }
};

} // namespace
