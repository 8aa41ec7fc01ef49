//===- ModelConfig.cpp - A DeepSeek model's config.json -------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelConfig.h"

#include "frontends/huggingface/Json.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <initializer_list>

using namespace jikji;
using namespace jikji::hf;

const char *jikji::hf::toString(ModelType type) {
  switch (type) {
  case ModelType::DeepSeekV2:
    return "deepseek_v2";
  case ModelType::DeepSeekV3:
    return "deepseek_v3";
  }
  return "unknown";
}

const char *jikji::hf::toString(ScoringFunction function) {
  switch (function) {
  case ScoringFunction::Softmax:
    return "softmax";
  case ScoringFunction::Sigmoid:
    return "sigmoid";
  }
  return "unknown";
}

const char *jikji::hf::toString(TopKMethod method) {
  switch (method) {
  case TopKMethod::Greedy:
    return "greedy";
  case TopKMethod::GroupLimitedGreedy:
    return "group_limited_greedy";
  case TopKMethod::NoAuxTc:
    return "noaux_tc";
  }
  return "unknown";
}

//===----------------------------------------------------------------------===//
// Derived quantities
//===----------------------------------------------------------------------===//

bool ModelConfig::isMoeLayer(int64_t layer) const {
  return nRoutedExperts > 0 && layer >= firstKDenseReplace &&
         layer % moeLayerFreq == 0;
}

/// YaRN's attention magnitude correction mscale'(a) = 0.1 a ln(factor) + 1,
/// which is 1 when the context is not stretched.
static double yarnMscale(double factor, double mscale) {
  if (factor <= 1)
    return 1.0;
  return 0.1 * mscale * std::log(factor) + 1.0;
}

double ModelConfig::softmaxScale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qkHeadDim()));
  if (yarn && yarn->factor > 1) {
    double m = yarnMscale(yarn->factor, yarn->mscaleAllDim);
    scale *= m * m;
  }
  return scale;
}

double ModelConfig::ropeMagnitudeScale() const {
  if (!yarn)
    return 1.0;
  return yarnMscale(yarn->factor, yarn->mscale) /
         yarnMscale(yarn->factor, yarn->mscaleAllDim);
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

/// Upper bounds that keep every product of sizes (a weight's element count,
/// the parameter list's length) far from overflow; the released models are
/// orders of magnitude below them.
constexpr int64_t kMaxDimension = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxExperts = 4096;
constexpr int64_t kMaxPositions = int64_t(1) << 30;
/// The artifact manifest's limits (runtime/artifact/Manifest.cpp) on what the
/// sizes above multiply into: one dimension of a projection, and all of one
/// layer's routed experts.
constexpr int64_t kMaxProjectionWidth = int64_t(1) << 31;
constexpr int64_t kMaxStackedExpertElements = int64_t(1) << 56;
/// The most (layer, routed expert) pairs, MTP layers included. Each pair is
/// three weights in the parameter list, so this bounds the list (and the
/// checkpoint check, the graph) to a few hundred thousand entries: within
/// the caps above a 1.5 KB config.json could otherwise ask for 25 million
/// (4.7 GB). DeepSeek-V3 has (61 + 1) * 256 = 15872.
constexpr int64_t kMaxLayerExpertPairs = int64_t(1) << 17;

/// Reads fields of one JSON object, remembering the first failure. After a
/// failure every getter returns a harmless default, so a run of getters can be
/// checked once at its end and the first problem is the one reported.
class FieldReader {
public:
  FieldReader(const std::string &source) : source_(source) {}

  bool failed() const { return error_.has_value(); }
  Error takeError() { return Error(*error_); }

  /// Records `<source>: '<field>': expected <expected>, found <found>`.
  void fail(const std::string &field, const std::string &expected,
            const std::string &found) {
    if (!error_)
      error_ = source_ + ": '" + field + "': expected " + expected +
               ", found " + found;
  }

  static std::string describe(const JsonValue *value) {
    return value ? value->describe() : "nothing";
  }

  /// An integer in [min, max]; `expected` says what the field is ("a positive
  /// integer"). When `fallback` is set the field may be absent.
  int64_t integer(const JsonValue &object, const std::string &prefix,
                  const char *name, int64_t min, int64_t max,
                  const char *expected, std::optional<int64_t> fallback = {}) {
    if (failed())
      return fallback.value_or(min);
    const JsonValue *value = object.find(name);
    if (!value && fallback)
      return *fallback;
    std::string field = prefix + name;
    if (!value || !value->isInteger() || value->asInt() < min) {
      fail(field, expected, describe(value));
      return fallback.value_or(min);
    }
    if (value->asInt() > max) {
      fail(field,
           std::string(expected) + " no larger than " + std::to_string(max),
           describe(value));
      return fallback.value_or(min);
    }
    return value->asInt();
  }

  /// A required size: a positive integer.
  int64_t size(const JsonValue &object, const char *name,
               int64_t max = kMaxDimension) {
    return integer(object, "", name, 1, max, "a positive integer");
  }

  /// A number above `min` (or equal to it when `inclusive`); `fallback` when
  /// the field is absent, if there is one.
  double number(const JsonValue &object, const std::string &prefix,
                const char *name, double min, bool inclusive,
                const char *expected, std::optional<double> fallback = {}) {
    if (failed())
      return fallback.value_or(min);
    const JsonValue *value = object.find(name);
    if (!value && fallback)
      return *fallback;
    if (!value || !value->isNumber() ||
        (inclusive ? value->asDouble() < min : value->asDouble() <= min)) {
      fail(prefix + name, expected, describe(value));
      return fallback.value_or(min);
    }
    return value->asDouble();
  }

  bool boolean(const JsonValue &object, const char *name, bool fallback) {
    if (failed())
      return fallback;
    const JsonValue *value = object.find(name);
    if (!value)
      return fallback;
    if (!value->isBool()) {
      fail(name, "true or false", describe(value));
      return fallback;
    }
    return value->asBool();
  }

  /// One of `choices`, returned as its index; `fallback` when absent, if
  /// there is one.
  std::optional<size_t> choice(const JsonValue &object,
                               const std::string &prefix, const char *name,
                               std::initializer_list<const char *> choices,
                               std::optional<size_t> fallback) {
    if (failed())
      return fallback;
    const JsonValue *value = object.find(name);
    if (!value && fallback)
      return fallback;
    if (value && value->isString()) {
      size_t index = 0;
      for (const char *candidate : choices) {
        if (value->asString() == candidate)
          return index;
        ++index;
      }
    }
    fail(prefix + name, listChoices(choices), describe(value));
    return fallback;
  }

  /// `"a", "b" or "c"`.
  static std::string listChoices(std::initializer_list<const char *> choices) {
    std::string text;
    size_t index = 0;
    for (const char *candidate : choices) {
      if (index > 0)
        text += index + 1 == choices.size() ? " or " : ", ";
      text += '"';
      text += candidate;
      text += '"';
      ++index;
    }
    return text;
  }

private:
  const std::string &source_;
  std::optional<std::string> error_;
};

} // namespace

/// Reads `rope_scaling` (already known to be present and not null).
static std::optional<YarnScaling> parseRopeScaling(const JsonValue &scaling,
                                                   FieldReader &reader) {
  if (!scaling.isObject()) {
    reader.fail("rope_scaling", "null or an object",
                FieldReader::describe(&scaling));
    return std::nullopt;
  }
  // Newer transformers releases spell the key `rope_type`.
  const char *typeKey =
      !scaling.find("type") && scaling.find("rope_type") ? "rope_type" : "type";
  reader.choice(scaling, "rope_scaling.", typeKey, {"yarn"}, std::nullopt);
  YarnScaling yarn;
  yarn.factor =
      reader.number(scaling, "rope_scaling.", "factor", 1.0,
                    /*inclusive=*/true, "a number >= 1 (the context stretch)");
  yarn.originalMaxPositionEmbeddings = reader.integer(
      scaling, "rope_scaling.", "original_max_position_embeddings", 1,
      kMaxPositions, "a positive integer");
  yarn.betaFast = reader.number(scaling, "rope_scaling.", "beta_fast", 0.0,
                                /*inclusive=*/false, "a positive number", 32.0);
  yarn.betaSlow = reader.number(scaling, "rope_scaling.", "beta_slow", 0.0,
                                /*inclusive=*/false, "a positive number", 1.0);
  yarn.mscale = reader.number(scaling, "rope_scaling.", "mscale", -HUGE_VAL,
                              /*inclusive=*/true, "a number", 1.0);
  yarn.mscaleAllDim =
      reader.number(scaling, "rope_scaling.", "mscale_all_dim", -HUGE_VAL,
                    /*inclusive=*/true, "a number", 0.0);
  if (reader.failed())
    return std::nullopt;
  return yarn;
}

/// Reads `quantization_config` (already known to be present and not null).
/// Only the layout of DeepSeek's released FP8 checkpoints is accepted: any
/// other scheme would be read as the wrong numbers.
static std::optional<Fp8Quantization>
parseQuantization(const JsonValue &quantization, FieldReader &reader) {
  if (!quantization.isObject()) {
    reader.fail("quantization_config", "null or an object",
                FieldReader::describe(&quantization));
    return std::nullopt;
  }
  const std::string prefix = "quantization_config.";
  reader.choice(quantization, prefix, "quant_method", {"fp8"}, std::nullopt);
  reader.choice(quantization, prefix, "fmt", {"e4m3"}, std::nullopt);
  // Static activation scales would be extra tensors this reader knows nothing
  // about; "dynamic" (scales computed at run time) is what DeepSeek ships.
  reader.choice(quantization, prefix, "activation_scheme", {"dynamic"},
                size_t(0));
  Fp8Quantization fp8;
  const JsonValue *scaleFormat = quantization.find("scale_fmt");
  if (scaleFormat && !scaleFormat->isNull()) {
    std::optional<size_t> format = reader.choice(
        quantization, prefix, "scale_fmt", {"ue8m0"}, std::nullopt);
    fp8.powerOfTwoScales = format.has_value();
  }
  if (reader.failed())
    return std::nullopt;
  const JsonValue *blockSize = quantization.find("weight_block_size");
  std::string field = prefix + "weight_block_size";
  bool isPair = blockSize && blockSize->isArray() &&
                blockSize->asArray().size() == 2 &&
                blockSize->asArray()[0].isInteger() &&
                blockSize->asArray()[1].isInteger();
  if (!isPair) {
    reader.fail(field, "[128, 128]", FieldReader::describe(blockSize));
    return std::nullopt;
  }
  if (blockSize->asArray()[0].asInt() != 128 ||
      blockSize->asArray()[1].asInt() != 128) {
    reader.fail(field,
                "[128, 128] (the only FP8 block size supported; the scales "
                "of other block sizes would be read wrongly)",
                blockSize->describe());
    return std::nullopt;
  }
  return fp8;
}

/// Reads a token id: absent or null, an integer, or (as some configs write
/// `eos_token_id`) a list whose first entry counts.
static std::optional<int64_t>
parseTokenId(const JsonValue &root, const char *name, FieldReader &reader) {
  const JsonValue *value = root.find(name);
  if (!value || value->isNull())
    return std::nullopt;
  const JsonValue *id = value;
  if (value->isArray() && !value->asArray().empty())
    id = &value->asArray().front();
  if (!id->isInteger() || id->asInt() < 0) {
    reader.fail(name, "null or a non-negative integer",
                FieldReader::describe(value));
    return std::nullopt;
  }
  return id->asInt();
}

Result<ModelConfig> jikji::hf::parseModelConfig(std::string_view jsonText,
                                                const std::string &sourceName) {
  Result<JsonValue> parsed = parseJson(jsonText);
  if (!parsed)
    return Error(sourceName + ": " + parsed.error());
  const JsonValue &root = *parsed;
  if (!root.isObject())
    return Error(sourceName + ": expected a JSON object, found " +
                 root.describe());

  FieldReader reader(sourceName);
  ModelConfig config;

  // The model type decides the defaults below, so it comes first.
  const JsonValue *modelType = root.find("model_type");
  if (modelType && modelType->isString() &&
      modelType->asString() == "deepseek_v32") {
    reader.fail("model_type", "\"deepseek_v2\" or \"deepseek_v3\"",
                "\"deepseek_v32\": sparse attention (V3.2) is not supported "
                "yet");
    return reader.takeError();
  }
  std::optional<size_t> type = reader.choice(
      root, "", "model_type", {"deepseek_v2", "deepseek_v3"}, std::nullopt);
  if (reader.failed())
    return reader.takeError();
  config.modelType = *type == 0 ? ModelType::DeepSeekV2 : ModelType::DeepSeekV3;
  bool isV3 = config.modelType == ModelType::DeepSeekV3;
  const char *expectedArchitecture =
      isV3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM";

  config.architecture = expectedArchitecture;
  if (const JsonValue *architectures = root.find("architectures")) {
    bool matches =
        architectures->isArray() && !architectures->asArray().empty() &&
        architectures->asArray()[0].isString() &&
        architectures->asArray()[0].asString() == expectedArchitecture;
    if (!matches) {
      reader.fail("architectures",
                  std::string("[\"") + expectedArchitecture +
                      "\"] for model_type \"" + toString(config.modelType) +
                      "\"",
                  architectures->describe());
      return reader.takeError();
    }
  }

  config.vocabSize = reader.size(root, "vocab_size");
  config.hiddenSize = reader.size(root, "hidden_size");
  config.intermediateSize = reader.size(root, "intermediate_size");
  config.moeIntermediateSize = reader.size(root, "moe_intermediate_size");
  config.numHiddenLayers = reader.size(root, "num_hidden_layers", kMaxLayers);
  config.numNextnPredictLayers =
      reader.integer(root, "", "num_nextn_predict_layers", 0, kMaxLayers,
                     "a non-negative integer", int64_t(0));
  config.numAttentionHeads = reader.size(root, "num_attention_heads");
  config.nSharedExperts = reader.integer(root, "", "n_shared_experts", 0,
                                         kMaxExperts, "a non-negative integer");
  config.nRoutedExperts = reader.size(root, "n_routed_experts", kMaxExperts);
  config.numExpertsPerTok = reader.size(root, "num_experts_per_tok");
  config.nGroup = reader.integer(root, "", "n_group", 1, kMaxExperts,
                                 "a positive integer", int64_t(1));
  config.topkGroup = reader.integer(root, "", "topk_group", 1, kMaxExperts,
                                    "a positive integer", int64_t(1));
  config.firstKDenseReplace =
      reader.integer(root, "", "first_k_dense_replace", 0, kMaxLayers,
                     "a non-negative integer", int64_t(0));
  config.moeLayerFreq =
      reader.integer(root, "", "moe_layer_freq", 1, kMaxLayers,
                     "a positive integer", int64_t(1));
  if (!reader.failed()) {
    // null and 0 both mean "no query compression".
    const JsonValue *qLoraRank = root.find("q_lora_rank");
    if (qLoraRank && !qLoraRank->isNull())
      config.qLoraRank =
          reader.integer(root, "", "q_lora_rank", 0, kMaxDimension,
                         "null or a non-negative integer");
  }
  config.kvLoraRank = reader.size(root, "kv_lora_rank");
  config.qkNopeHeadDim = reader.size(root, "qk_nope_head_dim");
  config.qkRopeHeadDim = reader.size(root, "qk_rope_head_dim");
  config.vHeadDim = reader.size(root, "v_head_dim");
  config.maxPositionEmbeddings =
      reader.size(root, "max_position_embeddings", kMaxPositions);

  std::optional<size_t> scoring = reader.choice(
      root, "", "scoring_func", {"softmax", "sigmoid"}, size_t(isV3 ? 1 : 0));
  std::optional<size_t> topk = reader.choice(
      root, "", "topk_method", {"greedy", "group_limited_greedy", "noaux_tc"},
      size_t(isV3 ? 2 : 0));
  reader.choice(root, "", "hidden_act", {"silu"}, size_t(0));
  config.normTopkProb = reader.boolean(root, "norm_topk_prob", false);
  config.routedScalingFactor =
      reader.number(root, "", "routed_scaling_factor", 0.0,
                    /*inclusive=*/false, "a positive number", 1.0);
  config.rmsNormEps = reader.number(root, "", "rms_norm_eps", 0.0,
                                    /*inclusive=*/false, "a positive number");
  config.ropeTheta =
      reader.number(root, "", "rope_theta", 0.0,
                    /*inclusive=*/false, "a positive number", 10000.0);
  config.tieWordEmbeddings = reader.boolean(root, "tie_word_embeddings", false);
  // MODEL.md's attention has no biases; a checkpoint with them would compute
  // something else.
  if (reader.boolean(root, "attention_bias", false))
    reader.fail("attention_bias", "false (DeepSeek attention has no biases)",
                "true");
  if (reader.failed())
    return reader.takeError();
  config.scoringFunction =
      *scoring == 0 ? ScoringFunction::Softmax : ScoringFunction::Sigmoid;
  config.topkMethod = *topk == 0   ? TopKMethod::Greedy
                      : *topk == 1 ? TopKMethod::GroupLimitedGreedy
                                   : TopKMethod::NoAuxTc;

  const JsonValue *ropeScaling = root.find("rope_scaling");
  if (ropeScaling && !ropeScaling->isNull())
    config.yarn = parseRopeScaling(*ropeScaling, reader);
  const JsonValue *quantization = root.find("quantization_config");
  if (!reader.failed() && quantization && !quantization->isNull())
    config.fp8 = parseQuantization(*quantization, reader);
  if (!reader.failed())
    config.bosTokenId = parseTokenId(root, "bos_token_id", reader);
  if (!reader.failed())
    config.eosTokenId = parseTokenId(root, "eos_token_id", reader);
  if (reader.failed())
    return reader.takeError();

  // Constraints between fields.
  auto str = [](int64_t value) { return std::to_string(value); };
  if (config.qkRopeHeadDim % 2 != 0) {
    reader.fail("qk_rope_head_dim", "an even number (RoPE rotates pairs)",
                str(config.qkRopeHeadDim));
  } else if (config.nRoutedExperts % config.nGroup != 0) {
    reader.fail("n_group",
                "a divisor of n_routed_experts (" + str(config.nRoutedExperts) +
                    ")",
                str(config.nGroup));
  } else if (config.topkGroup > config.nGroup) {
    reader.fail("topk_group",
                "an integer from 1 to n_group (" + str(config.nGroup) + ")",
                str(config.topkGroup));
  } else if (config.numExpertsPerTok > config.nRoutedExperts) {
    reader.fail("num_experts_per_tok",
                "at most n_routed_experts (" + str(config.nRoutedExperts) + ")",
                str(config.numExpertsPerTok));
  } else if (config.topkMethod != TopKMethod::Greedy &&
             config.numExpertsPerTok >
                 config.topkGroup * (config.nRoutedExperts / config.nGroup)) {
    // Group-limited routing only sees the experts of the kept groups.
    int64_t kept = config.topkGroup * (config.nRoutedExperts / config.nGroup);
    reader.fail("num_experts_per_tok",
                "at most topk_group * n_routed_experts / n_group (" +
                    str(config.topkGroup) + " * " + str(config.nRoutedExperts) +
                    " / " + str(config.nGroup) + " = " + str(kept) + ")",
                str(config.numExpertsPerTok));
  } else if (config.topkMethod == TopKMethod::NoAuxTc &&
             config.nRoutedExperts / config.nGroup < 2) {
    reader.fail("n_group",
                "at most n_routed_experts / 2 (" +
                    str(config.nRoutedExperts / 2) +
                    ") with topk_method \"noaux_tc\", which scores each "
                    "group by its top 2 experts",
                str(config.nGroup));
  } else if (config.firstKDenseReplace > config.numHiddenLayers) {
    reader.fail("first_k_dense_replace",
                "at most num_hidden_layers (" + str(config.numHiddenLayers) +
                    ")",
                str(config.firstKDenseReplace));
  } else if (config.numAttentionHeads * config.qkHeadDim() >
             kMaxProjectionWidth) {
    // What the compiler accepts the runtime must load: the artifact manifest
    // holds at most 2^31 per dimension and 2^56 elements per parameter (a
    // layer's routed experts stacked into one). Each size is capped at 2^24
    // above, so only these products can pass those limits.
    reader.fail("num_attention_heads",
                "at most " + str(kMaxProjectionWidth / config.qkHeadDim()) +
                    " (num_attention_heads * (qk_nope_head_dim + "
                    "qk_rope_head_dim) may be at most 2^31)",
                str(config.numAttentionHeads));
  } else if (config.numAttentionHeads *
                 (config.qkNopeHeadDim + config.vHeadDim) >
             kMaxProjectionWidth) {
    reader.fail("num_attention_heads",
                "at most " +
                    str(kMaxProjectionWidth /
                        (config.qkNopeHeadDim + config.vHeadDim)) +
                    " (num_attention_heads * (qk_nope_head_dim + v_head_dim) "
                    "may be at most 2^31)",
                str(config.numAttentionHeads));
  } else if (config.nRoutedExperts * config.moeIntermediateSize *
                 config.hiddenSize >
             kMaxStackedExpertElements) {
    reader.fail("moe_intermediate_size",
                "at most " +
                    str(kMaxStackedExpertElements /
                        (config.nRoutedExperts * config.hiddenSize)) +
                    " (n_routed_experts * moe_intermediate_size * "
                    "hidden_size may be at most 2^56)",
                str(config.moeIntermediateSize));
  } else if ((config.numHiddenLayers + config.numNextnPredictLayers) *
                 config.nRoutedExperts >
             kMaxLayerExpertPairs) {
    int64_t layers = config.numHiddenLayers + config.numNextnPredictLayers;
    reader.fail("n_routed_experts",
                "at most " + str(kMaxLayerExpertPairs / layers) + " for " +
                    str(layers) +
                    " layers ((num_hidden_layers + num_nextn_predict_layers) "
                    "* n_routed_experts may be at most 2^17 = 131072, which "
                    "bounds the parameter count)",
                str(config.nRoutedExperts));
  }
  if (reader.failed())
    return reader.takeError();
  return config;
}

Result<ModelConfig> jikji::hf::loadModelConfig(const std::string &path) {
  Result<std::string> text = readTextFile(path);
  if (!text)
    return Error(text.error());
  return parseModelConfig(*text, path);
}

std::string jikji::hf::configDigest(const ModelConfig &config) {
  std::string text = "jikji-config-digest 1\n";
  auto integer = [&](const char *field, int64_t value) {
    text += std::string(field) + "=" + std::to_string(value) + "\n";
  };
  // %.17g round-trips every double, so two configs digest alike exactly when
  // their parsed values are equal.
  auto real = [&](const char *field, double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value);
    text += std::string(field) + "=" + buffer + "\n";
  };
  auto word = [&](const char *field, const char *value) {
    text += std::string(field) + "=" + value + "\n";
  };
  word("model_type", toString(config.modelType));
  integer("vocab_size", config.vocabSize);
  integer("hidden_size", config.hiddenSize);
  integer("intermediate_size", config.intermediateSize);
  integer("moe_intermediate_size", config.moeIntermediateSize);
  integer("num_hidden_layers", config.numHiddenLayers);
  integer("num_nextn_predict_layers", config.numNextnPredictLayers);
  integer("num_attention_heads", config.numAttentionHeads);
  integer("n_shared_experts", config.nSharedExperts);
  integer("n_routed_experts", config.nRoutedExperts);
  integer("num_experts_per_tok", config.numExpertsPerTok);
  integer("n_group", config.nGroup);
  integer("topk_group", config.topkGroup);
  integer("first_k_dense_replace", config.firstKDenseReplace);
  integer("moe_layer_freq", config.moeLayerFreq);
  integer("q_lora_rank", config.qLoraRank);
  integer("kv_lora_rank", config.kvLoraRank);
  integer("qk_nope_head_dim", config.qkNopeHeadDim);
  integer("qk_rope_head_dim", config.qkRopeHeadDim);
  integer("v_head_dim", config.vHeadDim);
  integer("max_position_embeddings", config.maxPositionEmbeddings);
  word("scoring_func", toString(config.scoringFunction));
  word("topk_method", toString(config.topkMethod));
  integer("norm_topk_prob", config.normTopkProb);
  real("routed_scaling_factor", config.routedScalingFactor);
  real("rms_norm_eps", config.rmsNormEps);
  real("rope_theta", config.ropeTheta);
  integer("tie_word_embeddings", config.tieWordEmbeddings);
  if (config.yarn) {
    real("rope_scaling.factor", config.yarn->factor);
    integer("rope_scaling.original_max_position_embeddings",
            config.yarn->originalMaxPositionEmbeddings);
    real("rope_scaling.beta_fast", config.yarn->betaFast);
    real("rope_scaling.beta_slow", config.yarn->betaSlow);
    real("rope_scaling.mscale", config.yarn->mscale);
    real("rope_scaling.mscale_all_dim", config.yarn->mscaleAllDim);
  } else {
    word("rope_scaling", "null");
  }
  if (config.fp8) {
    integer("quantization_config.block_rows", config.fp8->blockRows);
    integer("quantization_config.block_cols", config.fp8->blockCols);
    integer("quantization_config.ue8m0", config.fp8->powerOfTwoScales);
  } else {
    word("quantization_config", "null");
  }

  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : text) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  char digits[17];
  std::snprintf(digits, sizeof(digits), "%016" PRIx64, hash);
  return std::string("fnv1a64:") + digits;
}
