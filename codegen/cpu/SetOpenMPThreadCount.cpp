//===- SetOpenMPThreadCount.cpp - The artifact's thread count -------------===//
//
// Part of Jikji. OpenMP would otherwise take its thread count from the
// environment (OMP_NUM_THREADS) or the machine; an artifact's count belongs
// to the runtime that loaded it, which says it through one exported call.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

#define DEBUG_TYPE "jikji-set-openmp-thread-count"

namespace jikji {
#define GEN_PASS_DEF_SETOPENMPTHREADCOUNTPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kCountName = "jikji_num_threads";
constexpr llvm::StringLiteral kSetterName = "jikji_set_num_threads";

struct SetOpenMPThreadCountPass final
    : jikji::impl::SetOpenMPThreadCountPassBase<SetOpenMPThreadCountPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<omp::ParallelOp> regions;
    module.walk([&](omp::ParallelOp op) { regions.push_back(op); });
    if (regions.empty())
      return; // Nothing runs on threads: the artifact stays as it was.
    if (module.lookupSymbol(kCountName) || module.lookupSymbol(kSetterName)) {
      module.emitError("the module already defines ")
          << kCountName << " or " << kSetterName;
      return signalPassFailure();
    }

    OpBuilder b(module.getBodyRegion());
    Location loc = module.getLoc();
    Type i32 = b.getI32Type();
    LLVM::GlobalOp::create(b, loc, i32, /*isConstant=*/false,
                           LLVM::Linkage::Internal, kCountName,
                           b.getI32IntegerAttr(1));
    addSetter(b, loc);

    for (omp::ParallelOp region : regions) {
      b.setInsertionPoint(region);
      Value address = LLVM::AddressOfOp::create(
          b, region.getLoc(), LLVM::LLVMPointerType::get(&getContext()),
          kCountName);
      Value count = LLVM::LoadOp::create(b, region.getLoc(), i32, address);
      region.getNumThreadsMutable().assign(count);
    }
  }

  /// void jikji_set_num_threads(int32_t count): count = max(count, 1).
  void addSetter(OpBuilder &b, Location loc) {
    Type i32 = b.getI32Type();
    auto type = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(&getContext()), {i32});
    auto setter = LLVM::LLVMFuncOp::create(b, loc, kSetterName, type);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(setter.addEntryBlock(b));
    Value one = LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(1));
    Value requested = setter.getArgument(0);
    Value atLeastOne = LLVM::SMaxOp::create(b, loc, i32, requested, one);
    Value address = LLVM::AddressOfOp::create(
        b, loc, LLVM::LLVMPointerType::get(&getContext()), kCountName);
    LLVM::StoreOp::create(b, loc, atLeastOne, address);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
};
} // namespace
