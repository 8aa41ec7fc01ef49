//===- Sequence.cpp - One sequence's KV cache and steps -------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Sequence.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

using namespace jikji;
using namespace jikji::runtime;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

Sequence::Sequence(const Model &model, int64_t capacity, KvCache cache)
    : model_(&model), capacity_(capacity), cache_(std::move(cache)) {
  cachePointers_ = cache_.slotPointers(0);
}

Sequence::Sequence(const Model &model, int64_t capacity,
                   std::vector<void *> slotPointers)
    : model_(&model), capacity_(capacity),
      cachePointers_(std::move(slotPointers)) {}

Result<Sequence> Sequence::create(const Model &model, int64_t capacity) {
  Result<bool> fits = model.checkCapacity(capacity);
  if (!fits)
    return Error(fits.error());
  Result<KvCache> cache = KvCache::allocate(model, capacity);
  if (!cache)
    return Error(cache.error());
  return Sequence(model, capacity, std::move(*cache));
}

uint64_t Sequence::cacheBytes() const {
  // The manifest reader checked that bytes_per_token is the sum over the
  // tensors, so this is the size of an own cache and of a batch's slot.
  return static_cast<uint64_t>(capacity_) * model_->cacheBytesPerToken();
}

Result<bool> jikji::runtime::checkTokenIds(const Model &model,
                                           const int64_t *tokens, int64_t count,
                                           int64_t firstPosition) {
  if (!tokens)
    return Error("expected " + std::to_string(count) +
                 " tokens, found a null pointer");
  int64_t vocab = model.vocabSize();
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return Error("token " + std::to_string(i) + " (position " +
                   std::to_string(firstPosition + i) + ") is " +
                   std::to_string(tokens[i]) + "; expected an id in [0, " +
                   std::to_string(vocab) + ")");
  return true;
}

Result<bool> Sequence::checkTokens(const int64_t *tokens, int64_t count) const {
  if (count < 1)
    return Error("expected at least one token, found " + std::to_string(count));
  Result<bool> valid = checkTokenIds(*model_, tokens, count, length_);
  if (!valid)
    return valid;
  // Compared by subtraction so that the sum cannot overflow.
  if (count > capacity_ - length_)
    return Error("sequence of capacity " + std::to_string(capacity_) +
                 " holds " + std::to_string(length_) + " positions; " +
                 std::to_string(count) + " more tokens would need " +
                 std::to_string(static_cast<uint64_t>(length_) +
                                static_cast<uint64_t>(count)));
  return true;
}

Result<bool> Sequence::assumeFilled(int64_t length) {
  if (length < 0 || length > capacity_)
    return Error("cannot assume " + std::to_string(length) +
                 " positions filled in a sequence of capacity " +
                 std::to_string(capacity_));
  length_ = length;
  return true;
}

Result<bool> Sequence::forwardInto(const int64_t *tokens, int64_t count,
                                   float *logits) {
  return forwardInto(tokens, count, logits, count);
}

Result<bool> Sequence::forwardInto(const int64_t *tokens, int64_t count,
                                   float *logits, int64_t logitRows) {
  Result<bool> valid = checkTokens(tokens, count);
  if (!valid)
    return valid;
  if (!logits)
    return Error("expected a logits buffer, found a null pointer");
  if (logitRows < 1 || logitRows > count)
    return Error("logit rows: expected 1 to " + std::to_string(count) +
                 " (the tokens of the step), found " +
                 std::to_string(logitRows));
  // The step reads the weights straight from their mappings; a file cut
  // since loading (rewritten or truncated by another process) would make
  // those reads raise SIGBUS. One fstat per file finds it first. A file cut
  // during the step is beyond any check here (docs/validation.md).
  Result<bool> intact = model_->weights().checkIntact();
  if (!intact)
    return Error(intact.error() +
                 "; the weights changed after loading: reload the model");
  const Artifact &artifact = model_->artifact();
  int64_t vocab = model_->vocabSize();
  std::string entryPoint = logitRows < count && artifact.forwardLastLogits()
                               ? kForwardLastLogitsSymbol
                               : artifact.manifest().forwardEntryPoint;
  Result<int32_t> ran =
      model_->runForward(tokens, count, length_, cachePointers_.data(),
                         capacity_, logits, logitRows);
  if (!ran)
    return Error(artifact.path() + ": " + std::to_string(count) +
                 " tokens at position " + std::to_string(length_) + ": " +
                 ran.error());
  int32_t status = *ran;
  if (status != 0)
    return Error(artifact.path() + ": " + entryPoint + " returned status " +
                 std::to_string(status) + " for " + std::to_string(count) +
                 " tokens at position " + std::to_string(length_));
  const int64_t firstRow = count - logitRows;
  for (int64_t row = 0; row < logitRows; ++row)
    for (int64_t column = 0; column < vocab; ++column) {
      float value = logits[row * vocab + column];
      if (!std::isfinite(value))
        return Error(artifact.path() + ": non-finite logits: logit " +
                     std::to_string(column) + " of token " +
                     std::to_string(firstRow + row) + " (position " +
                     std::to_string(length_ + firstRow + row) + ") is " +
                     (std::isnan(value) ? "NaN" : "infinite") +
                     "; expected finite values");
    }
  length_ += count;
  return true;
}

Result<std::vector<float>> Sequence::forward(const int64_t *tokens,
                                             int64_t count) {
  Result<bool> valid = checkTokens(tokens, count);
  if (!valid)
    return Error(valid.error());
  std::vector<float> logits(static_cast<size_t>(count) *
                            static_cast<size_t>(model_->vocabSize()));
  Result<bool> done = forwardInto(tokens, count, logits.data());
  if (!done)
    return Error(done.error());
  return logits;
}

Result<bool> Sequence::checkGenerate(const int64_t *prompt,
                                     int64_t promptLength, int64_t maxNewTokens,
                                     const SamplingOptions &options) const {
  if (promptLength < 1)
    return Error("the prompt is empty; expected at least one token");
  if (maxNewTokens < 0)
    return Error("maximum new tokens: expected a number >= 0, found " +
                 std::to_string(maxNewTokens));
  Result<bool> valid = checkTokenIds(*model_, prompt, promptLength, length_);
  if (!valid)
    return valid;
  // Compared by subtraction so that no sum overflows.
  if (promptLength > capacity_ - length_ ||
      maxNewTokens > capacity_ - length_ - promptLength)
    return Error("a prompt of " + std::to_string(promptLength) +
                 " tokens and " + std::to_string(maxNewTokens) +
                 " new tokens need " + std::to_string(length_) + " + " +
                 std::to_string(promptLength) + " + " +
                 std::to_string(maxNewTokens) +
                 " positions; the sequence has a capacity of " +
                 std::to_string(capacity_));
  return validateSamplingOptions(options);
}

Result<Generation> Sequence::generate(const int64_t *prompt,
                                      int64_t promptLength,
                                      int64_t maxNewTokens,
                                      const SamplingOptions &options,
                                      std::optional<int64_t> eos) {
  Result<bool> valid =
      checkGenerate(prompt, promptLength, maxNewTokens, options);
  if (!valid)
    return Error(valid.error());
  int64_t vocab = model_->vocabSize();
  // Every step, the prefill included, needs the last token's logits only.
  std::vector<float> logits(static_cast<size_t>(vocab));

  Generation generation;
  GenerationStats &stats = generation.stats;
  Clock::time_point start = Clock::now();
  Result<bool> prefilled =
      forwardInto(prompt, promptLength, logits.data(), /*logitRows=*/1);
  if (!prefilled)
    return Error(prefilled.error());
  stats.prefillTokens = promptLength;
  stats.prefillSeconds = secondsSince(start);
  if (maxNewTokens == 0)
    return generation;

  Sampler sampler(options);
  const float *nextLogits = logits.data();
  Clock::time_point firstToken;
  while (true) {
    Result<int64_t> token = sampler.sample(nextLogits, vocab);
    if (!token)
      return Error(token.error());
    generation.tokens.push_back(*token);
    if (generation.tokens.size() == 1) {
      firstToken = Clock::now();
      stats.firstTokenSeconds = secondsSince(start);
    }
    if (eos && *token == *eos) {
      generation.stoppedAtEos = true;
      break;
    }
    if (static_cast<int64_t>(generation.tokens.size()) == maxNewTokens)
      break;
    Result<bool> decoded = forwardInto(&*token, 1, logits.data());
    if (!decoded)
      return Error(decoded.error());
    ++stats.decodeTokens;
  }
  stats.decodeSeconds = secondsSince(firstToken);
  return generation;
}
