//===- SlotLoops.cpp - A batched decode step, one slot at a time ----------===//
//
// Part of Jikji. In a batched decode step (attention with `positions`) every
// token is the only new token of its own sequence, over its own slot of the
// caches. The per-sequence lowerings already serve one token well (the
// latent attention splits a long cache into parts), so the batched form
// becomes a parallel loop over the slots, each running the per-sequence op
// at its slot's position; the conversion then lowers those as usual. What
// a batched step saves is in the products around the attention, which read
// each weight once for every slot.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
namespace ds = jikji::deepseek;

namespace {

/// `type` with a dynamic leading axis: one token's rows keep the graph's
/// token axis dynamic, as the per-sequence ops expect.
RankedTensorType withDynamicTokens(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape.front() = ShapedType::kDynamic;
  return RankedTensorType::get(shape, type.getElementType());
}

/// Reads and writes slot `slot` of a batched step's operands.
class SlotAccess {
public:
  SlotAccess(OpBuilder &b, Location loc, Value slot)
      : b(b), loc(loc), slot(slot),
        one(arith::ConstantIndexOp::create(b, loc, 1)) {}

  /// Row `slot` of a per-token operand [T, ...], as a one-token [?, ...].
  Value row(Value tokens) {
    auto type = cast<RankedTensorType>(tokens.getType());
    auto [offsets, sizes, strides] = rowPlace(tokens);
    return tensor::ExtractSliceOp::create(b, loc, withDynamicTokens(type),
                                          tokens, offsets, sizes, strides);
  }

  /// Slot `slot` of a cache [slots, capacity, ...], as [capacity, ...].
  Value slotOf(Value cache) {
    auto type = cast<RankedTensorType>(cache.getType());
    auto [offsets, sizes, strides] = slotPlace(cache);
    return tensor::ExtractSliceOp::create(
        b, loc,
        RankedTensorType::get(type.getShape().drop_front(),
                              type.getElementType()),
        cache, offsets, sizes, strides);
  }

  /// Writes `value` back as row `slot` of `tokens`, a shared output of
  /// the loop whose terminator is `writes`.
  void writeRow(scf::InParallelOp writes, Value value, Value tokens) {
    write(writes, value, tokens, rowPlace(writes, tokens));
  }

  /// Writes `value` back as slot `slot` of `cache`, a shared output.
  void writeSlot(scf::InParallelOp writes, Value value, Value cache) {
    write(writes, value, cache, slotPlace(writes, cache));
  }

private:
  using Place = std::tuple<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>,
                           SmallVector<OpFoldResult>>;

  /// [slot, 0, ...] [1, whole...]; the one is a value so that the slice
  /// keeps a dynamic token axis.
  Place rowPlace(Value tokens) {
    Place place = slotPlace(tokens);
    std::get<1>(place).front() = one;
    return place;
  }

  /// [slot, 0, ...] [1, whole...].
  Place slotPlace(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    SmallVector<OpFoldResult> offsets{slot}, sizes{b.getIndexAttr(1)};
    for (int64_t dim = 1; dim < type.getRank(); ++dim) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(tensor::getMixedSize(b, loc, tensor, dim));
    }
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    return {offsets, sizes, strides};
  }

  /// The places of writes: their sizes are computed before the terminator,
  /// which may hold nothing but the writes.
  Place rowPlace(scf::InParallelOp writes, Value tokens) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(writes);
    return rowPlace(tokens);
  }
  Place slotPlace(scf::InParallelOp writes, Value tensor) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(writes);
    return slotPlace(tensor);
  }

  void write(scf::InParallelOp writes, Value value, Value into,
             const Place &place) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(writes.getBody());
    auto [offsets, sizes, strides] = place;
    tensor::ParallelInsertSliceOp::create(b, loc, value, into, offsets, sizes,
                                          strides);
  }

  OpBuilder &b;
  Location loc;
  Value slot, one;
};

/// The per-sequence attention of one slot, at `start`.
ds::MlaAttentionOp attendSlot(OpBuilder &b, Location loc,
                              ds::MlaAttentionOp op, SlotAccess &access,
                              Value keyCache, Value valueCache, Value start) {
  return ds::MlaAttentionOp::create(
      b, loc, withDynamicTokens(op.getOutput().getType()), keyCache.getType(),
      valueCache.getType(), access.row(op.getQueryNope()),
      access.row(op.getQueryRope()), access.row(op.getKeyNope()),
      access.row(op.getKeyRope()), access.row(op.getValue()), keyCache,
      valueCache, start, /*positions=*/Value(), op.getScaleAttr());
}

ds::LatentAttentionOp attendSlot(OpBuilder &b, Location loc,
                                 ds::LatentAttentionOp op, SlotAccess &access,
                                 Value latentCache, Value ropeCache,
                                 Value start) {
  return ds::LatentAttentionOp::create(
      b, loc, withDynamicTokens(op.getOutput().getType()),
      latentCache.getType(), ropeCache.getType(),
      access.row(op.getQueryNope()), access.row(op.getQueryRope()),
      access.row(op.getLatent()), access.row(op.getKeyRope()), op.getUp(),
      op.getUpScales(), op.getBlockSizeAttr(), latentCache, ropeCache, start,
      /*positions=*/Value(), op.getScaleAttr());
}

/// Rewrites a batched step of `AttentionOp` into `scf.forall` over the
/// slots, which share the output rows and the two caches.
template <typename AttentionOp>
struct SlotLoopPattern final : OpRewritePattern<AttentionOp> {
  using OpRewritePattern<AttentionOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value positions = op.getPositions();
    if (!positions)
      return rewriter.notifyMatchFailure(op, "one sequence's tokens");
    Location loc = op.getLoc();
    auto [firstCache, secondCache] = caches(op);
    RankedTensorType outputType = op.getOutput().getType();
    Value output = tensor::EmptyOp::create(
        rewriter, loc,
        {tensor::getMixedSize(rewriter, loc, op.getQueryNope(), 0),
         rewriter.getIndexAttr(outputType.getDimSize(1)),
         rewriter.getIndexAttr(outputType.getDimSize(2))},
        outputType.getElementType());
    OpFoldResult slots = tensor::getMixedSize(rewriter, loc, positions, 0);

    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{slots},
        ValueRange{output, firstCache, secondCache}, std::nullopt,
        [&](OpBuilder &b, Location loc, ValueRange arguments) {
          Value slot = arguments[0];
          SlotAccess access(b, loc, slot);
          Value position =
              tensor::ExtractOp::create(b, loc, positions, ValueRange{slot});
          Value start =
              arith::IndexCastOp::create(b, loc, b.getIndexType(), position);
          auto attention =
              attendSlot(b, loc, op, access, access.slotOf(arguments[2]),
                         access.slotOf(arguments[3]), start);
          // The body builder owns the terminator, which writes the slot.
          auto writes = scf::InParallelOp::create(b, loc);
          access.writeRow(writes, attention.getResult(0), arguments[1]);
          access.writeSlot(writes, attention.getResult(1), arguments[2]);
          access.writeSlot(writes, attention.getResult(2), arguments[3]);
        });
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }

private:
  static std::pair<Value, Value> caches(ds::MlaAttentionOp op) {
    return {op.getKeyCache(), op.getValueCache()};
  }
  static std::pair<Value, Value> caches(ds::LatentAttentionOp op) {
    return {op.getLatentCache(), op.getRopeCache()};
  }
};

} // namespace

void jikji::populateSlotLoopPatterns(RewritePatternSet &patterns,
                                     const LoweringOptions &options) {
  patterns.add<SlotLoopPattern<ds::MlaAttentionOp>>(patterns.getContext());
  // The portable (GPU) form lowers the batched latent attention whole,
  // with the slots in its kernels' grids (LatentAttentionToLinalg.cpp).
  if (options.cpuKernels)
    patterns.add<SlotLoopPattern<ds::LatentAttentionOp>>(patterns.getContext());
}
