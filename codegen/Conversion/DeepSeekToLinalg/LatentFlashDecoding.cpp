//===- LatentFlashDecoding.cpp - latent attention for few query tokens ----===//
//
// Part of Jikji. The absorbed latent attention of a decode step in the
// portable (GPU) form: five linalg ops, so five kernels whatever the cache
// length, where the blocked form (LatentAttentionToLinalg.cpp) loops over
// cache blocks on the host with a dozen kernels per block. The cache
// length is split into parts that run side by side and a last step
// combines them (flash-decoding). Each op is one thread per element of its
// parallel space with its reduction a loop inside the thread, so the
// kernels need no barrier, no shared memory and no warp shuffle.
//
//  1. scores[t, j, h] = scale · (q_lat[t, h]·C[j] + q_rope[t, h]·R[j]);
//  2. per split s: the online softmax of its scores, max m[t, s, h] and
//     sum l[t, s, h] = Σ exp(score - m) in one pass (running max, running
//     sum rescaled when the max grows);
//  3. weights[t, j, h] = exp(score - m[t, j / rows, h]), in place of the
//     scores; 0 past the token's position;
//  4. o[t, s, h, c] = Σ_j∈s weights[t, j, h] · C[j, c], one thread per
//     latent channel c;
//  5. out[t, h, c] = Σ_s exp(m_s - M) · o_s / Σ_s exp(m_s - M) · l_s, with
//     M the largest m_s.
//
// Why the scores are materialized rather than recomputed per channel chunk,
// with DeepSeek-V3's numbers (128 heads, latent 512 + rope 64, a cache of
// 4096 rows): a score is a 576-long dot product, the weighted sum 512
// multiply-adds per row and head. Recomputed by each of k chunks of
// channels, a row costs k·576 + 512 multiply-adds instead of 1088 (k = 16
// chunks of 32 channels: 9x), and the step is compute-bound already: 1088
// multiply-adds per head and row against 576 float32 read once for 128
// heads is 121 FLOP per byte, where an H200 balances at about 14. The
// materialized scores are 128 x 4096 x 4 B = 2 MiB per sequence and layer,
// written once and read three times (L2-resident), next to the 9.4 MB of
// cache. Once the scores exist, the split's maximum is known before its
// rows are summed (step 2 reads scores only), so the weighted rows need no
// rescaling: step 4 is a plain product with one accumulator per thread,
// and its threads of one (t, s, h) read a cache row together (coalesced)
// and one weight (a broadcast). The exponentials are one per score
// (step 3), not one per score and channel.
//
// A batched decode step (one token per slot, each at positions[t] of its
// own slot of the caches) is the same five ops with t the slot: every
// kernel's grid covers the slots, and each thread reads its slot's
// position, so the host reads nothing. The rows are the capacity's, the
// same for every slot; a slot's splits past its position are empty.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/AttentionBuilders.h"
#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace jikji::lowering;
namespace lowering = jikji::lowering;

namespace {

/// Threads aimed for in step 4, the widest kernel: about two waves of a
/// 132-SM GPU at 2048 resident threads per SM (270,336), so that every SM
/// stays busy while the last blocks finish. Splits multiply step 4's
/// threads (tokens x heads x rank per split).
constexpr int64_t kTargetThreads = int64_t(1) << 19;
/// At most one split per this many rows (rounded up), so that a thread's
/// pass over its split (steps 2 and 4) is long next to the combine's loop
/// over splits; and at most kMaxSplits splits, which bounds the partial
/// rows (tokens x splits x heads x rank floats) and the combine's loops.
constexpr int64_t kMinSplitRows = 256;
constexpr int64_t kMaxSplits = 64;

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

/// The five steps above for one call: `latentQuery` [T, heads, rank] and
/// `ropeQuery` [T, heads, dr] over rows [0, length) of `latentCache`
/// [C, rank] and `ropeCache` [C, dr], token t seeing rows up to start + t;
/// or, for a batched decode step (`positions` given), over rows
/// [0, capacity) of slot t of `latentCache` [T, C, rank] and `ropeCache`
/// [T, C, dr], token t seeing rows up to positions[t]. Every kernel's grid
/// then covers the slots; what a slot sees is read on the device.
class LatentFlashDecoding {
public:
  LatentFlashDecoding(OpBuilder &b, Location loc, Value latentQuery,
                      Value ropeQuery, Value latentCache, Value ropeCache,
                      Value start, Value positions, Value tokens, Value length,
                      double scale)
      : b(b), loc(loc), latentQuery(latentQuery), ropeQuery(ropeQuery),
        latentCache(latentCache), ropeCache(ropeCache), start(start),
        positions(positions), tokens(tokens), length(length), scale(scale) {
    auto queryType = cast<RankedTensorType>(latentQuery.getType());
    heads = queryType.getDimSize(1);
    rank = queryType.getDimSize(2);
    ropeDim = cast<RankedTensorType>(ropeQuery.getType()).getDimSize(2);
  }

  Value build() {
    // splits = clamp(ceil(kTargetThreads / (T·heads·rank)), 1,
    //                min(ceil(length / kMinSplitRows), kMaxSplits)).
    Value wanted =
        ceilDiv(b, index(kTargetThreads), mul(b, tokens, index(heads * rank)));
    Value byRows = ceilDiv(b, length, index(kMinSplitRows));
    Value splits = arith::MaxUIOp::create(
        b, loc, index(1),
        arith::MinUIOp::create(b, loc,
                               arith::MinUIOp::create(b, loc, wanted, byRows),
                               index(kMaxSplits)));
    Value rows = ceilDiv(b, length, splits);

    // Each step's ops carry the step's name on their location, so that its
    // kernel is named after it (jikji-name-kernels:
    // `moe_layer_latent_attention_scores`).
    Location opLoc = loc;
    auto step = [&](StringRef name) {
      loc = NameLoc::get(
          b.getStringAttr("deepseek.latent_attention." + name), opLoc);
    };
    step("scores");
    Value scores = scoresOf();
    step("split_softmax");
    auto [maxima, sums] = splitSoftmax(scores, splits, rows);
    step("weights");
    Value weights = weightsOf(scores, maxima, rows);
    step("split_rows");
    Value partial = splitWeightedRows(weights, splits, rows);
    step("combine");
    Value result = combine(maxima, sums, partial, splits);
    loc = opLoc;
    return result;
  }

private:
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  static Value mul(OpBuilder &b, Value x, Value y) {
    return arith::MulIOp::create(b, x.getLoc(), x, y);
  }
  static Value ceilDiv(OpBuilder &b, Value x, Value y) {
    return arith::CeilDivUIOp::create(b, x.getLoc(), x, y);
  }
  static Value f32(OpBuilder &b, Location loc, double value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }
  /// x·y + acc, which LLVM turns into one FMA.
  static Value multiplyAdd(OpBuilder &b, Location loc, Value x, Value y,
                           Value acc) {
    Value product = arith::MulFOp::create(b, loc, x, y, contract(b));
    return arith::AddFOp::create(b, loc, acc, product, contract(b));
  }
  /// Element `where` of `tensor`, as float32.
  static Value read(OpBuilder &b, Location loc, Value tensor,
                    ValueRange where) {
    return widenToF32(b, loc, tensor::ExtractOp::create(b, loc, tensor, where));
  }
  /// The last row token `t` sees: start + t, or positions[t] in a batched
  /// step (read by the thread, so the host never reads the positions).
  Value lastVisible(OpBuilder &b, Location loc, Value t) {
    if (!positions)
      return arith::AddIOp::create(b, loc, start, t);
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, positions, ValueRange{t}));
  }
  /// Element (j, k) of token t's cache: its slot's in a batched step.
  Value cacheElement(OpBuilder &b, Location loc, Value cache, Value t, Value j,
                     Value k) {
    if (!positions)
      return read(b, loc, cache, ValueRange{j, k});
    return read(b, loc, cache, ValueRange{t, j, k});
  }
  /// The rows of split `split` that token `t` sees: [split·rows,
  /// min((split + 1)·rows, last visible + 1)), empty when the first lies
  /// past the second.
  std::pair<Value, Value> splitRange(OpBuilder &b, Location loc, Value split,
                                     Value rows, Value t) {
    Value begin = mul(b, split, rows);
    Value seen =
        arith::AddIOp::create(b, loc, lastVisible(b, loc, t),
                              arith::ConstantIndexOp::create(b, loc, 1));
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, rows), seen);
    return {begin, arith::MaxUIOp::create(b, loc, begin, end)};
  }
  /// A loop over [begin, end) carrying `initial`.
  static scf::ForOp loop(
      OpBuilder &b, Location loc, Value begin, Value end, ValueRange initial,
      function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)>
          body) {
    return scf::ForOp::create(
        b, loc, begin, end, arith::ConstantIndexOp::create(b, loc, 1), initial,
        [&](OpBuilder &b, Location loc, Value i, ValueRange carried) {
          scf::YieldOp::create(b, loc, body(b, loc, i, carried));
        });
  }

  /// A linalg.generic whose every loop is parallel and whose outputs
  /// `outs` are indexed by all of them in order; `body` gets the loop
  /// indices and the outputs' current elements and returns the new ones.
  SmallVector<Value>
  perElement(ValueRange outs,
             function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange,
                                             ValueRange)>
                 body) {
    auto type = cast<RankedTensorType>(outs.front().getType());
    unsigned loops = type.getRank();
    SmallVector<AffineMap> maps(outs.size(), b.getMultiDimIdentityMap(loops));
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange(outs), ValueRange{}, outs, maps, iterators(loops),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          SmallVector<Value> indices;
          for (unsigned dim = 0; dim < loops; ++dim)
            indices.push_back(linalg::IndexOp::create(b, loc, dim));
          linalg::YieldOp::create(b, loc, body(b, loc, indices, args));
        });
    return SmallVector<Value>(generic.getResults());
  }

  /// Step 1, [T, length, heads]: heads innermost, so the threads of a warp
  /// read one cache row together. In a batched step the rows are the
  /// capacity's, and a thread past its slot's position skips its dot
  /// products (steps 2 to 4 never read its score as more than a 0 weight).
  Value scoresOf() {
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, heads}, b.getF32Type());
    Value empty = emptyTensor(b, loc, type, ValueRange{tokens, length});
    return perElement(empty, [&](OpBuilder &b, Location loc, ValueRange at,
                                 ValueRange) {
      Value t = at[0], j = at[1], h = at[2];
      auto dot = [&](Value query, Value cache, int64_t width, Value acc) {
        return loop(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                    arith::ConstantIndexOp::create(b, loc, width), acc,
                    [&](OpBuilder &b, Location loc, Value k,
                        ValueRange carried) -> SmallVector<Value> {
                      return {multiplyAdd(
                          b, loc, read(b, loc, query, ValueRange{t, h, k}),
                          cacheElement(b, loc, cache, t, j, k), carried[0])};
                    })
            .getResult(0);
      };
      auto scaledScore = [&]() -> Value {
        Value score = dot(latentQuery, latentCache, rank, f32(b, loc, 0.0));
        score = dot(ropeQuery, ropeCache, ropeDim, score);
        return arith::MulFOp::create(b, loc, score, f32(b, loc, scale));
      };
      if (!positions)
        return SmallVector<Value>{scaledScore()};
      Value visible = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                            j, lastVisible(b, loc, t));
      return SmallVector<Value>(
          scf::IfOp::create(
              b, loc, visible,
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, scaledScore());
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, f32(b, loc, 0.0));
              })
              .getResults());
    })[0];
  }

  /// Step 2: per split, the largest visible score and Σ exp(score - max),
  /// [T, splits, heads] each, in one pass: m' = max(m, p) and
  /// l' = l·exp(m - m') + exp(p - m'), from m = -inf and l = 0 (the first
  /// row gives l = 1). A split the token sees nothing of keeps -inf and 0.
  std::pair<Value, Value> splitSoftmax(Value scores, Value splits, Value rows) {
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, heads}, b.getF32Type());
    Value maxima = emptyTensor(b, loc, type, ValueRange{tokens, splits});
    Value sums = emptyTensor(b, loc, type, ValueRange{tokens, splits});
    SmallVector<Value> results =
        perElement({maxima, sums}, [&](OpBuilder &b, Location loc,
                                       ValueRange at, ValueRange) {
          Value t = at[0], s = at[1], h = at[2];
          auto [begin, end] = splitRange(b, loc, s, rows, t);
          auto pass =
              loop(b, loc, begin, end,
                   ValueRange{f32(b, loc, kMinusInfinity), f32(b, loc, 0.0)},
                   [&](OpBuilder &b, Location loc, Value j,
                       ValueRange carried) -> SmallVector<Value> {
                     Value score = tensor::ExtractOp::create(
                         b, loc, scores, ValueRange{t, j, h});
                     Value largest =
                         arith::MaximumFOp::create(b, loc, carried[0], score);
                     auto shifted = [&](Value x) -> Value {
                       return math::ExpOp::create(
                           b, loc, arith::SubFOp::create(b, loc, x, largest));
                     };
                     return {largest,
                             multiplyAdd(b, loc, carried[1],
                                         shifted(carried[0]), shifted(score))};
                   });
          return SmallVector<Value>(pass.getResults());
        });
    return {results[0], results[1]};
  }

  /// Step 3: exp(score - its split's max) in place, 0 where the token does
  /// not see the row (there the split's max may be -inf).
  Value weightsOf(Value scores, Value maxima, Value rows) {
    return perElement(scores, [&](OpBuilder &b, Location loc, ValueRange at,
                                  ValueRange current) {
      Value t = at[0], j = at[1], h = at[2];
      Value split = arith::DivUIOp::create(b, loc, j, rows);
      Value largest =
          tensor::ExtractOp::create(b, loc, maxima, ValueRange{t, split, h});
      Value visible = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                            j, lastVisible(b, loc, t));
      Value weight = math::ExpOp::create(
          b, loc, arith::SubFOp::create(b, loc, current[0], largest));
      return SmallVector<Value>{
          arith::SelectOp::create(b, loc, visible, weight, f32(b, loc, 0.0))};
    })[0];
  }

  /// Step 4, [T, splits, heads, rank]: each split's weighted latent rows,
  /// one thread per channel, the channels innermost.
  Value splitWeightedRows(Value weights, Value splits, Value rows) {
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, heads, rank},
        b.getF32Type());
    Value empty = emptyTensor(b, loc, type, ValueRange{tokens, splits});
    return perElement(empty, [&](OpBuilder &b, Location loc, ValueRange at,
                                 ValueRange) {
      Value t = at[0], s = at[1], h = at[2], c = at[3];
      auto [begin, end] = splitRange(b, loc, s, rows, t);
      return SmallVector<Value>(
          loop(b, loc, begin, end, ValueRange{f32(b, loc, 0.0)},
               [&](OpBuilder &b, Location loc, Value j,
                   ValueRange carried) -> SmallVector<Value> {
                 Value weight = tensor::ExtractOp::create(b, loc, weights,
                                                          ValueRange{t, j, h});
                 return {multiplyAdd(b, loc, weight,
                                     cacheElement(b, loc, latentCache, t, j, c),
                                     carried[0])};
               })
              .getResults());
    })[0];
  }

  /// Step 5, [T, heads, rank]: M = max_s m_s, then
  /// Σ_s exp(m_s - M)·o_s / Σ_s exp(m_s - M)·l_s. Split 0 holds row 0,
  /// which every token sees, so M is finite and a split the token sees
  /// nothing of (m_s = -inf) weighs 0.
  Value combine(Value maxima, Value sums, Value partial, Value splits) {
    auto type = RankedTensorType::get({ShapedType::kDynamic, heads, rank},
                                      b.getF32Type());
    Value empty = emptyTensor(b, loc, type, ValueRange{tokens});
    return perElement(empty, [&](OpBuilder &b, Location loc, ValueRange at,
                                 ValueRange) {
      Value t = at[0], h = at[1], c = at[2];
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value largest =
          loop(b, loc, zero, splits, ValueRange{f32(b, loc, kMinusInfinity)},
               [&](OpBuilder &b, Location loc, Value s,
                   ValueRange carried) -> SmallVector<Value> {
                 return {arith::MaximumFOp::create(
                     b, loc, carried[0],
                     tensor::ExtractOp::create(b, loc, maxima,
                                               ValueRange{t, s, h}))};
               })
              .getResult(0);
      auto totals = loop(
          b, loc, zero, splits, ValueRange{f32(b, loc, 0.0), f32(b, loc, 0.0)},
          [&](OpBuilder &b, Location loc, Value s,
              ValueRange carried) -> SmallVector<Value> {
            Value factor = math::ExpOp::create(
                b, loc,
                arith::SubFOp::create(b, loc,
                                      tensor::ExtractOp::create(
                                          b, loc, maxima, ValueRange{t, s, h}),
                                      largest));
            return {multiplyAdd(b, loc, factor,
                                tensor::ExtractOp::create(b, loc, sums,
                                                          ValueRange{t, s, h}),
                                carried[0]),
                    multiplyAdd(b, loc, factor,
                                tensor::ExtractOp::create(b, loc, partial,
                                                          {t, s, h, c}),
                                carried[1])};
          });
      return SmallVector<Value>{arith::DivFOp::create(
          b, loc, totals.getResult(1), totals.getResult(0))};
    })[0];
  }

  OpBuilder &b;
  Location loc;
  Value latentQuery, ropeQuery, latentCache, ropeCache;
  Value start, positions, tokens, length;
  double scale;
  int64_t heads = 0, rank = 0, ropeDim = 0;
};

} // namespace

Value lowering::latentFlashDecoding(OpBuilder &b, Location loc,
                                    Value latentQuery, Value ropeQuery,
                                    Value latentCache, Value ropeCache,
                                    Value start, Value tokens, Value length,
                                    double scale) {
  return LatentFlashDecoding(b, loc, latentQuery, ropeQuery, latentCache,
                             ropeCache, start, /*positions=*/Value(), tokens,
                             length, scale)
      .build();
}

Value lowering::batchedLatentFlashDecoding(OpBuilder &b, Location loc,
                                           Value latentQuery, Value ropeQuery,
                                           Value latentCache, Value ropeCache,
                                           Value positions, Value slots,
                                           double scale) {
  Value capacity = tensor::DimOp::create(b, loc, latentCache, 1);
  return LatentFlashDecoding(b, loc, latentQuery, ropeQuery, latentCache,
                             ropeCache, /*start=*/Value(), positions, slots,
                             capacity, scale)
      .build();
}
