//===- Sequence.h - One sequence's KV cache and steps -----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A sequence is one stream of tokens through a Model: it owns the KV cache
// the manifest describes, sized for the positions it may hold, and knows how
// many of them are filled. forward() runs the artifact on new tokens;
// generate() prefills a prompt in one step and then decodes one token per
// step. Every argument is checked before the artifact sees it, and the
// artifact's logits are checked after, so that a bad id is a message and a
// numerical failure is reported rather than sampled from.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SESSION_SEQUENCE_H
#define JIKJI_RUNTIME_SESSION_SEQUENCE_H

#include "frontends/huggingface/Result.h"
#include "runtime/sampler/Sampler.h"
#include "runtime/session/KvCache.h"
#include "runtime/session/Model.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace jikji::runtime {

/// Timings of one generate() call, in seconds.
struct GenerationStats {
  int64_t prefillTokens = 0;
  /// Decode steps run (each feeds one token).
  int64_t decodeTokens = 0;
  /// The prefill step alone.
  double prefillSeconds = 0;
  /// From the start of the call until the first new token was picked.
  double firstTokenSeconds = 0;
  /// All decode steps, sampling included.
  double decodeSeconds = 0;
};

/// What generate() produced.
struct Generation {
  /// The new tokens, the end-of-sequence token included when it stopped
  /// generation.
  std::vector<int64_t> tokens;
  bool stoppedAtEos = false;
  GenerationStats stats;
};

/// Checks that `tokens` is not null and that its `count` ids are in
/// [0, vocab) of `model`. `firstPosition` is the position of tokens[0], for
/// the message: "token 3 (position 7) is 1024; expected an id in [0, 1024)".
Result<bool> checkTokenIds(const Model &model, const int64_t *tokens,
                           int64_t count, int64_t firstPosition);

/// One sequence. Move-only. It refers to its Model, which must outlive it.
/// One sequence must not be used by two threads at once; different
/// sequences of one model may run on different threads.
class Sequence {
public:
  /// A sequence of `capacity` positions (Model::checkCapacity), with a
  /// zeroed cache of capacity * model.cacheBytesPerToken() bytes: host
  /// memory on the CPU, managed memory on the model's GPU.
  static Result<Sequence> create(const Model &model, int64_t capacity);

  Sequence(Sequence &&) noexcept = default;
  Sequence &operator=(Sequence &&) noexcept = default;
  Sequence(const Sequence &) = delete;
  Sequence &operator=(const Sequence &) = delete;

  const Model &model() const { return *model_; }
  int64_t capacity() const { return capacity_; }
  /// The positions whose keys and values are in the cache.
  int64_t length() const { return length_; }
  /// The bytes of this sequence's cache: capacity() x
  /// model().cacheBytesPerToken().
  uint64_t cacheBytes() const;

  /// Forgets every position, so the sequence starts again empty. Rows past
  /// length() are never read, so the cache need not be cleared.
  void reset() { length_ = 0; }

  /// For timing a step at a long context without computing that context
  /// (`jikji-run --time-decode`): from now on the sequence holds `length`
  /// positions (0 <= length <= capacity()) whose cache rows are whatever
  /// the cache holds (zeros in a new one), so the logits of later steps
  /// mean nothing. A step's time does not depend on the values it reads.
  /// Refuses a length out of range.
  Result<bool> assumeFilled(int64_t length);
  /// KvCache::fillWithNoise over this sequence's own cache (none for a
  /// slot of a SequenceBatch, whose batch fills its cache).
  void fillCacheWithNoise(uint64_t seed) { cache_.fillWithNoise(seed); }

  /// Checks `count` tokens for forward(): at least one, each an id in
  /// [0, vocab), and room for them (length() + count <= capacity()).
  Result<bool> checkTokens(const int64_t *tokens, int64_t count) const;

  /// Runs the artifact on `count` new tokens at positions length() ..
  /// length() + count - 1 and writes their logits, count x vocab float32,
  /// to `logits`. On success the tokens join the sequence; on failure
  /// (checkTokens, a weights file that shrank since loading, the artifact's
  /// status, a NaN or infinite logit) the length is unchanged, so the rows
  /// the artifact may have written are never read.
  Result<bool> forwardInto(const int64_t *tokens, int64_t count, float *logits);
  /// As forwardInto, writing the logits of the last `logitRows` tokens only
  /// (1 <= logitRows <= count), logitRows x vocab float32: what generation
  /// needs, and the output head is the largest product of a prefill. With an
  /// artifact that cannot skip the other rows (older compilers), they are
  /// computed into a temporary buffer.
  Result<bool> forwardInto(const int64_t *tokens, int64_t count, float *logits,
                           int64_t logitRows);
  /// As forwardInto, returning the logits.
  Result<std::vector<float>> forward(const int64_t *tokens, int64_t count);

  /// Checks generate()'s arguments: a non-empty prompt of valid ids,
  /// maxNewTokens >= 0, room for length() + promptLength + maxNewTokens
  /// positions, and valid sampling options.
  Result<bool> checkGenerate(const int64_t *prompt, int64_t promptLength,
                             int64_t maxNewTokens,
                             const SamplingOptions &options) const;

  /// Appends `prompt` in one forward step, then picks up to `maxNewTokens`
  /// tokens, feeding each but the last back in its own step. Stops early
  /// after `eos` when given (normally model().eosTokenId()). The last new
  /// token is returned but not fed, so length() ends at the prompt plus all
  /// but one new token; a caller continuing the sequence feeds it first.
  /// maxNewTokens = 0 only prefills.
  Result<Generation> generate(const int64_t *prompt, int64_t promptLength,
                              int64_t maxNewTokens,
                              const SamplingOptions &options,
                              std::optional<int64_t> eos);

private:
  /// A SequenceBatch's slots are Sequences over its cache: they run their
  /// own steps (a prefill) and the batch's decode step moves their lengths.
  friend class SequenceBatch;

  /// A sequence owning `cache`, of one slot.
  Sequence(const Model &model, int64_t capacity, KvCache cache);
  /// A sequence over a slot of a cache owned elsewhere (by a
  /// SequenceBatch), which must outlive it.
  Sequence(const Model &model, int64_t capacity,
           std::vector<void *> slotPointers);

  const Model *model_;
  int64_t capacity_;
  int64_t length_ = 0;
  /// The cache, [layers, capacity, per-token] per manifest tensor; empty
  /// for a slot of a SequenceBatch.
  KvCache cache_;
  /// The entry point's `caches`: one pointer per tensor.
  std::vector<void *> cachePointers_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_SEQUENCE_H
