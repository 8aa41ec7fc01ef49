//===- ModelConfig.h - A DeepSeek model's config.json -----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The validated contents of a Hugging Face config.json for DeepSeek V2 and V3
// (see ../shared/MODEL.md for what each field means). Everything the compiler
// and the runtime know about a model's shape comes from here, so the parser
// rejects anything it cannot vouch for rather than guessing.
//
// Fields that may be absent, and the value they then take (the defaults of
// Hugging Face's DeepseekV2Config / DeepseekV3Config, where the released
// configs rely on them):
//
//   num_nextn_predict_layers  0         n_group, topk_group      1
//   first_k_dense_replace     0         moe_layer_freq           1
//   norm_topk_prob            false     routed_scaling_factor    1.0
//   rope_theta                10000     hidden_act               "silu"
//   q_lora_rank               null (no query compression; 0 means the same)
//   rope_scaling              null (no YaRN)
//   quantization_config       null (no FP8)
//   scoring_func              "softmax" (deepseek_v2), "sigmoid" (deepseek_v3)
//   topk_method               "greedy" (deepseek_v2), "noaux_tc" (deepseek_v3)
//   tie_word_embeddings       false     attention_bias           false
//   architectures             the one that matches model_type
//   bos_token_id, eos_token_id  absent
//   rope_scaling.beta_fast 32, beta_slow 1, mscale 1, mscale_all_dim 0
//
// Every other size is required. Unknown fields (ep_size, torch_dtype, ...) are
// ignored: they do not change what the model computes.
//
// Only what MODEL.md defines is accepted: model_type deepseek_v2 or
// deepseek_v3 (deepseek_v32's sparse attention is refused), hidden_act silu,
// rope_scaling null or YaRN, attention_bias false, and quantization_config null
// or DeepSeek's FP8 layout (quant_method "fp8", fmt "e4m3", weight_block_size
// [128, 128], activation_scheme absent or "dynamic", scale_fmt absent, null or
// "ue8m0"). Sizes are capped (dimensions at 2^24, layers at 1024, experts at
// 4096, positions at 2^30) so that no product of them can overflow.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_MODELCONFIG_H
#define JIKJI_FRONTENDS_HUGGINGFACE_MODELCONFIG_H

#include "frontends/huggingface/Result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jikji::hf {

enum class ModelType { DeepSeekV2, DeepSeekV3 };

/// How router logits become expert scores (`scoring_func`).
enum class ScoringFunction { Softmax, Sigmoid };

/// How experts are picked from the scores (`topk_method`).
enum class TopKMethod { Greedy, GroupLimitedGreedy, NoAuxTc };

/// The spelling used in config.json: "deepseek_v3", "sigmoid", "noaux_tc".
const char *toString(ModelType type);
const char *toString(ScoringFunction function);
const char *toString(TopKMethod method);

/// `rope_scaling` with type "yarn".
struct YarnScaling {
  double factor = 1;
  int64_t originalMaxPositionEmbeddings = 0;
  double betaFast = 32, betaSlow = 1, mscale = 1, mscaleAllDim = 0;
};

/// `quantization_config` of the released FP8 checkpoints: float8 e4m3 weights
/// with one float32 inverse scale per 128x128 block.
struct Fp8Quantization {
  int64_t blockRows = 128, blockCols = 128;
  /// `scale_fmt: "ue8m0"` (V3.1): every scale is a power of two.
  bool powerOfTwoScales = false;
};

/// A validated config.json. The names follow MODEL.md's notation in comments.
struct ModelConfig {
  ModelType modelType = ModelType::DeepSeekV3;
  /// `architectures[0]`, e.g. "DeepseekV3ForCausalLM".
  std::string architecture;

  int64_t vocabSize = 0;           ///< V
  int64_t hiddenSize = 0;          ///< H
  int64_t intermediateSize = 0;    ///< dense FFN width
  int64_t moeIntermediateSize = 0; ///< expert FFN width
  int64_t numHiddenLayers = 0;     ///< L
  int64_t numNextnPredictLayers = 0;
  int64_t numAttentionHeads = 0; ///< nh
  int64_t nSharedExperts = 0;    ///< S, may be 0
  int64_t nRoutedExperts = 0;    ///< E
  int64_t numExpertsPerTok = 0;  ///< k
  int64_t nGroup = 1;            ///< G
  int64_t topkGroup = 1;         ///< kg
  int64_t firstKDenseReplace = 0;
  int64_t moeLayerFreq = 1;
  int64_t qLoraRank = 0;     ///< rq; 0 when config.json says null or 0
  int64_t kvLoraRank = 0;    ///< rkv
  int64_t qkNopeHeadDim = 0; ///< dn
  int64_t qkRopeHeadDim = 0; ///< dr
  int64_t vHeadDim = 0;      ///< dv
  int64_t maxPositionEmbeddings = 0;

  ScoringFunction scoringFunction = ScoringFunction::Sigmoid;
  TopKMethod topkMethod = TopKMethod::NoAuxTc;
  bool normTopkProb = false;
  double routedScalingFactor = 1.0;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;

  std::optional<YarnScaling> yarn;
  std::optional<Fp8Quantization> fp8;
  std::optional<int64_t> bosTokenId, eosTokenId;
  /// When true the output projection is the embedding table and the
  /// checkpoint has no separate `lm_head.weight`.
  bool tieWordEmbeddings = false;

  /// True when layer `layer` (0-based; the MTP layers continue the count) has
  /// a mixture of experts: n_routed_experts > 0, layer >= first_k_dense_replace
  /// and layer % moe_layer_freq == 0.
  bool isMoeLayer(int64_t layer) const;
  /// dq = dn + dr.
  int64_t qkHeadDim() const { return qkNopeHeadDim + qkRopeHeadDim; }
  /// The attention score scale: dq^-0.5, times m*m with YaRN and factor > 1,
  /// m = 0.1 * mscale_all_dim * ln(factor) + 1.
  double softmaxScale() const;
  /// What YaRN multiplies cos and sin by: mscale'(mscale) /
  /// mscale'(mscale_all_dim), mscale'(a) = 0.1 a ln(factor) + 1 (and 1 when
  /// factor <= 1). 1 without YaRN.
  double ropeMagnitudeScale() const;
};

/// Parses and validates config.json text. Every message starts with
/// `sourceName` (normally the path) and names the field, what was expected and
/// what was found: `<source>: '<field>': expected <what>, found <what>`.
Result<ModelConfig> parseModelConfig(std::string_view jsonText,
                                     const std::string &sourceName);

/// Reads `path` and parses it with parseModelConfig.
Result<ModelConfig> loadModelConfig(const std::string &path);

/// A fingerprint of everything in `config` that shapes the compiled graph:
/// "fnv1a64:" and 16 lowercase hex digits of FNV-1a 64 over a canonical text
/// (one `field=value` line per field, in a fixed order, numbers printed
/// exactly). An artifact records it so that the runtime can refuse weights of
/// another configuration; because it hashes parsed values rather than the
/// file, reformatting config.json or reordering its keys does not change it.
/// The architecture name and the bos/eos token ids are left out: they do not
/// change what the graph computes.
std::string configDigest(const ModelConfig &config);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_MODELCONFIG_H
