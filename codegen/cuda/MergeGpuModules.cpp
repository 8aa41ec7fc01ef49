//===- MergeGpuModules.cpp - One gpu.module for all kernels ---------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/IR/SymbolTable.h"

#define DEBUG_TYPE "jikji-merge-gpu-modules"

namespace jikji {
#define GEN_PASS_DEF_MERGEGPUMODULESPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The name of the one module the artifact's image is made of.
constexpr StringLiteral kKernelModuleName = "jikji_kernels";

struct MergeGpuModulesPass final
    : jikji::impl::MergeGpuModulesPassBase<MergeGpuModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    if (module.lookupSymbol(kKernelModuleName)) {
      module.emitError("already has a symbol named ") << kKernelModuleName;
      return signalPassFailure();
    }
    OpBuilder builder(modules.front());
    auto merged = gpu::GPUModuleOp::create(builder, modules.front().getLoc(),
                                           kKernelModuleName);
    SymbolTable mergedSymbols(merged);
    SymbolTable moduleSymbols(module);

    // (old module, old kernel) -> new kernel name, to retarget launches.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : modules) {
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol) {
          op.emitOpError("cannot be moved into the merged GPU module");
          return signalPassFailure();
        }
        StringAttr oldName = symbol.getNameAttr();
        if (!isa<gpu::GPUFuncOp>(op) && mergedSymbols.lookup(oldName)) {
          // A host global cloned into several kernels' modules: one copy.
          op.erase();
          continue;
        }
        op.remove();
        StringAttr newName = mergedSymbols.insert(&op);
        renamed[{source.getSymNameAttr(), oldName}] = newName;
      }
    }
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end()) {
        launch.emitOpError("launches a kernel outside the outlined modules");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          merged.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp source : modules)
      moduleSymbols.erase(source);
  }
};

} // namespace
