//===- ElementwiseToLinalg.cpp - Per-token deepseek ops to linalg ---------===//
//
// Part of Jikji. embedding, rms_norm, split, view, rope, silu_mul and add:
// the ops that work on each token independently.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"
#include "codegen/Conversion/ParallelLoops.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

namespace {

/// Rows (tokens) from which the per-row work of norms, RoPE and residual
/// additions is shared among threads on the CPU: 64 rows of a 2048-wide
/// hidden state take tens of microseconds, where a fork takes a few. A
/// decode step's one row stays on one thread; a prefill's hundreds no
/// longer run on one while the others wait.
constexpr int64_t kRowsWorthThreads = 64;

void shareRowsAmongThreads(Operation *op, OpBuilder &b) {
  op->setAttr(jikji::kParallelLoopsAttrName,
              b.getI64IntegerAttr(kRowsWorthThreads));
}

/// result[t, :] = f32(table[tokens[t], :]), a gather in the generic's body.
struct EmbeddingPattern final : OpRewritePattern<ds::EmbeddingOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType resultType = op.getType();
    Value empty = emptyTensor(rewriter, loc, resultType,
                              dynamicSizesOf(rewriter, loc, op.getTokens()));
    MLIRContext *context = rewriter.getContext();
    AffineMap tokenMap =
        AffineMap::get(2, 0, getAffineDimExpr(0, context), context);
    AffineMap identity = rewriter.getMultiDimIdentityMap(2);
    Value table = op.getTable();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{op.getTokens()},
        ValueRange{empty}, ArrayRef<AffineMap>{tokenMap, identity},
        iterators(2), [&](OpBuilder &b, Location loc, ValueRange args) {
          Value row =
              arith::IndexCastOp::create(b, loc, b.getIndexType(), args[0]);
          Value column = linalg::IndexOp::create(b, loc, 1);
          Value element =
              tensor::ExtractOp::create(b, loc, table, ValueRange{row, column});
          yieldValue(b, loc, widenToF32(b, loc, element));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// input * rsqrt(mean(input², last axis) + eps) * weight: a reduction of the
/// squares, then one elementwise pass.
struct RmsNormPattern final : OpRewritePattern<ds::RmsNormOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    int64_t width = type.getShape().back();
    MLIRContext *context = rewriter.getContext();
    SmallVector<Value> dynamicSizes =
        dynamicSizesOf(rewriter, loc, op.getInput());

    // Sum of squares per row; the dynamic sizes are all leading dims.
    auto rowsType = RankedTensorType::get(type.getShape().drop_back(),
                                          rewriter.getF32Type());
    Value zeros = filledTensor(rewriter, loc, rowsType, dynamicSizes, 0.0);
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap dropLast = identity.getMajorSubMap(rank - 1);
    auto sumSquares = linalg::GenericOp::create(
        rewriter, loc, rowsType, ValueRange{op.getInput()}, ValueRange{zeros},
        ArrayRef<AffineMap>{identity, dropLast}, iterators(rank - 1, 1),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value square = arith::MulFOp::create(b, loc, args[0], args[0]);
          yieldValue(b, loc, arith::AddFOp::create(b, loc, args[1], square));
        });

    AffineMap lastOnly =
        AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, context), context);
    double epsilon = op.getEpsilon().convertToDouble();
    Value empty = emptyTensor(rewriter, loc, type, dynamicSizes);
    auto normalize = linalg::GenericOp::create(
        rewriter, loc, type,
        ValueRange{op.getInput(), sumSquares.getResult(0), op.getWeight()},
        ValueRange{empty},
        ArrayRef<AffineMap>{identity, dropLast, lastOnly, identity},
        iterators(rank), [&](OpBuilder &b, Location loc, ValueRange args) {
          Type f32 = b.getF32Type();
          Value mean = arith::DivFOp::create(
              b, loc, args[1],
              arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, width)));
          Value shifted = arith::AddFOp::create(
              b, loc, mean,
              arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, epsilon)));
          Value scale = math::RsqrtOp::create(b, loc, shifted);
          Value normed = arith::MulFOp::create(b, loc, args[0], scale);
          yieldValue(b, loc,
                     arith::MulFOp::create(b, loc, normed,
                                           widenToF32(b, loc, args[2])));
        });
    shareRowsAmongThreads(sumSquares, rewriter);
    shareRowsAmongThreads(normalize, rewriter);
    rewriter.replaceOp(op, normalize.getResults());
    return success();
  }
};

/// Each part of the last axis is a slice.
struct SplitPattern final : OpRewritePattern<ds::SplitOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::SplitOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getInput().getType();
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getInput());
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    SmallVector<Value> parts;
    int64_t offset = 0;
    for (auto [result, size] : llvm::zip(op.getResults(), op.getSizes())) {
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      offsets.back() = rewriter.getIndexAttr(offset);
      sizes.back() = rewriter.getIndexAttr(size);
      parts.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(result.getType()),
          op.getInput(), offsets, sizes, strides));
      offset += size;
    }
    rewriter.replaceOp(op, parts);
    return success();
  }
};

/// Collapse the trailing axes into one, then expand them into the result's.
struct ViewPattern final : OpRewritePattern<ds::ViewOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::ViewOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value value = op.getInput();
    RankedTensorType input = op.getInput().getType();
    RankedTensorType result = op.getType();
    auto trailingGroup = [](int64_t rank) {
      ReassociationIndices group;
      for (int64_t dim = 1; dim < rank; ++dim)
        group.push_back(dim);
      return SmallVector<ReassociationIndices>{{0}, group};
    };
    if (input.getRank() > 2)
      value = tensor::CollapseShapeOp::create(rewriter, loc, value,
                                              trailingGroup(input.getRank()));
    if (result.getRank() > 2) {
      SmallVector<OpFoldResult> shape{
          tensor::getMixedSize(rewriter, loc, value, 0)};
      for (int64_t dim : result.getShape().drop_front())
        shape.push_back(rewriter.getIndexAttr(dim));
      value = tensor::ExpandShapeOp::create(
          rewriter, loc, result, value, trailingGroup(result.getRank()), shape);
    }
    rewriter.replaceOp(op, value);
    return success();
  }
};

/// The rotary frequencies of MODEL.md, YaRN included, at compile time.
SmallVector<float> ropeFrequencies(ds::RopeAttr rope, int64_t dim) {
  double theta = rope.getTheta().convertToDouble();
  double factor = rope.getFactor().convertToDouble();
  SmallVector<float> frequencies;
  for (int64_t i = 0; i < dim / 2; ++i)
    frequencies.push_back(std::pow(theta, -2.0 * i / dim));
  if (factor <= 1)
    return frequencies;
  double original = rope.getOriginalMaxPosition();
  auto correction = [&](double rotations) {
    return dim * std::log(original / (rotations * 2 * M_PI)) /
           (2 * std::log(theta));
  };
  double low = std::max(
      std::floor(correction(rope.getBetaFast().convertToDouble())), 0.0);
  double high =
      std::min(std::ceil(correction(rope.getBetaSlow().convertToDouble())),
               double(dim - 1));
  if (low == high)
    high += 0.001;
  for (int64_t i = 0; i < dim / 2; ++i) {
    double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    frequencies[i] =
        frequencies[i] / factor * ramp + frequencies[i] * (1 - ramp);
  }
  return frequencies;
}

/// The factor on cos and sin: mscale'(mscale) / mscale'(mscale_all_dim).
double ropeMagnitude(ds::RopeAttr rope) {
  double factor = rope.getFactor().convertToDouble();
  auto mscale = [&](double a) {
    return factor <= 1 ? 1.0 : 0.1 * a * std::log(factor) + 1.0;
  };
  return mscale(rope.getMscale().convertToDouble()) /
         mscale(rope.getMscaleAllDim().convertToDouble());
}

/// Rotates each adjacent pair (x[2i], x[2i+1]) by (start + t) * f[i]. The
/// angle is formed in float32, as DeepSeek's reference forms it.
struct RopePattern final : OpRewritePattern<ds::RopeOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::RopeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    int64_t dim = type.getShape().back();
    SmallVector<float> frequencies = ropeFrequencies(op.getRope(), dim);
    auto frequencyType =
        RankedTensorType::get({dim / 2}, rewriter.getF32Type());
    Value frequencyTable = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(frequencyType, ArrayRef<float>(frequencies)));
    double magnitude = ropeMagnitude(op.getRope());
    Value input = op.getInput(), start = op.getStart();
    Value positions = op.getPositions();

    Value empty =
        emptyTensor(rewriter, loc, type, dynamicSizesOf(rewriter, loc, input));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{}, ValueRange{empty},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank)},
        iterators(rank), [&](OpBuilder &b, Location loc, ValueRange) {
          Type f32 = b.getF32Type();
          SmallVector<Value> indices;
          for (int64_t d = 0; d < rank; ++d)
            indices.push_back(linalg::IndexOp::create(b, loc, d));
          Value two = arith::ConstantIndexOp::create(b, loc, 2);
          Value pair = arith::DivUIOp::create(b, loc, indices.back(), two);
          Value even = arith::MulIOp::create(b, loc, pair, two);
          Value odd = arith::AddIOp::create(
              b, loc, even, arith::ConstantIndexOp::create(b, loc, 1));
          auto at = [&](Value last) {
            SmallVector<Value> where(indices);
            where.back() = last;
            return tensor::ExtractOp::create(b, loc, input, where);
          };
          Value x0 = at(even), x1 = at(odd);

          // Token t sits at start + t, or at positions[t].
          Value position =
              positions
                  ? tensor::ExtractOp::create(b, loc, positions, indices[0])
                        .getResult()
                  : arith::IndexCastUIOp::create(
                        b, loc, b.getI64Type(),
                        arith::AddIOp::create(b, loc, start, indices[0]))
                        .getResult();
          Value positionF = arith::UIToFPOp::create(b, loc, f32, position);
          Value frequency = tensor::ExtractOp::create(b, loc, frequencyTable,
                                                      ValueRange{pair});
          Value angle = arith::MulFOp::create(b, loc, positionF, frequency);
          Value scale =
              arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, magnitude));
          Value cos = arith::MulFOp::create(
              b, loc, math::CosOp::create(b, loc, angle), scale);
          Value sin = arith::MulFOp::create(
              b, loc, math::SinOp::create(b, loc, angle), scale);
          // (x0 cos - x1 sin, x0 sin + x1 cos)
          Value first = arith::SubFOp::create(
              b, loc, arith::MulFOp::create(b, loc, x0, cos),
              arith::MulFOp::create(b, loc, x1, sin));
          Value second = arith::AddFOp::create(
              b, loc, arith::MulFOp::create(b, loc, x0, sin),
              arith::MulFOp::create(b, loc, x1, cos));
          Value isEven = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               indices.back(), even);
          yieldValue(b, loc,
                     arith::SelectOp::create(b, loc, isEven, first, second));
        });
    shareRowsAmongThreads(generic, rewriter);
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// An elementwise op on same-typed float32 tensors.
template <typename OpTy> struct ElementwisePattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  virtual Value compute(OpBuilder &b, Location loc, Value lhs,
                        Value rhs) const = 0;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value empty = emptyTensor(rewriter, loc, type,
                              dynamicSizesOf(rewriter, loc, op->getOperand(0)));
    AffineMap identity = rewriter.getMultiDimIdentityMap(type.getRank());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, op->getOperands(), ValueRange{empty},
        ArrayRef<AffineMap>{identity, identity, identity},
        iterators(type.getRank()),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          yieldValue(b, loc, compute(b, loc, args[0], args[1]));
        });
    if (sharesRows())
      shareRowsAmongThreads(generic, rewriter);
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
  /// Whether the op's rows are worth sharing among threads when there are
  /// many: not the SwiGLU's, which runs inside the experts' and the column
  /// tiles' threads.
  virtual bool sharesRows() const { return false; }
};

/// gate * sigmoid(gate) * up.
struct SiluMulPattern final : ElementwisePattern<ds::SiluMulOp> {
  using ElementwisePattern::ElementwisePattern;
  Value compute(OpBuilder &b, Location loc, Value gate,
                Value up) const override {
    Type f32 = b.getF32Type();
    Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, 1.0));
    Value negated = arith::NegFOp::create(b, loc, gate);
    Value denominator = arith::AddFOp::create(
        b, loc, one, math::ExpOp::create(b, loc, negated));
    Value silu = arith::DivFOp::create(b, loc, gate, denominator);
    return arith::MulFOp::create(b, loc, silu, up);
  }
};

struct AddPattern final : ElementwisePattern<ds::AddOp> {
  using ElementwisePattern::ElementwisePattern;
  Value compute(OpBuilder &b, Location loc, Value lhs,
                Value rhs) const override {
    return arith::AddFOp::create(b, loc, lhs, rhs);
  }
  bool sharesRows() const override { return true; }
};

} // namespace

void jikji::populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbeddingPattern, RmsNormPattern, SplitPattern, ViewPattern,
               RopePattern, SiluMulPattern, AddPattern>(patterns.getContext());
}
