//===- Session.cpp - Several sequences on one model -----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Session.h"

#include "runtime/session/SequenceBatch.h"

#include <algorithm>
#include <chrono>
#include <string>
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

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Where one prompt of a batch stands.
struct PromptState {
  Generation generation;
  Sampler sampler;
  Clock::time_point firstToken;
  /// Still generating: its last token is to be fed in the next step.
  bool feeds = false;
};

/// Records `token` for `state` and decides whether it feeds it, as
/// Sequence::generate does: not after `eos` or the maxNewTokens-th token.
void accept(PromptState &state, int64_t token, int64_t maxNewTokens,
            std::optional<int64_t> eos) {
  Generation &generation = state.generation;
  generation.tokens.push_back(token);
  generation.stoppedAtEos = eos && token == *eos;
  state.feeds = !generation.stoppedAtEos &&
                static_cast<int64_t>(generation.tokens.size()) < maxNewTokens;
  if (!state.feeds)
    generation.stats.decodeSeconds = secondsSince(state.firstToken);
}

} // namespace

Result<BatchGeneration>
Session::generateBatch(const std::vector<std::vector<int64_t>> &prompts,
                       int64_t maxNewTokens, const SamplingOptions &options,
                       std::optional<int64_t> eos) {
  Result<bool> valid = checkBatch(prompts, maxNewTokens, options);
  if (!valid)
    return Error(valid.error());
  const int64_t slots = static_cast<int64_t>(prompts.size());
  size_t longestPrompt = 0;
  for (const std::vector<int64_t> &prompt : prompts)
    longestPrompt = std::max(longestPrompt, prompt.size());
  // checkBatch bounds every prompt + maxNewTokens by the context limit.
  const int64_t capacity = static_cast<int64_t>(longestPrompt) + maxNewTokens;
  Result<SequenceBatch> sequences =
      SequenceBatch::create(*model_, slots, capacity);
  if (!sequences)
    return Error(sequences.error());
  BatchGeneration batch;
  batch.peakCacheBytes = sequences->cacheBytes();
  batch.slotCapacity = capacity;

  const int64_t vocab = model_->vocabSize();
  std::vector<float> logits(static_cast<size_t>(slots * vocab));
  std::vector<PromptState> states;
  for (int64_t slot = 0; slot < slots; ++slot)
    states.push_back(
        {Generation(), Sampler(options), Clock::time_point(), false});

  // Each prompt's prefill and first token, as Sequence::generate.
  for (int64_t slot = 0; slot < slots; ++slot) {
    const std::vector<int64_t> &prompt = prompts[static_cast<size_t>(slot)];
    PromptState &state = states[static_cast<size_t>(slot)];
    GenerationStats &stats = state.generation.stats;
    std::string name = "prompt " + std::to_string(slot) + ": ";
    float *row = logits.data() + slot * vocab;
    int64_t promptLength = static_cast<int64_t>(prompt.size());
    Clock::time_point start = Clock::now();
    Result<bool> prefilled = sequences->forwardInto(
        slot, prompt.data(), promptLength, row, /*logitRows=*/1);
    if (!prefilled)
      return Error(name + prefilled.error());
    stats.prefillTokens = promptLength;
    stats.prefillSeconds = secondsSince(start);
    if (maxNewTokens == 0)
      continue;
    Result<int64_t> token = state.sampler.sample(row, vocab);
    if (!token)
      return Error(name + token.error());
    state.firstToken = Clock::now();
    stats.firstTokenSeconds = secondsSince(start);
    accept(state, *token, maxNewTokens, eos);
  }

  // Then one step at a time for every prompt still generating.
  std::vector<int64_t> tokens(static_cast<size_t>(slots), 0);
  std::vector<bool> feeds(static_cast<size_t>(slots), false);
  Clock::time_point decodeStart = Clock::now();
  while (true) {
    int64_t feeding = 0;
    for (size_t i = 0; i < states.size(); ++i) {
      feeds[i] = states[i].feeds;
      if (feeds[i]) {
        tokens[i] = states[i].generation.tokens.back();
        ++feeding;
      }
    }
    if (feeding == 0)
      break;
    batch.decodedInOneCall |= feeding > 1 && sequences->decodesInOneCall();
    Result<bool> decoded =
        sequences->decodeInto(tokens.data(), logits.data(), feeds);
    if (!decoded)
      return Error("decode step " + std::to_string(batch.decodeSteps) + ": " +
                   decoded.error());
    ++batch.decodeSteps;
    for (int64_t slot = 0; slot < slots; ++slot) {
      PromptState &state = states[static_cast<size_t>(slot)];
      if (!feeds[static_cast<size_t>(slot)])
        continue;
      ++state.generation.stats.decodeTokens;
      Result<int64_t> token =
          state.sampler.sample(logits.data() + slot * vocab, vocab);
      if (!token)
        return Error("prompt " + std::to_string(slot) + ": " + token.error());
      accept(state, *token, maxNewTokens, eos);
    }
  }
  if (batch.decodeSteps > 0)
    batch.decodeSeconds = secondsSince(decodeStart);
  for (PromptState &state : states)
    batch.sequences.push_back(std::move(state.generation));
  return batch;
}
