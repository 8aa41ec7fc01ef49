//===- ThreadsTest.cpp - Tests of the thread-count option -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// An artifact may export jikji_set_num_threads (docs/runtime-abi.md); the
// runtime calls it with the count the caller asked for, and reports one
// thread for an artifact without it. The fake artifact records the count it
// was given; its NO_THREADS twin exports nothing.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"

#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::FakeModel;

// Tests that the requested count reaches an artifact that can use it and is
// the count in effect.
TEST(ThreadsTest, ArtifactWithThreadsGetsTheCount) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  ModelOptions options;
  options.threads = 3;
  Result<Model> model =
      Model::load(fake.artifactPath(), fake.weightsDir(), options);
  ASSERT_TRUE(model.ok()) << model.error();
  EXPECT_EQ(fake.numThreadsSet(), 3);
  EXPECT_EQ(model->threads(), 3);
  EXPECT_EQ(model->requestedThreads(), 3);
  EXPECT_NE(model->artifact().setNumThreads(), nullptr);
}

// Tests that the default asks the artifact for one thread.
TEST(ThreadsTest, DefaultIsOneThread) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
  ASSERT_TRUE(model.ok()) << model.error();
  EXPECT_EQ(fake.numThreadsSet(), 1);
  EXPECT_EQ(model->threads(), 1);
}

// Tests that an artifact without jikji_set_num_threads runs one thread,
// whatever was asked, and that the request stays visible for a warning.
TEST(ThreadsTest, ArtifactWithoutThreadsRunsOne) {
  FakeModel fake(jikji::test::fakeArtifactNoThreadsPath());
  ASSERT_TRUE(fake.ready());
  ModelOptions options;
  options.threads = 4;
  Result<Model> model =
      Model::load(fake.artifactPath(), fake.weightsDir(), options);
  ASSERT_TRUE(model.ok()) << model.error();
  EXPECT_EQ(model->artifact().setNumThreads(), nullptr);
  EXPECT_EQ(model->threads(), 1);
  EXPECT_EQ(model->requestedThreads(), 4);
  // And it runs.
  Result<Sequence> sequence = Sequence::create(*model, 4);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  int64_t token = 3;
  Result<std::vector<float>> logits = sequence->forward(&token, 1);
  ASSERT_TRUE(logits.ok()) << logits.error();
  EXPECT_EQ((*logits)[3], 1.0f);
}

// Tests that a count out of range is refused with its message.
TEST(ThreadsTest, RefusesCountsOutOfRange) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  for (int32_t threads : {0, -2, Model::kMaxThreads + 1}) {
    ModelOptions options;
    options.threads = threads;
    Result<Model> model =
        Model::load(fake.artifactPath(), fake.weightsDir(), options);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.error(), "threads: expected a count from 1 to 1024, "
                             "found " +
                                 std::to_string(threads));
  }
}

// Tests the C API: options, the count in effect, and a bad count.
TEST(ThreadsTest, CApi) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model_options options;
  jikji_model_options_init(&options);
  EXPECT_EQ(options.num_threads, 1);
  options.num_threads = 2;
  jikji_model *model = nullptr;
  ASSERT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), &options,
                                          &model),
            JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(jikji_model_num_threads(model), 2);
  EXPECT_EQ(fake.numThreadsSet(), 2);
  jikji_model_free(model);

  // Null options are the defaults.
  ASSERT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), nullptr,
                                          &model),
            JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(jikji_model_num_threads(model), 1);
  jikji_model_free(model);
  EXPECT_EQ(jikji_model_num_threads(nullptr), 0);

  options.num_threads = 0;
  model = nullptr;
  EXPECT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), &options,
                                          &model),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(std::string(jikji_last_error()),
            "jikji_model_load: options: threads: expected a count from 1 to "
            "1024, found 0");
}
