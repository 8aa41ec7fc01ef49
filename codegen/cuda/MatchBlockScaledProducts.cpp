//===- MatchBlockScaledProducts.cpp - FP8 weight products -----------------===//
//
// Part of Jikji. An FP8 checkpoint's linear layer lowers to a product whose
// body decodes the e4m3 weight through a 256-entry float32 table and
// multiplies it by the scale of its 128 x 128 block (weightContraction in
// codegen/Conversion/DeepSeekToLinalg). The tensor-core kernel decodes the
// weight itself, so the match checks that the table is that decoding.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace jikji::cuda;

/// `value` is `table[bitcast(weight element)]` for the exact e4m3 table.
static bool isDecodedWeight(Value value) {
  auto load = value.getDefiningOp<memref::LoadOp>();
  if (!load || load.getIndices().size() != 1)
    return false;
  auto index = load.getIndices()[0].getDefiningOp<arith::IndexCastUIOp>();
  auto bits = index ? index.getIn().getDefiningOp<arith::BitcastOp>()
                    : arith::BitcastOp();
  auto weight = bits ? dyn_cast<BlockArgument>(bits.getIn()) : BlockArgument();
  if (!weight || weight.getArgNumber() != 1 ||
      !isa<Float8E4M3FNType>(weight.getType()))
    return false;
  auto table = load.getMemRef().getDefiningOp<memref::GetGlobalOp>();
  if (!table)
    return false;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      table, table.getNameAttr());
  Builder builder(value.getContext());
  return global && global.getConstant() && global.getInitialValue() &&
         *global.getInitialValue() ==
             jikji::lowering::float8E4M3FNTable(builder);
}

/// `value` is the decoded weight times argument 2 (its block scale).
static bool isScaledWeight(Value value) {
  auto multiply = value.getDefiningOp<arith::MulFOp>();
  if (!multiply)
    return false;
  Value decoded = multiply.getLhs(), scale = multiply.getRhs();
  if (!isDecodedWeight(decoded))
    std::swap(decoded, scale);
  auto scaleArgument = dyn_cast<BlockArgument>(scale);
  return isDecodedWeight(decoded) && scaleArgument &&
         scaleArgument.getArgNumber() == 2;
}

std::optional<MmaProduct>
jikji::cuda::matchBlockScaledProduct(linalg::GenericOp op) {
  if (!hasProductLoops(op, /*inputs=*/3))
    return std::nullopt;
  auto weightType = cast<MemRefType>(op.getDpsInputs()[1].getType());
  auto scalesType = dyn_cast<MemRefType>(op.getDpsInputs()[2].getType());
  if (!isa<Float8E4M3FNType>(weightType.getElementType()) || !scalesType ||
      !scalesType.getElementType().isF32() || scalesType.getRank() != 2)
    return std::nullopt;

  // Scales indexed (n floordiv blockN, k floordiv blockK), with blocks that
  // hold whole tiles.
  AffineMap scaleMap = op.getIndexingMapsArray()[2];
  auto blockOf = [&](unsigned result, unsigned dim) -> int64_t {
    auto divide = dyn_cast<AffineBinaryOpExpr>(scaleMap.getResult(result));
    if (!divide || divide.getKind() != AffineExprKind::FloorDiv ||
        divide.getLHS() != getAffineDimExpr(dim, op.getContext()))
      return 0;
    auto block = dyn_cast<AffineConstantExpr>(divide.getRHS());
    return block ? block.getValue() : 0;
  };
  if (scaleMap.getNumResults() != 2)
    return std::nullopt;
  int64_t blockN = blockOf(0, 1), blockK = blockOf(1, 2);
  if (blockN <= 0 || blockK <= 0 || blockN % kMmaTileN != 0 ||
      blockK % kMmaTileK != 0)
    return std::nullopt;
  int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  if ((!scalesType.isDynamicDim(0) &&
       scalesType.getDimSize(0) != llvm::divideCeilSigned(n, blockN)) ||
      (!scalesType.isDynamicDim(1) &&
       scalesType.getDimSize(1) != llvm::divideCeilSigned(k, blockK)))
    return std::nullopt;

  // The body: yield(addf(acc, mulf(x, mulf(table[bits(w)], scale)))),
  // operands in any order.
  auto terms = matchMultiplyAccumulate(op);
  if (!terms)
    return std::nullopt;
  auto [x, w] = *terms;
  if (!isScaledWeight(w))
    std::swap(x, w);
  if (!isScaledWeight(w) || !isWidenedArgument(x, 0, /*f32Ok=*/true))
    return std::nullopt;

  MmaProduct product;
  product.input = op.getDpsInputs()[0];
  product.weight = op.getDpsInputs()[1];
  product.output = op.getDpsInits()[0];
  product.n = n;
  product.k = k;
  product.scales = op.getDpsInputs()[2];
  product.blockN = blockN;
  product.blockK = blockK;
  return product;
}
