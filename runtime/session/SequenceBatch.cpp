//===- SequenceBatch.cpp - Sequences that decode together -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/SequenceBatch.h"

#include <cmath>
#include <string>
#include <utility>

using namespace jikji;
using namespace jikji::runtime;

SequenceBatch::SequenceBatch(const Model &model, int64_t capacity,
                             KvCache cache, int64_t slots)
    : model_(&model), capacity_(capacity), cache_(std::move(cache)) {
  for (int64_t slot = 0; slot < slots; ++slot)
    sequences_.push_back(Sequence(model, capacity, cache_.slotPointers(slot)));
  basePointers_ = cache_.slotPointers(0);
  stepTokens_.resize(static_cast<size_t>(slots));
  stepPositions_.resize(static_cast<size_t>(slots));
  everySlot_.assign(static_cast<size_t>(slots), true);
}

Result<SequenceBatch> SequenceBatch::create(const Model &model, int64_t slots,
                                            int64_t capacity) {
  if (slots < 1)
    return Error("a batch of " + std::to_string(slots) +
                 " sequences; expected at least 1");
  Result<bool> fits = model.checkCapacity(capacity);
  if (!fits)
    return Error(fits.error());
  Result<KvCache> cache = KvCache::allocate(model, capacity, slots);
  if (!cache)
    return Error(cache.error());
  // Result's constructor takes its value by value, which C++17 does not
  // move into implicitly.
  return Result<SequenceBatch>(
      SequenceBatch(model, capacity, std::move(*cache), slots));
}

/// "slot 7: expected a slot in [0, 4)", or success.
static Result<bool> checkSlot(int64_t slot, int64_t slots) {
  if (slot < 0 || slot >= slots)
    return Error("slot " + std::to_string(slot) + ": expected a slot in [0, " +
                 std::to_string(slots) + ")");
  return true;
}

Result<bool> SequenceBatch::reset(int64_t slot) {
  Result<bool> valid = checkSlot(slot, slots());
  if (!valid)
    return valid;
  sequences_[static_cast<size_t>(slot)].reset();
  return true;
}

Result<bool> SequenceBatch::assumeFilled(int64_t slot, int64_t length) {
  Result<bool> valid = checkSlot(slot, slots());
  if (!valid)
    return valid;
  return sequences_[static_cast<size_t>(slot)].assumeFilled(length);
}

Result<bool> SequenceBatch::checkTokens(int64_t slot, const int64_t *tokens,
                                        int64_t count) const {
  Result<bool> valid = checkSlot(slot, slots());
  if (!valid)
    return valid;
  return sequences_[static_cast<size_t>(slot)].checkTokens(tokens, count);
}

Result<bool> SequenceBatch::forwardInto(int64_t slot, const int64_t *tokens,
                                        int64_t count, float *logits,
                                        int64_t logitRows) {
  Result<bool> valid = checkSlot(slot, slots());
  if (!valid)
    return valid;
  return sequences_[static_cast<size_t>(slot)].forwardInto(tokens, count,
                                                           logits, logitRows);
}

Result<bool> SequenceBatch::checkDecode(const int64_t *tokens,
                                        const std::vector<bool> &feeds) const {
  if (static_cast<int64_t>(feeds.size()) != slots())
    return Error("expected one feed flag per slot (" + std::to_string(slots()) +
                 "), found " + std::to_string(feeds.size()));
  if (!tokens)
    return Error("expected " + std::to_string(slots()) +
                 " tokens (one per slot), found a null pointer");
  bool anyFeeds = false;
  for (int64_t slot = 0; slot < slots(); ++slot) {
    if (!feeds[static_cast<size_t>(slot)])
      continue;
    anyFeeds = true;
    Result<bool> valid =
        sequences_[static_cast<size_t>(slot)].checkTokens(&tokens[slot], 1);
    if (!valid)
      return Error("slot " + std::to_string(slot) + ": " + valid.error());
  }
  if (!anyFeeds)
    return Error("a decode step in which no slot feeds a token; expected at "
                 "least one");
  return true;
}

Result<bool> SequenceBatch::decodeInto(const int64_t *tokens, float *logits) {
  return decodeInto(tokens, logits, everySlot_);
}

Result<bool> SequenceBatch::decodeInto(const int64_t *tokens, float *logits,
                                       const std::vector<bool> &feeds) {
  Result<bool> valid = checkDecode(tokens, feeds);
  if (!valid)
    return valid;
  if (!logits)
    return Error("expected a logits buffer, found a null pointer");
  int64_t feeding = 0;
  bool idleSlotFull = false;
  for (int64_t slot = 0; slot < slots(); ++slot) {
    if (feeds[static_cast<size_t>(slot)])
      ++feeding;
    else if (length(slot) == capacity_)
      idleSlotFull = true;
  }
  // One slot alone is what jikji_forward is compiled for; a full idle slot
  // has no row in which the batched call could write without harm.
  if (model_->hasBatchedDecode() && feeding > 1 && !idleSlotFull)
    return decodeInOneCall(tokens, logits, feeds);
  return decodeEachSlot(tokens, logits, feeds);
}

Result<bool> SequenceBatch::decodeEachSlot(const int64_t *tokens, float *logits,
                                           const std::vector<bool> &feeds) {
  const int64_t vocab = model_->vocabSize();
  std::vector<int64_t> &lengthsBefore = stepPositions_;
  for (size_t i = 0; i < sequences_.size(); ++i)
    lengthsBefore[i] = sequences_[i].length();
  for (int64_t slot = 0; slot < slots(); ++slot) {
    if (!feeds[static_cast<size_t>(slot)])
      continue;
    Result<bool> done = sequences_[static_cast<size_t>(slot)].forwardInto(
        &tokens[slot], 1, logits + slot * vocab, /*logitRows=*/1);
    if (done)
      continue;
    // The step fails as a whole: the rows the slots before wrote are past
    // their restored lengths, so never read.
    for (size_t i = 0; i < sequences_.size(); ++i)
      sequences_[i].length_ = lengthsBefore[i];
    return Error("slot " + std::to_string(slot) + ": " + done.error());
  }
  return true;
}

Result<bool> SequenceBatch::decodeInOneCall(const int64_t *tokens,
                                            float *logits,
                                            const std::vector<bool> &feeds) {
  // As Sequence::forwardInto: a weights file cut since loading would raise
  // SIGBUS inside the call.
  Result<bool> intact = model_->weights().checkIntact();
  if (!intact)
    return Error(intact.error() +
                 "; the weights changed after loading: reload the model");
  for (int64_t slot = 0; slot < slots(); ++slot) {
    size_t index = static_cast<size_t>(slot);
    // An idle slot writes its next free row (its length < capacity here),
    // which its later steps overwrite before reading; token 0 is a valid
    // id for any vocabulary.
    stepTokens_[index] = feeds[index] ? tokens[slot] : 0;
    stepPositions_[index] = length(slot);
  }
  Result<int32_t> ran =
      model_->runForwardBatch(stepTokens_.data(), stepPositions_.data(),
                              slots(), basePointers_.data(), capacity_, logits);
  const std::string &path = model_->artifact().path();
  // The message says which step failed: "a decode step of 3 slots at
  // positions 4, 2, 7".
  auto step = [&] {
    std::string positions;
    for (int64_t slot = 0; slot < slots(); ++slot)
      positions += (slot ? ", " : "") + std::to_string(length(slot));
    return "a decode step of " + std::to_string(slots()) +
           " slots at positions " + positions;
  };
  // A driver call that failed on the GPU: as for jikji_forward, no slot's
  // length moves, so the rows the step wrote are never read.
  if (!ran)
    return Error(path + ": " + step() + ": " + ran.error());
  if (*ran != 0)
    return Error(path + ": " + kForwardBatchSymbol + " returned status " +
                 std::to_string(*ran) + " for " + step());
  const int64_t vocab = model_->vocabSize();
  for (int64_t slot = 0; slot < slots(); ++slot) {
    if (!feeds[static_cast<size_t>(slot)])
      continue;
    const float *row = logits + slot * vocab;
    for (int64_t column = 0; column < vocab; ++column)
      if (!std::isfinite(row[column]))
        return Error(path + ": non-finite logits: logit " +
                     std::to_string(column) + " of slot " +
                     std::to_string(slot) + " (position " +
                     std::to_string(length(slot)) + ") is " +
                     (std::isnan(row[column]) ? "NaN" : "infinite") +
                     "; expected finite values");
  }
  for (int64_t slot = 0; slot < slots(); ++slot)
    if (feeds[static_cast<size_t>(slot)])
      ++sequences_[static_cast<size_t>(slot)].length_;
  return true;
}
