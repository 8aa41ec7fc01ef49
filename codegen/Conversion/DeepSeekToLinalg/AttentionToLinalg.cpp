//===- AttentionToLinalg.cpp - deepseek.mla_attention to linalg -----------===//
//
// Part of Jikji. The as-written attention, step by step: write the new keys
// and values into the caches, score every new token against the cache up to
// its own position, softmax, and sum the values. A straightforward reference
// lowering; the latent form (deepseek-absorb-mla) is where speed comes from.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

namespace {

/// [T, heads, a + b] from `nope` [T, heads, a] and `rope`, which is either
/// [T, heads, b] or [T, b] (one vector shared by all heads).
Value concatHeads(OpBuilder &b, Location loc, Value nope, Value rope,
                  Value tokens) {
  auto nopeType = cast<RankedTensorType>(nope.getType());
  auto ropeType = cast<RankedTensorType>(rope.getType());
  int64_t heads = nopeType.getDimSize(1), nopeDim = nopeType.getDimSize(2);
  int64_t ropeDim = ropeType.getShape().back();
  bool shared = ropeType.getRank() == 2;
  auto type = RankedTensorType::get(
      {ShapedType::kDynamic, heads, nopeDim + ropeDim}, b.getF32Type());
  Value empty = emptyTensor(b, loc, type, tokens);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{}, ValueRange{empty},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(3)}, iterators(3),
      [&](OpBuilder &b, Location loc, ValueRange) {
        Value t = linalg::IndexOp::create(b, loc, 0);
        Value h = linalg::IndexOp::create(b, loc, 1);
        Value j = linalg::IndexOp::create(b, loc, 2);
        // Clamp both indices in range: select evaluates both extracts.
        Value nopeLast = arith::ConstantIndexOp::create(b, loc, nopeDim - 1);
        Value nopeDimValue = arith::ConstantIndexOp::create(b, loc, nopeDim);
        Value inNope = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             j, nopeDimValue);
        Value jNope = arith::MinUIOp::create(b, loc, j, nopeLast);
        Value jRope = arith::SelectOp::create(
            b, loc, inNope, arith::ConstantIndexOp::create(b, loc, 0),
            arith::SubIOp::create(b, loc, j, nopeDimValue));
        Value fromNope =
            tensor::ExtractOp::create(b, loc, nope, ValueRange{t, h, jNope});
        Value fromRope =
            shared
                ? tensor::ExtractOp::create(b, loc, rope, ValueRange{t, jRope})
                : tensor::ExtractOp::create(b, loc, rope,
                                            ValueRange{t, h, jRope});
        yieldValue(b, loc,
                   arith::SelectOp::create(b, loc, inNope, fromNope, fromRope));
      });
  return generic.getResult(0);
}

/// Rows [start, start + T) of `cache` become `rows`.
Value writeRows(OpBuilder &b, Location loc, Value rows, Value cache,
                Value start, Value tokens) {
  auto type = cast<RankedTensorType>(cache.getType());
  SmallVector<OpFoldResult> offsets{start, b.getIndexAttr(0),
                                    b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{tokens, b.getIndexAttr(type.getDimSize(1)),
                                  b.getIndexAttr(type.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, rows, cache, offsets, sizes,
                                       strides);
}

/// Rows [0, length) of `cache`.
Value readRows(OpBuilder &b, Location loc, Value cache, Value length) {
  auto type = cast<RankedTensorType>(cache.getType());
  SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes{length, b.getIndexAttr(type.getDimSize(1)),
                                  b.getIndexAttr(type.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, cache, offsets, sizes,
                                        strides);
}

struct MlaAttentionPattern final : OpRewritePattern<ds::MlaAttentionOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ds::MlaAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type();
    Value start = op.getStart();
    Value tokens = tensor::DimOp::create(b, loc, op.getQueryNope(), 0);
    int64_t heads = op.getQueryNope().getType().getDimSize(1);

    // The new tokens' keys and values join the caches first: each token
    // attends to itself.
    Value newKeys =
        concatHeads(b, loc, op.getKeyNope(), op.getKeyRope(), tokens);
    Value keyCache =
        writeRows(b, loc, newKeys, op.getKeyCache(), start, tokens);
    Value valueCache =
        writeRows(b, loc, op.getValue(), op.getValueCache(), start, tokens);
    Value length = arith::AddIOp::create(b, loc, start, tokens);
    Value keys = readRows(b, loc, keyCache, length);
    Value values = readRows(b, loc, valueCache, length);
    Value query =
        concatHeads(b, loc, op.getQueryNope(), op.getQueryRope(), tokens);

    AffineExpr d0 = getAffineDimExpr(0, context),
               d1 = getAffineDimExpr(1, context),
               d2 = getAffineDimExpr(2, context),
               d3 = getAffineDimExpr(3, context);
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> results) {
      return AffineMap::get(dims, 0, results, context);
    };

    // score[h, t, s] = q[t, h] · K[s, h] over (h, t, s, j).
    int64_t dyn = ShapedType::kDynamic;
    auto scoreType = RankedTensorType::get({heads, dyn, dyn}, f32);
    Value zeros =
        filledTensor(b, loc, scoreType, ValueRange{tokens, length}, 0.0);
    Value dots =
        linalg::GenericOp::create(
            b, loc, scoreType, ValueRange{query, keys}, ValueRange{zeros},
            ArrayRef<AffineMap>{map(4, {d1, d0, d3}), map(4, {d2, d0, d3}),
                                map(4, {d0, d1, d2})},
            iterators(3, 1),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value product =
                  arith::MulFOp::create(b, loc, args[0], args[1], contract(b));
              yieldValue(
                  b, loc,
                  arith::AddFOp::create(b, loc, args[2], product, contract(b)));
            })
            .getResult(0);

    // Scale, and hide the future: s > start + t scores -inf.
    double scale = op.getScale().convertToDouble();
    AffineMap identity3 = b.getMultiDimIdentityMap(3);
    Value emptyScores =
        emptyTensor(b, loc, scoreType, ValueRange{tokens, length});
    Value scores =
        linalg::GenericOp::create(
            b, loc, scoreType, ValueRange{dots}, ValueRange{emptyScores},
            ArrayRef<AffineMap>{identity3, identity3}, iterators(3),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value t = linalg::IndexOp::create(b, loc, 1);
              Value s = linalg::IndexOp::create(b, loc, 2);
              Value position = arith::AddIOp::create(b, loc, start, t);
              Value visible = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::ule, s, position);
              Value scaled = arith::MulFOp::create(
                  b, loc, args[0],
                  arith::ConstantOp::create(b, loc,
                                            b.getFloatAttr(f32, scale)));
              Value minusInfinity = arith::ConstantOp::create(
                  b, loc,
                  b.getFloatAttr(f32, -std::numeric_limits<float>::infinity()));
              yieldValue(b, loc,
                         arith::SelectOp::create(b, loc, visible, scaled,
                                                 minusInfinity));
            })
            .getResult(0);

    // Softmax over s, in float32: max, sum of exp, divide.
    auto rowType = RankedTensorType::get({heads, dyn}, f32);
    AffineMap rowMap = map(3, {d0, d1});
    Value lowest = filledTensor(b, loc, rowType, ValueRange{tokens},
                                -std::numeric_limits<float>::infinity());
    Value maxima =
        linalg::GenericOp::create(
            b, loc, rowType, ValueRange{scores}, ValueRange{lowest},
            ArrayRef<AffineMap>{identity3, rowMap}, iterators(2, 1),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              yieldValue(b, loc,
                         arith::MaximumFOp::create(b, loc, args[0], args[1]));
            })
            .getResult(0);
    Value rowZeros = filledTensor(b, loc, rowType, ValueRange{tokens}, 0.0);
    Value sums =
        linalg::GenericOp::create(
            b, loc, rowType, ValueRange{scores, maxima}, ValueRange{rowZeros},
            ArrayRef<AffineMap>{identity3, rowMap, rowMap}, iterators(2, 1),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value shifted = arith::SubFOp::create(b, loc, args[0], args[1]);
              yieldValue(
                  b, loc,
                  arith::AddFOp::create(b, loc, args[2],
                                        math::ExpOp::create(b, loc, shifted)));
            })
            .getResult(0);
    Value probabilities =
        linalg::GenericOp::create(
            b, loc, scoreType, ValueRange{scores, maxima, sums},
            ValueRange{emptyScores},
            ArrayRef<AffineMap>{identity3, rowMap, rowMap, identity3},
            iterators(3),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value shifted = arith::SubFOp::create(b, loc, args[0], args[1]);
              yieldValue(
                  b, loc,
                  arith::DivFOp::create(
                      b, loc, math::ExpOp::create(b, loc, shifted), args[2]));
            })
            .getResult(0);

    // output[t, h, d] = Σ_s p[h, t, s] · V[s, h, d] over (t, h, d, s).
    auto outputType = op.getOutput().getType();
    Value outputZeros =
        filledTensor(b, loc, outputType, ValueRange{tokens}, 0.0);
    Value output =
        linalg::GenericOp::create(
            b, loc, outputType, ValueRange{probabilities, values},
            ValueRange{outputZeros},
            ArrayRef<AffineMap>{map(4, {d1, d0, d3}), map(4, {d3, d1, d2}),
                                map(4, {d0, d1, d2})},
            iterators(3, 1),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value product =
                  arith::MulFOp::create(b, loc, args[0], args[1], contract(b));
              yieldValue(
                  b, loc,
                  arith::AddFOp::create(b, loc, args[2], product, contract(b)));
            })
            .getResult(0);
    rewriter.replaceOp(op, {output, keyCache, valueCache});
    return success();
  }
};
} // namespace

void jikji::populateAttentionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<MlaAttentionPattern>(patterns.getContext());
}
