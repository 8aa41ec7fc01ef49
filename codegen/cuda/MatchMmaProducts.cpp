//===- MatchMmaProducts.cpp - Weight products in bufferized linalg --------===//
//
// Part of Jikji. The shape every tensor-core product has (loops, maps, a
// multiply-accumulate body) and the bf16-weight form of it.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace jikji::cuda;

/// The bf16 value `value` widens to f32: `extf(x)`, or the lowering's
/// shift into the top half, `bitcast(shli(extui(bitcast(x)), 16))`.
static Value widenedBf16(Value value) {
  if (!value.getType().isF32())
    return Value();
  if (auto extend = value.getDefiningOp<arith::ExtFOp>())
    return extend.getIn().getType().isBF16() ? extend.getIn() : Value();
  auto toFloat = value.getDefiningOp<arith::BitcastOp>();
  auto shift = toFloat ? toFloat.getIn().getDefiningOp<arith::ShLIOp>()
                       : arith::ShLIOp();
  auto wide =
      shift ? shift.getLhs().getDefiningOp<arith::ExtUIOp>() : arith::ExtUIOp();
  auto bits = wide ? wide.getIn().getDefiningOp<arith::BitcastOp>()
                   : arith::BitcastOp();
  APInt amount;
  if (!bits || !matchPattern(shift.getRhs(), m_ConstantInt(&amount)) ||
      amount != 16 || !bits.getIn().getType().isBF16())
    return Value();
  return bits.getIn();
}

bool jikji::cuda::isWidenedArgument(Value value, unsigned index, bool f32Ok) {
  if (auto argument = dyn_cast<BlockArgument>(value))
    return f32Ok && argument.getArgNumber() == index &&
           argument.getType().isF32();
  auto argument = dyn_cast_or_null<BlockArgument>(widenedBf16(value));
  return argument && argument.getArgNumber() == index;
}

bool jikji::cuda::hasProductLoops(linalg::GenericOp op, unsigned inputs) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != inputs ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return false;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return false;
  MLIRContext *context = op.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(3, 0, {m, k}, context) ||
      maps[1] != AffineMap::get(3, 0, {n, k}, context) ||
      maps.back() != AffineMap::get(3, 0, {m, n}, context))
    return false;
  auto inputType = dyn_cast<MemRefType>(op.getDpsInputs()[0].getType());
  auto weightType = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
  auto outputType = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
  return inputType && weightType && outputType && weightType.hasStaticShape() &&
         outputType.getElementType().isF32() &&
         (inputType.getElementType().isF32() ||
          inputType.getElementType().isBF16()) &&
         weightType.getDimSize(0) % kMmaTileN == 0 &&
         weightType.getDimSize(1) % kMmaTileK == 0;
}

std::optional<std::pair<Value, Value>>
jikji::cuda::matchMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value accumulator = add.getLhs(), term = add.getRhs();
  if (!isa<BlockArgument>(accumulator))
    std::swap(accumulator, term);
  auto multiply = term.getDefiningOp<arith::MulFOp>();
  auto accumulatorArgument = dyn_cast<BlockArgument>(accumulator);
  if (!multiply || !accumulatorArgument ||
      accumulatorArgument.getOwner() != &body ||
      accumulatorArgument.getArgNumber() != body.getNumArguments() - 1)
    return std::nullopt;
  // Nothing else may happen in the body: every op feeds the yield.
  llvm::SmallPtrSet<Operation *, 16> feeding;
  SmallVector<Operation *> worklist{add};
  while (!worklist.empty()) {
    Operation *current = worklist.pop_back_val();
    if (current->getBlock() != &body || !feeding.insert(current).second)
      continue;
    for (Value operand : current->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.push_back(producer);
  }
  if (feeding.size() + 1 != body.getOperations().size())
    return std::nullopt;
  return std::make_pair(multiply.getLhs(), multiply.getRhs());
}

std::optional<MmaProduct> jikji::cuda::matchBf16Product(linalg::GenericOp op) {
  if (!hasProductLoops(op, /*inputs=*/2))
    return std::nullopt;
  auto weightType = cast<MemRefType>(op.getDpsInputs()[1].getType());
  if (!weightType.getElementType().isBF16())
    return std::nullopt;
  auto terms = matchMultiplyAccumulate(op);
  if (!terms)
    return std::nullopt;
  // The body: yield(addf(acc, mulf(x, extf(w)))), operands in any order.
  auto [x, w] = *terms;
  if (!isWidenedArgument(w, 1, /*f32Ok=*/false))
    std::swap(x, w);
  if (!isWidenedArgument(w, 1, /*f32Ok=*/false) ||
      !isWidenedArgument(x, 0, /*f32Ok=*/true))
    return std::nullopt;
  MmaProduct product;
  product.input = op.getDpsInputs()[0];
  product.weight = op.getDpsInputs()[1];
  product.output = op.getDpsInits()[0];
  product.n = weightType.getDimSize(0);
  product.k = weightType.getDimSize(1);
  return product;
}

bool jikji::cuda::canShareKernel(const MmaProduct &first,
                                 const MmaProduct &second) {
  return first.input == second.input && first.output != second.output &&
         first.n == second.n && first.k == second.k &&
         static_cast<bool>(first.scales) == static_cast<bool>(second.scales) &&
         first.blockN == second.blockN && first.blockK == second.blockK;
}
