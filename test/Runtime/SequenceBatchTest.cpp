//===- SequenceBatchTest.cpp - Tests of batched decode --------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// SequenceBatch and Session::generateBatch on the fake artifact, with and
// without its jikji_forward_batch: a batched step must give each slot the
// logits that a sequence of its own gets, and generation of a batch the
// tokens each prompt gets alone.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/SequenceBatch.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/Session.h"

#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::FakeModel;
using jikji::test::kFakeEos;
using jikji::test::kFakeVocab;

namespace {

/// The fake's builds: with jikji_forward_batch, without it, and an older
/// compiler's (neither it nor jikji_forward_last_logits).
struct FakeVariant {
  const char *name;
  std::string path;
  bool batched;
};

std::vector<FakeVariant> fakeVariants() {
  return {{"batched", jikji::test::fakeArtifactPath(), true},
          {"no batch symbol", jikji::test::fakeArtifactNoBatchPath(), false},
          {"older compiler", jikji::test::fakeArtifactNoThreadsPath(), false}};
}

template <typename T> std::string errorOf(const Result<T> &result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.error();
}

/// The fake's logits after a cache holding `tokens`: one-hot at their sum
/// mod the vocabulary.
std::vector<float> expectedLogits(const std::vector<int64_t> &tokens) {
  int64_t sum = 0;
  for (int64_t token : tokens)
    sum += token;
  std::vector<float> logits(kFakeVocab, 0.0f);
  logits[static_cast<size_t>(sum % kFakeVocab)] = 1.0f;
  return logits;
}

/// Row `row` of `logits` (rows of kFakeVocab).
std::vector<float> rowOf(const std::vector<float> &logits, int64_t row) {
  return std::vector<float>(logits.begin() + row * kFakeVocab,
                            logits.begin() + (row + 1) * kFakeVocab);
}

} // namespace

// Tests that a decode step over a batch gives every slot the logits a
// sequence of its own gets, step after step, on a cache of 2 layers and 3
// values per position (so a slot laid out without its layers would overlap
// its neighbour, which the fake detects); in one call per step with
// jikji_forward_batch, one call per slot without it.
TEST(SequenceBatchTest, DecodesLikeSeparateSequences) {
  for (const FakeVariant &variant : fakeVariants()) {
    SCOPED_TRACE(variant.name);
    FakeModel fake(variant.path);
    ASSERT_TRUE(fake.ready());
    fake.setCacheShape(2, 3);
    Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->hasBatchedDecode(), variant.batched);

    const int64_t capacity = 8;
    Result<SequenceBatch> batch = SequenceBatch::create(*model, 3, capacity);
    ASSERT_TRUE(batch.ok()) << batch.error();
    EXPECT_EQ(batch->decodesInOneCall(), variant.batched);
    EXPECT_EQ(batch->cacheBytes(), 3u * capacity * 2u * 2u * 3u * 4u);

    std::vector<std::vector<int64_t>> fed = {{1, 2, 3}, {5}, {7, 7}};
    std::vector<Sequence> alone;
    std::vector<float> logits(3 * kFakeVocab, -1.0f);
    for (int64_t slot = 0; slot < 3; ++slot) {
      std::vector<int64_t> &prompt = fed[static_cast<size_t>(slot)];
      int64_t length = static_cast<int64_t>(prompt.size());
      Result<bool> prefilled = batch->forwardInto(
          slot, prompt.data(), length, logits.data() + slot * kFakeVocab, 1);
      ASSERT_TRUE(prefilled.ok()) << prefilled.error();
      EXPECT_EQ(batch->length(slot), length);
      Result<Sequence> sequence = Sequence::create(*model, capacity);
      ASSERT_TRUE(sequence.ok()) << sequence.error();
      ASSERT_TRUE(sequence->forward(prompt.data(), length).ok());
      alone.push_back(std::move(*sequence));
    }

    int64_t batchCallsBefore = fake.batchCalls();
    int64_t forwardCallsBefore = fake.forwardCalls();
    std::vector<std::vector<int64_t>> steps = {{4, 1, 6}, {2, 2, 2}, {7, 0, 5}};
    for (const std::vector<int64_t> &tokens : steps) {
      Result<bool> decoded = batch->decodeInto(tokens.data(), logits.data());
      ASSERT_TRUE(decoded.ok()) << decoded.error();
      for (int64_t slot = 0; slot < 3; ++slot) {
        size_t index = static_cast<size_t>(slot);
        fed[index].push_back(tokens[index]);
        Result<std::vector<float>> own =
            alone[index].forward(&tokens[index], 1);
        ASSERT_TRUE(own.ok()) << own.error();
        EXPECT_EQ(rowOf(logits, slot), *own) << "slot " << slot;
        EXPECT_EQ(rowOf(logits, slot), expectedLogits(fed[index]))
            << "slot " << slot;
        EXPECT_EQ(batch->length(slot), alone[index].length());
      }
    }
    // The sequences alone ran 9 calls of jikji_forward; the batch's steps
    // are the rest.
    int64_t batchForwardCalls =
        fake.forwardCalls() - forwardCallsBefore - 3 * 3;
    if (variant.batched) {
      EXPECT_EQ(fake.batchCalls() - batchCallsBefore, 3);
      EXPECT_EQ(batchForwardCalls, 0);
    } else {
      EXPECT_EQ(fake.batchCalls(), -1);
      EXPECT_EQ(batchForwardCalls, 3 * 3);
    }
  }
}

// Tests that slots that do not feed keep their length and their cache,
// whether they ride along in the batched call or not; that a step with one
// slot feeding runs jikji_forward; and that an idle slot that is full
// (with no free row to ride along in) sends the step down the per-slot
// path.
TEST(SequenceBatchTest, IdleSlotsKeepTheirCache) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  fake.setCacheShape(2, 1);
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Result<SequenceBatch> batch = SequenceBatch::create(*model, 3, 3);
  ASSERT_TRUE(batch.ok()) << batch.error();
  std::vector<float> logits(3 * kFakeVocab);
  std::vector<int64_t> tokens = {1, 2, 3};
  // Every slot starts empty: the first step is a prompt of one token each.
  ASSERT_TRUE(batch->decodeInto(tokens.data(), logits.data()).ok());

  // Slot 1 idles: it rides along in the batched call at position 1.
  int64_t batchCalls = fake.batchCalls();
  tokens = {4, 6, 5};
  Result<bool> decoded =
      batch->decodeInto(tokens.data(), logits.data(), {true, false, true});
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(fake.batchCalls(), batchCalls + 1);
  EXPECT_EQ(batch->length(0), 2);
  EXPECT_EQ(batch->length(1), 1);
  EXPECT_EQ(batch->length(2), 2);
  EXPECT_EQ(rowOf(logits, 0), expectedLogits({1, 4}));
  EXPECT_EQ(rowOf(logits, 2), expectedLogits({3, 5}));

  // Slot 1 alone: jikji_forward, at its own position 1, over the row the
  // idle step wrote.
  int64_t forwardCalls = fake.forwardCalls();
  tokens = {0, 7, 0};
  decoded =
      batch->decodeInto(tokens.data(), logits.data(), {false, true, false});
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(fake.batchCalls(), batchCalls + 1);
  EXPECT_EQ(fake.forwardCalls(), forwardCalls + 1);
  EXPECT_EQ(rowOf(logits, 1), expectedLogits({2, 7}));

  // Slot 0 fills up (3 positions); then slots 1 and 2 step without it, one
  // call each, since slot 0 has no free row.
  tokens = {1, 0, 0};
  ASSERT_TRUE(
      batch->decodeInto(tokens.data(), logits.data(), {true, false, false})
          .ok());
  EXPECT_EQ(batch->length(0), 3);
  forwardCalls = fake.forwardCalls();
  tokens = {0, 1, 2};
  decoded =
      batch->decodeInto(tokens.data(), logits.data(), {false, true, true});
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(fake.batchCalls(), batchCalls + 1);
  EXPECT_EQ(fake.forwardCalls(), forwardCalls + 2);
  EXPECT_EQ(rowOf(logits, 1), expectedLogits({2, 7, 1}));
  EXPECT_EQ(rowOf(logits, 2), expectedLogits({3, 5, 2}));

  // A slot emptied starts again from position 0.
  ASSERT_TRUE(batch->reset(0).ok());
  EXPECT_EQ(batch->length(0), 0);
  tokens = {6, 0, 0};
  ASSERT_TRUE(
      batch->decodeInto(tokens.data(), logits.data(), {true, false, false})
          .ok());
  EXPECT_EQ(rowOf(logits, 0), expectedLogits({6}));
}

// Tests that bad arguments are refused before anything runs, each message
// naming the slot, and leave every slot as it was.
TEST(SequenceBatchTest, RefusesBadArguments) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  EXPECT_EQ(errorOf(SequenceBatch::create(*model, 0, 4)),
            "a batch of 0 sequences; expected at least 1");
  EXPECT_EQ(errorOf(SequenceBatch::create(*model, 2, 17)),
            "sequence capacity 17: expected 1 to 16 positions (the model's "
            "context limit, max_position_embeddings)");

  Result<SequenceBatch> batch = SequenceBatch::create(*model, 3, 2);
  ASSERT_TRUE(batch.ok()) << batch.error();
  std::vector<float> logits(3 * kFakeVocab);
  std::vector<int64_t> prompt = {1, 2};
  EXPECT_EQ(errorOf(batch->forwardInto(3, prompt.data(), 2, logits.data(), 1)),
            "slot 3: expected a slot in [0, 3)");
  EXPECT_EQ(errorOf(batch->forwardInto(-1, prompt.data(), 2, logits.data(), 1)),
            "slot -1: expected a slot in [0, 3)");
  EXPECT_EQ(errorOf(batch->reset(3)), "slot 3: expected a slot in [0, 3)");
  ASSERT_TRUE(batch->forwardInto(1, prompt.data(), 2, logits.data(), 1).ok());

  int64_t batchCalls = fake.batchCalls();
  int64_t forwardCalls = fake.forwardCalls();
  std::vector<int64_t> tokens = {1, 1, 1};
  // Slot 1 holds its 2 positions: a decode step has no room for it.
  EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
            "slot 1: sequence of capacity 2 holds 2 positions; 1 more tokens "
            "would need 3");
  tokens = {1, 1, 8};
  EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data(),
                                      {true, false, true})),
            "slot 2: token 0 (position 0) is 8; expected an id in [0, 8)");
  tokens = {-3, 1, 1};
  EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data(),
                                      {true, false, true})),
            "slot 0: token 0 (position 0) is -3; expected an id in [0, 8)");
  EXPECT_EQ(
      errorOf(batch->decodeInto(tokens.data(), logits.data(), {true, false})),
      "expected one feed flag per slot (3), found 2");
  EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data(),
                                      {false, false, false})),
            "a decode step in which no slot feeds a token; expected at least "
            "one");
  EXPECT_EQ(
      errorOf(batch->decodeInto(nullptr, logits.data(), {true, false, true})),
      "expected 3 tokens (one per slot), found a null pointer");
  tokens = {1, 1, 1};
  EXPECT_EQ(
      errorOf(batch->decodeInto(tokens.data(), nullptr, {true, false, true})),
      "expected a logits buffer, found a null pointer");
  EXPECT_EQ(fake.batchCalls(), batchCalls);
  EXPECT_EQ(fake.forwardCalls(), forwardCalls);
  EXPECT_EQ(batch->length(0), 0);
  EXPECT_EQ(batch->length(1), 2);
  EXPECT_EQ(batch->length(2), 0);
}

// Tests that a batch whose cache would need more bytes than 64 bits count
// is refused before anything is allocated.
TEST(SequenceBatchTest, RefusesCacheBeyond64Bits) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  // 2^20 layers x 2^31 floats per position: 2^53 bytes per position and
  // tensor, 2^57 for 16 positions, beyond 2^64 for 1000 slots.
  fake.setCacheShape(int64_t(1) << 20, int64_t(1) << 31);
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  EXPECT_EQ(errorOf(SequenceBatch::create(*model, 1000, 16)),
            "KV cache 'tokens' for 1000 sequences of 16 positions: more bytes "
            "than 64 bits count");
}

// Tests that a failing step, batched or per slot, is reported and leaves
// every slot's length as it was (the per-slot path undoes the slots that
// ran before the failing one).
TEST(SequenceBatchTest, ReportsArtifactFailures) {
  for (const FakeVariant &variant : fakeVariants()) {
    SCOPED_TRACE(variant.name);
    FakeModel fake(variant.path);
    ASSERT_TRUE(fake.ready());
    Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
    ASSERT_TRUE(model.ok()) << model.error();
    Result<SequenceBatch> batch = SequenceBatch::create(*model, 2, 8);
    ASSERT_TRUE(batch.ok()) << batch.error();
    std::vector<float> logits(2 * kFakeVocab);
    std::vector<int64_t> prompt = {1, 2};
    ASSERT_TRUE(batch->forwardInto(0, prompt.data(), 1, logits.data(), 1).ok());
    ASSERT_TRUE(batch->forwardInto(1, prompt.data(), 2, logits.data(), 1).ok());
    const std::string &path = variant.path;
    std::vector<int64_t> tokens = {3, 4};

    fake.setFailures(7, -1);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              variant.batched
                  ? path + ": jikji_forward_batch returned status 7 for a "
                           "decode step of 2 slots at positions 1, 2"
                  : "slot 0: " + path +
                        ": jikji_forward returned status 7 for 1 tokens at "
                        "position 1");
    EXPECT_EQ(batch->length(0), 1);
    EXPECT_EQ(batch->length(1), 2);

    // A NaN in slot 1's row (position 2): slot 0's step ran first.
    fake.setFailures(0, 2);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              variant.batched
                  ? path + ": non-finite logits: logit 0 of slot 1 (position "
                           "2) is NaN; expected finite values"
                  : "slot 1: " + path +
                        ": non-finite logits: logit 0 of token 0 (position "
                        "2) is NaN; expected finite values");
    EXPECT_EQ(batch->length(0), 1);
    EXPECT_EQ(batch->length(1), 2);

    fake.setFailures(0, -1);
    Result<bool> decoded = batch->decodeInto(tokens.data(), logits.data());
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(rowOf(logits, 0), expectedLogits({1, 3}));
    EXPECT_EQ(rowOf(logits, 1), expectedLogits({1, 2, 4}));
  }
}

// Tests that generating a batch gives every prompt the tokens, the stop
// and the counts it gets alone (Sequence::generate): greedy and sampled,
// with and without an end-of-sequence token, prompts of different lengths
// stopping at different steps; and that with jikji_forward_batch every
// step in which two or more prompts still generate is one call.
TEST(SequenceBatchTest, GeneratesLikeEachPromptAlone) {
  std::vector<std::vector<int64_t>> prompts = {
      {1, 2}, {5}, {3, 3, 1, 7}, {0}, {1, 2}};
  SamplingOptions sampled;
  sampled.temperature = 5;
  sampled.seed = 42;
  for (const FakeVariant &variant : fakeVariants()) {
    for (const SamplingOptions &options : {SamplingOptions(), sampled}) {
      for (std::optional<int64_t> eos :
           {std::optional<int64_t>(kFakeEos), std::optional<int64_t>()}) {
        SCOPED_TRACE(std::string(variant.name) +
                     (options.temperature > 0 ? ", sampled" : ", greedy") +
                     (eos ? ", eos" : ", no eos"));
        FakeModel fake(variant.path);
        ASSERT_TRUE(fake.ready());
        Result<Model> model =
            Model::load(fake.artifactPath(), fake.weightsDir());
        ASSERT_TRUE(model.ok()) << model.error();
        const int64_t maxNewTokens = 6;

        std::vector<Generation> alone;
        for (const std::vector<int64_t> &prompt : prompts) {
          Result<Sequence> sequence = Sequence::create(
              *model, static_cast<int64_t>(prompt.size()) + maxNewTokens);
          ASSERT_TRUE(sequence.ok()) << sequence.error();
          Result<Generation> generation = sequence->generate(
              prompt.data(), static_cast<int64_t>(prompt.size()), maxNewTokens,
              options, eos);
          ASSERT_TRUE(generation.ok()) << generation.error();
          alone.push_back(*generation);
        }

        int64_t batchCallsBefore = fake.batchCalls();
        Session session(*model);
        Result<BatchGeneration> batch =
            session.generateBatch(prompts, maxNewTokens, options, eos);
        ASSERT_TRUE(batch.ok()) << batch.error();
        ASSERT_EQ(batch->sequences.size(), prompts.size());
        std::vector<int64_t> decodeTokens;
        for (size_t i = 0; i < prompts.size(); ++i) {
          const Generation &got = batch->sequences[i];
          EXPECT_EQ(got.tokens, alone[i].tokens) << "prompt " << i;
          EXPECT_EQ(got.stoppedAtEos, alone[i].stoppedAtEos) << "prompt " << i;
          EXPECT_EQ(got.stats.prefillTokens, alone[i].stats.prefillTokens);
          EXPECT_EQ(got.stats.decodeTokens, alone[i].stats.decodeTokens)
              << "prompt " << i;
          decodeTokens.push_back(alone[i].stats.decodeTokens);
        }
        // Step k feeds every prompt that decodes more than k tokens, so
        // the steps are the most any prompt decodes, and those of two or
        // more prompts the second most.
        std::sort(decodeTokens.rbegin(), decodeTokens.rend());
        EXPECT_EQ(batch->decodeSteps, decodeTokens[0]);
        EXPECT_EQ(batch->slotCapacity, 4 + maxNewTokens);
        EXPECT_EQ(batch->peakCacheBytes,
                  prompts.size() * (4 + maxNewTokens) * 8u);
        EXPECT_EQ(batch->decodedInOneCall,
                  variant.batched && decodeTokens[1] > 0);
        if (variant.batched)
          EXPECT_EQ(fake.batchCalls() - batchCallsBefore, decodeTokens[1]);
        else
          EXPECT_EQ(fake.batchCalls(), -1);
      }
    }
  }
}

// Tests that a prompt that stops at once (maxNewTokens 0: prefill only)
// runs no decode step.
TEST(SequenceBatchTest, GeneratesNothingForNoNewTokens) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Session session(*model);
  int64_t batchCalls = fake.batchCalls();
  Result<BatchGeneration> batch =
      session.generateBatch({{1, 2}, {3}}, 0, {}, kFakeEos);
  ASSERT_TRUE(batch.ok()) << batch.error();
  EXPECT_EQ(batch->decodeSteps, 0);
  EXPECT_TRUE(batch->sequences[0].tokens.empty());
  EXPECT_EQ(batch->sequences[1].stats.prefillTokens, 1);
  EXPECT_EQ(fake.batchCalls(), batchCalls);
}
