//===- ModelParameters.h - The parameters a config needs --------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The one list of the weights a DeepSeek model needs, by the names and shapes
// its Hugging Face checkpoint uses. The importer builds the graph's parameters
// from it, the checkpoint check compares a checkpoint with it, and the runtime
// binds weights by it, so the three cannot drift apart.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_MODELPARAMETERS_H
#define JIKJI_FRONTENDS_HUGGINGFACE_MODELPARAMETERS_H

#include "frontends/huggingface/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace jikji::hf {

/// One weight tensor of the model.
struct ParameterSpec {
  /// The checkpoint name, e.g. "model.layers.3.self_attn.kv_b_proj.weight".
  std::string name;
  /// Row-major shape; linear weights are [out_features, in_features].
  std::vector<int64_t> shape;
  /// Stored as F8_E4M3 with a float32 `<name>_scale_inv` of shape
  /// [ceil(out/128), ceil(in/128)]. Only set when the config declares FP8
  /// quantization, and then on every linear weight of attention, the dense
  /// MLP, the routed and shared experts and the MTP `eh_proj`; never on the
  /// router gate, norms, embeddings, `lm_head` or `shared_head.head`.
  bool quantized = false;
  /// The decoder layer the weight belongs to (MTP layers continue the count
  /// after the last decoder layer), or -1 for the embedding, final norm and
  /// output projection.
  int64_t layer = -1;
  /// Part of a multi-token-prediction module (`model.layers.{L+j}.*`).
  bool multiTokenPrediction = false;
  /// A routed expert's weight (`mlp.experts.{e}.*`).
  bool routedExpert = false;

  /// The product of the shape.
  int64_t numElements() const;
};

/// Every parameter the model described by `config` needs, in a fixed order:
/// the embedding, then each layer (attention, norms, FFN), the final norm and
/// `lm_head` (absent when tie_word_embeddings), then, when
/// `includeMultiTokenPrediction`, the num_nextn_predict_layers MTP modules.
/// The router's `mlp.gate.e_score_correction_bias` is listed for topk_method
/// "noaux_tc" only, shared experts only when n_shared_experts > 0.
std::vector<ParameterSpec>
listModelParameters(const ModelConfig &config,
                    bool includeMultiTokenPrediction);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_MODELPARAMETERS_H
