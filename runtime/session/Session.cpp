//===- Session.cpp - Several sequences on one model -----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Session.h"

#include <algorithm>
#include <utility>

using namespace jikji;
using namespace jikji::runtime;

Result<bool>
Session::checkBatch(const std::vector<std::vector<int64_t>> &prompts,
                    int64_t maxNewTokens,
                    const SamplingOptions &options) const {
  if (prompts.empty())
    return Error("expected at least one prompt, found none");
  if (maxNewTokens < 0)
    return Error("maximum new tokens: expected a number >= 0, found " +
                 std::to_string(maxNewTokens));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int64_t> &prompt = prompts[i];
    std::string name = "prompt " + std::to_string(i) + ": ";
    if (prompt.empty())
      return Error(name + "the prompt is empty; expected at least one token");
    Result<bool> ids = checkTokenIds(*model_, prompt.data(),
                                     static_cast<int64_t>(prompt.size()), 0);
    if (!ids)
      return Error(name + ids.error());
    int64_t promptLength = static_cast<int64_t>(prompt.size());
    if (maxNewTokens > model_->maxPositions() - promptLength)
      // Both are non-negative, so their sum fits 64 unsigned bits.
      return Error(name + std::to_string(promptLength) + " prompt tokens + " +
                   std::to_string(maxNewTokens) + " new tokens = " +
                   std::to_string(static_cast<uint64_t>(promptLength) +
                                  static_cast<uint64_t>(maxNewTokens)) +
                   " positions, beyond the model's context limit of " +
                   std::to_string(model_->maxPositions()));
  }
  return validateSamplingOptions(options);
}

Result<BatchGeneration>
Session::generateBatch(const std::vector<std::vector<int64_t>> &prompts,
                       int64_t maxNewTokens, const SamplingOptions &options,
                       std::optional<int64_t> eos) {
  Result<bool> valid = checkBatch(prompts, maxNewTokens, options);
  if (!valid)
    return Error(valid.error());
  BatchGeneration batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int64_t> &prompt = prompts[i];
    int64_t promptLength = static_cast<int64_t>(prompt.size());
    Result<Sequence> sequence =
        Sequence::create(*model_, promptLength + maxNewTokens);
    if (!sequence)
      return Error("prompt " + std::to_string(i) + ": " + sequence.error());
    batch.peakCacheBytes =
        std::max(batch.peakCacheBytes, sequence->cacheBytes());
    Result<Generation> generation = sequence->generate(
        prompt.data(), promptLength, maxNewTokens, options, eos);
    if (!generation)
      return Error("prompt " + std::to_string(i) + ": " + generation.error());
    batch.sequences.push_back(std::move(*generation));
  }
  return batch;
}
