//===- DeepSeekOps.cpp - deepseek operations ------------------------------===//
//
// Part of Jikji. Verifiers for the invariants that span operands: head
// counts, ranks, and the dimensions that must agree between them.
//
//===----------------------------------------------------------------------===//

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace jikji::deepseek;

#define GET_OP_CLASSES
#include "dialects/DeepSeek/IR/DeepSeekOps.cpp.inc"

namespace {
/// Prints a dimension the way a tensor type writes it.
std::string dimString(int64_t dim) {
  return ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
}

/// Checks that dimension `dim` of `type` is `expected`. Two dynamic sizes
/// agree (they are the same runtime value, the token count or the cache
/// capacity); a dynamic and a static size do not, because the graph states
/// every model dimension statically.
LogicalResult checkDim(Operation *op, StringRef what, RankedTensorType type,
                       unsigned dim, int64_t expected) {
  int64_t found = type.getDimSize(dim);
  if (found == expected)
    return success();
  return op->emitOpError() << what << " dimension " << dim << " must be "
                           << dimString(expected) << ", found "
                           << dimString(found);
}

LogicalResult checkRank(Operation *op, StringRef what, RankedTensorType type,
                        int64_t rank) {
  if (type.getRank() == rank)
    return success();
  return op->emitOpError() << what << " must have rank " << rank << ", found "
                           << type.getRank();
}

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Checks that an op placing new tokens takes either `start` (one sequence,
/// consecutive positions) or `positions` (one per token), not both.
LogicalResult checkPlacement(Operation *op, Value start, Value positions,
                             int64_t tokens) {
  if (!start == !positions)
    return op->emitOpError("takes either a start or positions, not both");
  if (positions)
    return checkDim(op, "positions", tensorType(positions), 0, tokens);
  return success();
}

/// The per-sequence part of a cache: with `positions` the cache has a
/// leading slot axis, one slot per token, which is checked and dropped.
FailureOr<RankedTensorType> cacheSlot(Operation *op, StringRef what,
                                      RankedTensorType cache, int64_t slotRank,
                                      bool batched, int64_t tokens) {
  if (!batched) {
    if (failed(checkRank(op, what, cache, slotRank)))
      return failure();
    return cache;
  }
  if (failed(checkRank(op, what, cache, slotRank + 1)) ||
      failed(checkDim(op, what, cache, 0, tokens)))
    return failure();
  return RankedTensorType::get(cache.getShape().drop_front(),
                               cache.getElementType());
}

/// Checks FP8 block scales: `scales` is [ceil(rows / b0), ceil(cols / b1)]
/// (after the leading expert dimension, if any) for `weight`'s last two axes.
LogicalResult checkBlockScales(Operation *op, StringRef what,
                               RankedTensorType weight, RankedTensorType scales,
                               ArrayRef<int64_t> blockSize) {
  if (scales.getRank() != weight.getRank())
    return op->emitOpError()
           << what << " scales must have rank " << weight.getRank()
           << ", found " << scales.getRank();
  int64_t rank = weight.getRank();
  for (int64_t i = 0; i < rank; ++i) {
    int64_t expected = weight.getDimSize(i);
    if (i >= rank - 2)
      expected = llvm::divideCeilSigned(expected, blockSize[i - (rank - 2)]);
    if (scales.getDimSize(i) != expected)
      return op->emitOpError()
             << what << " scales dimension " << i << " must be " << expected
             << " for blocks of " << blockSize[0] << "x" << blockSize[1]
             << ", found " << dimString(scales.getDimSize(i));
  }
  return success();
}

/// Checks that an FP8 weight comes with block scales and that others do not.
LogicalResult checkQuantization(Operation *op, StringRef what,
                                RankedTensorType weight, bool hasScales,
                                std::optional<ArrayRef<int64_t>> blockSize) {
  bool isFp8 = isa<Float8E4M3FNType>(weight.getElementType());
  if (isFp8 && !hasScales)
    return op->emitOpError() << what << " of type f8E4M3FN needs block scales";
  if (!isFp8 && hasScales)
    return op->emitOpError() << "block scales apply only to f8E4M3FN " << what
                             << ", found " << weight.getElementType();
  if (hasScales && (!blockSize || blockSize->size() != 2 ||
                    llvm::any_of(*blockSize, [](int64_t b) { return b <= 0; })))
    return op->emitOpError() << "block size must be two positive integers";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// ParamOp, ExpertParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("parameter name must not be empty");
  if (getName().contains('*'))
    return emitOpError("parameter name must not contain '*' (use "
                       "deepseek.expert_param for stacked experts)");
  return success();
}

LogicalResult ExpertParamOp::verify() {
  SmallVector<StringRef> components;
  getName().split(components, '.');
  if (llvm::count(components, "*") != 1 || getName().count('*') != 1)
    return emitOpError("expert parameter name must have exactly one '*' "
                       "component, found '")
           << getName() << "'";
  if (getResult().getType().getRank() < 2)
    return emitOpError("stacked expert parameter must have rank >= 2 (experts "
                       "first), found rank ")
           << getResult().getType().getRank();
  return success();
}

std::string ExpertParamOp::getExpertTensorName(int64_t expert) {
  auto [prefix, suffix] = getName().split('*');
  return (prefix + std::to_string(expert) + suffix).str();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  RankedTensorType table = getTable().getType();
  RankedTensorType result = getResult().getType();
  if (failed(checkRank(*this, "table", table, 2)) ||
      failed(checkRank(*this, "result", result, 2)))
    return failure();
  if (failed(checkDim(*this, "result", result, 0,
                      getTokens().getType().getDimSize(0))) ||
      failed(checkDim(*this, "result", result, 1, table.getDimSize(1))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// RmsNormOp
//===----------------------------------------------------------------------===//

LogicalResult RmsNormOp::verify() {
  RankedTensorType weight = getWeight().getType();
  RankedTensorType input = getInput().getType();
  if (failed(checkRank(*this, "weight", weight, 1)))
    return failure();
  if (input.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (weight.getDimSize(0) != input.getDimSize(input.getRank() - 1))
    return emitOpError() << "weight size " << dimString(weight.getDimSize(0))
                         << " must equal the normalised axis "
                         << dimString(input.getDimSize(input.getRank() - 1));
  if (!(getEpsilon().convertToDouble() > 0))
    return emitOpError("epsilon must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  RankedTensorType result = getResult().getType();
  if (failed(checkRank(*this, "input", input, 2)) ||
      failed(checkRank(*this, "weight", weight, 2)) ||
      failed(checkRank(*this, "result", result, 2)))
    return failure();
  if (input.getDimSize(1) != weight.getDimSize(1))
    return emitOpError() << "weight [out, in] has in = "
                         << dimString(weight.getDimSize(1))
                         << " but the input has "
                         << dimString(input.getDimSize(1)) << " features";
  if (failed(checkDim(*this, "result", result, 0, input.getDimSize(0))) ||
      failed(checkDim(*this, "result", result, 1, weight.getDimSize(0))))
    return failure();
  if (failed(checkQuantization(*this, "weight", weight, !!getScales(),
                               getBlockSize())))
    return failure();
  if (getScales())
    return checkBlockScales(*this, "weight", weight, tensorType(getScales()),
                            *getBlockSize());
  return success();
}

//===----------------------------------------------------------------------===//
// SplitOp, ViewOp
//===----------------------------------------------------------------------===//

LogicalResult SplitOp::verify() {
  RankedTensorType input = getInput().getType();
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.size() != getResults().size())
    return emitOpError() << "has " << sizes.size() << " sizes but "
                         << getResults().size() << " results";
  if (llvm::any_of(sizes, [](int64_t size) { return size <= 0; }))
    return emitOpError("split sizes must be positive");
  int64_t last = input.getRank() - 1;
  int64_t total = 0;
  for (int64_t size : sizes)
    total += size;
  if (input.getDimSize(last) != total)
    return emitOpError() << "split sizes add up to " << total
                         << " but the last axis has "
                         << dimString(input.getDimSize(last));
  for (auto [index, result, size] :
       llvm::enumerate(getResults().getTypes(), sizes)) {
    SmallVector<int64_t> shape(input.getShape());
    shape[last] = size;
    auto expected = RankedTensorType::get(shape, input.getElementType());
    if (result != expected)
      return emitOpError() << "result " << index << " must be " << expected
                           << ", found " << result;
  }
  return success();
}

LogicalResult ViewOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getResult().getType();
  if (input.getRank() < 1 || result.getRank() < 1)
    return emitOpError("view needs a token axis");
  if (failed(checkDim(*this, "result", result, 0, input.getDimSize(0))))
    return failure();
  auto trailing = [](RankedTensorType type) -> int64_t {
    int64_t product = 1;
    for (int64_t dim : type.getShape().drop_front()) {
      if (ShapedType::isDynamic(dim))
        return ShapedType::kDynamic;
      product *= dim;
    }
    return product;
  };
  int64_t from = trailing(input), to = trailing(result);
  if (ShapedType::isDynamic(from) || ShapedType::isDynamic(to))
    return emitOpError("only the token axis may be dynamic");
  if (from != to)
    return emitOpError() << "reshapes " << from << " values per token into "
                         << to;
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() != 2 && input.getRank() != 3)
    return emitOpError() << "input must be [tokens, dim] or [tokens, heads, "
                            "dim], found rank "
                         << input.getRank();
  int64_t dim = input.getDimSize(input.getRank() - 1);
  if (ShapedType::isDynamic(dim) || dim % 2 != 0)
    return emitOpError() << "rotary dimension must be static and even, found "
                         << dimString(dim);
  return checkPlacement(*this, getStart(), getPositions(),
                        input.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// MlaAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult MlaAttentionOp::verify() {
  RankedTensorType queryNope = getQueryNope().getType();
  RankedTensorType queryRope = getQueryRope().getType();
  RankedTensorType keyNope = getKeyNope().getType();
  RankedTensorType keyRope = getKeyRope().getType();
  RankedTensorType value = getValue().getType();
  RankedTensorType output = getOutput().getType();
  Operation *op = *this;
  if (failed(checkRank(op, "query_nope", queryNope, 3)) ||
      failed(checkRank(op, "query_rope", queryRope, 3)) ||
      failed(checkRank(op, "key_nope", keyNope, 3)) ||
      failed(checkRank(op, "key_rope", keyRope, 2)) ||
      failed(checkRank(op, "value", value, 3)) ||
      failed(checkRank(op, "output", output, 3)))
    return failure();

  int64_t tokens = queryNope.getDimSize(0);
  if (failed(checkPlacement(op, getStart(), getPositions(), tokens)))
    return failure();
  bool batched = !!getPositions();
  FailureOr<RankedTensorType> keyCacheSlot = cacheSlot(
      op, "key_cache", getKeyCache().getType(), 3, batched, tokens);
  if (failed(keyCacheSlot))
    return failure();
  FailureOr<RankedTensorType> valueCacheSlot = cacheSlot(
      op, "value_cache", getValueCache().getType(), 3, batched, tokens);
  if (failed(valueCacheSlot))
    return failure();
  RankedTensorType keyCache = *keyCacheSlot, valueCache = *valueCacheSlot;
  // A batched step's messages below are about one slot.
  StringRef keyCacheName = batched ? "key_cache slot" : "key_cache";
  StringRef valueCacheName = batched ? "value_cache slot" : "value_cache";
  int64_t heads = queryNope.getDimSize(1);
  int64_t nopeDim = queryNope.getDimSize(2);
  int64_t ropeDim = queryRope.getDimSize(2);
  int64_t valueDim = value.getDimSize(2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(nopeDim) ||
      ShapedType::isDynamic(ropeDim) || ShapedType::isDynamic(valueDim))
    return emitOpError("head count and head dimensions must be static");

  // Every new-token operand agrees on the token count; the heads of the
  // query, key and value agree; the rotary part is shared by all heads.
  if (failed(checkDim(op, "query_rope", queryRope, 0, tokens)) ||
      failed(checkDim(op, "query_rope", queryRope, 1, heads)) ||
      failed(checkDim(op, "key_nope", keyNope, 0, tokens)) ||
      failed(checkDim(op, "key_nope", keyNope, 1, heads)) ||
      failed(checkDim(op, "key_nope", keyNope, 2, nopeDim)) ||
      failed(checkDim(op, "key_rope", keyRope, 0, tokens)) ||
      failed(checkDim(op, "key_rope", keyRope, 1, ropeDim)) ||
      failed(checkDim(op, "value", value, 0, tokens)) ||
      failed(checkDim(op, "value", value, 1, heads)) ||
      failed(checkDim(op, "output", output, 0, tokens)) ||
      failed(checkDim(op, "output", output, 1, heads)) ||
      failed(checkDim(op, "output", output, 2, valueDim)))
    return failure();

  // The expanded caches: [capacity, heads, dn + dr] and [capacity, heads, dv].
  if (failed(checkDim(op, keyCacheName, keyCache, 1, heads)) ||
      failed(checkDim(op, keyCacheName, keyCache, 2, nopeDim + ropeDim)) ||
      failed(checkDim(op, valueCacheName, valueCache, 0,
                      keyCache.getDimSize(0))) ||
      failed(checkDim(op, valueCacheName, valueCache, 1, heads)) ||
      failed(checkDim(op, valueCacheName, valueCache, 2, valueDim)))
    return failure();
  if (!(getScale().convertToDouble() > 0))
    return emitOpError("scale must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// MoeRouterOp
//===----------------------------------------------------------------------===//

/// The routing invariants shared by moe_router and fused_router: `experts`
/// scored per token, k of them chosen, in groups.
template <typename RouterOp>
static LogicalResult verifyRouting(RouterOp op, int64_t tokens,
                                   int64_t experts) {
  RankedTensorType weights = op.getWeights().getType();
  RankedTensorType indices = op.getIndices().getType();
  if (failed(checkRank(op, "weights", weights, 2)))
    return failure();
  if (ShapedType::isDynamic(experts))
    return op.emitOpError("the number of experts must be static");
  int64_t topK = op.getTopK(), groups = op.getGroups(),
          topkGroups = op.getTopkGroups();
  if (topK > experts)
    return op.emitOpError()
           << "top " << topK << " exceeds the " << experts << " experts";
  if (experts % groups != 0)
    return op.emitOpError()
           << groups << " groups do not divide " << experts << " experts";
  if (topkGroups > groups)
    return op.emitOpError() << "topk_groups " << topkGroups << " exceeds the "
                            << groups << " groups";
  if (topK > topkGroups * (experts / groups))
    return op.emitOpError()
           << "top " << topK << " exceeds the "
           << topkGroups * (experts / groups) << " experts in the kept groups";
  TopKMethod method = op.getMethod();
  if (method == TopKMethod::Greedy && groups != 1)
    return op.emitOpError("greedy routing takes a single group");
  if (method == TopKMethod::NoAuxTc && experts / groups < 2)
    return op.emitOpError("noaux_tc scores a group by its top 2 experts, so "
                          "groups need at least 2 experts");
  if (method == TopKMethod::NoAuxTc && !op.getBias())
    return op.emitOpError("noaux_tc routing needs the correction bias");
  if (method != TopKMethod::NoAuxTc && op.getBias())
    return op.emitOpError("only noaux_tc routing takes a correction bias");
  if (op.getBias()) {
    RankedTensorType bias = tensorType(op.getBias());
    if (failed(checkRank(op, "bias", bias, 1)) ||
        failed(checkDim(op, "bias", bias, 0, experts)))
      return failure();
  }
  if (failed(checkDim(op, "weights", weights, 0, tokens)) ||
      failed(checkDim(op, "weights", weights, 1, topK)) ||
      failed(checkDim(op, "indices", indices, 0, tokens)) ||
      failed(checkDim(op, "indices", indices, 1, topK)))
    return failure();
  if (!(op.getScaling().convertToDouble() > 0))
    return op.emitOpError("scaling must be positive");
  return success();
}

LogicalResult MoeRouterOp::verify() {
  RankedTensorType logits = getLogits().getType();
  if (failed(checkRank(*this, "logits", logits, 2)))
    return failure();
  return verifyRouting(*this, logits.getDimSize(0), logits.getDimSize(1));
}

LogicalResult FusedRouterOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType gate = getGate().getType();
  if (failed(checkRank(*this, "input", input, 2)) ||
      failed(checkRank(*this, "gate", gate, 2)))
    return failure();
  if (gate.getDimSize(1) != input.getDimSize(1))
    return emitOpError() << "gate [experts, in] has in = "
                         << dimString(gate.getDimSize(1))
                         << " but the input has "
                         << dimString(input.getDimSize(1)) << " features";
  return verifyRouting(*this, input.getDimSize(0), gate.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// MoeExpertsOp
//===----------------------------------------------------------------------===//

/// The expert invariants shared by moe_experts and grouped_experts.
template <typename ExpertsOp>
static LogicalResult verifyExperts(ExpertsOp expertsOp) {
  RankedTensorType input = expertsOp.getInput().getType();
  RankedTensorType weights = expertsOp.getWeights().getType();
  RankedTensorType indices = expertsOp.getIndices().getType();
  RankedTensorType gate = expertsOp.getGate().getType();
  RankedTensorType up = expertsOp.getUp().getType();
  RankedTensorType down = expertsOp.getDown().getType();
  RankedTensorType result = expertsOp.getResult().getType();
  Operation *op = expertsOp;
  if (failed(checkRank(op, "input", input, 2)) ||
      failed(checkRank(op, "weights", weights, 2)) ||
      failed(checkRank(op, "gate", gate, 3)) ||
      failed(checkRank(op, "up", up, 3)) ||
      failed(checkRank(op, "down", down, 3)))
    return failure();
  int64_t tokens = input.getDimSize(0), hidden = input.getDimSize(1);
  int64_t experts = gate.getDimSize(0), width = gate.getDimSize(1);
  if (up != gate)
    return op->emitOpError()
           << "up must have the gate's type " << gate << ", found " << up;
  if (failed(checkDim(op, "gate", gate, 2, hidden)) ||
      failed(checkDim(op, "down", down, 0, experts)) ||
      failed(checkDim(op, "down", down, 1, hidden)) ||
      failed(checkDim(op, "down", down, 2, width)) ||
      failed(checkDim(op, "weights", weights, 0, tokens)) ||
      failed(checkDim(op, "indices", indices, 0, tokens)) ||
      failed(checkDim(op, "indices", indices, 1, weights.getDimSize(1))))
    return failure();
  if (weights.getDimSize(1) > experts)
    return op->emitOpError()
           << weights.getDimSize(1) << " experts per token exceed the "
           << experts << " experts";
  if (result != input)
    return op->emitOpError() << "result must have the input's type " << input
                             << ", found " << result;

  OperandRange scales = expertsOp.getScales();
  if (!scales.empty() && scales.size() != 3)
    return op->emitOpError()
           << "takes the scales of gate, up and down (3), found "
           << scales.size();
  if (failed(checkQuantization(op, "expert weights", gate, !scales.empty(),
                               expertsOp.getBlockSize())) ||
      (down.getElementType() != gate.getElementType() &&
       failed(op->emitOpError("gate, up and down must share an element type"))))
    return failure();
  if (!scales.empty()) {
    ArrayRef<int64_t> block = *expertsOp.getBlockSize();
    if (failed(
            checkBlockScales(op, "gate", gate, tensorType(scales[0]), block)) ||
        failed(checkBlockScales(op, "up", up, tensorType(scales[1]), block)) ||
        failed(
            checkBlockScales(op, "down", down, tensorType(scales[2]), block)))
      return failure();
  }
  return success();
}

LogicalResult MoeExpertsOp::verify() { return verifyExperts(*this); }

LogicalResult GroupedExpertsOp::verify() {
  if (getAccumulator().getType() != getInput().getType())
    return emitOpError() << "accumulator must have the input's type "
                         << getInput().getType() << ", found "
                         << getAccumulator().getType();
  return verifyExperts(*this);
}

//===----------------------------------------------------------------------===//
// LatentAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LatentAttentionOp::verify() {
  RankedTensorType queryNope = getQueryNope().getType();
  RankedTensorType queryRope = getQueryRope().getType();
  RankedTensorType latent = getLatent().getType();
  RankedTensorType keyRope = getKeyRope().getType();
  RankedTensorType up = getUp().getType();
  RankedTensorType output = getOutput().getType();
  Operation *op = *this;
  if (failed(checkRank(op, "query_nope", queryNope, 3)) ||
      failed(checkRank(op, "query_rope", queryRope, 3)) ||
      failed(checkRank(op, "latent", latent, 2)) ||
      failed(checkRank(op, "key_rope", keyRope, 2)) ||
      failed(checkRank(op, "up", up, 2)) ||
      failed(checkRank(op, "output", output, 3)))
    return failure();
  int64_t tokens = queryNope.getDimSize(0), heads = queryNope.getDimSize(1);
  if (failed(checkPlacement(op, getStart(), getPositions(), tokens)))
    return failure();
  bool batched = !!getPositions();
  FailureOr<RankedTensorType> latentCacheSlot = cacheSlot(
      op, "latent_cache", getLatentCache().getType(), 2, batched, tokens);
  if (failed(latentCacheSlot))
    return failure();
  FailureOr<RankedTensorType> ropeCacheSlot = cacheSlot(
      op, "rope_cache", getRopeCache().getType(), 2, batched, tokens);
  if (failed(ropeCacheSlot))
    return failure();
  RankedTensorType latentCache = *latentCacheSlot, ropeCache = *ropeCacheSlot;
  // A batched step's messages below are about one slot.
  StringRef latentCacheName = batched ? "latent_cache slot" : "latent_cache";
  StringRef ropeCacheName = batched ? "rope_cache slot" : "rope_cache";
  int64_t nopeDim = queryNope.getDimSize(2), ropeDim = queryRope.getDimSize(2);
  int64_t rank = latent.getDimSize(1), valueDim = output.getDimSize(2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(nopeDim) ||
      ShapedType::isDynamic(ropeDim) || ShapedType::isDynamic(rank) ||
      ShapedType::isDynamic(valueDim))
    return emitOpError("head count, head dimensions and the latent rank must "
                       "be static");
  if (failed(checkDim(op, "query_rope", queryRope, 0, tokens)) ||
      failed(checkDim(op, "query_rope", queryRope, 1, heads)) ||
      failed(checkDim(op, "latent", latent, 0, tokens)) ||
      failed(checkDim(op, "key_rope", keyRope, 0, tokens)) ||
      failed(checkDim(op, "key_rope", keyRope, 1, ropeDim)) ||
      failed(checkDim(op, "output", output, 0, tokens)) ||
      failed(checkDim(op, "output", output, 1, heads)) ||
      failed(checkDim(op, "up", up, 0, heads * (nopeDim + valueDim))) ||
      failed(checkDim(op, "up", up, 1, rank)) ||
      failed(checkDim(op, latentCacheName, latentCache, 1, rank)) ||
      failed(checkDim(op, ropeCacheName, ropeCache, 0,
                      latentCache.getDimSize(0))) ||
      failed(checkDim(op, ropeCacheName, ropeCache, 1, ropeDim)))
    return failure();
  if (failed(checkQuantization(op, "up", up, !!getUpScales(), getBlockSize())))
    return failure();
  if (getUpScales() &&
      failed(checkBlockScales(op, "up", up, tensorType(getUpScales()),
                              *getBlockSize())))
    return failure();
  if (!(getScale().convertToDouble() > 0))
    return emitOpError("scale must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// SwiGluOp
//===----------------------------------------------------------------------===//

LogicalResult SwiGluOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType gate = getGate().getType();
  RankedTensorType down = getDown().getType();
  Operation *op = *this;
  if (failed(checkRank(op, "input", input, 2)) ||
      failed(checkRank(op, "gate", gate, 2)) ||
      failed(checkRank(op, "down", down, 2)))
    return failure();
  if (getUp().getType() != gate)
    return emitOpError() << "up must have the gate's type " << gate
                         << ", found " << getUp().getType();
  if (isa<Float8E4M3FNType>(gate.getElementType()) ||
      isa<Float8E4M3FNType>(down.getElementType()))
    return emitOpError("takes no block-scaled FP8 weights");
  if (failed(checkDim(op, "gate", gate, 1, input.getDimSize(1))) ||
      failed(checkDim(op, "down", down, 0, input.getDimSize(1))) ||
      failed(checkDim(op, "down", down, 1, gate.getDimSize(0))))
    return failure();
  if (getResult().getType() != input)
    return emitOpError() << "result must have the input's type " << input
                         << ", found " << getResult().getType();
  return success();
}
