//===- Importer.cpp - config.json to the as-written deepseek graph --------===//
//
// Part of Jikji. Writes the forward pass of MODEL.md op for op: expanded K
// and V, each routed expert as written. Making it fast is the passes' job
// (DESIGN.md, decision 5).
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Importer.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace jikji;
using namespace jikji::hf;
namespace ds = jikji::deepseek;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

/// The name of the argument attribute that records which checkpoint tensor
/// (relative to `model.layers.N.`) a layer function's parameter is.
constexpr StringLiteral kParamAttrName = "deepseek.param";
/// The argument attribute that marks the KV-cache operands of `@forward`.
constexpr StringLiteral kCacheAttrName = "deepseek.kv_cache";
/// The argument attribute of `@forward`'s first token to get logits.
constexpr StringLiteral kFirstLogitAttrName = "deepseek.first_logit";

/// A parameter a layer function takes, in the order it takes them.
struct LayerParameter {
  /// Name relative to `model.layers.N.`; routed experts have one `*`.
  std::string suffix;
  RankedTensorType type;
  bool stackedExperts;
};

/// Builds one layer function. The body asks for weights as it needs them
/// and each request becomes a function argument, so the argument list is
/// exactly what the body uses, in the order MODEL.md uses it.
class LayerBuilder {
public:
  LayerBuilder(OpBuilder &builder, const ModelConfig &config, func::FuncOp func)
      : builder(builder), config(config), func(func),
        block(&func.getBody().front()), loc(func.getLoc()) {}

  /// The weight `suffix` of this layer, of `shape`, in checkpoint storage.
  Value weight(StringRef suffix, ArrayRef<int64_t> shape, Type elementType) {
    return addParameter(suffix, shape, elementType, /*stackedExperts=*/false);
  }

  /// `x Wᵀ` with `W = suffix` of shape `[out, in]`. Quantizable weights are
  /// FP8 with block scales when the config says so.
  Value linear(Value input, StringRef suffix, int64_t out, int64_t in,
               bool quantizable = true) {
    auto resultType =
        RankedTensorType::get({kDynamic, out}, builder.getF32Type());
    if (!quantizable || !config.fp8) {
      Value w = weight(suffix, {out, in}, builder.getBF16Type());
      return ds::LinearOp::create(builder, loc, resultType, input, w,
                                  /*scales=*/Value(), /*block_size=*/nullptr);
    }
    int64_t blockRows = config.fp8->blockRows,
            blockCols = config.fp8->blockCols;
    Value w = weight(suffix, {out, in}, builder.getType<Float8E4M3FNType>());
    Value scales = weight((suffix + "_scale_inv").str(),
                          {llvm::divideCeilSigned(out, blockRows),
                           llvm::divideCeilSigned(in, blockCols)},
                          builder.getF32Type());
    return ds::LinearOp::create(
        builder, loc, resultType, input, w, scales,
        builder.getDenseI64ArrayAttr({blockRows, blockCols}));
  }

  Value rmsNorm(Value input, StringRef suffix) {
    int64_t size = cast<RankedTensorType>(input.getType()).getShape().back();
    Value w = weight(suffix, {size}, builder.getBF16Type());
    return ds::RmsNormOp::create(builder, loc, input, w,
                                 builder.getF64FloatAttr(config.rmsNormEps));
  }

  /// `[T, a*b]` <-> `[T, a, b]`.
  Value view(Value input, ArrayRef<int64_t> trailing) {
    SmallVector<int64_t> shape{kDynamic};
    llvm::append_range(shape, trailing);
    return ds::ViewOp::create(
        builder, loc, RankedTensorType::get(shape, builder.getF32Type()),
        input);
  }

  /// Splits the last axis into `sizes`.
  SmallVector<Value> split(Value input, ArrayRef<int64_t> sizes) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<Type> resultTypes;
    for (int64_t size : sizes) {
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = size;
      resultTypes.push_back(
          RankedTensorType::get(shape, type.getElementType()));
    }
    auto op = ds::SplitOp::create(builder, loc, resultTypes, input,
                                  builder.getDenseI64ArrayAttr(sizes));
    return SmallVector<Value>(op.getResults());
  }

  /// Emits one decoder layer; `moe` picks the FFN.
  void build(bool moe);

private:
  Value addParameter(StringRef suffix, ArrayRef<int64_t> shape,
                     Type elementType, bool stackedExperts) {
    auto type = RankedTensorType::get(shape, elementType);
    parameters.push_back({suffix.str(), type, stackedExperts});
    return block->addArgument(type, loc);
  }

  Value attention(Value x, Value placement, Value keyCache, Value valueCache,
                  Value &newKeyCache, Value &newValueCache);
  Value swiglu(Value x, StringRef prefix, int64_t width);
  Value mixtureOfExperts(Value x);

  OpBuilder &builder;
  const ModelConfig &config;
  func::FuncOp func;
  Block *block;
  Location loc;

public:
  SmallVector<LayerParameter> parameters;
};

ds::RopeAttr ropeAttr(MLIRContext *context, const ModelConfig &config) {
  // Without rope_scaling the rope is plain: factor 1 makes YaRN's blend and
  // both magnitude scales the identity.
  YarnScaling yarn;
  yarn.originalMaxPositionEmbeddings = config.maxPositionEmbeddings;
  if (config.yarn)
    yarn = *config.yarn;
  return ds::RopeAttr::get(
      context, APFloat(config.ropeTheta), APFloat(yarn.factor),
      yarn.originalMaxPositionEmbeddings, APFloat(yarn.betaFast),
      APFloat(yarn.betaSlow), APFloat(yarn.mscale), APFloat(yarn.mscaleAllDim));
}

Value LayerBuilder::attention(Value x, Value placement, Value keyCache,
                              Value valueCache, Value &newKeyCache,
                              Value &newValueCache) {
  // `placement` is the start of one sequence's new tokens (an index), or
  // the position of each token of a batched decode step (a tensor).
  Value start = isa<IndexType>(placement.getType()) ? placement : Value();
  Value positions = start ? Value() : placement;
  const ModelConfig &c = config;
  int64_t heads = c.numAttentionHeads, dn = c.qkNopeHeadDim,
          dr = c.qkRopeHeadDim, dv = c.vHeadDim, dq = c.qkHeadDim();
  int64_t hidden = c.hiddenSize, rkv = c.kvLoraRank;

  Value query;
  if (c.qLoraRank > 0) {
    Value compressed =
        linear(x, "self_attn.q_a_proj.weight", c.qLoraRank, hidden);
    compressed = rmsNorm(compressed, "self_attn.q_a_layernorm.weight");
    query = linear(compressed, "self_attn.q_b_proj.weight", heads * dq,
                   c.qLoraRank);
  } else {
    query = linear(x, "self_attn.q_proj.weight", heads * dq, hidden);
  }
  SmallVector<Value> queryParts = split(view(query, {heads, dq}), {dn, dr});
  ds::RopeAttr rope = ropeAttr(builder.getContext(), c);
  Value queryRope =
      ds::RopeOp::create(builder, loc, queryParts[1], start, positions, rope);

  Value latentAndKeyRope =
      linear(x, "self_attn.kv_a_proj_with_mqa.weight", rkv + dr, hidden);
  SmallVector<Value> latentParts = split(latentAndKeyRope, {rkv, dr});
  Value latent = rmsNorm(latentParts[0], "self_attn.kv_a_layernorm.weight");
  Value keyRope = ds::RopeOp::create(builder, loc, latentParts[1], start,
                                     positions, rope);

  // As written: expand the latent into every head's key and value.
  Value keyValue =
      linear(latent, "self_attn.kv_b_proj.weight", heads * (dn + dv), rkv);
  SmallVector<Value> keyValueParts =
      split(view(keyValue, {heads, dn + dv}), {dn, dv});

  auto outputType =
      RankedTensorType::get({kDynamic, heads, dv}, builder.getF32Type());
  auto op = ds::MlaAttentionOp::create(
      builder, loc, outputType, keyCache.getType(), valueCache.getType(),
      queryParts[0], queryRope, keyValueParts[0], keyRope, keyValueParts[1],
      keyCache, valueCache, start, positions,
      builder.getF64FloatAttr(c.softmaxScale()));
  newKeyCache = op.getNewKeyCache();
  newValueCache = op.getNewValueCache();
  return linear(view(op.getOutput(), {heads * dv}), "self_attn.o_proj.weight",
                hidden, heads * dv);
}

Value LayerBuilder::swiglu(Value x, StringRef prefix, int64_t width) {
  int64_t hidden = config.hiddenSize;
  Value gate = linear(x, (prefix + ".gate_proj.weight").str(), width, hidden);
  Value up = linear(x, (prefix + ".up_proj.weight").str(), width, hidden);
  Value activated = ds::SiluMulOp::create(builder, loc, gate, up);
  return linear(activated, (prefix + ".down_proj.weight").str(), hidden, width);
}

Value LayerBuilder::mixtureOfExperts(Value x) {
  const ModelConfig &c = config;
  int64_t experts = c.nRoutedExperts, width = c.moeIntermediateSize,
          hidden = c.hiddenSize, topK = c.numExpertsPerTok;
  // The router stays BF16 in FP8 checkpoints.
  Value logits = linear(x, "mlp.gate.weight", experts, hidden,
                        /*quantizable=*/false);
  Value bias;
  if (c.topkMethod == TopKMethod::NoAuxTc)
    bias = weight("mlp.gate.e_score_correction_bias", {experts},
                  builder.getF32Type());
  // "greedy" is top-k over all experts, whatever n_group says.
  int64_t groups = c.topkMethod == TopKMethod::Greedy ? 1 : c.nGroup;
  int64_t topkGroups = c.topkMethod == TopKMethod::Greedy ? 1 : c.topkGroup;
  auto scoring = c.scoringFunction == ScoringFunction::Softmax
                     ? ds::ScoringFunction::Softmax
                     : ds::ScoringFunction::Sigmoid;
  ds::TopKMethod method = ds::TopKMethod::Greedy;
  if (c.topkMethod == TopKMethod::GroupLimitedGreedy)
    method = ds::TopKMethod::GroupLimitedGreedy;
  else if (c.topkMethod == TopKMethod::NoAuxTc)
    method = ds::TopKMethod::NoAuxTc;

  MLIRContext *context = builder.getContext();
  auto router = ds::MoeRouterOp::create(
      builder, loc,
      RankedTensorType::get({kDynamic, topK}, builder.getF32Type()),
      RankedTensorType::get({kDynamic, topK}, builder.getI32Type()), logits,
      bias, ds::ScoringFunctionAttr::get(context, scoring),
      ds::TopKMethodAttr::get(context, method), builder.getI64IntegerAttr(topK),
      builder.getI64IntegerAttr(groups), builder.getI64IntegerAttr(topkGroups),
      c.normTopkProb ? builder.getUnitAttr() : nullptr,
      builder.getF64FloatAttr(c.routedScalingFactor));

  Type weightType = c.fp8 ? Type(builder.getType<Float8E4M3FNType>())
                          : Type(builder.getBF16Type());
  auto expertWeight = [&](StringRef name, ArrayRef<int64_t> shape, Type type) {
    SmallVector<int64_t> stacked{experts};
    llvm::append_range(stacked, shape);
    return addParameter(("mlp.experts.*." + name).str(), stacked, type,
                        /*stackedExperts=*/true);
  };
  Value gate = expertWeight("gate_proj.weight", {width, hidden}, weightType);
  Value up = expertWeight("up_proj.weight", {width, hidden}, weightType);
  Value down = expertWeight("down_proj.weight", {hidden, width}, weightType);
  SmallVector<Value> scales;
  DenseI64ArrayAttr blockSize;
  if (c.fp8) {
    int64_t rows = c.fp8->blockRows, cols = c.fp8->blockCols;
    auto scaleShape = [&](int64_t out, int64_t in) {
      return SmallVector<int64_t>{llvm::divideCeilSigned(out, rows),
                                  llvm::divideCeilSigned(in, cols)};
    };
    Type f32 = builder.getF32Type();
    scales = {expertWeight("gate_proj.weight_scale_inv",
                           scaleShape(width, hidden), f32),
              expertWeight("up_proj.weight_scale_inv",
                           scaleShape(width, hidden), f32),
              expertWeight("down_proj.weight_scale_inv",
                           scaleShape(hidden, width), f32)};
    blockSize = builder.getDenseI64ArrayAttr({rows, cols});
  }
  Value routed = ds::MoeExpertsOp::create(
      builder, loc, x.getType(), x, router.getWeights(), router.getIndices(),
      gate, up, down, scales, blockSize);
  if (c.nSharedExperts == 0)
    return routed;
  Value shared =
      swiglu(x, "mlp.shared_experts", c.nSharedExperts * c.moeIntermediateSize);
  return ds::AddOp::create(builder, loc, routed, shared);
}

void LayerBuilder::build(bool moe) {
  builder.setInsertionPointToStart(block);
  Value hidden = block->getArgument(0), placement = block->getArgument(1);
  Value keyCache = block->getArgument(2), valueCache = block->getArgument(3);

  Value newKeyCache, newValueCache;
  Value normed = rmsNorm(hidden, "input_layernorm.weight");
  Value attended = attention(normed, placement, keyCache, valueCache,
                             newKeyCache, newValueCache);
  hidden = ds::AddOp::create(builder, loc, hidden, attended);

  normed = rmsNorm(hidden, "post_attention_layernorm.weight");
  Value ffn = moe ? mixtureOfExperts(normed)
                  : swiglu(normed, "mlp", config.intermediateSize);
  hidden = ds::AddOp::create(builder, loc, hidden, ffn);
  func::ReturnOp::create(builder, loc,
                         ValueRange{hidden, newKeyCache, newValueCache});

  // The body has asked for all its weights: fix the signature.
  func.setFunctionType(builder.getFunctionType(
      block->getArgumentTypes(), func.getFunctionType().getResults()));
  for (auto [index, parameter] : llvm::enumerate(parameters))
    func.setArgAttr(index + 4, kParamAttrName,
                    builder.getStringAttr(parameter.suffix));
}

/// What an entry function computes: the new tokens of one sequence
/// (`@forward`), or one new token of each of a batch of sequences
/// (`@forward_batch`, a batched decode step).
enum class Step { Sequence, BatchedDecode };

/// The types every layer function and its entry function agree on.
struct GraphTypes {
  RankedTensorType hidden;     ///< [T, H]
  Type placement;              ///< start (index) or positions ([T] i64)
  RankedTensorType keyCache;   ///< one layer: [slots?, capacity, heads, dn + dr]
  RankedTensorType valueCache; ///< one layer: [slots?, capacity, heads, dv]
  /// Every layer: [layers, capacity, ...], or [slots, layers, capacity, ...]
  /// so that each slot is laid out as one sequence's caches.
  RankedTensorType stackedKeyCache, stackedValueCache;
};

GraphTypes graphTypes(Builder &builder, const ModelConfig &c, Step step) {
  Type f32 = builder.getF32Type();
  bool batched = step == Step::BatchedDecode;
  auto cache = [&](int64_t entry, bool stacked) {
    SmallVector<int64_t> shape;
    if (batched)
      shape.push_back(kDynamic);
    if (stacked)
      shape.push_back(c.numHiddenLayers);
    llvm::append_range(shape, ArrayRef<int64_t>{kDynamic, c.numAttentionHeads,
                                                entry});
    return RankedTensorType::get(shape, f32);
  };
  GraphTypes types;
  types.hidden = RankedTensorType::get({kDynamic, c.hiddenSize}, f32);
  types.placement =
      batched ? Type(RankedTensorType::get({kDynamic}, builder.getI64Type()))
              : Type(builder.getIndexType());
  types.keyCache = cache(c.qkHeadDim(), /*stacked=*/false);
  types.valueCache = cache(c.vHeadDim, /*stacked=*/false);
  types.stackedKeyCache = cache(c.qkHeadDim(), /*stacked=*/true);
  types.stackedValueCache = cache(c.vHeadDim, /*stacked=*/true);
  return types;
}

/// Declares and builds `@<name>`, one decoder layer of either kind.
std::pair<func::FuncOp, SmallVector<LayerParameter>>
buildLayerFunction(OpBuilder &builder, ModuleOp module,
                   const ModelConfig &config, const GraphTypes &types,
                   StringRef name, bool moe) {
  Location loc = module.getLoc();
  builder.setInsertionPointToEnd(module.getBody());
  SmallVector<Type> arguments{types.hidden, types.placement, types.keyCache,
                              types.valueCache};
  SmallVector<Type> results{types.hidden, types.keyCache, types.valueCache};
  auto func = func::FuncOp::create(builder, loc, name,
                                   builder.getFunctionType(arguments, results));
  func.setPrivate();
  Block *entry = func.addEntryBlock();
  (void)entry;
  LayerBuilder layer(builder, config, func);
  layer.build(moe);
  return {func, std::move(layer.parameters)};
}

/// Materializes a layer's parameters in `@forward` by their full names.
SmallVector<Value> layerParameters(OpBuilder &builder, Location loc,
                                   int64_t layer,
                                   ArrayRef<LayerParameter> parameters) {
  SmallVector<Value> values;
  std::string prefix = "model.layers." + std::to_string(layer) + ".";
  for (const LayerParameter &parameter : parameters) {
    StringAttr name = builder.getStringAttr(prefix + parameter.suffix);
    if (parameter.stackedExperts)
      values.push_back(
          ds::ExpertParamOp::create(builder, loc, parameter.type, name));
    else
      values.push_back(ds::ParamOp::create(builder, loc, parameter.type, name));
  }
  return values;
}

/// Declares and builds one entry function with its layer functions:
///   @forward(tokens, start, caches..., first_logit) -> (logits, caches...)
///   @forward_batch(tokens, positions, caches...) -> (logits, caches...)
void buildEntryFunction(OpBuilder &builder, ModuleOp module,
                        const ModelConfig &config, Step step) {
  bool batched = step == Step::BatchedDecode;
  Location loc = module.getLoc();
  GraphTypes types = graphTypes(builder, config, step);
  std::string suffix = batched ? "_batch" : "";

  // The entry function first, so that the module reads top-down.
  builder.setInsertionPointToEnd(module.getBody());
  auto tokensType = RankedTensorType::get({kDynamic}, builder.getI64Type());
  auto logitsType =
      RankedTensorType::get({kDynamic, config.vocabSize}, builder.getF32Type());
  SmallVector<Type> arguments{tokensType, types.placement,
                              types.stackedKeyCache, types.stackedValueCache};
  if (!batched)
    arguments.push_back(builder.getIndexType());
  auto forward = func::FuncOp::create(
      builder, loc, "forward" + suffix,
      builder.getFunctionType(arguments,
                              {logitsType, types.stackedKeyCache,
                               types.stackedValueCache}));
  forward.setArgAttr(2, kCacheAttrName, builder.getStringAttr("key"));
  forward.setArgAttr(3, kCacheAttrName, builder.getStringAttr("value"));
  if (!batched)
    forward.setArgAttr(4, kFirstLogitAttrName, builder.getUnitAttr());
  Block *body = forward.addEntryBlock();

  // One function per layer kind that occurs (DESIGN.md, decision 3).
  bool anyDense = false, anyMoe = false;
  for (int64_t layer = 0; layer < config.numHiddenLayers; ++layer)
    (config.isMoeLayer(layer) ? anyMoe : anyDense) = true;
  std::pair<func::FuncOp, SmallVector<LayerParameter>> dense, moe;
  if (anyDense)
    dense = buildLayerFunction(builder, module, config, types,
                               "dense_layer" + suffix, /*moe=*/false);
  if (anyMoe)
    moe = buildLayerFunction(builder, module, config, types,
                             "moe_layer" + suffix, /*moe=*/true);

  builder.setInsertionPointToStart(body);
  Value tokens = body->getArgument(0), placement = body->getArgument(1);
  Value keyCache = body->getArgument(2), valueCache = body->getArgument(3);
  Value embeddings = ds::ParamOp::create(
      builder, loc,
      RankedTensorType::get({config.vocabSize, config.hiddenSize},
                            builder.getBF16Type()),
      builder.getStringAttr("model.embed_tokens.weight"));
  Value hidden =
      ds::EmbeddingOp::create(builder, loc, types.hidden, embeddings, tokens);

  // Each layer reads its slice of the stacked caches and writes it back:
  // [l, 0, ...] of @forward's, [0, l, 0, ...] (every slot) of
  // @forward_batch's.
  unsigned layerAxis = batched ? 1 : 0;
  Value capacity =
      tensor::DimOp::create(builder, loc, keyCache, layerAxis + 1);
  Value slots = batched ? tensor::DimOp::create(builder, loc, keyCache, 0)
                              .getResult()
                        : Value();
  for (int64_t layer = 0; layer < config.numHiddenLayers; ++layer) {
    auto &[callee, parameters] = config.isMoeLayer(layer) ? moe : dense;
    auto sliceOf = [&](RankedTensorType stacked) {
      SmallVector<OpFoldResult> offsets, sizes;
      if (batched) {
        offsets.push_back(builder.getIndexAttr(0));
        sizes.push_back(slots);
      }
      offsets.append({builder.getIndexAttr(layer), builder.getIndexAttr(0)});
      sizes.append({builder.getIndexAttr(1), capacity});
      for (int64_t dim : stacked.getShape().drop_front(layerAxis + 2)) {
        offsets.push_back(builder.getIndexAttr(0));
        sizes.push_back(builder.getIndexAttr(dim));
      }
      SmallVector<OpFoldResult> strides(stacked.getRank(),
                                        builder.getIndexAttr(1));
      return std::make_tuple(offsets, sizes, strides);
    };
    auto [keyOffsets, keySizes, keyStrides] = sliceOf(types.stackedKeyCache);
    auto [valueOffsets, valueSizes, valueStrides] =
        sliceOf(types.stackedValueCache);
    Value layerKeys =
        tensor::ExtractSliceOp::create(builder, loc, types.keyCache, keyCache,
                                       keyOffsets, keySizes, keyStrides);
    Value layerValues = tensor::ExtractSliceOp::create(
        builder, loc, types.valueCache, valueCache, valueOffsets, valueSizes,
        valueStrides);
    SmallVector<Value> operands{hidden, placement, layerKeys, layerValues};
    llvm::append_range(operands,
                       layerParameters(builder, loc, layer, parameters));
    auto call = func::CallOp::create(builder, loc, callee, operands);
    hidden = call.getResult(0);
    keyCache =
        tensor::InsertSliceOp::create(builder, loc, call.getResult(1), keyCache,
                                      keyOffsets, keySizes, keyStrides);
    valueCache = tensor::InsertSliceOp::create(builder, loc, call.getResult(2),
                                               valueCache, valueOffsets,
                                               valueSizes, valueStrides);
  }

  // Logits for the tokens from `first_logit` on only: generation needs the
  // last token's, and the head is the largest product of a prefill. A
  // batched decode step needs every row.
  if (!batched) {
    Value firstLogit = body->getArgument(4);
    Value numTokens = tensor::DimOp::create(builder, loc, hidden, 0);
    hidden = tensor::ExtractSliceOp::create(
        builder, loc, types.hidden, hidden,
        ArrayRef<OpFoldResult>{firstLogit, builder.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{
            arith::SubIOp::create(builder, loc, numTokens, firstLogit)
                .getResult(),
            builder.getIndexAttr(config.hiddenSize)},
        ArrayRef<OpFoldResult>{builder.getIndexAttr(1),
                               builder.getIndexAttr(1)});
  }

  Value normWeight = ds::ParamOp::create(
      builder, loc,
      RankedTensorType::get({config.hiddenSize}, builder.getBF16Type()),
      builder.getStringAttr("model.norm.weight"));
  hidden = ds::RmsNormOp::create(builder, loc, hidden, normWeight,
                                 builder.getF64FloatAttr(config.rmsNormEps));
  // A tied head reads the embedding table itself.
  Value head =
      config.tieWordEmbeddings
          ? embeddings
          : ds::ParamOp::create(
                builder, loc,
                RankedTensorType::get({config.vocabSize, config.hiddenSize},
                                      builder.getBF16Type()),
                builder.getStringAttr("lm_head.weight"));
  Value logits = ds::LinearOp::create(builder, loc, logitsType, hidden, head,
                                      Value(), nullptr);
  func::ReturnOp::create(builder, loc,
                         ValueRange{logits, keyCache, valueCache});
}

} // namespace

OwningOpRef<ModuleOp> jikji::hf::importModel(MLIRContext &context,
                                             const ModelConfig &config,
                                             const ImportOptions &options) {
  context.loadDialect<ds::DeepSeekDialect, func::FuncDialect,
                      tensor::TensorDialect, arith::ArithDialect>();
  OpBuilder builder(&context);
  Location loc =
      NameLoc::get(builder.getStringAttr(toString(config.modelType)));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  module->getOperation()->setAttr(
      "deepseek.model_type", builder.getStringAttr(toString(config.modelType)));
  module->getOperation()->setAttr(
      "deepseek.max_position_embeddings",
      builder.getI64IntegerAttr(config.maxPositionEmbeddings));
  buildEntryFunction(builder, *module, config, Step::Sequence);
  if (options.batchedDecode)
    buildEntryFunction(builder, *module, config, Step::BatchedDecode);
  return module;
}
