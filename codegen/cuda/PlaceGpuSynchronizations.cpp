//===- PlaceGpuSynchronizations.cpp - Wait for kernels where host code must -===//
//
// Part of Jikji. A launch returns before its kernel has run, and an
// allocation before its block is zeroed; both run in order on the runtime's
// one stream. Host code needs to wait for them only before it touches
// memory a kernel may use: waiting after every launch would leave the GPU
// idle between kernels and expose every launch's latency.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#define DEBUG_TYPE "jikji-place-gpu-synchronizations"

namespace jikji {
#define GEN_PASS_DEF_PLACEGPUSYNCHRONIZATIONSPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The function whose calls `jikji-lower-gpu-host-calls` turns into the
/// runtime's `synchronize`.
constexpr StringLiteral kSynchronize = "jikji_gpu_synchronize";

/// The buffer or table `value` addresses: through views, casts, pointer
/// arithmetic and loads of pointers from a table.
Value rootOf(Value value) {
  while (Operation *producer = value.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(producer))
      value = view.getViewSource();
    else if (auto cast = dyn_cast<memref::CastOp>(producer))
      value = cast.getSource();
    else if (auto element = dyn_cast<LLVM::GEPOp>(producer))
      value = element.getBase();
    else if (auto load = dyn_cast<LLVM::LoadOp>(producer))
      value = load.getAddr();
    else
      break;
  }
  return value;
}

/// Whether `value`'s root is an argument holding weights or the runtime's
/// table of their addresses: no kernel writes either.
bool isReadOnlyInStep(Value root) {
  auto argument = dyn_cast<BlockArgument>(root);
  if (!argument || !argument.getOwner()->isEntryBlock())
    return false;
  auto function =
      dyn_cast<FunctionOpInterface>(argument.getOwner()->getParentOp());
  unsigned index = argument.getArgNumber();
  return function && (function.getArgAttr(index, "deepseek.param") ||
                      function.getArgAttr(index, "deepseek.param_table"));
}

class Placement {
public:
  explicit Placement(ModuleOp module) : module(module) {}

  void run() {
    for (auto function : module.getOps<func::FuncOp>()) {
      // A function that puts nothing on the stream is host work of its
      // callers, who wait before calling it where needed.
      if (function.isExternal() || !mayLaunch(function))
        continue;
      // The runtime calls an exported entry point with its stream idle; a
      // private function may be called right after a launch.
      place(function.getBody().front(), /*pending=*/function.isPrivate());
    }
  }

private:
  /// Whether running `op` may put work on the stream, itself, inside its
  /// regions or in a function it calls: launch a kernel, or allocate (the
  /// runtime zeroes the block on the stream).
  bool mayLaunch(Operation *op) {
    bool launches = false;
    op->walk([&](Operation *nested) {
      if (isa<gpu::LaunchFuncOp, memref::AllocOp>(nested))
        launches = true;
      else if (auto call = dyn_cast<func::CallOp>(nested))
        launches |= calleeMayLaunch(call);
      return launches ? WalkResult::interrupt() : WalkResult::advance();
    });
    return launches;
  }

  /// The callee's body, or null for an unknown or external one.
  func::FuncOp calleeOf(func::CallOp call) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
    return callee && !callee.isExternal() ? callee : func::FuncOp();
  }

  bool calleeMayLaunch(func::CallOp call) {
    if (call.getCallee() == kSynchronize)
      return false;
    func::FuncOp callee = calleeOf(call);
    if (!callee)
      return true;
    // Recursion (Jikji emits none) stays at the conservative `true`.
    auto [known, inserted] = calleeLaunches.try_emplace(callee, true);
    if (inserted)
      calleeLaunches[callee] = mayLaunch(callee);
    return calleeLaunches[callee];
  }

  /// Whether a kernel may use the buffer `root` (in the function of `op`,
  /// or, through `call`, the caller's operand for a callee argument): not
  /// weights, and not the host's stack. A block from the runtime's `alloc`
  /// may: it is zeroed on the stream, and may be one that kernels launched
  /// before it was freed still use.
  bool kernelsMayUse(Value root, func::CallOp call) {
    if (auto argument = dyn_cast<BlockArgument>(root);
        argument && call && argument.getOwner()->isEntryBlock() &&
        argument.getOwner()->getParentOp() == calleeOf(call))
      return kernelsMayUse(rootOf(call.getOperand(argument.getArgNumber())),
                           func::CallOp());
    if (isReadOnlyInStep(root))
      return false;
    return !isa_and_nonnull<memref::AllocaOp>(root.getDefiningOp());
  }

  /// Whether running `op` (an op of `call`'s callee, with `call`) reads or
  /// writes memory a kernel may use: itself, inside its regions, or in a
  /// function it calls that puts nothing on the stream. A launch's effects
  /// are the kernel's; allocating and freeing touch no contents.
  bool touchesKernelMemory(Operation *op, func::CallOp call = {}) {
    bool touches = false;
    op->walk([&](Operation *nested) {
      if (isa<gpu::LaunchFuncOp>(nested))
        return WalkResult::skip();
      if (auto inner = dyn_cast<func::CallOp>(nested)) {
        func::FuncOp callee = calleeOf(inner);
        if (inner.getCallee() == kSynchronize)
          return WalkResult::skip();
        // Host work in another function, for the operands it is given.
        touches = !callee || calleeMayLaunch(inner) ||
                  llvm::any_of(callee.getBody().getOps(), [&](Operation &op) {
                    return touchesKernelMemory(&op, inner);
                  });
        return touches ? WalkResult::interrupt() : WalkResult::skip();
      }
      auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
      if (!effects) {
        // Without the interface, an op is pure only if it says so or its
        // regions decide.
        touches = !nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
                  !isMemoryEffectFree(nested);
        return touches ? WalkResult::interrupt() : WalkResult::advance();
      }
      SmallVector<MemoryEffects::EffectInstance> instances;
      effects.getEffects(instances);
      for (const MemoryEffects::EffectInstance &instance : instances) {
        if (isa<MemoryEffects::Allocate, MemoryEffects::Free>(
                instance.getEffect()))
          continue;
        Value accessed = instance.getValue();
        touches |= !accessed || kernelsMayUse(rootOf(accessed), call);
      }
      return touches ? WalkResult::interrupt() : WalkResult::advance();
    });
    return touches;
  }

  void synchronizeBefore(Operation *op) {
    if (!synchronize) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      synchronize = func::FuncOp::create(b, module.getLoc(), kSynchronize,
                                         b.getFunctionType({}, {}));
      synchronize.setPrivate();
    }
    OpBuilder b(op);
    func::CallOp::create(b, op->getLoc(), synchronize, ValueRange{});
  }

  /// Places the waits of `block`, entered with kernels possibly running
  /// (`pending`); returns whether kernels may be running at its end.
  bool place(Block &block, bool pending) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (isa<gpu::LaunchFuncOp, memref::AllocOp>(op)) {
        pending = true;
        continue;
      }
      auto call = dyn_cast<func::CallOp>(op);
      if (call && call.getCallee() == kSynchronize) {
        pending = false;
        continue;
      }
      if (!mayLaunch(&op)) {
        // Host work only: one wait before it, however many loads it holds.
        if (pending && touchesKernelMemory(&op)) {
          synchronizeBefore(&op);
          pending = false;
        }
        continue;
      }
      if (call) {
        // The callee places its own waits.
        pending = true;
        continue;
      }
      // Host work around launches (a loop over experts, a branch): each
      // region is placed on its own; a loop's body may start with the
      // kernels of its previous iteration running.
      bool loop = isa<LoopLikeOpInterface>(op);
      bool atEnd = pending;
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          atEnd |= place(inner, pending || loop);
      pending = atEnd;
    }
    return pending;
  }

  ModuleOp module;
  DenseMap<Operation *, bool> calleeLaunches;
  func::FuncOp synchronize;
};

struct PlaceGpuSynchronizationsPass final
    : jikji::impl::PlaceGpuSynchronizationsPassBase<
          PlaceGpuSynchronizationsPass> {
  void runOnOperation() override {
    if (getOperation().lookupSymbol(kSynchronize)) {
      getOperation().emitError("already defines ") << kSynchronize;
      return signalPassFailure();
    }
    Placement(getOperation()).run();
  }
};

} // namespace
