//===- MatchMmaEpilogues.cpp - Elementwise work a product can finish ------===//
//
// Part of Jikji. After an output projection (attention's o_proj, an MLP's
// down) the decoder layer adds the residual, `z = r + y`; after an MLP's
// gate and up products comes the SwiGLU, `z = silu(g) * u`. Both follow
// the products directly (with at most the allocation of z between). The
// kernel can compute them where it stores y, which saves a launch and a
// pass over y (for the SwiGLU also one over x: both products share it).
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace jikji::cuda;

/// The buffer `value` is a view of.
static Value underlyingBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether `output` may be read after `consumer`, so that the kernel must
/// store it as well as the consumer's result: it is, unless `output` is an
/// allocation whose only users are the products, the consumer, deallocs
/// and ops before the products (a view of it, wherever made, counts as a
/// read).
static bool isReadLater(Value output, ArrayRef<linalg::GenericOp> ops,
                        Operation *consumer) {
  if (!output.getDefiningOp<memref::AllocOp>())
    return true;
  for (Operation *user : output.getUsers()) {
    if (isa<ViewLikeOpInterface>(user))
      return true;
    if (user == consumer || isa<memref::DeallocOp>(user) ||
        llvm::is_contained(ops, user))
      continue;
    if (user->getBlock() == ops.front()->getBlock() &&
        user->isBeforeInBlock(ops.front()))
      continue;
    return true;
  }
  return false;
}

/// An elementwise op over [m, n] buffers of f32 whose body the kernel can
/// clone: pure scalar ops, no regions, no linalg.index.
static bool isClonableElementwise(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 2 || op.getNumParallelLoops() != 2 ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.getElementType().isF32())
      return false;
  }
  for (Operation &inner : op.getRegion().front().without_terminator())
    if (!isPure(&inner) || inner.getNumRegions() != 0 ||
        isa<linalg::IndexOp>(inner))
      return false;
  return true;
}

MmaEpilogue jikji::cuda::matchMmaEpilogue(ArrayRef<linalg::GenericOp> ops,
                                          ArrayRef<MmaProduct> products) {
  // The next op but allocations (which neither read nor write a y).
  Operation *nextOp = ops.back()->getNextNode();
  while (isa_and_nonnull<memref::AllocOp>(nextOp))
    nextOp = nextOp->getNextNode();
  auto next = dyn_cast_or_null<linalg::GenericOp>(nextOp);
  if (!next || !isClonableElementwise(next))
    return {};

  // It reads every y (through its inputs); each lane reads the other
  // inputs and writes y and z at its own elements only, so no two of them
  // may be views of one buffer (a shifted view would be another lane's
  // element): each y is a fresh allocation, z is one of them or another
  // fresh one, and the other inputs are none of them.
  Value result = next.getDpsInits()[0];
  Value resultBuffer = underlyingBuffer(result);
  SmallVector<Value> buffers;
  for (const MmaProduct &product : products) {
    if (!llvm::is_contained(next.getDpsInputs(), product.output))
      return {};
    Value buffer = underlyingBuffer(product.output);
    if (!buffer.getDefiningOp<memref::AllocOp>() ||
        llvm::is_contained(buffers, buffer) ||
        (result != product.output && resultBuffer == buffer))
      return {};
    buffers.push_back(buffer);
  }
  // Nor may z be what the warps read across lanes and K: x, the weights,
  // the scales.
  if (!resultBuffer.getDefiningOp<memref::AllocOp>())
    return {};
  for (const MmaProduct &product : products)
    for (Value operand : {product.input, product.weight, product.scales})
      if (operand && underlyingBuffer(operand) == resultBuffer)
        return {};
  for (Value input : next.getDpsInputs()) {
    if (llvm::any_of(products, [&](const MmaProduct &product) {
          return input == product.output;
        }))
      continue;
    Value buffer = underlyingBuffer(input);
    if (llvm::is_contained(buffers, buffer) || buffer == resultBuffer)
      return {};
  }

  MmaEpilogue epilogue;
  epilogue.consumer = next;
  for (const MmaProduct &product : products)
    epilogue.storeProducts.push_back(result != product.output &&
                                     isReadLater(product.output, ops, next));
  return epilogue;
}
