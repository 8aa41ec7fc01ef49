//===- MatchBlockScaledProducts.cpp - FP8 weight products -----------------===//
//
// Part of Jikji. An FP8 checkpoint's linear layer lowers to a product whose
// body decodes the e4m3 weight exactly (widenFloat8E4M3FN: its bits moved
// into a float16, widened, times 2^8) and multiplies it by the scale of its
// 128 x 128 block (weightContraction in codegen/Conversion/DeepSeekToLinalg).
// The tensor-core kernel decodes the weight itself, so the match checks
// that the body's decoding is that one.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace jikji::cuda;

/// Whether `value` is the constant `expected` (a scalar attribute).
static bool isConstant(Value value, Attribute expected) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  return constant && constant.getValue() == expected;
}

/// Whether `value` is an integer constant whose bits are `bits` (compared
/// at the constant's width).
static bool hasConstantBits(Value value, uint64_t bits) {
  APInt constant;
  if (!matchPattern(value, m_ConstantInt(&constant)))
    return false;
  unsigned width = constant.getBitWidth();
  return constant == APInt(width, bits, /*isSigned=*/false,
                           /*implicitTrunc=*/true);
}

/// `value` is the exact e4m3 decoding of the weight element (block argument
/// 1) that widenFloat8E4M3FN builds: the bits moved into a float16,
/// widened, NaN kept, times 2^8. Matched op by op, so that the kernel's
/// own decoding computes the same thing.
static bool isDecodedWeight(Value value) {
  Builder b(value.getContext());
  auto times256 = value.getDefiningOp<arith::MulFOp>();
  if (!times256 || !isConstant(times256.getRhs(), b.getF32FloatAttr(256.0f)))
    return false;
  auto select = times256.getLhs().getDefiningOp<arith::SelectOp>();
  if (!select)
    return false;
  auto widened = select.getFalseValue().getDefiningOp<arith::ExtFOp>();
  auto half = widened ? widened.getIn().getDefiningOp<arith::BitcastOp>()
                      : arith::BitcastOp();
  auto masked =
      half ? half.getIn().getDefiningOp<arith::AndIOp>() : arith::AndIOp();
  auto moved =
      masked ? masked.getLhs().getDefiningOp<arith::ShLIOp>() : arith::ShLIOp();
  auto extended =
      moved ? moved.getLhs().getDefiningOp<arith::ExtSIOp>() : arith::ExtSIOp();
  auto bits = extended ? extended.getIn().getDefiningOp<arith::BitcastOp>()
                       : arith::BitcastOp();
  auto isNaN = select.getCondition().getDefiningOp<arith::CmpIOp>();
  auto nanMask =
      isNaN ? isNaN.getLhs().getDefiningOp<arith::AndIOp>() : arith::AndIOp();
  if (!bits || !nanMask || !half.getType().isF16() ||
      !hasConstantBits(moved.getRhs(), 7) ||
      !hasConstantBits(masked.getRhs(), 0xBF80) ||
      isNaN.getPredicate() != arith::CmpIPredicate::eq ||
      nanMask.getLhs() != bits.getResult() ||
      !hasConstantBits(nanMask.getRhs(), 0x7F) ||
      !hasConstantBits(isNaN.getRhs(), 0x7F))
    return false;
  auto nan = select.getTrueValue().getDefiningOp<arith::ConstantOp>();
  auto nanValue = nan ? dyn_cast<FloatAttr>(nan.getValue()) : FloatAttr();
  auto weight = dyn_cast<BlockArgument>(bits.getIn());
  return nanValue && nanValue.getValue().isNaN() && weight &&
         weight.getArgNumber() == 1 && isa<Float8E4M3FNType>(weight.getType());
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
