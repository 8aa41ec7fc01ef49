//===- MatchMmaEpilogues.cpp - Elementwise work a product can finish ------===//
//
// Part of Jikji. After an output projection (attention's o_proj, an MLP's
// down) the decoder layer adds the residual: `y = r + y` in place, right
// after the product. The kernel can add r where it stores y, which saves a
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

MmaEpilogue jikji::cuda::matchMmaEpilogue(linalg::GenericOp op,
                                          const MmaProduct &product) {
  auto next = dyn_cast_or_null<linalg::GenericOp>(op->getNextNode());
  if (!next || !next.hasPureBufferSemantics() || next.getNumDpsInputs() != 2 ||
      next.getNumDpsInits() != 1 || next.getNumLoops() != 2 ||
      next.getNumParallelLoops() != 2 ||
      next.getDpsInits()[0] != product.output ||
      !llvm::all_of(next.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return {};
  // y = r + y, in either order.
  Value residual = next.getDpsInputs()[0], result = next.getDpsInputs()[1];
  if (residual == product.output)
    std::swap(residual, result);
  auto residualType = dyn_cast<MemRefType>(residual.getType());
  if (result != product.output || residual == product.output || !residualType ||
      !residualType.getElementType().isF32())
    return {};
  // r must not be a view of y, whose elements the kernel overwrites (and
  // whose product it never stores on its own).
  Value buffer = underlyingBuffer(product.output);
  if (!buffer.getDefiningOp<memref::AllocOp>() ||
      underlyingBuffer(residual) == buffer)
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
  return MmaEpilogue{residual, next};
}
