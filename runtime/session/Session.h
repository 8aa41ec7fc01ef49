//===- Session.h - Several sequences on one model ---------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A batch of independent prompts. Each gets its own Sequence, with a cache
// sized for its prompt and new tokens, and the sequences run one after
// another: the artifact's entry point takes one sequence per call, so
// batching them into one call is a later change of the ABI, not of this
// interface.
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

/// What a batch produced: one Generation per prompt, and the cache the
/// largest sequence held.
struct BatchGeneration {
  std::vector<Generation> sequences;
  /// The most cache bytes held at once (the sequences run in turn).
  uint64_t peakCacheBytes = 0;
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

  /// Generates for each prompt in turn (Sequence::generate) with the same
  /// options, seed included, so that a prompt's tokens do not depend on
  /// where it stands in the batch.
  Result<BatchGeneration>
  generateBatch(const std::vector<std::vector<int64_t>> &prompts,
                int64_t maxNewTokens, const SamplingOptions &options,
                std::optional<int64_t> eos);

private:
  const Model *model_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_SESSION_H
