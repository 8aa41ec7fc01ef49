//===- AssumeFilledTest.cpp - Tests of an assumed context -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Sequence::assumeFilled and SequenceBatch::assumeFilled, on the fake
// artifact (whose logits are one-hot at the sum of the tokens in the cache
// rows a step reads): the next step must run at the assumed length, reading
// the rows before it as the cache holds them, which is what `jikji-run
// --time-decode --context L` relies on (test/e2e/jikji-run-timing.test
// runs that on compiled artifacts, whose assumed rows were never written).
//
//===----------------------------------------------------------------------===//

#include "runtime/session/KvCache.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"

#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <vector>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::FakeModel;
using jikji::test::kFakeVocab;

namespace {

/// One-hot at `sum` mod the vocabulary: the fake's logits.
std::vector<float> oneHot(int64_t sum) {
  std::vector<float> logits(kFakeVocab, 0.0f);
  logits[static_cast<size_t>(sum % kFakeVocab)] = 1.0f;
  return logits;
}

} // namespace

// Tests that a sequence continues at the assumed length, shorter than
// what it holds (the later rows drop out of view; the next token overwrites
// the first of them) and then longer again (the rows in between hold what
// the cache holds, here the earlier tokens). The fake refuses to read a row
// this sequence never wrote, so every row read here was written once.
TEST(AssumeFilledTest, SequenceContinuesAtTheAssumedLength) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Result<Sequence> sequence = Sequence::create(*model, 8);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  std::vector<int64_t> prompt = {1, 2, 3, 4};
  ASSERT_TRUE(sequence->forward(prompt.data(), 4).ok());

  ASSERT_TRUE(sequence->assumeFilled(1).ok());
  EXPECT_EQ(sequence->length(), 1);
  int64_t five = 5;
  Result<std::vector<float>> shorter = sequence->forward(&five, 1);
  ASSERT_TRUE(shorter.ok()) << shorter.error();
  EXPECT_EQ(*shorter, oneHot(1 + 5));
  EXPECT_EQ(sequence->length(), 2);

  ASSERT_TRUE(sequence->assumeFilled(4).ok());
  int64_t six = 6;
  Result<std::vector<float>> longer = sequence->forward(&six, 1);
  ASSERT_TRUE(longer.ok()) << longer.error();
  EXPECT_EQ(*longer, oneHot(1 + 5 + 3 + 4 + 6));
  EXPECT_EQ(sequence->length(), 5);
}

// Tests that a length outside [0, capacity] is refused and changes nothing.
TEST(AssumeFilledTest, RefusesLengthsOutsideTheCapacity) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Result<Sequence> sequence = Sequence::create(*model, 8);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  ASSERT_TRUE(sequence->assumeFilled(8).ok());
  Result<bool> tooLong = sequence->assumeFilled(9);
  ASSERT_FALSE(tooLong.ok());
  EXPECT_EQ(tooLong.error(), "cannot assume 9 positions filled in a sequence "
                             "of capacity 8");
  EXPECT_FALSE(sequence->assumeFilled(-1).ok());
  EXPECT_EQ(sequence->length(), 8);

  Result<SequenceBatch> batch = SequenceBatch::create(*model, 2, 8);
  ASSERT_TRUE(batch.ok()) << batch.error();
  Result<bool> badSlot = batch->assumeFilled(2, 1);
  ASSERT_FALSE(badSlot.ok());
  EXPECT_EQ(badSlot.error(), "slot 2: expected a slot in [0, 2)");
}

// Tests that a batch's slots decode together at their assumed lengths, each
// reading its own rows.
TEST(AssumeFilledTest, BatchDecodesAtTheAssumedLengths) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Result<SequenceBatch> batch = SequenceBatch::create(*model, 2, 8);
  ASSERT_TRUE(batch.ok()) << batch.error();
  std::vector<float> logits(2 * kFakeVocab);
  std::vector<int64_t> first = {2, 3, 4}, second = {5, 6};
  ASSERT_TRUE(batch->forwardInto(0, first.data(), 3, logits.data(), 1).ok());
  ASSERT_TRUE(batch->forwardInto(1, second.data(), 2, logits.data(), 1).ok());
  ASSERT_TRUE(batch->assumeFilled(0, 2).ok());
  ASSERT_TRUE(batch->assumeFilled(1, 1).ok());

  int64_t callsBefore = fake.batchCalls();
  std::vector<int64_t> tokens = {1, 7};
  Result<bool> decoded = batch->decodeInto(tokens.data(), logits.data());
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(fake.batchCalls() - callsBefore, 1);
  EXPECT_EQ(std::vector<float>(logits.begin(), logits.begin() + kFakeVocab),
            oneHot(2 + 3 + 1));
  EXPECT_EQ(std::vector<float>(logits.begin() + kFakeVocab, logits.end()),
            oneHot(5 + 7));
  EXPECT_EQ(batch->length(0), 3);
  EXPECT_EQ(batch->length(1), 2);
}

// Tests that a cache filled for timing holds values in [-1, 1) everywhere,
// varied (no zeros left, not one value repeated), and the same for a seed.
TEST(AssumeFilledTest, NoiseFillsEveryValue) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  fake.setCacheShape(2, 3);
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  Result<KvCache> first = KvCache::allocate(*model, 5, 2);
  Result<KvCache> second = KvCache::allocate(*model, 5, 2);
  ASSERT_TRUE(first.ok() && second.ok());
  first->fillWithNoise(3);
  second->fillWithNoise(3);
  std::vector<void *> a = first->slotPointers(0), b = second->slotPointers(0);
  ASSERT_EQ(a.size(), b.size());
  uint64_t floatsPerTensor = first->bytes() / a.size() / sizeof(float);
  for (size_t tensor = 0; tensor < a.size(); ++tensor) {
    const float *values = static_cast<const float *>(a[tensor]);
    const float *again = static_cast<const float *>(b[tensor]);
    int64_t distinct = 0;
    for (uint64_t i = 0; i < floatsPerTensor; ++i) {
      EXPECT_GE(values[i], -1.0f);
      EXPECT_LT(values[i], 1.0f);
      EXPECT_NE(values[i], 0.0f) << "value " << i;
      EXPECT_EQ(values[i], again[i]) << "value " << i;
      distinct += i > 0 && values[i] != values[i - 1];
    }
    EXPECT_GT(distinct, static_cast<int64_t>(floatsPerTensor) / 2);
  }
}
