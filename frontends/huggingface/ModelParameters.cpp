//===- ModelParameters.cpp - The parameters a config needs ----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelParameters.h"

using namespace jikji;
using namespace jikji::hf;

int64_t ParameterSpec::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

namespace {

/// Appends the specs of one layer or module, all under one name prefix.
class ParameterListBuilder {
public:
  ParameterListBuilder(const ModelConfig &config,
                       std::vector<ParameterSpec> &specs)
      : config_(config), specs_(specs) {}

  /// A weight that is never quantized (norms, embeddings, the router).
  void addPlain(std::string name, std::vector<int64_t> shape) {
    add(std::move(name), std::move(shape), /*quantizable=*/false);
  }
  /// A linear weight, stored FP8 when the config declares quantization.
  void addLinear(std::string name, int64_t out, int64_t in) {
    add(std::move(name), {out, in}, /*quantizable=*/true);
  }

  /// The parameters of decoder layer `layer`: attention, the two norms and
  /// the dense or mixture-of-experts FFN.
  void addDecoderLayer(int64_t layer) {
    const ModelConfig &c = config_;
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    int64_t hidden = c.hiddenSize;
    int64_t heads = c.numAttentionHeads;

    addPlain(prefix + "input_layernorm.weight", {hidden});
    std::string attention = prefix + "self_attn.";
    if (c.qLoraRank > 0) {
      addLinear(attention + "q_a_proj.weight", c.qLoraRank, hidden);
      addPlain(attention + "q_a_layernorm.weight", {c.qLoraRank});
      addLinear(attention + "q_b_proj.weight", heads * c.qkHeadDim(),
                c.qLoraRank);
    } else {
      addLinear(attention + "q_proj.weight", heads * c.qkHeadDim(), hidden);
    }
    addLinear(attention + "kv_a_proj_with_mqa.weight",
              c.kvLoraRank + c.qkRopeHeadDim, hidden);
    addPlain(attention + "kv_a_layernorm.weight", {c.kvLoraRank});
    addLinear(attention + "kv_b_proj.weight",
              heads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank);
    addLinear(attention + "o_proj.weight", hidden, heads * c.vHeadDim);
    addPlain(prefix + "post_attention_layernorm.weight", {hidden});

    std::string mlp = prefix + "mlp.";
    if (!c.isMoeLayer(layer)) {
      addSwiGlu(mlp, c.intermediateSize);
      return;
    }
    addPlain(mlp + "gate.weight", {c.nRoutedExperts, hidden});
    if (c.topkMethod == TopKMethod::NoAuxTc)
      addPlain(mlp + "gate.e_score_correction_bias", {c.nRoutedExperts});
    for (int64_t expert = 0; expert < c.nRoutedExperts; ++expert) {
      size_t first = specs_.size();
      addSwiGlu(mlp + "experts." + std::to_string(expert) + ".",
                c.moeIntermediateSize);
      for (size_t i = first; i < specs_.size(); ++i)
        specs_[i].routedExpert = true;
    }
    if (c.nSharedExperts > 0)
      addSwiGlu(mlp + "shared_experts.",
                c.nSharedExperts * c.moeIntermediateSize);
  }

  void setLayer(int64_t layer, bool multiTokenPrediction) {
    layer_ = layer;
    multiTokenPrediction_ = multiTokenPrediction;
  }

private:
  void add(std::string name, std::vector<int64_t> shape, bool quantizable) {
    ParameterSpec spec;
    spec.name = std::move(name);
    spec.shape = std::move(shape);
    spec.quantized = quantizable && config_.fp8.has_value();
    spec.layer = layer_;
    spec.multiTokenPrediction = multiTokenPrediction_;
    specs_.push_back(std::move(spec));
  }

  void addSwiGlu(const std::string &prefix, int64_t width) {
    addLinear(prefix + "gate_proj.weight", width, config_.hiddenSize);
    addLinear(prefix + "up_proj.weight", width, config_.hiddenSize);
    addLinear(prefix + "down_proj.weight", config_.hiddenSize, width);
  }

  const ModelConfig &config_;
  std::vector<ParameterSpec> &specs_;
  int64_t layer_ = -1;
  bool multiTokenPrediction_ = false;
};

} // namespace

std::vector<ParameterSpec>
jikji::hf::listModelParameters(const ModelConfig &config,
                               bool includeMultiTokenPrediction) {
  std::vector<ParameterSpec> specs;
  ParameterListBuilder builder(config, specs);
  int64_t hidden = config.hiddenSize;
  int64_t vocab = config.vocabSize;

  builder.addPlain("model.embed_tokens.weight", {vocab, hidden});
  for (int64_t layer = 0; layer < config.numHiddenLayers; ++layer) {
    builder.setLayer(layer, /*multiTokenPrediction=*/false);
    builder.addDecoderLayer(layer);
  }
  builder.setLayer(-1, /*multiTokenPrediction=*/false);
  builder.addPlain("model.norm.weight", {hidden});
  if (!config.tieWordEmbeddings)
    builder.addPlain("lm_head.weight", {vocab, hidden});

  if (!includeMultiTokenPrediction)
    return specs;
  // DeepSeek stores MTP module j as layer L + j, with its own copy of the
  // embedding and output head (the released V3 has them equal to the main
  // ones, but they are separate tensors).
  for (int64_t j = 0; j < config.numNextnPredictLayers; ++j) {
    int64_t layer = config.numHiddenLayers + j;
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    builder.setLayer(layer, /*multiTokenPrediction=*/true);
    builder.addPlain(prefix + "embed_tokens.weight", {vocab, hidden});
    builder.addPlain(prefix + "enorm.weight", {hidden});
    builder.addPlain(prefix + "hnorm.weight", {hidden});
    builder.addLinear(prefix + "eh_proj.weight", hidden, 2 * hidden);
    builder.addDecoderLayer(layer);
    builder.addPlain(prefix + "shared_head.norm.weight", {hidden});
    builder.addPlain(prefix + "shared_head.head.weight", {vocab, hidden});
  }
  return specs;
}
