//===- SequenceBatch.h - Sequences that decode together ---------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A fixed number of sequences ("slots") whose caches share one allocation,
// slot after slot, as jikji_forward_batch takes them (docs/runtime-abi.md).
// Each slot fills like a Sequence of its own (a prompt's prefill runs the
// single-sequence entry points on that slot's part of the cache); a decode
// step then feeds one token to every slot that takes part, in one call
// when the artifact exports jikji_forward_batch. Decode at batch B then
// reads the weights once per step instead of B times, which is what makes
// batching pay on a machine limited by memory bandwidth.
//
// On the CUDA device the cache is managed memory, as a Sequence's is, and
// the batched call's tokens, positions and logits are staged through
// managed buffers the model keeps (cuda::CudaModel::forwardBatch). Without
// the batched entry point (older artifacts, on either device) the same
// step runs one call per slot, with the same results.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SESSION_SEQUENCEBATCH_H
#define JIKJI_RUNTIME_SESSION_SEQUENCEBATCH_H

#include "frontends/huggingface/Result.h"
#include "runtime/session/KvCache.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"

#include <cstdint>
#include <vector>

namespace jikji::runtime {

/// `slots()` sequences of `capacity()` positions each. Move-only. It refers
/// to its Model, which must outlive it; one batch must not be used by two
/// threads at once.
class SequenceBatch {
public:
  /// A batch of `slots` (at least 1) empty sequences of `capacity`
  /// positions each (Model::checkCapacity), with one zeroed cache
  /// allocation per manifest tensor of slots x capacity x
  /// model.cacheBytesPerToken() bytes in all.
  static Result<SequenceBatch> create(const Model &model, int64_t slots,
                                      int64_t capacity);

  SequenceBatch(SequenceBatch &&) noexcept = default;
  SequenceBatch &operator=(SequenceBatch &&) noexcept = default;
  SequenceBatch(const SequenceBatch &) = delete;
  SequenceBatch &operator=(const SequenceBatch &) = delete;

  const Model &model() const { return *model_; }
  int64_t slots() const { return static_cast<int64_t>(sequences_.size()); }
  int64_t capacity() const { return capacity_; }
  /// The positions slot `slot` (0 <= slot < slots()) holds.
  int64_t length(int64_t slot) const {
    return sequences_[static_cast<size_t>(slot)].length();
  }
  /// The bytes of the whole cache, every slot.
  uint64_t cacheBytes() const { return cache_.bytes(); }
  /// True when a decode step in which two or more slots feed runs as one
  /// call (Model::hasBatchedDecode); otherwise each slot runs its own.
  bool decodesInOneCall() const { return model_->hasBatchedDecode(); }

  /// Empties slot `slot`, as Sequence::reset; refuses a slot out of range.
  Result<bool> reset(int64_t slot);

  /// Sequence::assumeFilled on slot `slot` (for timing at a long context),
  /// after checking the slot.
  Result<bool> assumeFilled(int64_t slot, int64_t length);

  /// KvCache::fillWithNoise over every slot's cache.
  void fillCacheWithNoise(uint64_t seed) { cache_.fillWithNoise(seed); }

  /// Sequence::checkTokens on slot `slot`, after checking the slot.
  Result<bool> checkTokens(int64_t slot, const int64_t *tokens,
                           int64_t count) const;

  /// Sequence::forwardInto on slot `slot`: `count` tokens at positions
  /// length(slot) onwards, the logits of the last `logitRows` of them into
  /// `logits` (logitRows x vocab). The way to fill a slot with its prompt.
  /// Refuses a slot out of range, and whatever Sequence::forwardInto
  /// refuses, with its message.
  Result<bool> forwardInto(int64_t slot, const int64_t *tokens, int64_t count,
                           float *logits, int64_t logitRows);

  /// Checks a decode step's arguments: `tokens` not null, `feeds` one flag
  /// per slot with at least one set, and for each slot that feeds a token
  /// id in [0, vocab) and room for one more position. Each message names
  /// the slot: "slot 2: sequence of capacity 6 holds 6 positions; ...".
  Result<bool> checkDecode(const int64_t *tokens,
                           const std::vector<bool> &feeds) const;

  /// One decode step: every slot b feeds tokens[b] at position length(b)
  /// and gets its logits in row b of `logits`, slots() x vocab float32.
  Result<bool> decodeInto(const int64_t *tokens, float *logits);

  /// One decode step in which only the slots b with feeds[b] take part:
  /// they feed tokens[b] and get row b of `logits` (slots() x vocab); the
  /// others keep their length, their tokens[b] is not read, and their rows
  /// hold nothing of use (the batched call may write them).
  ///
  /// When the model has the batched entry point and two or more slots
  /// feed, the step is one jikji_forward_batch call over every slot (the
  /// idle ones ride along at their next free row, which is never read); a
  /// step with one slot feeding, or a model without it, runs one
  /// jikji_forward per feeding slot. (So does the rare step in which an
  /// idle slot is full and has no free row to ride along in.)
  ///
  /// On failure (checkDecode, weights cut since loading, the artifact's
  /// status, on the GPU a failing driver call, named, a NaN or infinite
  /// logit in a feeding slot's row) no slot's length changes, so whatever
  /// the call wrote is never read, and the next step may run.
  Result<bool> decodeInto(const int64_t *tokens, float *logits,
                          const std::vector<bool> &feeds);

private:
  SequenceBatch(const Model &model, int64_t capacity, KvCache cache,
                int64_t slots);

  /// The per-slot path of decodeInto: one jikji_forward per feeding slot.
  Result<bool> decodeEachSlot(const int64_t *tokens, float *logits,
                              const std::vector<bool> &feeds);
  /// The batched path: one jikji_forward_batch over every slot.
  Result<bool> decodeInOneCall(const int64_t *tokens, float *logits,
                               const std::vector<bool> &feeds);

  const Model *model_;
  int64_t capacity_;
  KvCache cache_;
  /// Slot b's sequence, over slot b of cache_.
  std::vector<Sequence> sequences_;
  /// jikji_forward_batch's `caches`: slot 0's pointers, the tensors' bases.
  std::vector<void *> basePointers_;
  /// Each step's tokens and positions (or, on the per-slot path, the
  /// lengths to restore on failure), kept so that a step does not allocate.
  std::vector<int64_t> stepTokens_;
  std::vector<int64_t> stepPositions_;
  /// decodeInto's flags when every slot feeds.
  std::vector<bool> everySlot_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_SEQUENCEBATCH_H
