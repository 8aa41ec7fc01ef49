//===- AbsorbMla.cpp - The deepseek-absorb-mla pass -----------------------===//
//
// Part of Jikji. MLA caches what it compresses, the latent, and expands it
// per head only to attend. Absorbing the up-projection into the query and
// the output (MODEL.md) makes the expansion unnecessary: the cache shrinks
// from heads x (dn + dr + dv) to rkv + dr values per token.
//
// The rewrite crosses function boundaries (the caches are arguments of the
// layer functions and of the entry functions, @forward and
// @forward_batch), so it is a module pass that matches every attention
// first and rewrites only if all of them match.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#define DEBUG_TYPE "deepseek-absorb-mla"

namespace jikji {
#define GEN_PASS_DEF_ABSORBMLAPASS
#include "passes/Passes.h.inc"
} // namespace jikji

using namespace mlir;
namespace ds = jikji::deepseek;

namespace {

/// The parts of one as-written attention that the absorbed form keeps.
struct AsWrittenMla {
  ds::MlaAttentionOp attention;
  ds::LinearOp upProjection; ///< kv = linear(c, kv_b_proj)
  ds::ViewOp perHead;        ///< view(kv) as [T, heads, dn + dv]
  ds::SplitOp keysAndValues; ///< split(view, [dn, dv])
  BlockArgument keyCache, valueCache;
};

/// Matches `attention` against the as-written subgraph, or says why not.
FailureOr<AsWrittenMla> matchAsWritten(ds::MlaAttentionOp attention,
                                       std::string &why) {
  auto split = attention.getKeyNope().getDefiningOp<ds::SplitOp>();
  if (!split || attention.getValue().getDefiningOp<ds::SplitOp>() != split ||
      split.getNumResults() != 2 ||
      split.getResult(0) != attention.getKeyNope() ||
      split.getResult(1) != attention.getValue()) {
    why = "keys and values are not the two parts of one split";
    return failure();
  }
  auto view = split.getInput().getDefiningOp<ds::ViewOp>();
  auto upProjection =
      view ? view.getInput().getDefiningOp<ds::LinearOp>() : ds::LinearOp();
  if (!upProjection) {
    why = "keys and values are not a per-head view of one linear layer";
    return failure();
  }
  auto keyCache = dyn_cast<BlockArgument>(attention.getKeyCache());
  auto valueCache = dyn_cast<BlockArgument>(attention.getValueCache());
  if (!keyCache || !valueCache ||
      !isa<func::FuncOp>(keyCache.getOwner()->getParentOp()) ||
      keyCache.getOwner() != valueCache.getOwner()) {
    why = "the caches are not arguments of the enclosing function";
    return failure();
  }
  auto onlyReturned = [](Value value) {
    return llvm::all_of(value.getUsers(), [](Operation *user) {
      return isa<func::ReturnOp>(user);
    });
  };
  if (!keyCache.hasOneUse() || !valueCache.hasOneUse() ||
      !onlyReturned(attention.getNewKeyCache()) ||
      !onlyReturned(attention.getNewValueCache())) {
    why = "the caches are used by something other than this attention";
    return failure();
  }
  return AsWrittenMla{attention, upProjection, view,
                      split,     keyCache,     valueCache};
}

/// Replaces the attention with deepseek.latent_attention and retypes the
/// function's cache arguments and results.
void absorb(AsWrittenMla match) {
  ds::MlaAttentionOp attention = match.attention;
  auto func = cast<func::FuncOp>(match.keyCache.getOwner()->getParentOp());
  OpBuilder b(attention);
  Location loc = attention.getLoc();
  Value latent = match.upProjection.getInput();
  auto latentType = cast<RankedTensorType>(latent.getType());
  RankedTensorType keyRopeType = attention.getKeyRope().getType();
  // The caches keep their leading axes (capacity, and the slots of a
  // batched step) and change the per-token entry: [heads, dn + dr] and
  // [heads, dv] become [rkv] and [dr].
  auto cacheType = [&](int64_t entry, Type element) {
    SmallVector<int64_t> shape(
        attention.getKeyCache().getType().getShape().drop_back(2));
    shape.push_back(entry);
    return RankedTensorType::get(shape, element);
  };
  RankedTensorType latentCacheType =
      cacheType(latentType.getDimSize(1), latentType.getElementType());
  RankedTensorType ropeCacheType =
      cacheType(keyRopeType.getDimSize(1), keyRopeType.getElementType());
  match.keyCache.setType(latentCacheType);
  match.valueCache.setType(ropeCacheType);

  auto latentAttention = ds::LatentAttentionOp::create(
      b, loc, attention.getOutput().getType(), latentCacheType, ropeCacheType,
      attention.getQueryNope(), attention.getQueryRope(), latent,
      attention.getKeyRope(), match.upProjection.getWeight(),
      match.upProjection.getScales(), match.upProjection.getBlockSizeAttr(),
      match.keyCache, match.valueCache, attention.getStart(),
      attention.getPositions(), attention.getScaleAttr());
  attention.replaceAllUsesWith(latentAttention.getResults());
  attention.erase();
  // The expansion is dead now unless something else reads it; erase it
  // consumers first.
  for (Operation *expansion :
       {match.keysAndValues.getOperation(), match.perHead.getOperation(),
        match.upProjection.getOperation()})
    if (expansion->use_empty())
      expansion->erase();

  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getBody().getArgumentTypes(),
                                         returnOp.getOperandTypes()));
}

/// Whether `stacked` [leading..., a...] and `layer` [leading... but the
/// layer axis, b...] agree on the per-token shape (a == b). `leading` counts
/// the stacked cache's axes before the entry: [layers, capacity] in
/// @forward, [slots, layers, capacity] in @forward_batch.
bool sameEntry(Type stacked, Type layer, unsigned leading) {
  return cast<RankedTensorType>(stacked).getShape().drop_front(leading) ==
         cast<RankedTensorType>(layer).getShape().drop_front(leading - 1);
}

/// Offsets, sizes and strides of one layer's slice of a stacked cache whose
/// per-token shape is `entry`, keeping the leading axes of `like`.
std::tuple<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>,
           SmallVector<OpFoldResult>>
layerSlice(OpBuilder &b, OffsetSizeAndStrideOpInterface like,
           ArrayRef<int64_t> entry, unsigned leading) {
  SmallVector<OpFoldResult> offsets = like.getMixedOffsets();
  SmallVector<OpFoldResult> sizes = like.getMixedSizes();
  offsets.resize(leading);
  sizes.resize(leading);
  for (int64_t dim : entry) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(dim));
  }
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return {offsets, sizes, strides};
}

/// Retypes an entry function's stacked caches (@forward's or
/// @forward_batch's) to the per-token entries the layer functions now
/// cache, and rebuilds the chain of slices and calls that threads them.
void retypeForward(func::FuncOp forward, int64_t latentEntry,
                   int64_t ropeEntry) {
  OpBuilder b(forward.getContext());
  // The as-written entry is [heads, dim]: what precedes it is leading.
  unsigned leading = 0;
  unsigned cacheIndex = 0;
  for (BlockArgument argument : forward.getArguments()) {
    if (!forward.getArgAttr(argument.getArgNumber(), "deepseek.kv_cache"))
      continue;
    auto old = cast<RankedTensorType>(argument.getType());
    leading = old.getRank() - 2;
    SmallVector<int64_t> shape(old.getShape().take_front(leading));
    shape.push_back(cacheIndex == 0 ? latentEntry : ropeEntry);
    argument.setType(RankedTensorType::get(shape, old.getElementType()));
    forward.setArgAttr(
        argument.getArgNumber(), "deepseek.kv_cache",
        b.getStringAttr(cacheIndex == 0 ? "latent" : "key_rope"));
    ++cacheIndex;
  }
  if (cacheIndex == 0)
    return; // Not an entry point over caches: nothing to rebuild.

  // The stacked caches as the chain leaves them, from the arguments on:
  // only slices of those are cache slices (@forward slices other tensors,
  // such as the hidden rows that get logits).
  llvm::SmallPtrSet<Value, 16> stackedCaches;
  for (BlockArgument argument : forward.getArguments())
    if (forward.getArgAttr(argument.getArgNumber(), "deepseek.kv_cache"))
      stackedCaches.insert(argument);
  SmallVector<Operation *> chain;
  forward.walk([&](Operation *op) {
    if (isa<func::CallOp, tensor::ExtractSliceOp, tensor::InsertSliceOp>(op))
      chain.push_back(op);
  });
  for (Operation *op : chain) {
    b.setInsertionPoint(op);
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (!stackedCaches.contains(extract.getSource()))
        continue;
      auto source = cast<RankedTensorType>(extract.getSource().getType());
      if (sameEntry(source, extract.getType(), leading))
        continue;
      ArrayRef<int64_t> entry = source.getShape().drop_front(leading);
      auto [offsets, sizes, strides] = layerSlice(b, extract, entry, leading);
      SmallVector<int64_t> shape(
          extract.getType().getShape().take_front(leading - 1));
      llvm::append_range(shape, entry);
      auto replacement = tensor::ExtractSliceOp::create(
          b, extract.getLoc(),
          RankedTensorType::get(shape, source.getElementType()),
          extract.getSource(), offsets, sizes, strides);
      extract.replaceAllUsesWith(replacement.getResult());
      extract.erase();
    } else if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (TypeRange(call.getResultTypes()) ==
          TypeRange(callee.getFunctionType().getResults()))
        continue;
      auto replacement =
          func::CallOp::create(b, call.getLoc(), callee, call.getOperands());
      call.replaceAllUsesWith(replacement.getResults());
      call.erase();
    } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (!stackedCaches.contains(insert.getDest()))
        continue;
      if (insert.getType() == insert.getDest().getType() &&
          sameEntry(insert.getDest().getType(), insert.getSource().getType(),
                    leading)) {
        stackedCaches.insert(insert.getResult());
        continue;
      }
      auto dest = cast<RankedTensorType>(insert.getDest().getType());
      auto [offsets, sizes, strides] =
          layerSlice(b, insert, dest.getShape().drop_front(leading), leading);
      auto replacement = tensor::InsertSliceOp::create(
          b, insert.getLoc(), insert.getSource(), insert.getDest(), offsets,
          sizes, strides);
      insert.replaceAllUsesWith(replacement.getResult());
      insert.erase();
      stackedCaches.insert(replacement.getResult());
    }
  }
  auto returnOp =
      cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  forward.setFunctionType(FunctionType::get(
      forward.getContext(), forward.getBody().getArgumentTypes(),
      returnOp.getOperandTypes()));
}

struct AbsorbMlaPass final : jikji::impl::AbsorbMlaPassBase<AbsorbMlaPass> {
  using AbsorbMlaPassBase::AbsorbMlaPassBase;
  void runOnOperation() override;
};

void AbsorbMlaPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<AsWrittenMla> matches;
  bool allMatch = true;
  module.walk([&](ds::MlaAttentionOp attention) {
    std::string why;
    FailureOr<AsWrittenMla> match = matchAsWritten(attention, why);
    if (succeeded(match)) {
      matches.push_back(*match);
      return;
    }
    allMatch = false;
    if (reportSkipped)
      attention.emitRemark() << "not absorbed: " << why;
  });
  if (!allMatch || matches.empty())
    return;
  for (AsWrittenMla &match : matches)
    absorb(match);
  // Every layer function now caches the same entries per token.
  int64_t latentEntry =
      cast<RankedTensorType>(matches.front().keyCache.getType()).getShape().back();
  int64_t ropeEntry =
      cast<RankedTensorType>(matches.front().valueCache.getType()).getShape().back();
  for (StringRef name : {"forward", "forward_batch"})
    if (auto forward = module.lookupSymbol<func::FuncOp>(name))
      retypeForward(forward, latentEntry, ropeEntry);
}

} // namespace
