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

/// Whether `value`, which a branch of `block` yields, is a buffer that the
/// branch allocated (possibly cast to a more general layout).
bool allocatedIn(Value value, Block *block) {
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  auto alloc = value.getDefiningOp<memref::AllocOp>();
  return alloc && alloc->getBlock() == block;
}

/// The buffers an iteration owns: its top-level allocations, and the
/// results of its top-level scf.if ops that each branch allocated itself
/// (a per-sequence attention's output, whose form the if picks).
SmallVector<Value> iterationBuffers(Block *body) {
  SmallVector<Value> buffers;
  for (Operation &op : *body) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      buffers.push_back(alloc.getResult());
      continue;
    }
    auto choice = dyn_cast<scf::IfOp>(op);
    if (!choice || choice.getElseRegion().empty())
      continue;
    for (OpResult result : choice->getResults())
      if (isa<MemRefType>(result.getType()) &&
          allocatedIn(choice.thenYield().getOperand(result.getResultNumber()),
                      choice.thenBlock()) &&
          allocatedIn(choice.elseYield().getOperand(result.getResultNumber()),
                      choice.elseBlock()))
        buffers.push_back(result);
  }
  return buffers;
}

struct FreeParallelTemporariesPass final
    : jikji::impl::FreeParallelTemporariesPassBase<
          FreeParallelTemporariesPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ForallOp loop) {
      Block *body = loop.getBody();
      OpBuilder b(body->getTerminator());
      for (Value buffer : iterationBuffers(body)) {
        bool freed = llvm::any_of(buffer.getUsers(), [](Operation *user) {
          return isa<memref::DeallocOp>(user);
        });
        if (!freed)
          memref::DeallocOp::create(b, buffer.getLoc(), buffer);
      }
    });
  }
};
} // namespace
