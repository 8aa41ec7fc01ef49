//===- Checkpoint.h - A Hugging Face checkpoint folder ----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A checkpoint folder as Hugging Face lays it out: config.json beside either
// one model.safetensors, or shards listed by model.safetensors.index.json.
// Opening one reads every shard's header (never the data) and checks that the
// index and the shards agree; checkCheckpoint then compares the tensors with
// what the config's model needs.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_CHECKPOINT_H
#define JIKJI_FRONTENDS_HUGGINGFACE_CHECKPOINT_H

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Result.h"
#include "frontends/huggingface/SafeTensors.h"

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jikji::hf {

/// The safetensors files of a checkpoint and where each tensor lives.
struct Checkpoint {
  /// The folder, as given to openCheckpoint.
  std::string directory;
  /// The validated headers, in file-name order.
  std::vector<SafeTensorsFile> files;
  /// Each tensor's (index into `files`, index into that file's `tensors`).
  /// Indices rather than pointers, so that a Checkpoint can be copied.
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> tensorIndex;

  /// The tensor named `name`, or nullptr.
  const TensorInfo *find(std::string_view name) const;
  /// Every tensor name, sorted.
  std::vector<std::string> tensorNames() const;
};

/// The name of the shard index Hugging Face writes for sharded checkpoints.
constexpr const char *kSafeTensorsIndexName = "model.safetensors.index.json";

/// Opens the checkpoint in `directory`, choosing the files as Hugging Face
/// does: `model.safetensors` when it exists; otherwise the shards named by
/// `model.safetensors.index.json`, each of which must be a plain file name in
/// the folder, exist, hold every tensor the index maps to it and no tensor the
/// index does not map to it; otherwise every `*.safetensors` in the folder
/// (at least one, no tensor name in two files). A folder with only pickle
/// checkpoints (`*.bin`, `*.pt`, `*.pth`) is refused: loading them can run
/// arbitrary code.
Result<Checkpoint> openCheckpoint(const std::string &directory);

/// What checkCheckpoint found besides failures.
struct CheckpointReport {
  /// Tensors present but not used by the compiled model (such as the
  /// multi-token-prediction module), sorted. Reported, not fatal.
  std::vector<std::string> unusedTensors;
  /// One-line remarks for the user, e.g. a summary of the unused tensors.
  std::vector<std::string> notes;
};

/// Checks that `checkpoint` holds every tensor listModelParameters(config,
/// false) names, with that shape and a supported dtype: BF16, F16 or F32;
/// F8_E4M3, with an F32 `<name>_scale_inv` of shape [ceil(out/128),
/// ceil(in/128)], for exactly the quantized weights when the config declares
/// FP8 (the compiled graph is built from the config alone, so the two must
/// agree); F32 or BF16 for the router's `e_score_correction_bias`. The first
/// failure is returned, naming the tensor, what was expected and what was
/// found.
Result<CheckpointReport> checkCheckpoint(const ModelConfig &config,
                                         const Checkpoint &checkpoint);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_CHECKPOINT_H
