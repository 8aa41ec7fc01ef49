//===- Session.h - Several sequences on one model ---------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A batch of independent prompts, generated together: prompt i fills slot i
// of one SequenceBatch (its prefill alone, as a sequence of its own would),
// and then every prompt still generating decodes in one step per token,
// one call for all of them when the artifact exports jikji_forward_batch.
// Each prompt samples with its own Sampler, so its tokens are the ones it
// would get alone.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SESSION_SESSION_H
#define JIKJI_RUNTIME_SESSION_SESSION_H

#include "frontends/huggingface/Result.h"
#include "runtime/sampler/Sampler.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace jikji::runtime {

/// What a batch produced: one Generation per prompt, the cache they held and
/// the decode steps they shared.
struct BatchGeneration {
  std::vector<Generation> sequences;
  /// The most cache bytes held at once: every prompt's slot, all held
  /// together.
  uint64_t peakCacheBytes = 0;
  /// The positions each slot holds: the longest prompt + maxNewTokens.
  int64_t slotCapacity = 0;
  /// Decode steps run (each feeds one token to every prompt still
  /// generating), and their wall time. A prompt's own
  /// GenerationStats::decodeSeconds overlaps the others'.
  int64_t decodeSteps = 0;
  double decodeSeconds = 0;
  /// True when a step of two or more prompts ran as one call
  /// (SequenceBatch::decodesInOneCall).
  bool decodedInOneCall = false;
};

/// Runs batches of prompts on one model, which must outlive it.
class Session {
public:
  explicit Session(const Model &model) : model_(&model) {}

  const Model &model() const { return *model_; }

  /// Checks every prompt before any runs, naming the first bad one
  /// ("prompt 2: ..."): non-empty, ids in [0, vocab), prompt + maxNewTokens
  /// within the context limit; and the sampling options.
  Result<bool> checkBatch(const std::vector<std::vector<int64_t>> &prompts,
                          int64_t maxNewTokens,
                          const SamplingOptions &options) const;

  /// Generates for every prompt with the same options, seed included, so
  /// that a prompt's tokens do not depend on where it stands in the batch:
  /// the same as Sequence::generate on each prompt alone. Prompt i runs in
  /// slot i of one SequenceBatch of slots sized for the longest prompt;
  /// each prompt's prefill runs in turn, then the decode steps of all
  /// prompts still generating run together (a prompt that stopped drops
  /// out). A failure names the prompt ("prompt 2: ...") or, in a shared
  /// decode step, the slot.
  Result<BatchGeneration>
  generateBatch(const std::vector<std::vector<int64_t>> &prompts,
                int64_t maxNewTokens, const SamplingOptions &options,
                std::optional<int64_t> eos);

private:
  const Model *model_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_SESSION_H
