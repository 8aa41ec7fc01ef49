//===- MatchMmaEpilogues.cpp - Elementwise work a product can finish ------===//
//
// Part of Jikji. After an output projection (attention's o_proj, an MLP's
// down) the decoder layer adds the residual, `z = r + y`, right after the
// product (with at most the allocation of z between them; z is y itself
// after the MLP). The kernel can add r where it stores y, which saves a
// kernel launch and a pass over y.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace jikji::cuda;

/// The buffer `value` is a view of.
static Value underlyingBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether y's product is read after `consumer` (or through a view), so
/// that the kernel must store it as well as z.
static bool isReadLater(Value output, linalg::GenericOp op,
                        Operation *consumer) {
  for (Operation *user : output.getUsers()) {
    if (user == op || user == consumer || isa<memref::DeallocOp>(user))
      continue;
    if (user->getBlock() == op->getBlock() && user->isBeforeInBlock(op))
      continue;
    return true;
  }
  return false;
}

MmaEpilogue jikji::cuda::matchMmaEpilogue(linalg::GenericOp op,
                                          const MmaProduct &product) {
  // The next op but allocations (which neither read nor write y).
  Operation *nextOp = op->getNextNode();
  while (isa_and_nonnull<memref::AllocOp>(nextOp))
    nextOp = nextOp->getNextNode();
  auto next = dyn_cast_or_null<linalg::GenericOp>(nextOp);
  if (!next || !next.hasPureBufferSemantics() || next.getNumDpsInputs() != 2 ||
      next.getNumDpsInits() != 1 || next.getNumLoops() != 2 ||
      next.getNumParallelLoops() != 2 ||
      !llvm::all_of(next.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return {};
  // z = r + y, in either order.
  Value residual = next.getDpsInputs()[0], input = next.getDpsInputs()[1];
  Value result = next.getDpsInits()[0];
  if (residual == product.output)
    std::swap(residual, input);
  auto residualType = dyn_cast<MemRefType>(residual.getType());
  auto resultType = dyn_cast<MemRefType>(result.getType());
  if (input != product.output || residual == product.output || !residualType ||
      !residualType.getElementType().isF32() || !resultType ||
      !resultType.getElementType().isF32())
    return {};
  Block &body = next.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 2)
    return {};
  auto lhs = dyn_cast<BlockArgument>(add.getLhs());
  auto rhs = dyn_cast<BlockArgument>(add.getRhs());
  if (!lhs || !rhs || lhs.getOwner() != &body || rhs.getOwner() != &body ||
      lhs.getArgNumber() + rhs.getArgNumber() != 1)
    return {};

  // Each lane reads r and writes y and z at its own elements only, so none
  // of them may be a view of another (a shifted view would be another
  // lane's element): y is a fresh allocation, z is y or another fresh one,
  // and r is neither.
  Value buffer = underlyingBuffer(product.output);
  Value resultBuffer = underlyingBuffer(result);
  if (!buffer.getDefiningOp<memref::AllocOp>() ||
      !resultBuffer.getDefiningOp<memref::AllocOp>() ||
      (result != product.output && resultBuffer == buffer) ||
      underlyingBuffer(residual) == buffer ||
      underlyingBuffer(residual) == resultBuffer)
    return {};

  MmaEpilogue epilogue;
  epilogue.residual = residual;
  epilogue.result = result;
  epilogue.storeProduct =
      result != product.output && isReadLater(product.output, op, next);
  epilogue.consumer = next;
  return epilogue;
}
