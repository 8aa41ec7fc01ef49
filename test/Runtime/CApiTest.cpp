//===- CApiTest.cpp - Tests of jikji/runtime.h ----------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"

#include "runtime/support/CpuFeatures.h"
#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using jikji::test::FakeModel;
using jikji::test::kFakeEos;
using jikji::test::kFakeMaxPositions;
using jikji::test::kFakeVocab;

namespace {

/// Loads the fake through the C API.
jikji_model *loadFake(const FakeModel &fake) {
  jikji_model *model = nullptr;
  jikji_status status =
      jikji_model_load(jikji::test::fakeArtifactPath().c_str(),
                       fake.weightsDir().c_str(), &model);
  EXPECT_EQ(status, JIKJI_OK) << jikji_last_error();
  return model;
}

} // namespace

// Tests the happy path: load, query, forward, generate, free.
TEST(CApiTest, LoadsForwardsAndGenerates) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(jikji_model_vocab_size(model), kFakeVocab);
  EXPECT_EQ(jikji_model_max_positions(model), kFakeMaxPositions);
  EXPECT_EQ(jikji_model_eos_token_id(model), kFakeEos);

  jikji_sequence *sequence = nullptr;
  ASSERT_EQ(jikji_sequence_create(model, 8, &sequence), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(jikji_sequence_capacity(sequence), 8);

  int64_t tokens[] = {1, 2};
  std::vector<float> logits(2 * kFakeVocab);
  ASSERT_EQ(jikji_sequence_forward(sequence, tokens, 2, logits.data()),
            JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(logits[kFakeVocab + 3], 1.0f);
  EXPECT_EQ(jikji_sequence_length(sequence), 2);

  jikji_sequence_reset(sequence);
  int64_t generated[6];
  int64_t count = -1;
  ASSERT_EQ(jikji_sequence_generate(sequence, tokens, 2, 6, 0.0, 0, 1.0, 0,
                                    generated, &count),
            JIKJI_OK)
      << jikji_last_error();
  ASSERT_EQ(count, 3);
  EXPECT_EQ(generated[0], 3);
  EXPECT_EQ(generated[1], 6);
  EXPECT_EQ(generated[2], kFakeEos);

  // Freeing the model first is allowed: the sequence keeps it alive.
  jikji_model_free(model);
  jikji_sequence_reset(sequence);
  ASSERT_EQ(jikji_sequence_forward(sequence, tokens, 2, logits.data()),
            JIKJI_OK)
      << jikji_last_error();
  jikji_sequence_free(sequence);
  jikji_sequence_free(nullptr);
  jikji_model_free(nullptr);
}

// Tests that an artifact whose manifest needs a CPU feature the runtime
// cannot find on this CPU is refused at load (JIKJI_LOAD_FAILED, before any
// of its code runs a step), and that one needing exactly what this CPU has
// loads.
TEST(CApiTest, RefusesArtifactForAnotherCpu) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji::runtime::Manifest manifest = fake.manifest();
  manifest.cpu = jikji::runtime::ManifestCpu{"future", {"avx99"}};
  fake.setManifest(manifest);
  jikji_model *model = nullptr;
  EXPECT_EQ(jikji_model_load(jikji::test::fakeArtifactPath().c_str(),
                             fake.weightsDir().c_str(), &model),
            JIKJI_LOAD_FAILED);
  EXPECT_EQ(model, nullptr);
  std::string message = jikji_last_error();
  EXPECT_NE(message.find(": the artifact was compiled for future and needs "
                         "avx99, which this runtime cannot detect"),
            std::string::npos)
      << message;

  const jikji::runtime::CpuFeatureSet &running =
      jikji::runtime::runningCpuFeatures();
  manifest.cpu = jikji::runtime::ManifestCpu{
      "this-cpu", std::vector<std::string>(running.begin(), running.end())};
  fake.setManifest(manifest);
  model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  jikji_model_free(model);
}

// Tests that each kind of failure has its status and a message.
TEST(CApiTest, ReportsStatusAndMessage) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = nullptr;
  std::string missing = fake.directory().file("missing.so");
  EXPECT_EQ(
      jikji_model_load(missing.c_str(), fake.weightsDir().c_str(), &model),
      JIKJI_LOAD_FAILED);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(std::string(jikji_last_error()),
            missing + ": cannot open the artifact: No such file or directory");
  EXPECT_EQ(jikji_model_load(nullptr, nullptr, &model), JIKJI_INVALID_ARGUMENT);

  ASSERT_TRUE(jikji::test::writeFile(fake.directory().file("config.json"),
                                     jikji::test::fakeConfigText(16)));
  EXPECT_EQ(jikji_model_load(jikji::test::fakeArtifactPath().c_str(),
                             fake.weightsDir().c_str(), &model),
            JIKJI_WEIGHTS_MISMATCH);
  EXPECT_NE(std::string(jikji_last_error())
                .find("weights were made for another config"),
            std::string::npos);
  ASSERT_TRUE(jikji::test::writeFile(fake.directory().file("config.json"),
                                     jikji::test::fakeConfigText()));

  model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  jikji_sequence *sequence = nullptr;
  EXPECT_EQ(jikji_sequence_create(model, kFakeMaxPositions + 1, &sequence),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(sequence, nullptr);
  ASSERT_EQ(jikji_sequence_create(model, 4, &sequence), JIKJI_OK);

  int64_t tokens[] = {1, 9};
  float logits[2 * kFakeVocab];
  EXPECT_EQ(jikji_sequence_forward(sequence, tokens, 2, logits),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(jikji_last_error()),
            "token 1 (position 1) is 9; expected an id in [0, 8)");
  EXPECT_EQ(jikji_sequence_forward(sequence, tokens, 2, nullptr),
            JIKJI_INVALID_ARGUMENT);

  tokens[1] = 2;
  fake.setFailures(3, -1);
  EXPECT_EQ(jikji_sequence_forward(sequence, tokens, 2, logits),
            JIKJI_EXECUTION_FAILED);
  EXPECT_EQ(jikji_sequence_length(sequence), 0);
  fake.setFailures(0, -1);

  int64_t generated[4];
  int64_t count = -1;
  EXPECT_EQ(jikji_sequence_generate(sequence, tokens, 2, 3, 0.0, 0, 1.0, 0,
                                    generated, &count),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(jikji_sequence_generate(sequence, tokens, 2, 2, -1.0, 0, 1.0, 0,
                                    generated, &count),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(jikji_sequence_generate(sequence, tokens, 0, 2, 0.0, 0, 1.0, 0,
                                    generated, &count),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(jikji_last_error()),
            "the prompt is empty; expected at least one token");

  EXPECT_STREQ(jikji_status_name(JIKJI_WEIGHTS_MISMATCH),
               "JIKJI_WEIGHTS_MISMATCH");
  jikji_sequence_free(sequence);
  jikji_model_free(model);
}

// Tests a batch through the C API: prefill per slot, decode of every slot
// and of some, in one call of the artifact's jikji_forward_batch; and that
// the batch keeps its model alive.
TEST(CApiTest, DecodesBatches) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  jikji_batch *batch = nullptr;
  ASSERT_EQ(jikji_batch_create(model, 3, 6, &batch), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(jikji_batch_num_slots(batch), 3);
  EXPECT_EQ(jikji_batch_capacity(batch), 6);
  jikji_model_free(model);

  // The fake's logits are one-hot at the sum of the cached ids mod 8.
  int64_t prompt[] = {1, 2, 3};
  std::vector<float> logits(3 * kFakeVocab);
  ASSERT_EQ(jikji_batch_prefill(batch, 0, prompt, 3, logits.data()), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(logits[6], 1.0f);
  ASSERT_EQ(jikji_batch_prefill(batch, 1, prompt + 2, 1, logits.data()),
            JIKJI_OK);
  EXPECT_EQ(logits[3], 1.0f);
  EXPECT_EQ(jikji_batch_length(batch, 0), 3);
  EXPECT_EQ(jikji_batch_length(batch, 1), 1);
  EXPECT_EQ(jikji_batch_length(batch, 2), 0);

  int64_t batchCalls = fake.batchCalls();
  int64_t tokens[] = {4, 5, 7};
  ASSERT_EQ(jikji_batch_decode(batch, tokens, nullptr, logits.data()), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(logits[(1 + 2 + 3 + 4) % kFakeVocab], 1.0f);
  EXPECT_EQ(logits[kFakeVocab + (3 + 5) % kFakeVocab], 1.0f);
  EXPECT_EQ(logits[2 * kFakeVocab + 7], 1.0f);
  uint8_t feeds[] = {1, 0, 1};
  ASSERT_EQ(jikji_batch_decode(batch, tokens, feeds, logits.data()), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(logits[(10 + 4) % kFakeVocab], 1.0f);
  EXPECT_EQ(logits[2 * kFakeVocab + (7 + 7) % kFakeVocab], 1.0f);
  EXPECT_EQ(fake.batchCalls(), batchCalls + 2);
  EXPECT_EQ(jikji_batch_length(batch, 0), 5);
  EXPECT_EQ(jikji_batch_length(batch, 1), 2);
  EXPECT_EQ(jikji_batch_length(batch, 2), 2);

  EXPECT_EQ(jikji_batch_reset(batch, 0), JIKJI_OK);
  EXPECT_EQ(jikji_batch_length(batch, 0), 0);
  jikji_batch_free(batch);
  jikji_batch_free(nullptr);
}

// Tests that each bad argument of the batch functions is refused with
// JIKJI_INVALID_ARGUMENT and a message, leaving the slots as they were,
// and that a failing step is JIKJI_EXECUTION_FAILED.
TEST(CApiTest, RefusesBadBatchArguments) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  jikji_batch *batch = nullptr;
  auto expectInvalid = [](jikji_status status, const std::string &message) {
    EXPECT_EQ(status, JIKJI_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(jikji_last_error()), message);
  };
  expectInvalid(jikji_batch_create(model, 0, 4, &batch),
                "jikji_batch_create: expected at least 1 slot, found 0");
  expectInvalid(jikji_batch_create(model, 2, kFakeMaxPositions + 1, &batch),
                "sequence capacity 17: expected 1 to 16 positions (the "
                "model's context limit, max_position_embeddings)");
  expectInvalid(jikji_batch_create(nullptr, 2, 4, &batch),
                "jikji_batch_create: expected a model and a place for the "
                "batch, found a null pointer");
  EXPECT_EQ(batch, nullptr);
  ASSERT_EQ(jikji_batch_create(model, 2, 2, &batch), JIKJI_OK);

  int64_t tokens[] = {1, 9};
  std::vector<float> logits(2 * kFakeVocab);
  expectInvalid(jikji_batch_prefill(batch, 2, tokens, 1, logits.data()),
                "slot 2: expected a slot in [0, 2)");
  expectInvalid(jikji_batch_prefill(batch, 0, tokens, 2, logits.data()),
                "token 1 (position 1) is 9; expected an id in [0, 8)");
  expectInvalid(jikji_batch_prefill(batch, 0, tokens, 1, nullptr),
                "jikji_batch_prefill: expected a batch and a logits buffer, "
                "found a null pointer");
  expectInvalid(jikji_batch_decode(batch, tokens, nullptr, logits.data()),
                "slot 1: token 0 (position 0) is 9; expected an id in [0, 8)");
  uint8_t none[] = {0, 0};
  expectInvalid(jikji_batch_decode(batch, tokens, none, logits.data()),
                "a decode step in which no slot feeds a token; expected at "
                "least one");
  expectInvalid(jikji_batch_decode(batch, nullptr, nullptr, logits.data()),
                "expected 2 tokens (one per slot), found a null pointer");
  expectInvalid(jikji_batch_reset(batch, -1),
                "slot -1: expected a slot in [0, 2)");
  EXPECT_EQ(jikji_batch_length(batch, 5), 0);

  // Slot 0 full: no room for a decode step.
  int64_t full[] = {1, 1};
  ASSERT_EQ(jikji_batch_prefill(batch, 0, full, 2, logits.data()), JIKJI_OK);
  expectInvalid(jikji_batch_decode(batch, full, nullptr, logits.data()),
                "slot 0: sequence of capacity 2 holds 2 positions; 1 more "
                "tokens would need 3");

  ASSERT_EQ(jikji_batch_reset(batch, 0), JIKJI_OK);
  fake.setFailures(5, -1);
  EXPECT_EQ(jikji_batch_decode(batch, full, nullptr, logits.data()),
            JIKJI_EXECUTION_FAILED);
  EXPECT_EQ(std::string(jikji_last_error()),
            jikji::test::fakeArtifactPath() +
                ": jikji_forward_batch returned status 5 for a decode step "
                "of 2 slots at positions 0, 0");
  fake.setFailures(0, -1);
  EXPECT_EQ(jikji_batch_length(batch, 0), 0);
  EXPECT_EQ(jikji_batch_length(batch, 1), 0);
  jikji_batch_free(batch);
  jikji_model_free(model);
}

// Tests the opt-in scan of the weights for NaN and infinity.
TEST(CApiTest, ChecksWeightsForNonFiniteValues) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(jikji_model_check_weights(model), JIKJI_OK) << jikji_last_error();
  jikji_model_free(model);
  EXPECT_EQ(jikji_model_check_weights(nullptr), JIKJI_INVALID_ARGUMENT);

  // Element 0 of 'embed.weight' is 100.0f, the only float 100 in the file
  // (FakeModel counts from 100, 200, ... per tensor); make it NaN. A model
  // with NaN weights still loads: the scan is what finds them.
  std::string path = fake.directory().file("model.safetensors");
  std::string bytes;
  ASSERT_TRUE(jikji::test::readFile(path, bytes));
  float hundred = 100.0f, nan = std::numeric_limits<float>::quiet_NaN();
  std::string pattern(reinterpret_cast<const char *>(&hundred), 4);
  size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(pattern, at + 1), std::string::npos);
  bytes.replace(at, 4, reinterpret_cast<const char *>(&nan), 4);
  ASSERT_TRUE(jikji::test::writeFile(path, bytes));
  model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(jikji_model_check_weights(model), JIKJI_LOAD_FAILED);
  EXPECT_EQ(std::string(jikji_last_error()),
            path + ": tensor 'embed.weight' (F32 [8, 2]): element 0 is NaN; "
                   "expected finite weights");
  jikji_model_free(model);
}

// Tests that a weights file cut after loading is found before the next
// step reads it (which would raise SIGBUS), and the step is refused.
TEST(CApiTest, RefusesStepsAfterWeightsShrank) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model *model = loadFake(fake);
  ASSERT_NE(model, nullptr);
  jikji_sequence *sequence = nullptr;
  ASSERT_EQ(jikji_sequence_create(model, 4, &sequence), JIKJI_OK);
  int64_t tokens[] = {1, 2};
  float logits[2 * kFakeVocab];
  ASSERT_EQ(jikji_sequence_forward(sequence, tokens, 1, logits), JIKJI_OK)
      << jikji_last_error();

  std::string path = fake.directory().file("model.safetensors");
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  ASSERT_EQ(::truncate(path.c_str(), info.st_size - 4), 0);
  EXPECT_EQ(jikji_sequence_forward(sequence, tokens + 1, 1, logits),
            JIKJI_EXECUTION_FAILED);
  EXPECT_EQ(std::string(jikji_last_error()),
            path + ": file shrank while mapped: was " +
                std::to_string(info.st_size) + " bytes, now " +
                std::to_string(info.st_size - 4) +
                "; the weights changed after loading: reload the model");
  EXPECT_EQ(jikji_sequence_length(sequence), 1);
  int64_t generated[2];
  int64_t count = -1;
  EXPECT_EQ(jikji_sequence_generate(sequence, tokens, 1, 1, 0.0, 0, 1.0, 0,
                                    generated, &count),
            JIKJI_EXECUTION_FAILED);
  EXPECT_EQ(count, 0);
  jikji_sequence_free(sequence);
  jikji_model_free(model);
}
