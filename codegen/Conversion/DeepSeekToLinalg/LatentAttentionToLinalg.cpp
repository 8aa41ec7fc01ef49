//===- LatentAttentionToLinalg.cpp - deepseek.latent_attention ------------===//
//
// Part of Jikji. Attention over the latent cache, in two forms chosen per
// call by multiply-add count (docs/dialect/rationale.md):
//  - absorbed: the query meets the latent cache through W_UK and the
//    weighted latent leaves through W_UV. The cache is read once, in blocks
//    that stay in cache while every head and token uses them, with an online
//    softmax; when few tokens ask, the cache length is also split into parts
//    whose partial results a last step combines (flash-decoding), so that
//    the parts can run side by side. The portable (GPU) lowering takes
//    LatentFlashDecoding.cpp's form instead for few tokens, and for a
//    batched decode step, whose slots it puts in the kernels' grids;
//  - expanded: keys and values expanded per head from every cache row, then
//    attention as written: cheaper for long prefills.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/AttentionBuilders.h"
#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"
#include "codegen/Conversion/ParallelLoops.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace jikji::lowering;
namespace ds = jikji::deepseek;

namespace {

/// Cache rows per block. A block of latents and rotary keys (128 x 576
/// float32 for DeepSeek's shapes, 288 KiB) stays in L2 while every head of
/// every token reads it, so the cache streams from memory once per call.
constexpr int64_t kBlockRows = 128;
/// The cache length is split only when at most this many tokens ask: with
/// more, tokens and heads already give enough independent work.
constexpr int64_t kMaxSplitTokens = 4;
/// Each part holds at least this many rows, and there are at most
/// kMaxSplits parts: enough for the cores of one socket, few enough that
/// combining the parts costs nothing next to reading them.
constexpr int64_t kMinSplitRows = 512;
constexpr int64_t kMaxSplits = 16;

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

/// exp(x - reference), where a reference of -inf (every row so far hidden)
/// counts as 0, so that hidden rows weigh 0 instead of NaN.
Value shiftedExp(OpBuilder &b, Location loc, Value x, Value reference) {
  Type f32 = b.getF32Type();
  Value hidden = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OEQ, reference,
      arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, kMinusInfinity)));
  Value safe = arith::SelectOp::create(
      b, loc, hidden,
      arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, 0.0)), reference);
  return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, x, safe));
}

/// The online-softmax state of a range of cache rows, per token and head:
/// the largest score seen, the sum of exp(score - largest), and the latent
/// rows weighted by those exponentials.
struct SoftmaxState {
  Value maxima;   // [T, heads]
  Value sums;     // [T, heads]
  Value weighted; // [T, heads, rank]
};

/// Index arithmetic in `index`, unsigned: every quantity is a size.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaxUIOp::create(b, loc, x, y); }
  Value ceilDiv(Value x, Value y) {
    return arith::DivUIOp::create(b, loc, sub(add(x, y), constant(1)), y);
  }
};

/// The latent attention of `latentQuery` [T, heads, rank] and `ropeQuery`
/// [T, heads, dr] over rows [0, length) of `latentCache` [C, rank] and
/// `ropeCache` [C, dr], causal at `start`: softmax-weighted latent rows,
/// [T, heads, rank], before W_UV.
class BlockedLatentAttention {
public:
  BlockedLatentAttention(OpBuilder &b, Location loc, Value latentQuery,
                         Value ropeQuery, Value latentCache, Value ropeCache,
                         Value start, Value tokens, Value length, double scale)
      : b(b), loc(loc), index{b, loc}, latentQuery(latentQuery),
        ropeQuery(ropeQuery), latentCache(latentCache), ropeCache(ropeCache),
        start(start), tokens(tokens), length(length), scale(scale) {
    auto queryType = cast<RankedTensorType>(latentQuery.getType());
    heads = queryType.getDimSize(1);
    rank = queryType.getDimSize(2);
  }

  Value build() {
    // Parts: split the cache length when few tokens ask (the rule above).
    Value fewTokens =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, tokens,
                              index.constant(kMaxSplitTokens));
    Value wanted = index.min(
        index.max(index.ceilDiv(length, index.constant(kMinSplitRows)),
                  index.constant(1)),
        index.constant(kMaxSplits));
    Value parts =
        arith::SelectOp::create(b, loc, fewTokens, wanted, index.constant(1));
    // Rows per part, whole blocks: parts past the end are empty.
    Value block = index.constant(kBlockRows);
    Value partRows = index.mul(
        index.ceilDiv(index.ceilDiv(length, parts), block), block);

    int64_t dyn = ShapedType::kDynamic;
    auto partialScalars = RankedTensorType::get({dyn, dyn, heads}, f32());
    auto partialRows = RankedTensorType::get({dyn, dyn, heads, rank}, f32());
    SmallVector<Value> outputs{
        emptyTensor(b, loc, partialScalars, ValueRange{parts, tokens}),
        emptyTensor(b, loc, partialScalars, ValueRange{parts, tokens}),
        emptyTensor(b, loc, partialRows, ValueRange{parts, tokens})};

    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{parts}, outputs, std::nullopt,
        [&](OpBuilder &, Location, ValueRange arguments) {
          Value part = arguments[0];
          Value begin = index.mul(part, partRows);
          Value end = index.min(index.add(begin, partRows), length);
          SoftmaxState initial{
              filled(partSlice(arguments[1], part, 2), kMinusInfinity),
              filled(partSlice(arguments[2], part, 2), 0.0),
              filled(partSlice(arguments[3], part, 3), 0.0)};
          SoftmaxState state = attendRows(begin, end, initial);
          // The body builder owns the terminator, which writes the parts.
          auto terminator = scf::InParallelOp::create(b, loc);
          b.setInsertionPointToStart(terminator.getBody());
          insertPart(state.maxima, arguments[1], part);
          insertPart(state.sums, arguments[2], part);
          insertPart(state.weighted, arguments[3], part);
        });
    return combine(forall.getResult(0), forall.getResult(1),
                   forall.getResult(2));
  }

private:
  Type f32() { return b.getF32Type(); }
  Value f32Constant(double value) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(f32(), value));
  }
  AffineMap map(unsigned dims, ArrayRef<unsigned> results) {
    SmallVector<AffineExpr> exprs;
    for (unsigned dim : results)
      exprs.push_back(b.getAffineDimExpr(dim));
    return AffineMap::get(dims, 0, exprs, b.getContext());
  }
  Value filled(Value tensor, double value) {
    return linalg::FillOp::create(b, loc, f32Constant(value), tensor)
        .getResult(0);
  }
  /// Where part `part` lies in a [parts, T, heads(, rank)] tensor.
  struct PartRange {
    SmallVector<OpFoldResult> offsets, sizes, strides;
  };
  PartRange partRange(Value whole, Value part) {
    auto type = cast<RankedTensorType>(whole.getType());
    PartRange range;
    range.offsets.assign(type.getRank(), b.getIndexAttr(0));
    range.offsets[0] = part;
    range.sizes = {b.getIndexAttr(1), tokens};
    for (int64_t dim : type.getShape().drop_front(2))
      range.sizes.push_back(b.getIndexAttr(dim));
    range.strides.assign(type.getRank(), b.getIndexAttr(1));
    return range;
  }
  /// Part `part` of a [parts, T, heads(, rank)] tensor, without its first
  /// dimension.
  Value partSlice(Value whole, Value part, int64_t rankOfPart) {
    auto type = cast<RankedTensorType>(whole.getType());
    auto partType = RankedTensorType::get(type.getShape().take_back(rankOfPart),
                                          type.getElementType());
    PartRange range = partRange(whole, part);
    return tensor::ExtractSliceOp::create(b, loc, partType, whole,
                                          range.offsets, range.sizes,
                                          range.strides);
  }
  void insertPart(Value value, Value whole, Value part) {
    PartRange range = partRange(whole, part);
    tensor::ParallelInsertSliceOp::create(b, loc, value, whole, range.offsets,
                                          range.sizes, range.strides);
  }

  /// [T, heads]: the largest of `values` over the last of 3 loops (t, h,
  /// reduced), from -inf.
  Value largestOf(Value values, AffineMap valuesMap, AffineMap resultMap) {
    auto type = RankedTensorType::get({ShapedType::kDynamic, heads}, f32());
    return linalg::GenericOp::create(
               b, loc, type, ValueRange{values},
               ValueRange{
                   filled(emptyTensor(b, loc, type, tokens), kMinusInfinity)},
               ArrayRef<AffineMap>{valuesMap, resultMap}, iterators(2, 1),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 yieldValue(b, loc, arith::MaximumFOp::create(b, loc, args[0],
                                                              args[1]));
               })
        .getResult(0);
  }

  /// Rows [begin, end) in blocks, with the online-softmax update per block.
  SoftmaxState attendRows(Value begin, Value end, SoftmaxState initial) {
    auto scratchType = RankedTensorType::get(
        {ShapedType::kDynamic, heads, kBlockRows}, f32());
    Value scratch = emptyTensor(b, loc, scratchType, tokens);
    auto loop = scf::ForOp::create(
        b, loc, begin, end, index.constant(kBlockRows),
        ValueRange{initial.maxima, initial.sums, initial.weighted, scratch},
        [&](OpBuilder &, Location, Value row, ValueRange state) {
          Value rows = index.min(index.constant(kBlockRows),
                                 index.sub(end, row));
          SmallVector<Value> next = attendBlock(
              row, rows, SoftmaxState{state[0], state[1], state[2]}, state[3]);
          scf::YieldOp::create(b, loc, next);
        });
    return {loop.getResult(0), loop.getResult(1), loop.getResult(2)};
  }

  /// One block of `rows` cache rows from `row`: scores, the new maxima, the
  /// rescaled sums and weighted rows. Returns the next state and scratch.
  SmallVector<Value> attendBlock(Value row, Value rows, SoftmaxState state,
                                 Value scratch) {
    Value latents = readRows(b, loc, latentCache, row, rows);
    Value ropeKeys = readRows(b, loc, ropeCache, row, rows);
    auto scoreType = RankedTensorType::get(
        {ShapedType::kDynamic, heads, ShapedType::kDynamic}, f32());
    SmallVector<OpFoldResult> zeros(3, b.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes{tokens, b.getIndexAttr(heads), rows};
    Value scores = filled(tensor::ExtractSliceOp::create(
                              b, loc, scoreType, scratch, zeros, sizes, ones),
                          0.0);

    // s[t, h, j] = q_lat[t, h]·C[j] + q_rope[t, h]·R[j] over (t, j, h, k):
    // one cache row stays in L1 while every head reads it (heads inside
    // rows ran 2x slower, streaming the block from L2 once per head).
    SmallVector<AffineMap> scoreMaps{map(4, {0, 2, 3}), map(4, {1, 3}),
                                     map(4, {0, 2, 1})};
    scores = contraction(b, loc, scoreType, ValueRange{latentQuery, latents},
                         scores, scoreMaps, 3, 1);
    scores = contraction(b, loc, scoreType, ValueRange{ropeQuery, ropeKeys},
                         scores, scoreMaps, 3, 1);

    // Scaled, and -inf where row + j lies after the token's position.
    AffineMap identity3 = b.getMultiDimIdentityMap(3);
    scores =
        linalg::GenericOp::create(
            b, loc, scoreType, ValueRange{}, ValueRange{scores},
            ArrayRef<AffineMap>{identity3}, iterators(3),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value t = linalg::IndexOp::create(b, loc, 0);
              Value j = linalg::IndexOp::create(b, loc, 2);
              Value visible = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::ule,
                  arith::AddIOp::create(b, loc, row, j),
                  arith::AddIOp::create(b, loc, start, t));
              Value scaled = arith::MulFOp::create(
                  b, loc, args[0],
                  arith::ConstantOp::create(b, loc,
                                            b.getFloatAttr(f32(), scale)));
              yieldValue(b, loc,
                         arith::SelectOp::create(
                             b, loc, visible, scaled,
                             arith::ConstantOp::create(
                                 b, loc,
                                 b.getFloatAttr(f32(), kMinusInfinity))));
            })
            .getResult(0);

    // The block's maxima, then m' = max(m, block) and c = exp(m - m').
    auto scalarType =
        RankedTensorType::get({ShapedType::kDynamic, heads}, f32());
    AffineMap identity2 = b.getMultiDimIdentityMap(2);
    AffineMap perRow = map(3, {0, 1});
    Value blockMaxima = largestOf(scores, identity3, perRow);
    // The maxima update in place: a loop-carried value stays one buffer.
    auto update = linalg::GenericOp::create(
        b, loc, TypeRange{scalarType, scalarType}, ValueRange{blockMaxima},
        ValueRange{state.maxima, emptyTensor(b, loc, scalarType, tokens)},
        ArrayRef<AffineMap>{identity2, identity2, identity2}, iterators(2),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value maxima = arith::MaximumFOp::create(b, loc, args[1], args[0]);
          linalg::YieldOp::create(
              b, loc,
              ValueRange{maxima, shiftedExp(b, loc, args[1], maxima)});
        });
    Value maxima = update.getResult(0), correction = update.getResult(1);

    // p = exp(s - m'), in place of the scores.
    Value weights =
        linalg::GenericOp::create(
            b, loc, scoreType, ValueRange{maxima}, ValueRange{scores},
            ArrayRef<AffineMap>{perRow, identity3}, iterators(3),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              yieldValue(b, loc, shiftedExp(b, loc, args[1], args[0]));
            })
            .getResult(0);

    // l' = l·c + Σ_j p and o' = o·c + Σ_j p · C[j].
    auto rescale = [&](Value accumulator, AffineMap accumulatorMap,
                       unsigned loops) {
      auto type = cast<RankedTensorType>(accumulator.getType());
      return linalg::GenericOp::create(
                 b, loc, type, ValueRange{correction}, ValueRange{accumulator},
                 ArrayRef<AffineMap>{map(loops, {0, 1}), accumulatorMap},
                 iterators(loops),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   yieldValue(b, loc,
                              arith::MulFOp::create(b, loc, args[0], args[1]));
                 })
          .getResult(0);
    };
    Value sums =
        linalg::GenericOp::create(
            b, loc, scalarType, ValueRange{weights},
            ValueRange{rescale(state.sums, identity2, 2)},
            ArrayRef<AffineMap>{identity3, perRow}, iterators(2, 1),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              yieldValue(b, loc,
                         arith::AddFOp::create(b, loc, args[0], args[1]));
            })
            .getResult(0);
    // Over (t, j, h, r): a cache row in L1 for every head, its contiguous
    // axis innermost.
    using utils::IteratorType;
    Value weighted = contraction(
        b, loc, cast<RankedTensorType>(state.weighted.getType()),
        ValueRange{weights, latents},
        rescale(state.weighted, b.getMultiDimIdentityMap(3), 3),
        {map(4, {0, 2, 1}), map(4, {1, 3}), map(4, {0, 2, 3})},
        {IteratorType::parallel, IteratorType::reduction,
         IteratorType::parallel, IteratorType::parallel});

    Value nextScratch = tensor::InsertSliceOp::create(b, loc, weights, scratch,
                                                      zeros, sizes, ones);
    return {maxima, sums, weighted, nextScratch};
  }

  /// m = max over parts, then Σ exp(m_p - m)·o_p / Σ exp(m_p - m)·l_p. Part
  /// 0 always sees row 0, so m is finite and empty parts weigh 0.
  Value combine(Value partMaxima, Value partSums, Value partWeighted) {
    auto scalarType =
        RankedTensorType::get({ShapedType::kDynamic, heads}, f32());
    auto rowType =
        RankedTensorType::get({ShapedType::kDynamic, heads, rank}, f32());
    // Loops (t, h, p) and (t, h, p, r).
    AffineMap partScalar = map(3, {2, 0, 1}), perToken = map(3, {0, 1});
    Value largest = largestOf(partMaxima, partScalar, perToken);
    auto weightedSum = [&](Value partValues, AffineMap valueMap,
                           AffineMap outputMap, RankedTensorType type,
                           ArrayRef<utils::IteratorType> loops) {
      unsigned dims = loops.size();
      return linalg::GenericOp::create(
                 b, loc, type, ValueRange{partMaxima, largest, partValues},
                 ValueRange{filled(emptyTensor(b, loc, type, tokens), 0.0)},
                 ArrayRef<AffineMap>{map(dims, {2, 0, 1}), map(dims, {0, 1}),
                                     valueMap, outputMap},
                 loops,
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   Value weight = math::ExpOp::create(
                       b, loc, arith::SubFOp::create(b, loc, args[0], args[1]));
                   Value product =
                       arith::MulFOp::create(b, loc, weight, args[2]);
                   yieldValue(b, loc,
                              arith::AddFOp::create(b, loc, args[3], product));
                 })
          .getResult(0);
    };
    Value sums = weightedSum(partSums, partScalar, perToken, scalarType,
                             iterators(2, 1));
    Value weighted = weightedSum(partWeighted, map(4, {2, 0, 1, 3}),
                                 map(4, {0, 1, 3}), rowType, rowSumLoops());
    AffineMap identity3 = b.getMultiDimIdentityMap(3);
    return linalg::GenericOp::create(
               b, loc, rowType, ValueRange{sums}, ValueRange{weighted},
               ArrayRef<AffineMap>{perToken, identity3}, iterators(3),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 yieldValue(b, loc,
                            arith::DivFOp::create(b, loc, args[1], args[0]));
               })
        .getResult(0);
  }

  OpBuilder &b;
  Location loc;
  IndexMath index;
  Value latentQuery, ropeQuery, latentCache, ropeCache;
  Value start, tokens, length;
  double scale;
  int64_t heads = 0, rank = 0;
};

struct LatentAttentionPattern final : OpRewritePattern<ds::LatentAttentionOp> {
  LatentAttentionPattern(MLIRContext *context,
                         const jikji::LoweringOptions &options)
      : OpRewritePattern(context), options(options) {}
  jikji::LoweringOptions options;
  LogicalResult matchAndRewrite(ds::LatentAttentionOp op,
                                PatternRewriter &rewriter) const override {
    // A batched step: on the CPU one of these per slot first
    // (SlotLoops.cpp); in the portable (GPU) form kernels over every slot
    // at once, below.
    Value positions = op.getPositions();
    if (positions && options.cpuKernels)
      return rewriter.notifyMatchFailure(op, "batched decode step");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type();
    Value start = op.getStart();
    Value tokens = tensor::DimOp::create(b, loc, op.getQueryNope(), 0);
    RankedTensorType queryNopeType = op.getQueryNope().getType();
    int64_t heads = queryNopeType.getDimSize(1);
    int64_t nopeDim = queryNopeType.getDimSize(2);
    int64_t rank = op.getLatent().getType().getDimSize(1);
    int64_t valueDim = op.getOutput().getType().getDimSize(2);
    int64_t rowsPerHead = nopeDim + valueDim;
    double scale = op.getScale().convertToDouble();

    Value latentCache, ropeCache, length;
    if (positions) {
      latentCache =
          writeSlotRows(b, loc, op.getLatent(), op.getLatentCache(), positions);
      ropeCache =
          writeSlotRows(b, loc, op.getKeyRope(), op.getRopeCache(), positions);
    } else {
      latentCache =
          writeRows(b, loc, op.getLatent(), op.getLatentCache(), start, tokens);
      ropeCache =
          writeRows(b, loc, op.getKeyRope(), op.getRopeCache(), start, tokens);
      length = arith::AddIOp::create(b, loc, start, tokens);
    }

    AffineExpr d0 = getAffineDimExpr(0, context),
               d1 = getAffineDimExpr(1, context),
               d2 = getAffineDimExpr(2, context),
               d3 = getAffineDimExpr(3, context);
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(4, 0, results, context);
    };
    // Row `h * (dn + dv) + offset + k` of kv_b_proj, column `r`; FP8 blocks
    // are scaled by the block holding that element.
    Value up = op.getUp();
    Value upScales = op.getUpScales();
    auto upInputs = [&](Value lhs, AffineExpr row, AffineExpr column,
                        AffineMap lhsMap, AffineMap outMap) {
      SmallVector<Value> inputs{lhs, up};
      SmallVector<AffineMap> maps{lhsMap, map({row, column})};
      if (upScales) {
        ArrayRef<int64_t> block = *op.getBlockSize();
        inputs.push_back(upScales);
        maps.push_back(
            map({row.floorDiv(block[0]), column.floorDiv(block[1])}));
      }
      maps.push_back(outMap);
      return std::make_pair(inputs, maps);
    };

    // Which form is cheaper depends on T and S (docs/dialect/rationale.md):
    // absorbed costs T·S·(2·rkv + dr) + T·rkv·(dn + dv) multiply-adds per
    // head, expanding the cache S·rkv·(dn + dv) + T·S·(dn + dr + dv). Decode
    // (T = 1) always takes the absorbed form; long prefills the expanded one.
    int64_t dyn = ShapedType::kDynamic;
    // FP8 blocks whose columns divide the rank: the rank axis r splits into
    // (rb, ri), ri innermost, so that the block's scale is invariant in the
    // innermost loop, which LLVM vectorizes; with the scale at r / 128
    // inside it, it stayed scalar (5% of a bench-v3-fp8 decode step).
    int64_t rankBlock = upScales ? (*op.getBlockSize())[1] : 0;
    bool splitRank = upScales && rank % rankBlock == 0;
    AffineExpr d4 = getAffineDimExpr(4, context);
    auto map5 = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(5, 0, results, context);
    };
    // [..., rank] as [..., rank / rankBlock, rankBlock], and back.
    auto rankBlocks = [&](Value value) -> Value {
      auto type = cast<RankedTensorType>(value.getType());
      SmallVector<int64_t> shape(type.getShape().drop_back());
      shape.append({rank / rankBlock, rankBlock});
      SmallVector<OpFoldResult> sizes;
      for (int64_t dim = 0; dim + 1 < type.getRank(); ++dim)
        sizes.push_back(tensor::getMixedSize(b, loc, value, dim));
      sizes.append({b.getIndexAttr(rank / rankBlock), b.getIndexAttr(rankBlock)});
      SmallVector<ReassociationIndices> groups;
      for (int64_t dim = 0; dim + 1 < type.getRank(); ++dim)
        groups.push_back({dim});
      groups.push_back({type.getRank() - 1, type.getRank()});
      return tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(shape, type.getElementType()), value,
          groups, sizes);
    };
    auto wholeRank = [&](Value value) -> Value {
      return tensor::CollapseShapeOp::create(
          b, loc, value,
          SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    };
    auto blockScaleMap = [&](AffineExpr row) {
      return map5({row.floorDiv((*op.getBlockSize())[0]), d3});
    };

    // The products with kv_b_proj read megabytes of weights (4 MB per
    // layer in BF16 for V2-Lite): worth their threads, which share the
    // loops outside the first reduction (the tokens and heads).
    auto threaded = [&](Value product) {
      product.getDefiningOp()->setAttr(jikji::kParallelLoopsAttrName,
                                       b.getUnitAttr());
      return product;
    };
    auto absorbed = [&](OpBuilder &, Location) -> Value {
      // q_lat[t, h, r] = Σ_k q_nope[t, h, k] · W_UK[h][k, r] over (t, h, k, r):
      // W_UK's rows are contiguous in r (k innermost gathered a strided
      // column, 15% of a decode step's attention).
      auto latentQueryType = RankedTensorType::get({dyn, heads, rank}, f32);
      Value latentQuery;
      if (splitRank) {
        // Over (t, h, k, rb, ri).
        auto blockedType = RankedTensorType::get(
            {dyn, heads, rank / rankBlock, rankBlock}, f32);
        latentQuery = wholeRank(threaded(contraction(
            b, loc, blockedType,
            ValueRange{op.getQueryNope(), rankBlocks(up), upScales},
            filledTensor(b, loc, blockedType, tokens, 0.0),
            {map5({d0, d1, d2}), map5({d1 * rowsPerHead + d2, d3, d4}),
             blockScaleMap(d1 * rowsPerHead + d2), map5({d0, d1, d3, d4})},
            {utils::IteratorType::parallel, utils::IteratorType::parallel,
             utils::IteratorType::reduction, utils::IteratorType::parallel,
             utils::IteratorType::parallel})));
      } else {
        auto [qInputs, qMaps] =
            upInputs(op.getQueryNope(), d1 * rowsPerHead + d2, d3,
                     map({d0, d1, d2}), map({d0, d1, d3}));
        latentQuery = threaded(contraction(
            b, loc, latentQueryType, qInputs,
            filledTensor(b, loc, latentQueryType, tokens, 0.0), qMaps,
            rowSumLoops()));
      }

      auto blocked = [&]() {
        return BlockedLatentAttention(b, loc, latentQuery, op.getQueryRope(),
                                      latentCache, ropeCache, start, tokens,
                                      length, scale)
            .build();
      };
      // The portable (GPU) form of a decode step: a fixed number of kernels
      // split over the cache length, where the blocked form's host loop
      // runs a dozen kernels per block of rows (LatentFlashDecoding.cpp).
      Value weightedLatent;
      if (positions) {
        // One query per slot, each over its own slot's rows: the same five
        // kernels with the slots in their grids.
        weightedLatent = batchedLatentFlashDecoding(
            b, loc, latentQuery, op.getQueryRope(), latentCache, ropeCache,
            positions, tokens, scale);
      } else if (options.cpuKernels) {
        weightedLatent = blocked();
      } else {
        Value fewTokens = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ule, tokens,
            arith::ConstantIndexOp::create(b, loc, kFlashDecodingMaxTokens));
        weightedLatent =
            scf::IfOp::create(
                b, loc, fewTokens,
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(
                      b, loc,
                      ValueRange{latentFlashDecoding(
                          b, loc, latentQuery, op.getQueryRope(), latentCache,
                          ropeCache, start, tokens, length, scale)});
                },
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(b, loc, ValueRange{blocked()});
                })
                .getResult(0);
      }

      // output[t, h, d] = Σ_r o_lat[t, h, r] · W_UV[h][d, r] over (t, h, d, r).
      RankedTensorType outputType = op.getOutput().getType();
      Value zeros = filledTensor(b, loc, outputType, tokens, 0.0);
      if (splitRank) {
        // Over (t, h, d, rb, ri).
        AffineExpr row = d1 * rowsPerHead + nopeDim + d2;
        return threaded(contraction(
            b, loc, outputType,
            ValueRange{rankBlocks(weightedLatent), rankBlocks(up), upScales},
            zeros,
            {map5({d0, d1, d3, d4}), map5({row, d3, d4}), blockScaleMap(row),
             map5({d0, d1, d2})},
            3, 2));
      }
      auto [oInputs, oMaps] =
          upInputs(weightedLatent, d1 * rowsPerHead + nopeDim + d2, d3,
                   map({d0, d1, d3}), map({d0, d1, d2}));
      return threaded(
          contraction(b, loc, outputType, oInputs, zeros, oMaps, 3, 1));
    };
    auto expanded = [&](OpBuilder &, Location) -> Value {
      // K_nope[s, h] = W_UK[h] · C[s] and V[s, h] = W_UV[h] · C[s] for every
      // cache row: kv_b_proj as the linear layer it is, which its lowering
      // gives the product kernels (the FP8 ones included), then split per
      // head into keys and values; then attention as written.
      Value latents =
          readRows(b, loc, latentCache, b.getIndexAttr(0), length);
      Value ropeKeys = readRows(b, loc, ropeCache, b.getIndexAttr(0), length);
      Value keyValue = ds::LinearOp::create(
          b, loc, RankedTensorType::get({dyn, heads * rowsPerHead}, f32),
          latents, up, upScales, op.getBlockSizeAttr());
      Value perHead = ds::ViewOp::create(
          b, loc, RankedTensorType::get({dyn, heads, rowsPerHead}, f32),
          keyValue);
      auto split = ds::SplitOp::create(
          b, loc,
          TypeRange{RankedTensorType::get({dyn, heads, nopeDim}, f32),
                    RankedTensorType::get({dyn, heads, valueDim}, f32)},
          perHead, b.getDenseI64ArrayAttr({nopeDim, valueDim}));
      return expandedAttention(
          b, loc, HeadVectors{op.getQueryNope(), op.getQueryRope()},
          HeadVectors{split.getResult(0), ropeKeys}, split.getResult(1), start,
          tokens, length, scale, op.getOutput().getType(), options.cpuKernels);
    };
    // A batched step is one token per sequence, where the absorbed form
    // always costs less (by the counts below at T = 1).
    if (positions) {
      rewriter.replaceOp(op, {absorbed(b, loc), latentCache, ropeCache});
      return success();
    }
    auto cost = [&](Value a, int64_t factor, Value c) {
      Value product = arith::MulIOp::create(b, loc, a, c);
      return arith::MulIOp::create(
          b, loc, product, arith::ConstantIndexOp::create(b, loc, factor));
    };
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    int64_t ropeDim = op.getQueryRope().getType().getDimSize(2);
    Value absorbedCost =
        arith::AddIOp::create(b, loc, cost(tokens, 2 * rank + ropeDim, length),
                              cost(tokens, rank * rowsPerHead, one));
    Value expandedCost = arith::AddIOp::create(
        b, loc, cost(length, rank * rowsPerHead, one),
        cost(tokens, nopeDim + ropeDim + valueDim, length));
    Value expandCheaper = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ult, expandedCost, absorbedCost);
    auto choice = scf::IfOp::create(
        b, loc, expandCheaper,
        [&](OpBuilder &b, Location loc) {
          scf::YieldOp::create(b, loc, ValueRange{expanded(b, loc)});
        },
        [&](OpBuilder &b, Location loc) {
          scf::YieldOp::create(b, loc, ValueRange{absorbed(b, loc)});
        });
    rewriter.replaceOp(op, {choice.getResult(0), latentCache, ropeCache});
    return success();
  }
};

} // namespace

void jikji::populateLatentAttentionToLinalgPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  patterns.add<LatentAttentionPattern>(patterns.getContext(), options);
}
