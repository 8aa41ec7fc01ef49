//===- AttentionToLinalg.cpp - deepseek.mla_attention to linalg -----------===//
//
// Part of Jikji. The as-written attention, step by step: write the new keys
// and values into the caches, score every new token against the cache up to
// its own position, softmax, and sum the values. A straightforward reference
// lowering; the latent form (deepseek-absorb-mla, LatentAttentionToLinalg.cpp)
// is where speed comes from. The pieces both share are defined here.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/AttentionBuilders.h"
#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"
#include "codegen/Conversion/ParallelLoops.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace jikji::lowering;
namespace lowering = jikji::lowering;
namespace ds = jikji::deepseek;

/// [T, heads, a + b] from `nope` [T, heads, a] and `rope`, which is either
/// [T, heads, b] or [T, b] (one vector shared by all heads).
Value lowering::concatHeads(OpBuilder &b, Location loc, Value nope, Value rope,
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
Value lowering::writeRows(OpBuilder &b, Location loc, Value rows, Value cache,
                Value start, Value tokens) {
  auto type = cast<RankedTensorType>(cache.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes{tokens};
  offsets[0] = start;
  for (int64_t dim : type.getShape().drop_front())
    sizes.push_back(b.getIndexAttr(dim));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, rows, cache, offsets, sizes,
                                       strides);
}

Value lowering::writeSlotRows(OpBuilder &b, Location loc, Value rows,
                              Value cache, Value positions) {
  auto rowsType = cast<RankedTensorType>(rows.getType());
  auto elementType = RankedTensorType::get({}, rowsType.getElementType());
  Value slots = tensor::DimOp::create(b, loc, rows, 0);
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{slots, b.getIndexAttr(rowsType.getDimSize(1))},
      ValueRange{cache}, std::nullopt,
      [&](OpBuilder &b, Location loc, ValueRange arguments) {
        Value slot = arguments[0], column = arguments[1];
        Value position = arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            tensor::ExtractOp::create(b, loc, positions, ValueRange{slot}));
        Value element = tensor::ExtractSliceOp::create(
            b, loc, elementType, rows, ArrayRef<OpFoldResult>{slot, column},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
        // The body builder owns the terminator, which writes the element.
        auto writes = scf::InParallelOp::create(b, loc);
        b.setInsertionPointToStart(writes.getBody());
        SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
        tensor::ParallelInsertSliceOp::create(
            b, loc, element, arguments[2],
            ArrayRef<OpFoldResult>{slot, position, column}, ones, ones);
      });
  return forall.getResult(0);
}

Value lowering::readRows(OpBuilder &b, Location loc, Value cache,
                         OpFoldResult begin, OpFoldResult count) {
  auto type = cast<RankedTensorType>(cache.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes{count};
  offsets[0] = begin;
  for (int64_t dim : type.getShape().drop_front())
    sizes.push_back(b.getIndexAttr(dim));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, cache, offsets, sizes,
                                        strides);
}

/// A contraction `outs += Σ ins[0] · ins[1]` over the maps given, in
/// float32 with FMA contraction; the second input may be a weight, widened
/// (and block-scaled by `ins[2]`) in the body.
Value lowering::contraction(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                  ArrayRef<utils::IteratorType> loops) {
  bool scaled = inputs.size() == 3;
  return linalg::GenericOp::create(
             b, loc, type, inputs, ValueRange{init}, maps, loops,
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value rhs = widenToF32(b, loc, args[1]);
               if (scaled)
                 rhs = arith::MulFOp::create(b, loc, rhs, args[2]);
               Value product = arith::MulFOp::create(b, loc, args[0], rhs,
                                                     lowering::contract(b));
               yieldValue(b, loc,
                          arith::AddFOp::create(b, loc, args.back(), product,
                                                lowering::contract(b)));
             })
      .getResult(0);
}

/// The same with the reductions innermost.
Value lowering::contraction(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                  unsigned parallel, unsigned reduction) {
  return contraction(b, loc, type, inputs, init, maps,
                     iterators(parallel, reduction));
}

/// Loops (p, p, r, p): a sum over rows s of an [S, n] matrix with the row's
/// contiguous axis innermost, so the cache streams instead of striding.
SmallVector<utils::IteratorType> lowering::rowSumLoops() {
  using utils::IteratorType;
  return {IteratorType::parallel, IteratorType::parallel,
          IteratorType::reduction, IteratorType::parallel};
}

/// softmax over s of `dots` [heads, T, S] * scale, with rows s > start + t
/// hidden (-inf): the causal attention weights, in float32.
static Value causalSoftmax(OpBuilder &b, Location loc, Value dots, Value start,
                    Value tokens, Value length, double scale) {
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  auto scoreType = cast<RankedTensorType>(dots.getType());
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
                arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, scale)));
            Value minusInfinity = arith::ConstantOp::create(
                b, loc,
                b.getFloatAttr(f32, -std::numeric_limits<float>::infinity()));
            yieldValue(b, loc,
                       arith::SelectOp::create(b, loc, visible, scaled,
                                               minusInfinity));
          })
          .getResult(0);

  auto rowType = RankedTensorType::get(
      {scoreType.getDimSize(0), ShapedType::kDynamic}, f32);
  AffineMap rowMap = AffineMap::get(
      3, 0, {getAffineDimExpr(0, context), getAffineDimExpr(1, context)},
      context);
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
  Value weights = linalg::GenericOp::create(
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
  // [heads, T, S] for a long prompt: threads share (head, token).
  for (Value step : {scores, maxima, sums, weights})
    step.getDefiningOp()->setAttr(jikji::kParallelLoopsAttrName,
                                  b.getUnitAttr());
  return weights;
}

/// The depth a + b of per-head vectors given as parts.
static int64_t headDepth(HeadVectors parts) {
  int64_t depth = cast<RankedTensorType>(parts.nope.getType()).getDimSize(2);
  if (parts.rope)
    depth += cast<RankedTensorType>(parts.rope.getType()).getShape().back();
  return depth;
}

namespace {
/// The expanded attention of a long prompt on the CPU, per head (a head's
/// scores, softmax and weighted sum on one thread, the heads shared among
/// threads) and in register blocks of 4 tokens (BlockedWeightProduct.cpp's
/// kernel for the scores, an outer-product kernel for the weighted sum). Tokens and cache
/// rows are padded to multiples of 4 with zero rows, so every block is
/// whole: a padded key scores 0 and a padded value adds 0, and the causal
/// mask hides every padded cache row from every real token. Each block of
/// 4 tokens stops at the last cache row its last token sees, which halves
/// a prefill's work; the rows it skips weigh exactly 0 after the softmax.
class BlockedCausalAttention {
public:
  BlockedCausalAttention(OpBuilder &b, Location loc, Value start,
                         Value tokens, Value length)
      : b(b), loc(loc), start(start), tokens(tokens), length(length) {
    paddedTokens = roundUp4(tokens);
    paddedLength = roundUp4(length);
  }

  /// Whether the kernels take heads of `depth` (queries and keys) and
  /// `valueDepth`: multiples of 16 float32 lanes.
  static bool takes(int64_t depth, int64_t valueDepth) {
    return hasBlockedProductUpTo(depth) && valueDepth % kLanes == 0;
  }

  /// [T, heads, dv] from query [T, heads, dq], keys [S, heads, dq] and
  /// values [S, heads, dv].
  Value build(HeadVectors query, HeadVectors keys, Value values,
              double scale) {
    heads = cast<RankedTensorType>(query.nope.getType()).getDimSize(1);
    int64_t valueDepth = cast<RankedTensorType>(values.getType()).getDimSize(2);
    Value queries = headMajor(query, tokens, paddedTokens);
    Value cacheKeys = headMajor(keys, length, paddedLength);
    Value cacheValues = headMajor(HeadVectors{values}, length, paddedLength);

    // Per head, on one thread: its scores, their softmax and its weighted
    // sum, the scores a [T4, S16] temporary of that iteration (1 MB for 512
    // tokens, in cache while the softmax's three passes and the weighted
    // sum read it) instead of a [heads, T4, S4] tensor that each step
    // streams through memory in a parallel region of its own. Its columns
    // come in whole vectors of 16 for the softmax.
    Value scoreColumns = arith::MulIOp::create(
        b, loc,
        arith::DivUIOp::create(b, loc, add(paddedLength, index(kLanes - 1)),
                               index(kLanes)),
        index(kLanes));
    auto scoreType = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, f32());
    Value weighted = perHead(b.getIndexAttr(valueDepth), [&](Value h,
                                                             Value tile) {
      Value scores = emptyTensor(b, loc, scoreType,
                                 ValueRange{paddedTokens, scoreColumns});
      Value dots = blockedProductUpTo(
          b, loc, headOf(queries, h, paddedTokens),
          headOf(cacheKeys, h, paddedLength), paddedTokens,
          [&](Value row) { return seenRows(row); }, scores);
      return weightedRows(causalSoftmaxRows(dots, scale),
                          headOf(cacheValues, h, paddedLength), tile);
    });
    // [heads, T4, dv] back to [T, heads, dv], the padded tokens left out.
    // The result is the transpose's own buffer, not a view: the attention
    // picks this form or the absorbed one in an scf.if, whose result the
    // freeing of a parallel loop's temporaries recognizes only when both
    // branches allocate it (jikji-free-parallel-temporaries).
    int64_t dyn = ShapedType::kDynamic;
    Value realTokens = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({heads, dyn, valueDepth}, f32()),
        weighted, offsets3(),
        ArrayRef<OpFoldResult>{b.getIndexAttr(heads), tokens,
                               b.getIndexAttr(valueDepth)},
        strides3());
    auto tokenMajorType = RankedTensorType::get({dyn, heads, valueDepth}, f32());
    auto tokenMajor = linalg::TransposeOp::create(
        b, loc, realTokens,
        emptyTensor(b, loc, tokenMajorType, ValueRange{tokens}),
        ArrayRef<int64_t>{1, 0, 2});
    tokenMajor->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
    return tokenMajor.getResult()[0];
  }

private:
  static constexpr int64_t kRows = 4;  // tokens per register block
  static constexpr int64_t kLanes = 16; // float32 per AVX-512 register
  /// Value vectors per register block of the weighted sum: 4 x 4
  /// accumulators, like the scores' kernel.
  static constexpr int64_t kValueVectors = 4;

  Type f32() { return b.getF32Type(); }
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value roundUp4(Value value) {
    return arith::MulIOp::create(
        b, loc,
        arith::DivUIOp::create(b, loc, add(value, index(3)), index(kRows)),
        index(kRows));
  }
  SmallVector<OpFoldResult> offsets3(OpFoldResult first = OpFoldResult()) {
    SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
    if (first)
      offsets[0] = first;
    return offsets;
  }
  SmallVector<OpFoldResult> strides3() {
    return SmallVector<OpFoldResult>(3, b.getIndexAttr(1));
  }

  /// Cache rows the tokens [row, row + 4) see: up to start + row + 3,
  /// rounded up to whole blocks.
  Value seenRows(Value row) {
    return arith::MinUIOp::create(
        b, loc, roundUp4(add(start, add(row, index(kRows)))), paddedLength);
  }

  /// `rows` [N, heads, a + b] (given as parts) as [heads, N rounded up to
  /// `padded`, a + b], rows past N zero: one contiguous matrix per head.
  /// Each part is transposed (or, shared by all heads, broadcast) straight
  /// into its place, threads sharing the heads, and only the padding rows
  /// (at most 3 per head) are filled: each element is written once.
  Value headMajor(HeadVectors rows, Value count, Value padded) {
    int64_t depth = headDepth(rows);
    int64_t dyn = ShapedType::kDynamic;
    auto headMajorType = RankedTensorType::get({heads, dyn, depth}, f32());
    auto block = [&](int64_t width) {
      return RankedTensorType::get({heads, dyn, width}, f32());
    };
    // Rows [begin, begin + size) and columns [column, column + width).
    auto offsets = [&](Value begin, int64_t column) {
      return SmallVector<OpFoldResult>{b.getIndexAttr(0), begin,
                                       b.getIndexAttr(column)};
    };
    auto sizes = [&](Value size, int64_t width) {
      return SmallVector<OpFoldResult>{b.getIndexAttr(heads), size,
                                       b.getIndexAttr(width)};
    };
    Value whole = emptyTensor(b, loc, headMajorType, ValueRange{padded});
    auto place = [&](Value part, int64_t column) {
      auto type = cast<RankedTensorType>(part.getType());
      int64_t width = type.getShape().back();
      Value into = tensor::ExtractSliceOp::create(
          b, loc, block(width), whole, offsets(index(0), column),
          sizes(count, width), strides3());
      Operation *copy =
          type.getRank() == 3
              ? linalg::TransposeOp::create(b, loc, part, into,
                                            ArrayRef<int64_t>{1, 0, 2})
                    .getOperation()
              : linalg::BroadcastOp::create(b, loc, part, into,
                                            ArrayRef<int64_t>{0})
                    .getOperation();
      copy->setAttr(jikji::kParallelLoopsAttrName, b.getUnitAttr());
      whole = tensor::InsertSliceOp::create(
          b, loc, copy->getResult(0), whole, offsets(index(0), column),
          sizes(count, width), strides3());
    };
    place(rows.nope, 0);
    if (rows.rope)
      place(rows.rope,
            cast<RankedTensorType>(rows.nope.getType()).getDimSize(2));
    Value padding = arith::SubIOp::create(b, loc, padded, count);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    Value zeros =
        linalg::FillOp::create(
            b, loc, zero,
            tensor::ExtractSliceOp::create(b, loc, headMajorType, whole,
                                           offsets(count, 0),
                                           sizes(padding, depth), strides3())
                .getResult())
            .getResult(0);
    return tensor::InsertSliceOp::create(b, loc, zeros, whole,
                                         offsets(count, 0),
                                         sizes(padding, depth), strides3());
  }

  /// Head h's [rows, columns] matrix of a [heads, rows, columns] tensor.
  Value headOf(Value tensor, Value h, Value rows) {
    auto type = cast<RankedTensorType>(tensor.getType());
    int64_t columns = type.getDimSize(2);
    OpFoldResult columnSize =
        ShapedType::isDynamic(columns)
            ? OpFoldResult(tensor::DimOp::create(b, loc, tensor, 2).getResult())
            : OpFoldResult(b.getIndexAttr(columns));
    return tensor::ExtractSliceOp::create(
               b, loc, RankedTensorType::get({ShapedType::kDynamic, columns},
                                             f32()),
               tensor, offsets3(h),
               ArrayRef<OpFoldResult>{b.getIndexAttr(1), rows, columnSize},
               strides3())
        .getResult();
  }

  /// [heads, T4, columns], each head's [T4, columns] tile computed by
  /// `compute(h, tile)` (which writes all of it), the heads shared among
  /// threads.
  Value perHead(OpFoldResult columns,
                function_ref<Value(Value h, Value tile)> compute) {
    int64_t staticColumns = ShapedType::kDynamic;
    SmallVector<Value> dynamicSizes{paddedTokens};
    if (auto attribute = dyn_cast<Attribute>(columns))
      staticColumns = cast<IntegerAttr>(attribute).getInt();
    else
      dynamicSizes.push_back(cast<Value>(columns));
    auto type = RankedTensorType::get(
        {heads, ShapedType::kDynamic, staticColumns}, f32());
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(heads)},
        ValueRange{emptyTensor(b, loc, type, dynamicSizes)}, std::nullopt,
        [&](OpBuilder &, Location, ValueRange arguments) {
          Value h = arguments[0];
          Value result = compute(h, headOf(arguments[1], h, paddedTokens));
          auto terminator = scf::InParallelOp::create(b, loc);
          b.setInsertionPointToStart(terminator.getBody());
          tensor::ParallelInsertSliceOp::create(
              b, loc, result, arguments[1], offsets3(h),
              ArrayRef<OpFoldResult>{b.getIndexAttr(1), paddedTokens, columns},
              strides3());
        });
    b.setInsertionPointAfter(forall);
    return forall.getResult(0);
  }

  /// scf.for from `begin` to `end` by `step` over the values `init`, each
  /// iteration's values `body(at, current)`.
  ValueRange loop(Value begin, Value end, int64_t step, ValueRange init,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    return scf::ForOp::create(
               b, loc, begin, end, index(step), init,
               [&](OpBuilder &, Location, Value at, ValueRange current) {
                 scf::YieldOp::create(b, loc, body(at, current));
               })
        .getResults();
  }

  /// One head's [T4, S16] `dots` as its attention weights, in place:
  /// softmax(scale · dots[t, s]) over the columns token t sees, s <= start
  /// + t, and zeros in its columns after those, up to the end of the vector
  /// of 16 that holds its block's last seen column, the weighted sum's
  /// last. All in vectors of 16 (math.exp becomes a polynomial in the CPU
  /// pipeline, jikji-approximate-exp, so it stays a vector). The product wrote columns [0, seenRows) only;
  /// the lanes past them are read, but their values are never used.
  Value causalSoftmaxRows(Value dots, double scale) {
    auto lanesType = VectorType::get({kLanes}, f32());
    auto splat = [&](float value) -> Value {
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(value)));
    };
    Value minusInfinity = splat(-std::numeric_limits<float>::infinity());
    Value zeros = splat(0.0), scaleVector = splat(scale);
    Value padding = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    return loop(index(0), paddedTokens, kRows, dots, [&](Value row,
                                                         ValueRange tile) {
      Value seen = seenRows(row);
      return loop(
          index(0), index(kRows), 1, tile,
          [&](Value i, ValueRange current) -> SmallVector<Value> {
            Value t = add(row, i);
            // Token t sees columns [0, visible); a padded token's columns
            // would run past the cache, so they stop at the block's.
            Value visible = arith::MinUIOp::create(
                b, loc, add(start, add(t, index(1))), seen);
            // Lanes of columns [c, c + 16) that token t sees.
            auto seesFrom = [&](Value c) -> Value {
              return vector::CreateMaskOp::create(
                  b, loc, VectorType::get({kLanes}, b.getI1Type()),
                  ValueRange{arith::SubIOp::create(b, loc, visible, c)});
            };
            auto read = [&](Value from, Value c) -> Value {
              return vector::TransferReadOp::create(
                  b, loc, lanesType, from, ValueRange{t, c}, padding,
                  ArrayRef<bool>{true});
            };
            auto write = [&](Value vector, Value into, Value c) -> Value {
              return vector::TransferWriteOp::create(
                         b, loc, vector, into, ValueRange{t, c},
                         ArrayRef<bool>{true})
                  .getResult();
            };
            Value largestLanes =
                loop(index(0), visible, kLanes, minusInfinity,
                     [&](Value c, ValueRange acc) -> SmallVector<Value> {
                       Value dot = arith::SelectOp::create(
                           b, loc, seesFrom(c), read(current[0], c),
                           minusInfinity);
                       return {arith::MaximumFOp::create(b, loc, acc[0], dot)};
                     })[0];
            Value largest = vector::ReductionOp::create(
                b, loc, vector::CombiningKind::MAXIMUMF, largestLanes);
            // exp(scale · dot - scale · largest), as the generic softmax
            // computes it: scale > 0, so scale · largest is the largest
            // scaled score.
            Value shift = vector::BroadcastOp::create(
                b, loc, lanesType,
                arith::MulFOp::create(
                    b, loc, largest,
                    arith::ConstantOp::create(b, loc,
                                              b.getF32FloatAttr(scale))));
            ValueRange exponentials = loop(
                index(0), seen, kLanes, ValueRange{current[0], zeros},
                [&](Value c, ValueRange acc) -> SmallVector<Value> {
                  Value scaled = arith::MulFOp::create(
                      b, loc, read(acc[0], c), scaleVector);
                  Value weight = arith::SelectOp::create(
                      b, loc, seesFrom(c),
                      math::ExpOp::create(
                          b, loc, arith::SubFOp::create(b, loc, scaled, shift)),
                      zeros);
                  return {write(weight, acc[0], c),
                          arith::AddFOp::create(b, loc, acc[1], weight)};
                });
            Value sum = vector::BroadcastOp::create(
                b, loc, lanesType,
                vector::ReductionOp::create(
                    b, loc, vector::CombiningKind::ADD, exponentials[1],
                    arith::FastMathFlags::reassoc));
            return loop(index(0), visible, kLanes, exponentials[0],
                        [&](Value c, ValueRange acc) -> SmallVector<Value> {
                          return {write(arith::DivFOp::create(
                                            b, loc, read(acc[0], c), sum),
                                        acc[0], c)};
                        });
          });
    })[0];
  }

  /// out[t, d] = Σ_s p[t, s] · v[s, d] for one head, p [T4, S16] and v
  /// [S4, dv]: per block of 4 tokens and up to 64 of d, each cache row's 4
  /// weights (broadcast) and value vectors feed 16 FMAs into accumulators
  /// that stay in registers over the rows the block sees. The rows are
  /// summed in order from 0, as the contraction does.
  Value weightedRows(Value p, Value v, Value out) {
    int64_t valueDepth = cast<RankedTensorType>(v.getType()).getDimSize(1);
    int64_t vectors = std::min(kValueVectors, valueDepth / kLanes);
    while ((valueDepth / kLanes) % vectors != 0)
      --vectors;
    auto lanesType = VectorType::get({kLanes}, f32());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    Value padding = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
    return loop(index(0), paddedTokens, kRows, out, [&](Value row,
                                                        ValueRange tile) {
      Value seen = seenRows(row);
      return loop(
          index(0), index(valueDepth), vectors * kLanes, tile,
          [&](Value column, ValueRange inner) -> SmallVector<Value> {
            SmallVector<Value> zeros(kRows * vectors, zero);
            ValueRange sums = loop(
                index(0), seen, 1, zeros,
                [&](Value s, ValueRange acc) -> SmallVector<Value> {
                  SmallVector<Value> weights, values, next;
                  for (int64_t i = 0; i < kRows; ++i) {
                    Value weight = tensor::ExtractOp::create(
                        b, loc, p, ValueRange{add(row, index(i)), s});
                    weights.push_back(
                        vector::BroadcastOp::create(b, loc, lanesType, weight));
                  }
                  for (int64_t j = 0; j < vectors; ++j)
                    values.push_back(vector::TransferReadOp::create(
                        b, loc, lanesType, v,
                        ValueRange{s, add(column, index(j * kLanes))}, padding,
                        ArrayRef<bool>{true}));
                  for (int64_t i = 0; i < kRows; ++i)
                    for (int64_t j = 0; j < vectors; ++j)
                      next.push_back(vector::FMAOp::create(
                          b, loc, weights[i], values[j],
                          acc[i * vectors + j]));
                  return next;
                });
            Value result = inner[0];
            for (int64_t i = 0; i < kRows; ++i)
              for (int64_t j = 0; j < vectors; ++j)
                result = vector::TransferWriteOp::create(
                             b, loc, sums[i * vectors + j], result,
                             ValueRange{add(row, index(i)),
                                        add(column, index(j * kLanes))},
                             ArrayRef<bool>{true})
                             .getResult();
            return {result};
          });
    })[0];
  }

  OpBuilder &b;
  Location loc;
  Value start, tokens, length, paddedTokens, paddedLength;
  int64_t heads = 0;
};
} // namespace

/// Attention over expanded per-head keys [S, heads, dq] and values
/// [S, heads, dv]: scores over (h, t, s, j), causal softmax, weighted sum
/// over (t, h, d, s).
Value lowering::expandedAttention(OpBuilder &b, Location loc,
                                  HeadVectors queryParts, HeadVectors keyParts,
                                  Value values, Value start, Value tokens,
                                  Value length, double scale,
                                  RankedTensorType outputType,
                                  bool cpuKernels) {
  int64_t depth = headDepth(queryParts);
  if (cpuKernels &&
      BlockedCausalAttention::takes(depth, outputType.getDimSize(2)))
    return BlockedCausalAttention(b, loc, start, tokens, length)
        .build(queryParts, keyParts, values, scale);
  auto whole = [&](HeadVectors parts, Value count) {
    return parts.rope ? concatHeads(b, loc, parts.nope, parts.rope, count)
                      : parts.nope;
  };
  Value query = whole(queryParts, tokens);
  Value keys = whole(keyParts, length);

  MLIRContext *context = b.getContext();
  int64_t heads = outputType.getDimSize(1);
  AffineExpr d0 = getAffineDimExpr(0, context),
             d1 = getAffineDimExpr(1, context),
             d2 = getAffineDimExpr(2, context),
             d3 = getAffineDimExpr(3, context);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(4, 0, results, context);
  };
  int64_t dyn = ShapedType::kDynamic;
  auto scoreType = RankedTensorType::get({heads, dyn, dyn}, b.getF32Type());
  Value zeros =
      filledTensor(b, loc, scoreType, ValueRange{tokens, length}, 0.0);
  Value dots = contraction(
      b, loc, scoreType, ValueRange{query, keys}, zeros,
      {map({d1, d0, d3}), map({d2, d0, d3}), map({d0, d1, d2})}, 3, 1);
  Value probabilities =
      causalSoftmax(b, loc, dots, start, tokens, length, scale);
  Value outputZeros = filledTensor(b, loc, outputType, ValueRange{tokens}, 0.0);
  // output[t, h, d] = Σ_s p[h, t, s] · V[s, h, d] over (t, h, s, d).
  Value output = contraction(
      b, loc, outputType, ValueRange{probabilities, values}, outputZeros,
      {map({d1, d0, d2}), map({d2, d1, d3}), map({d0, d1, d3})}, rowSumLoops());
  // This form is chosen for long prompts, where the scores and the
  // weighted sum are attention's work: threads share their (head, token)
  // loops, and each keeps its loops inside in order (the weighted sum's
  // value axis innermost, where it vectorizes).
  for (Value shared : {dots, output})
    shared.getDefiningOp()->setAttr(jikji::kParallelLoopsAttrName,
                                    b.getUnitAttr());
  return output;
}

namespace {
struct MlaAttentionPattern final : OpRewritePattern<ds::MlaAttentionOp> {
  MlaAttentionPattern(MLIRContext *context,
                      const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  jikji::LoweringOptions options;
  LogicalResult matchAndRewrite(ds::MlaAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    // A batched step becomes one of these per slot first (SlotLoops.cpp).
    if (op.getPositions())
      return rewriter.notifyMatchFailure(op, "batched decode step");
    Value start = op.getStart();
    Value tokens = tensor::DimOp::create(b, loc, op.getQueryNope(), 0);

    // The new tokens' keys and values join the caches first: each token
    // attends to itself.
    Value newKeys =
        concatHeads(b, loc, op.getKeyNope(), op.getKeyRope(), tokens);
    Value keyCache =
        writeRows(b, loc, newKeys, op.getKeyCache(), start, tokens);
    Value valueCache =
        writeRows(b, loc, op.getValue(), op.getValueCache(), start, tokens);
    Value length = arith::AddIOp::create(b, loc, start, tokens);
    Value keys = readRows(b, loc, keyCache, b.getIndexAttr(0), length);
    Value values = readRows(b, loc, valueCache, b.getIndexAttr(0), length);
    Value output = expandedAttention(b, loc,
                                     HeadVectors{op.getQueryNope(),
                                                 op.getQueryRope()},
                                     HeadVectors{keys}, values, start, tokens,
                                     length, op.getScale().convertToDouble(),
                                     op.getOutput().getType(),
                                     options.cpuKernels);
    rewriter.replaceOp(op, {output, keyCache, valueCache});
    return success();
  }
};
} // namespace

void jikji::populateAttentionToLinalgPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  patterns.add<MlaAttentionPattern>(patterns.getContext(), options);
}
