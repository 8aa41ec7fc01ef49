//===- FreeParallelTemporaries.cpp - Free what a forall iteration allocs --===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#define DEBUG_TYPE "jikji-free-parallel-temporaries"

namespace jikji {
#define GEN_PASS_DEF_FREEPARALLELTEMPORARIESPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct FreeParallelTemporariesPass final
    : jikji::impl::FreeParallelTemporariesPassBase<
          FreeParallelTemporariesPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ForallOp loop) {
      Block *body = loop.getBody();
      OpBuilder b(body->getTerminator());
      for (auto alloc : body->getOps<memref::AllocOp>()) {
        bool freed = llvm::any_of(alloc->getUsers(), [](Operation *user) {
          return isa<memref::DeallocOp>(user);
        });
        if (!freed)
          memref::DeallocOp::create(b, alloc.getLoc(), alloc.getResult());
      }
    });
  }
};
} // namespace
