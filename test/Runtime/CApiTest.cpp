//===- CApiTest.cpp - Tests of jikji/runtime.h ----------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"

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
