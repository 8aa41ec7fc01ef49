//===- CudaDeviceTest.cpp - The CUDA device on a fake driver --------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime's CUDA device without a GPU: JIKJI_CUDA_DRIVER points it at
// FakeCudaDriver.c, whose failures are switched on through its environment,
// and the model is FakeArtifact.c built as a CUDA artifact. Each test checks
// the message of one failure and that teardown after it leaves nothing
// live in the driver (allocations, contexts, streams, modules) and freed
// nothing twice.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"

#include "runtime/cuda/CudaDevice.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"
#include "runtime/session/Session.h"

#include "test/Runtime/FakeCuda.h"
#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <dlfcn.h>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::FakeModel;
using jikji::test::kFakeEos;
using jikji::test::kFakeVocab;

namespace {

using jikji::test::errorOf;
using jikji::test::FakeCudaModel;
using jikji::test::FakeDriver;
using jikji::test::loadOnCuda;

} // namespace

// Tests that a missing driver is named with dlopen's reason, through the
// C++ API and the C API.
TEST(CudaDeviceTest, ReportsMissingDriver) {
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  ::setenv("JIKJI_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  std::string error = errorOf(loadOnCuda(fake));
  EXPECT_EQ(error.rfind("no CUDA driver found: /nonexistent/libcuda.so.1", 0),
            0u)
      << error;

  jikji_model_options options;
  jikji_model_options_init(&options);
  EXPECT_EQ(options.device, JIKJI_DEVICE_CPU);
  options.device = JIKJI_DEVICE_CUDA;
  jikji_model *model = nullptr;
  EXPECT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), &options,
                                          &model),
            JIKJI_LOAD_FAILED);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(std::string(jikji_last_error()).rfind("no CUDA driver found: ", 0),
            0u)
      << jikji_last_error();
  ::unsetenv("JIKJI_CUDA_DRIVER");
}

// Tests that a library without the driver's entry points is refused.
TEST(CudaDeviceTest, RefusesLibraryThatIsNotADriver) {
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  ::setenv("JIKJI_CUDA_DRIVER", JIKJI_FAKE_ARTIFACT, 1);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            std::string(JIKJI_FAKE_ARTIFACT) +
                ": no CUDA driver entry point 'cuInit' (a driver older than "
                "CUDA 12, or not a CUDA driver)");
  ::unsetenv("JIKJI_CUDA_DRIVER");
}

// Tests that the C API refuses a device it does not know.
TEST(CudaDeviceTest, CApiRefusesUnknownDevice) {
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model_options options;
  jikji_model_options_init(&options);
  options.device = 7;
  jikji_model *model = nullptr;
  EXPECT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), &options,
                                          &model),
            JIKJI_INVALID_ARGUMENT);
  EXPECT_STREQ(jikji_last_error(),
               "jikji_model_load: options: device: expected JIKJI_DEVICE_CPU "
               "(0) or JIKJI_DEVICE_CUDA (1), found 7");
}

// Tests that a CPU artifact is refused on the CUDA device before any
// driver is needed.
TEST(CudaDeviceTest, RefusesCpuArtifact) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  ::setenv("JIKJI_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": artifact compiled for target 'cpu' runs on the CPU, not "
                "on 'cuda'; compile for the GPU with jikji-compile "
                "--target=cuda, or run with --device=cpu");
  ::unsetenv("JIKJI_CUDA_DRIVER");
}

// Tests the whole path on the fake: the device listed, the cubin chosen
// for the matching architecture, weights and caches in managed memory (the
// fake's fake_check_managed_6 kernel refuses any other pointer), empty
// launches skipped, the fake model's greedy output, and a clean teardown.
TEST(CudaDeviceTest, PoolsBuffersBySizeClass) {
  // Multiples of 256 bytes up to 1 KiB, then of a quarter of the power of
  // two below: at most 25% more than asked.
  EXPECT_EQ(cuda::pooledCapacity(1), 256u);
  EXPECT_EQ(cuda::pooledCapacity(256), 256u);
  EXPECT_EQ(cuda::pooledCapacity(257), 512u);
  EXPECT_EQ(cuda::pooledCapacity(1024), 1024u);
  EXPECT_EQ(cuda::pooledCapacity(1025), 1280u);
  EXPECT_EQ(cuda::pooledCapacity(5000), 5120u);
  EXPECT_EQ(cuda::pooledCapacity(uint64_t(1) << 30), uint64_t(1) << 30);
  EXPECT_EQ(cuda::pooledCapacity((uint64_t(1) << 30) + 1),
            (uint64_t(5) << 28));
  for (uint64_t bytes : {1u, 300u, 1000u, 1025u, 4097u, 1000000u, 123456789u})
    EXPECT_LE(cuda::pooledCapacity(bytes), bytes + bytes / 4 + 256) << bytes;
}

TEST(CudaDeviceTest, RunsAndTearsDown) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  Result<std::vector<cuda::CudaDeviceInfo>> devices = cuda::listCudaDevices();
  ASSERT_TRUE(devices.ok()) << devices.error();
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].name, "Jikji fake GPU");
  EXPECT_EQ((*devices)[0].arch(), "sm_90");

  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  // The driver stays loaded for the process, so its launch count is
  // cumulative.
  int64_t launchesBefore = driver.state("launches");
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    ASSERT_NE(model->cudaModel(), nullptr);
    EXPECT_EQ(model->cudaModel()->module().describeImage(), "cubin for sm_90");
    EXPECT_EQ(driver.state("image_is_cubin"), 1);
    // Three tensors of 8x2, 2x(2x3) and 2x(3x2) floats.
    EXPECT_GE(model->cudaModel()->uploadedBytes(), (16 + 12 + 12) * 4u);

    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    // The fake's next token is the sum of the cached ids mod 8: 1+2 = 3,
    // then 6, then 12 mod 8 = 4, the end-of-sequence token.
    int64_t prompt[] = {1, 2};
    Result<Generation> generation =
        sequence->generate(prompt, 2, 5, SamplingOptions(), kFakeEos);
    ASSERT_TRUE(generation.ok()) << generation.error();
    EXPECT_EQ(generation->tokens, (std::vector<int64_t>{3, 6, 4}));
    EXPECT_TRUE(generation->stoppedAtEos);
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    // Three steps (the prompt, 3, 6), one real and one empty launch each.
    EXPECT_EQ(counts.launches, 3);
    EXPECT_EQ(counts.skippedEmpty, 3);
    // The prompt's step allocates two buffers (the logits of every row,
    // then a scratch of 16 bytes), the next two steps a scratch of 8 bytes
    // each: all one size class, so these take back buffers the first step
    // freed, zeroed again (the fake artifact returns 95 from a step whose
    // scratch is not).
    EXPECT_EQ(counts.allocations, 4);
    EXPECT_EQ(counts.reused, 2);
    EXPECT_EQ(driver.state("launches") - launchesBefore, 3);
  }
  driver.expectNothingLive();
}

// Tests that --kernel-times' timing counts every launch of each kernel
// with the time between its two events, and that a failing event call is
// the step's message, with every event destroyed at teardown.
TEST(CudaDeviceTest, TimesKernels) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    cuda::CudaModel &gpu = *model->cudaModel();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t token = 1;
    // Not timed: off by default.
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    EXPECT_TRUE(gpu.kernelTimes().empty());

    gpu.timeKernels(true);
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    std::vector<cuda::KernelTime> times = gpu.kernelTimes();
    ASSERT_EQ(times.size(), 1u);
    EXPECT_EQ(times[0].kernel, "fake_check_managed_6");
    EXPECT_EQ(times[0].launches, 2);
    EXPECT_GE(times[0].milliseconds, 0.0);
    // Two events per launch, kept for the next launch.
    EXPECT_EQ(driver.state("events"), 2);

    driver.failCall("cuEventRecord", 2, 400);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              fake.artifactPath() +
                  ": 1 tokens at position 3: cuEventRecord failed: "
                  "CUDA_ERROR_INVALID_HANDLE");
    driver.failCall("cuEventElapsedTime", 1, 600);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              fake.artifactPath() +
                  ": 1 tokens at position 3: cuEventElapsedTime failed: "
                  "CUDA_ERROR_NOT_READY");
    driver.clearFailure();
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    EXPECT_EQ(gpu.kernelTimes()[0].launches, 3);
  }
  driver.expectNothingLive();
}

// Tests that a batch generates on the CUDA device the tokens each prompt
// gets alone: with an artifact that exports jikji_forward_batch, one call
// per step of both prompts; with one that does not (a compiler that did not
// export it), one call per prompt and step.
TEST(CudaDeviceTest, GeneratesBatches) {
  for (bool batched : {true, false}) {
    SCOPED_TRACE(batched ? "batched" : "no batch symbol");
    FakeDriver driver;
    ASSERT_TRUE(driver.ready());
    FakeCudaModel fake(batched ? JIKJI_FAKE_CUDA_ARTIFACT
                               : JIKJI_FAKE_CUDA_ARTIFACT_NO_BATCH);
    ASSERT_TRUE(fake.ready());
    int64_t batchCalls = fake.batchCalls();
    EXPECT_EQ(batchCalls >= 0, batched);
    {
      Result<Model> model = loadOnCuda(fake);
      ASSERT_TRUE(model.ok()) << model.error();
      EXPECT_EQ(model->hasBatchedDecode(), batched);
      Session session(*model);
      Result<BatchGeneration> batch =
          session.generateBatch({{1, 2}, {5}}, 3, SamplingOptions(), kFakeEos);
      ASSERT_TRUE(batch.ok()) << batch.error();
      // 1+2 = 3, 6, 12 mod 8 = 4 (the end); 5, 10 mod 8 = 2, 12 mod 8 = 4.
      EXPECT_EQ(batch->sequences[0].tokens, (std::vector<int64_t>{3, 6, 4}));
      EXPECT_EQ(batch->sequences[1].tokens, (std::vector<int64_t>{5, 2, 4}));
      EXPECT_EQ(batch->decodedInOneCall, batched);
      // Two prefills, then two steps of both prompts: one real launch per
      // call.
      EXPECT_EQ(model->cudaModel()->launchCounts().launches, batched ? 4 : 6);
    }
    if (batched) {
      EXPECT_EQ(fake.batchCalls(), batchCalls + 2);
    }
    driver.expectNothingLive();
  }
}

/// The fake's logits after a cache holding `tokens`: one-hot at their sum
/// mod the vocabulary.
static std::vector<float> expectedLogits(const std::vector<int64_t> &tokens) {
  int64_t sum = 0;
  for (int64_t token : tokens)
    sum += token;
  std::vector<float> logits(kFakeVocab, 0.0f);
  logits[static_cast<size_t>(sum % kFakeVocab)] = 1.0f;
  return logits;
}

/// Row `row` of `logits` (rows of kFakeVocab).
static std::vector<float> rowOf(const std::vector<float> &logits, int64_t row) {
  return std::vector<float>(logits.begin() + row * kFakeVocab,
                            logits.begin() + (row + 1) * kFakeVocab);
}

// Tests a SequenceBatch on the CUDA device with jikji_forward_batch: its
// cache is one managed allocation per tensor, slot after slot (the fake's
// batched kernel, fake_check_managed_9, refuses a last slot, token,
// position or logits row outside managed memory); each slot prefills with
// jikji_forward on its own part; every step of two or more slots feeding is
// one jikji_forward_batch call with one launch, giving each slot the
// logits a sequence of its own gets on the same device, idle slots keeping
// their length; and after the first batched step no step allocates from
// the driver (the staging buffers and the artifact's scratch are reused).
TEST(CudaDeviceTest, DecodesBatchInOneCall) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  // 2 layers and 3 values per position: a slot laid out without its layers
  // would overlap its neighbour, which the fake detects.
  fake.setCacheShape(2, 3);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    ASSERT_TRUE(model->hasBatchedDecode());
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();

    const int64_t slots = 3, capacity = 8;
    int64_t liveBefore = driver.state("allocations");
    Result<SequenceBatch> batch =
        SequenceBatch::create(*model, slots, capacity);
    ASSERT_TRUE(batch.ok()) << batch.error();
    EXPECT_TRUE(batch->decodesInOneCall());
    // One block per cache tensor for every slot.
    EXPECT_EQ(driver.state("allocations") - liveBefore, 2);
    EXPECT_EQ(batch->cacheBytes(), 3u * capacity * 2u * 2u * 3u * 4u);

    std::vector<std::vector<int64_t>> fed = {{1, 2, 3}, {5}, {7, 7}};
    std::vector<Sequence> alone;
    std::vector<float> logits(slots * kFakeVocab, -1.0f);
    for (int64_t slot = 0; slot < slots; ++slot) {
      std::vector<int64_t> &prompt = fed[static_cast<size_t>(slot)];
      int64_t length = static_cast<int64_t>(prompt.size());
      Result<bool> prefilled = batch->forwardInto(
          slot, prompt.data(), length, logits.data() + slot * kFakeVocab, 1);
      ASSERT_TRUE(prefilled.ok()) << prefilled.error();
      EXPECT_EQ(rowOf(logits, slot), expectedLogits(prompt));
      Result<Sequence> sequence = Sequence::create(*model, capacity);
      ASSERT_TRUE(sequence.ok()) << sequence.error();
      ASSERT_TRUE(sequence->forward(prompt.data(), length).ok());
      alone.push_back(std::move(*sequence));
    }

    std::vector<std::vector<int64_t>> steps = {
        {4, 1, 6}, {2, 2, 2}, {7, 0, 5}, {3, 3, 3}};
    int64_t allocationsMade = 0;
    for (size_t step = 0; step < steps.size(); ++step) {
      const std::vector<int64_t> &tokens = steps[step];
      // The last step leaves slot 1 out: it rides along at its next free
      // row, which it keeps free.
      std::vector<bool> feeds = {true, step + 1 != steps.size(), true};
      int64_t batchCalls = fake.batchCalls();
      int64_t forwardCalls = fake.forwardCalls();
      int64_t launches = counts.launches;
      Result<bool> decoded =
          batch->decodeInto(tokens.data(), logits.data(), feeds);
      ASSERT_TRUE(decoded.ok()) << decoded.error();
      EXPECT_EQ(fake.batchCalls(), batchCalls + 1) << "step " << step;
      EXPECT_EQ(fake.forwardCalls(), forwardCalls) << "step " << step;
      EXPECT_EQ(counts.launches, launches + 1) << "step " << step;
      // The first batched step stages the positions, new; the later ones
      // reuse every buffer.
      if (step == 0)
        allocationsMade = driver.state("allocations_made");
      else
        EXPECT_EQ(driver.state("allocations_made"), allocationsMade)
            << "step " << step;
      for (int64_t slot = 0; slot < slots; ++slot) {
        size_t index = static_cast<size_t>(slot);
        if (!feeds[index]) {
          EXPECT_EQ(batch->length(slot), alone[index].length());
          continue;
        }
        fed[index].push_back(tokens[index]);
        EXPECT_EQ(rowOf(logits, slot), expectedLogits(fed[index]))
            << "step " << step << ", slot " << slot;
        Result<std::vector<float>> own =
            alone[index].forward(&tokens[index], 1);
        ASSERT_TRUE(own.ok()) << own.error();
        EXPECT_EQ(rowOf(logits, slot), *own)
            << "step " << step << ", slot " << slot;
        EXPECT_EQ(batch->length(slot), alone[index].length());
      }
    }
    // Slot 1 goes on from the row it sat out in.
    int64_t token = 6;
    fed[1].push_back(token);
    Result<bool> alone1 = batch->forwardInto(1, &token, 1, logits.data(), 1);
    ASSERT_TRUE(alone1.ok()) << alone1.error();
    EXPECT_EQ(rowOf(logits, 0), expectedLogits(fed[1]));
    // The artifact's buffers came from the driver only in the first
    // prefill, which holds two at once (its logits of every row and its
    // scratch); every later step took them back from the pool.
    EXPECT_EQ(counts.allocations - counts.reused, 2);
    EXPECT_EQ(driver.state("bad_frees"), 0);
  }
  driver.expectNothingLive();
}

// Tests failures inside a batched step on the CUDA device: a staging
// buffer the GPU has no room for, a failing launch, a fault that shows at
// the artifact's wait, and one at the step's closing synchronization are
// each the step's message, naming the driver call, with the step's slots
// and positions; no slot's length moves, nothing leaks, the next step runs
// again and gives the right logits, and the batch tears down cleanly.
TEST(CudaDeviceTest, ReportsBatchedStepFailures) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    Result<SequenceBatch> batch = SequenceBatch::create(*model, 2, 8);
    ASSERT_TRUE(batch.ok()) << batch.error();
    std::vector<float> logits(2 * kFakeVocab);
    std::vector<int64_t> prompt = {1, 2};
    ASSERT_TRUE(batch->forwardInto(0, prompt.data(), 1, logits.data(), 1).ok());
    ASSERT_TRUE(batch->forwardInto(1, prompt.data(), 2, logits.data(), 1).ok());
    std::vector<int64_t> tokens = {3, 4};
    std::string prefix =
        fake.artifactPath() + ": a decode step of 2 slots at positions 1, 2: ";
    int64_t batchCalls = fake.batchCalls();
    auto expectUnchanged = [&] {
      EXPECT_EQ(batch->length(0), 1);
      EXPECT_EQ(batch->length(1), 2);
      EXPECT_EQ(driver.state("bad_frees"), 0);
    };

    // The prefills staged 2 tokens and 1 row of logits; the first batched
    // step needs a positions buffer, which is refused. The artifact does
    // not run.
    driver.failCall("cuMemAllocManaged", 1, 2);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              prefix + "cannot allocate 16 bytes of managed memory for the "
                       "positions of a decode step: cuMemAllocManaged "
                       "failed: CUDA_ERROR_OUT_OF_MEMORY");
    EXPECT_EQ(fake.batchCalls(), batchCalls);
    expectUnchanged();

    driver.failCall("cuLaunchKernel", 1, 719);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              prefix + "cuLaunchKernel(fake_check_managed_9) failed: "
                       "CUDA_ERROR_LAUNCH_FAILED");
    EXPECT_EQ(fake.batchCalls(), batchCalls + 1);
    expectUnchanged();
    int64_t liveBetweenSteps = driver.state("allocations");

    // The step's waits: the artifact's first (after its kernel), then the
    // runtime's own at the step's end, before it copies the logits back
    // (the artifact's allocation and its second wait come between); both
    // name the last kernel launched.
    driver.failCall("cuStreamSynchronize", 1, 700);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              prefix + "cuStreamSynchronize after kernel "
                       "fake_check_managed_9 failed: "
                       "CUDA_ERROR_ILLEGAL_ADDRESS");
    expectUnchanged();
    EXPECT_EQ(driver.state("allocations"), liveBetweenSteps);
    driver.failCall("cuStreamSynchronize", 3, 700);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              prefix + "cuStreamSynchronize after kernel "
                       "fake_check_managed_9 failed: "
                       "CUDA_ERROR_ILLEGAL_ADDRESS");
    expectUnchanged();
    driver.clearFailure();

    // The artifact's own status, as on the CPU.
    fake.setFailures(7, -1);
    EXPECT_EQ(errorOf(batch->decodeInto(tokens.data(), logits.data())),
              fake.artifactPath() +
                  ": jikji_forward_batch returned status 7 for a decode "
                  "step of 2 slots at positions 1, 2");
    expectUnchanged();
    fake.setFailures(0, -1);

    Result<bool> decoded = batch->decodeInto(tokens.data(), logits.data());
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(rowOf(logits, 0), expectedLogits({1, 3}));
    EXPECT_EQ(rowOf(logits, 1), expectedLogits({1, 2, 4}));
    EXPECT_EQ(batch->length(0), 2);
    EXPECT_EQ(batch->length(1), 3);
  }
  driver.expectNothingLive();
}

// Tests the C API on the CUDA device.
TEST(CudaDeviceTest, CApiRunsOnCuda) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  jikji_model_options options;
  jikji_model_options_init(&options);
  options.device = JIKJI_DEVICE_CUDA;
  jikji_model *model = nullptr;
  ASSERT_EQ(jikji_model_load_with_options(fake.artifactPath().c_str(),
                                          fake.weightsDir().c_str(), &options,
                                          &model),
            JIKJI_OK)
      << jikji_last_error();
  jikji_sequence *sequence = nullptr;
  ASSERT_EQ(jikji_sequence_create(model, 4, &sequence), JIKJI_OK);
  int64_t tokens[] = {5};
  std::vector<float> logits(kFakeVocab);
  ASSERT_EQ(jikji_sequence_forward(sequence, tokens, 1, logits.data()),
            JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(logits[5], 1.0f);

  // A batch: two prefills, then one jikji_forward_batch call for both.
  jikji_batch *batch = nullptr;
  ASSERT_EQ(jikji_batch_create(model, 2, 4, &batch), JIKJI_OK)
      << jikji_last_error();
  int64_t prompt[] = {1, 2};
  ASSERT_EQ(jikji_batch_prefill(batch, 0, prompt, 2, logits.data()), JIKJI_OK)
      << jikji_last_error();
  ASSERT_EQ(jikji_batch_prefill(batch, 1, tokens, 1, logits.data()), JIKJI_OK)
      << jikji_last_error();
  int64_t batchCalls = fake.batchCalls();
  int64_t next[] = {3, 6};
  std::vector<float> rows(2 * kFakeVocab);
  ASSERT_EQ(jikji_batch_decode(batch, next, nullptr, rows.data()), JIKJI_OK)
      << jikji_last_error();
  EXPECT_EQ(fake.batchCalls(), batchCalls + 1);
  // 1+2+3 = 6; 5+6 = 11, 3 mod 8.
  EXPECT_EQ(rows[6], 1.0f);
  EXPECT_EQ(rows[kFakeVocab + 3], 1.0f);
  EXPECT_EQ(jikji_batch_length(batch, 0), 3);
  EXPECT_EQ(jikji_batch_length(batch, 1), 2);

  // A failing launch is JIKJI_EXECUTION_FAILED with the call named, and
  // changes no slot.
  driver.failCall("cuLaunchKernel", 1, 719);
  EXPECT_EQ(jikji_batch_decode(batch, next, nullptr, rows.data()),
            JIKJI_EXECUTION_FAILED);
  EXPECT_NE(std::string(jikji_last_error())
                .find(": a decode step of 2 slots at positions 3, 2: "
                      "cuLaunchKernel(fake_check_managed_9) failed: "
                      "CUDA_ERROR_LAUNCH_FAILED"),
            std::string::npos)
      << jikji_last_error();
  driver.clearFailure();
  EXPECT_EQ(jikji_batch_length(batch, 0), 3);
  EXPECT_EQ(jikji_batch_length(batch, 1), 2);

  jikji_model_free(model);
  jikji_sequence_free(sequence);
  jikji_batch_free(batch);
  driver.expectNothingLive();
}

// Tests the PTX path: a GPU newer than the cubin's architecture gets the
// PTX, one older refuses it with the driver's error named.
TEST(CudaDeviceTest, FallsBackToPtx) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  ::setenv("JIKJI_FAKE_CUDA_CC", "100", 1);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->cudaModel()->module().describeImage(),
              "PTX for sm_90, compiled by the driver for sm_100");
    EXPECT_EQ(driver.state("image_is_cubin"), 0);
    Result<Sequence> sequence = Sequence::create(*model, 2);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t token = 3;
    Result<std::vector<float>> logits = sequence->forward(&token, 1);
    ASSERT_TRUE(logits.ok()) << logits.error();
    EXPECT_EQ((*logits)[3], 1.0f);
  }
  driver.expectNothingLive();

  ::setenv("JIKJI_FAKE_CUDA_CC", "80", 1);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": cuModuleLoadData (PTX for sm_90, compiled by the driver "
                "for sm_80) failed: CUDA_ERROR_INVALID_PTX");
  driver.expectNothingLive();
}

// Tests each failure while loading: its message, then nothing left live.
TEST(CudaDeviceTest, ReportsLoadFailures) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());

  driver.failCall("cuInit", 1, 100);
  EXPECT_EQ(errorOf(loadOnCuda(fake)), "cuInit failed: CUDA_ERROR_NO_DEVICE");
  driver.clearFailure();

  ::setenv("JIKJI_FAKE_CUDA_DEVICES", "0", 1);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            std::string("no CUDA GPU: the driver (") + JIKJI_FAKE_CUDA_DRIVER +
                ") sees none");
  ::unsetenv("JIKJI_FAKE_CUDA_DEVICES");

  driver.failCall("cuDevicePrimaryCtxRetain", 1, 999);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            "cuDevicePrimaryCtxRetain failed: CUDA_ERROR_UNKNOWN");
  driver.expectNothingLive();

  driver.failCall("cuStreamCreate", 1, 2);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            "cuStreamCreate failed: CUDA_ERROR_OUT_OF_MEMORY");
  driver.expectNothingLive();

  driver.failCall("cuModuleLoadData", 1, 200);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": cuModuleLoadData (cubin for sm_90) failed: "
                "CUDA_ERROR_INVALID_IMAGE");
  driver.expectNothingLive();

  // The first managed allocation is the weights' block.
  driver.failCall("cuMemAllocManaged", 1, 2);
  std::string error = errorOf(loadOnCuda(fake));
  EXPECT_NE(error.find(" bytes of managed memory for the weights (5 "
                       "tensors): cuMemAllocManaged failed: "
                       "CUDA_ERROR_OUT_OF_MEMORY"),
            std::string::npos)
      << error;
  driver.expectNothingLive();

  // The second is the parameter table, after the weights' block.
  driver.failCall("cuMemAllocManaged", 2, 2);
  error = errorOf(loadOnCuda(fake));
  EXPECT_NE(error.find("for the parameter table: cuMemAllocManaged failed: "
                       "CUDA_ERROR_OUT_OF_MEMORY"),
            std::string::npos)
      << error;
  driver.expectNothingLive();
  driver.clearFailure();

  // More than the GPU has free is refused before the driver is asked.
  ::setenv("JIKJI_FAKE_CUDA_FREE_BYTES", "64", 1);
  error = errorOf(loadOnCuda(fake));
  EXPECT_NE(error.find("the GPU has 64 bytes free of 128"), std::string::npos)
      << error;
  driver.expectNothingLive();
}

// Tests that an unknown error code is still reported, as a number.
TEST(CudaDeviceTest, NamesUnknownErrorCodes) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  driver.failCall("cuDeviceGetCount", 1, 12345);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            "cuDeviceGetCount failed: CUresult 12345");
}

// Tests failures inside a step: each is the step's message, the sequence
// keeps its length, nothing leaks, and the next step runs again.
TEST(CudaDeviceTest, ReportsStepFailures) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t token = 1;
    // A kernel is looked up at its first launch.
    driver.failCall("cuModuleGetFunction", 1, 500);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              fake.artifactPath() +
                  ": 1 tokens at position 0: cuModuleGetFunction("
                  "fake_check_managed_6) failed: CUDA_ERROR_NOT_FOUND");
    EXPECT_EQ(sequence->length(), 0);
    driver.clearFailure();

    // A step that needs a new buffer and cannot have it (the failed step
    // above returned its buffers to the driver, so the pool is empty).
    int64_t allocationsBeforeSteps = driver.state("allocations");
    driver.failCall("cuMemAllocManaged", 1, 2);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              fake.artifactPath() +
                  ": 1 tokens at position 0: cannot allocate 256 bytes of "
                  "managed memory for a buffer of the artifact: "
                  "cuMemAllocManaged failed: CUDA_ERROR_OUT_OF_MEMORY");
    EXPECT_EQ(sequence->length(), 0);
    EXPECT_EQ(driver.state("allocations"), allocationsBeforeSteps);
    driver.clearFailure();

    // The first step allocates the staging buffers and keeps its scratch
    // buffer for the next; a step's calls are: the artifact's allocation
    // (its zeroing enqueued on the stream), its launches, a synchronization
    // after each.
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    int64_t allocationsBetweenSteps = driver.state("allocations");
    std::string prefix = fake.artifactPath() + ": 1 tokens at position 1: ";

    // A failed step leaks nothing and gives its kept buffer back to the
    // driver, as the device may be what failed.
    driver.failCall("cuLaunchKernel", 1, 719);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              prefix + "cuLaunchKernel(fake_check_managed_6) failed: "
                       "CUDA_ERROR_LAUNCH_FAILED");
    EXPECT_EQ(driver.state("allocations"), allocationsBetweenSteps - 1);

    // The artifact's allocation only enqueues its zeroing; the first
    // synchronization follows the kernel, the second the empty launch
    // (skipped), which leaves the kernel the last one launched.
    driver.failCall("cuStreamSynchronize", 2, 700);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              prefix + "cuStreamSynchronize after kernel "
                       "fake_check_managed_6 failed: "
                       "CUDA_ERROR_ILLEGAL_ADDRESS");
    EXPECT_EQ(driver.state("allocations"), allocationsBetweenSteps - 1);

    // Zeroing a kept buffer for reuse can fail too.
    driver.clearFailure();
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    driver.failCall("cuMemsetD8Async", 1, 700);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              fake.artifactPath() +
                  ": 1 tokens at position 2: cannot reuse a buffer of 256 "
                  "bytes for the artifact: cuMemsetD8Async failed: "
                  "CUDA_ERROR_ILLEGAL_ADDRESS");
    EXPECT_EQ(driver.state("allocations"), allocationsBetweenSteps - 1);
    driver.clearFailure();

    EXPECT_EQ(sequence->length(), 2);
    Result<std::vector<float>> logits = sequence->forward(&token, 1);
    ASSERT_TRUE(logits.ok()) << logits.error();
    // The cached ids 1, 1, 1 sum to 3, the fake's next token.
    EXPECT_EQ((*logits)[3], 1.0f);
    EXPECT_EQ(driver.state("bad_frees"), 0);
  }
  driver.expectNothingLive();
}

// Tests that a KV cache the GPU has no room for is refused with its name.
TEST(CudaDeviceTest, ReportsCacheOutOfMemory) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    driver.failCall("cuMemAllocManaged", 2, 2);
    EXPECT_EQ(errorOf(Sequence::create(*model, 8)),
              "cannot allocate 32 bytes of managed memory for KV cache "
              "'positions' of 8 positions: cuMemAllocManaged failed: "
              "CUDA_ERROR_OUT_OF_MEMORY");
    driver.clearFailure();
  }
  driver.expectNothingLive();
}

// Tests that a CUDA artifact without its image is named.
TEST(CudaDeviceTest, RefusesArtifactWithoutImage) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeModel fake; // The CPU build: no jikji_cuda_* exports.
  ASSERT_TRUE(fake.ready());
  Manifest manifest = fake.manifest();
  manifest.target = "cuda";
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": a 'cuda' artifact must export jikji_cuda_bind; the "
                "library has no such symbol");
  driver.expectNothingLive();
}

// Tests the refusals of a CUDA artifact's image: an architecture that is
// not "sm_<digits>", an empty one; and of a GPU: one without managed
// memory, an ordinal the driver does not have.
TEST(CudaDeviceTest, RefusesBadImagesAndGpus) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  fake.setArch("compute_90");
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": jikji_cuda_arch: expected \"sm_<compute capability>\" "
                "(\"sm_90\"), found \"compute_90\"");
  fake.setArch("");
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            fake.artifactPath() +
                ": jikji_cuda_arch returned an empty image; expected its "
                "bytes");
  fake.setArch(nullptr);
  driver.expectNothingLive();

  ::setenv("JIKJI_FAKE_CUDA_MANAGED", "0", 1);
  EXPECT_EQ(errorOf(loadOnCuda(fake)),
            "CUDA GPU 0 (Jikji fake GPU) has no managed memory, which CUDA "
            "artifacts need");
  ::unsetenv("JIKJI_FAKE_CUDA_MANAGED");
  EXPECT_EQ(errorOf(cuda::CudaDevice::open(3)),
            "CUDA GPU 3: the driver sees 1");
  driver.expectNothingLive();
}

// Tests that the artifact's own mistakes become the step's message, not a
// crash or a double free: a launch of -1 threads, an allocation of 0
// bytes, a buffer freed twice.
TEST(CudaDeviceTest, ReportsArtifactMisuse) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t token = 1;
    std::string prefix = fake.artifactPath() + ": 1 tokens at position 0: ";
    fake.setMisuse(1);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              prefix + "launch of kernel fake_check_managed_6: grid (1, 1, "
                       "1), block (-1, 1, 1), 0 shared bytes: expected "
                       "positive sizes that fit 32 bits");
    fake.setMisuse(2);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              prefix + "the artifact asked for 0 bytes; expected at least 1 "
                       "(docs/runtime-abi.md)");
    fake.setMisuse(3);
    EXPECT_EQ(errorOf(sequence->forward(&token, 1)),
              prefix + "the artifact freed a buffer the runtime did not "
                       "allocate (or freed it twice)");
    fake.setMisuse(0);
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    EXPECT_EQ(driver.state("bad_frees"), 0);
  }
  driver.expectNothingLive();
}

// Tests that a failure to zero a new buffer is named and frees it.
TEST(CudaDeviceTest, ReportsFailedZeroing) {
  FakeDriver driver;
  ASSERT_TRUE(driver.ready());
  FakeCudaModel fake;
  ASSERT_TRUE(fake.ready());
  driver.failCall("cuMemsetD8Async", 1, 1);
  std::string error = errorOf(loadOnCuda(fake));
  EXPECT_NE(error.find("for the weights (5 tensors): cuMemsetD8Async failed: "
                       "CUDA_ERROR_INVALID_VALUE"),
            std::string::npos)
      << error;
  driver.clearFailure();
  driver.expectNothingLive();
}
