//===- CudaGraphTest.cpp - CUDA graphs of steps on a fake driver ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The CUDA device captures each step as a graph (runtime/cuda/
// CudaLaunchApi.h). On the fake driver (FakeCudaDriver.c), which records a
// capture's launches and zeroings, runs them at the graph's launch and
// refuses an update of another topology, these tests check that steps with
// the same kernels replay one executable graph through updates, that
// another sequence of kernels gets its own, that memory freed while
// capturing outlives the graph's run, that every failing graph call is the
// step's message and leaves the next step working, and that timing or the
// switch turns capture off.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaModel.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"

#include "test/Runtime/FakeCuda.h"
#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::errorOf;
using jikji::test::FakeDriver;
using jikji::test::kFakeVocab;
using jikji::test::loadOnCuda;
using jikji::test::onCuda;
using jikji::test::OnFakeDriver;

namespace {

/// The fake model's logits after `ids` are cached: one-hot at their sum
/// mod the vocabulary.
int64_t expectedNext(const std::vector<int64_t> &ids) {
  int64_t sum = 0;
  for (int64_t id : ids)
    sum += id;
  return sum % kFakeVocab;
}

/// The driver's counters a test compares before and after (the fake stays
/// loaded for the process, so they are cumulative).
struct GraphCounters {
  int64_t captures, graphLaunches, instantiations, updates, refused, launches,
      freesWhileCapturing;
  static GraphCounters read(const FakeDriver &driver) {
    return {driver.state("captures"),
            driver.state("graph_launches"),
            driver.state("instantiations"),
            driver.state("updates"),
            driver.state("updates_refused"),
            driver.state("launches"),
            driver.state("frees_while_capturing")};
  }
};

/// Each test on the fake driver, which has nothing live after it.
class CudaGraphTest : public OnFakeDriver {};

} // namespace

// Tests that steps with the same kernels replay one executable graph,
// updated with each step's arguments (a grid of 2 tokens, then of 1 again),
// that a step with another sequence (a prefill keeping the last logits
// only, which allocates one more buffer) instantiates its own, and that
// both are kept: alternating between them updates, never instantiates.
// The fake's step is one stream of work, as a compiled artifact's is.
TEST_F(CudaGraphTest, ReplaysStepsOfEqualKernelsThroughUpdates) {
  fake.setWaits(false);
  GraphCounters before = GraphCounters::read(driver);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    cuda::CudaModel &gpu = *model->cudaModel();
    EXPECT_TRUE(gpu.capturesGraphs());
    Result<Sequence> sequence = Sequence::create(*model, 16);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    std::vector<int64_t> cached;
    auto decode = [&](std::vector<int64_t> tokens) {
      Result<std::vector<float>> logits =
          sequence->forward(tokens.data(), static_cast<int64_t>(tokens.size()));
      ASSERT_TRUE(logits.ok()) << logits.error();
      cached.insert(cached.end(), tokens.begin(), tokens.end());
      EXPECT_EQ((*logits)[(tokens.size() - 1) * kFakeVocab +
                          static_cast<size_t>(expectedNext(cached))],
                1.0f);
      // The step's graph is gone once launched; its executable one stays.
      EXPECT_EQ(driver.state("capturing"), 0);
      EXPECT_EQ(driver.state("graphs"), 0);
    };
    auto prefillLast = [&](std::vector<int64_t> tokens) {
      std::vector<float> logits(kFakeVocab);
      Result<bool> done = sequence->forwardInto(
          tokens.data(), static_cast<int64_t>(tokens.size()), logits.data(), 1);
      ASSERT_TRUE(done.ok()) << done.error();
      cached.insert(cached.end(), tokens.begin(), tokens.end());
      EXPECT_EQ(logits[expectedNext(cached)], 1.0f);
    };
    const cuda::LaunchCounts &counts = gpu.launchCounts();

    decode({1});
    EXPECT_EQ(counts.graphInstantiations, 1);
    EXPECT_EQ(counts.graphUpdates, 0);
    decode({2});
    EXPECT_EQ(counts.graphInstantiations, 1);
    EXPECT_EQ(counts.graphUpdates, 1);
    // Two tokens: the same kernels on a grid of 2, an update the driver
    // accepts; the replayed kernel ran on the new grid.
    decode({3, 1});
    EXPECT_EQ(counts.graphUpdates, 2);
    EXPECT_EQ(driver.state("last_grid_x"), 2);
    decode({2});
    EXPECT_EQ(driver.state("last_grid_x"), 1);
    EXPECT_EQ(counts.graphUpdates, 3);
    EXPECT_EQ(driver.state("graph_execs"), 1);

    prefillLast({1, 1, 1});
    EXPECT_EQ(counts.graphInstantiations, 2);
    EXPECT_EQ(driver.state("graph_execs"), 2);
    EXPECT_EQ(driver.state("last_grid_x"), 3);
    decode({1});
    prefillLast({2, 2});
    EXPECT_EQ(counts.graphInstantiations, 2);
    EXPECT_EQ(counts.graphUpdates, 5);
    EXPECT_EQ(counts.graphUpdatesRefused, 0);
    EXPECT_EQ(counts.graphLaunches, 7);
    EXPECT_EQ(counts.launches, 7);

    GraphCounters after = GraphCounters::read(driver);
    EXPECT_EQ(after.captures - before.captures, 7);
    EXPECT_EQ(after.graphLaunches - before.graphLaunches, 7);
    EXPECT_EQ(after.instantiations - before.instantiations, 2);
    EXPECT_EQ(after.updates - before.updates, 5);
    EXPECT_EQ(after.refused - before.refused, 0);
    // Every kernel the driver ran came from a graph.
    EXPECT_EQ(after.launches - before.launches, 7);
    EXPECT_EQ(after.freesWhileCapturing - before.freesWhileCapturing, 0);
  }
}

// Tests that the batched decode step (jikji_forward_batch) is captured too:
// its first step instantiates, the next ones update, and each batch's
// logits are right.
TEST_F(CudaGraphTest, ReplaysBatchedDecodeSteps) {
  fake.setWaits(false);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    Result<SequenceBatch> batch = SequenceBatch::create(*model, 2, 8);
    ASSERT_TRUE(batch.ok()) << batch.error();
    std::vector<float> logits(2 * kFakeVocab);
    std::vector<std::vector<int64_t>> fed = {{1}, {2}};
    for (int64_t slot = 0; slot < 2; ++slot)
      ASSERT_TRUE(batch
                      ->forwardInto(slot, fed[static_cast<size_t>(slot)].data(),
                                    1, logits.data(), 1)
                      .ok());
    int64_t instantiations = counts.graphInstantiations;
    int64_t updates = counts.graphUpdates;
    int64_t batchCalls = fake.batchCalls();
    for (std::vector<int64_t> tokens :
         std::vector<std::vector<int64_t>>{{3, 4}, {5, 6}, {7, 1}}) {
      Result<bool> decoded = batch->decodeInto(tokens.data(), logits.data());
      ASSERT_TRUE(decoded.ok()) << decoded.error();
      for (size_t slot = 0; slot < 2; ++slot) {
        fed[slot].push_back(tokens[slot]);
        EXPECT_EQ(logits[slot * kFakeVocab + expectedNext(fed[slot])], 1.0f);
      }
    }
    EXPECT_EQ(fake.batchCalls(), batchCalls + 3);
    EXPECT_EQ(counts.graphInstantiations, instantiations + 1);
    EXPECT_EQ(counts.graphUpdates, updates + 2);
    EXPECT_EQ(driver.state("last_grid_x"), 2);
  }
}

// Tests a step that waits within (the default fake): what it recorded up
// to the wait is launched there, so the zeroing of its buffer has run when
// its host code reads the buffer (the fake's step fails with 95 if not),
// and the rest of the step runs launch by launch.
TEST_F(CudaGraphTest, LaunchesWhatWasRecordedAtAWaitWithinAStep) {
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    for (int64_t token : {1, 2, 3}) {
      Result<std::vector<float>> logits = sequence->forward(&token, 1);
      ASSERT_TRUE(logits.ok()) << logits.error();
    }
    EXPECT_EQ(counts.graphLaunches, 3);
    EXPECT_EQ(counts.graphInstantiations, 1);
    EXPECT_EQ(counts.graphUpdates, 2);
    EXPECT_EQ(counts.launches, 3);
  }
}

// Tests that a buffer freed to the driver while the stream captures (here
// every one: the pool keeps nothing) is freed after the graph has run: the
// replayed kernel checks that its arguments, the scratch buffer among them,
// are still allocated. A pool miss while capturing allocates, which the
// fake allows in a relaxed capture only.
TEST_F(CudaGraphTest, FreesToTheDriverAfterTheGraphRan) {
  fake.setWaits(false);
  GraphCounters before = GraphCounters::read(driver);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    model->cudaModel()->limitPool(0);
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t live = driver.state("allocations");
    for (int64_t token : {1, 2, 3}) {
      int64_t made = driver.state("allocations_made");
      Result<std::vector<float>> logits = sequence->forward(&token, 1);
      ASSERT_TRUE(logits.ok()) << logits.error();
      // The first step also allocates the staging buffers, which stay;
      // every step allocates its scratch anew, and it is gone after.
      if (token == 1)
        live = driver.state("allocations");
      else
        EXPECT_EQ(driver.state("allocations_made"), made + 1);
      EXPECT_EQ(driver.state("allocations"), live);
    }
    EXPECT_EQ(counts.reused, 0);
    EXPECT_EQ(counts.graphLaunches, 3);
    GraphCounters after = GraphCounters::read(driver);
    EXPECT_EQ(after.freesWhileCapturing - before.freesWhileCapturing, 0);
  }
}

// Tests a step short of memory while capturing: a buffer of a size class
// the pool lacks, with less free than it needs, gives the pool's buffers
// back to the driver, which it may do only after what the stream recorded
// so far (here the zeroing of the step's first buffer) has run. So the
// capture ends there and its graph is launched; the rest of the step runs
// launch by launch. The fake's free memory counts live allocations here.
TEST_F(CudaGraphTest, GivesThePoolBackOnlyAfterWhatWasRecordedRan) {
  fake.setWaits(false);
  ::setenv("JIKJI_FAKE_CUDA_COUNT_LIVE", "1", 1);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    // 16 tokens keeping the last logits: their 512 bytes of logits and
    // 128-byte scratch are kept in the 512- and 256-byte classes.
    Result<Sequence> first = Sequence::create(*model, 16);
    ASSERT_TRUE(first.ok()) << first.error();
    std::vector<int64_t> tokens(16, 1);
    std::vector<float> logits(kFakeVocab);
    ASSERT_TRUE(first->forwardInto(tokens.data(), 16, logits.data(), 1).ok());
    EXPECT_EQ(counts.graphLaunches, 1);

    // Two tokens keeping the last logits: 64 bytes of logits, which take
    // the kept 256-byte buffer (its zeroing recorded), then a 16-byte
    // scratch, for which the pool holds only the 512-byte buffer and the
    // GPU has too little free memory.
    Result<Sequence> second = Sequence::create(*model, 16);
    ASSERT_TRUE(second.ok()) << second.error();
    int64_t frees = driver.state("frees_while_capturing");
    int64_t launches = driver.state("launches");
    int64_t reused = counts.reused;
    ::setenv("JIKJI_FAKE_CUDA_FREE_BYTES",
             std::to_string(driver.state("live_bytes") + 100).c_str(), 1);
    Result<bool> done = second->forwardInto(tokens.data(), 2, logits.data(), 1);
    ASSERT_TRUE(done.ok()) << done.error();
    EXPECT_EQ(logits[expectedNext({1, 1})], 1.0f);
    EXPECT_EQ(counts.reused, reused + 1);
    EXPECT_EQ(driver.state("frees_while_capturing"), frees);
    // The graph held the first zeroing; the kernel ran on its own.
    EXPECT_EQ(counts.graphLaunches, 2);
    EXPECT_EQ(driver.state("launches"), launches + 1);
    ::unsetenv("JIKJI_FAKE_CUDA_FREE_BYTES");
  }
}

// Tests every graph call failing once: the step's message names the call
// and its CUresult, the capture is over (the stream usable), the sequence
// keeps its length, and the next step runs and gives the right logits. An
// update the driver refuses is not a failure: the step instantiates anew.
TEST_F(CudaGraphTest, RecoversFromFailingGraphCalls) {
  fake.setWaits(false);
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    const cuda::LaunchCounts &counts = model->cudaModel()->launchCounts();
    Result<Sequence> sequence = Sequence::create(*model, 16);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    std::vector<int64_t> cached;
    auto step = [&]() -> Result<std::vector<float>> {
      int64_t token = 1;
      Result<std::vector<float>> logits = sequence->forward(&token, 1);
      if (logits.ok())
        cached.push_back(token);
      return logits;
    };
    auto expectFailure = [&](const char *call, int code,
                             const std::string &message) {
      SCOPED_TRACE(call);
      int64_t length = sequence->length();
      driver.failCall(call, 1, code);
      EXPECT_EQ(errorOf(step()), fake.artifactPath() +
                                     ": 1 tokens at position " +
                                     std::to_string(length) + ": " + message);
      driver.clearFailure();
      EXPECT_EQ(sequence->length(), length);
      EXPECT_EQ(driver.state("capturing"), 0);
      EXPECT_EQ(driver.state("graphs"), 0);
      Result<std::vector<float>> next = step();
      ASSERT_TRUE(next.ok()) << next.error();
      EXPECT_EQ((*next)[expectedNext(cached)], 1.0f);
    };

    // Before any graph is kept.
    expectFailure("cuGraphInstantiateWithFlags", 2,
                  "cuGraphInstantiate failed: CUDA_ERROR_OUT_OF_MEMORY");
    EXPECT_EQ(counts.graphInstantiations, 1);
    expectFailure("cuStreamBeginCapture_v2", 999,
                  "cuStreamBeginCapture failed: CUDA_ERROR_UNKNOWN");
    // A launch that fails while recorded abandons the capture.
    expectFailure("cuLaunchKernel", 719,
                  "cuLaunchKernel(fake_check_managed_6) failed: "
                  "CUDA_ERROR_LAUNCH_FAILED");
    expectFailure("cuStreamEndCapture", 901,
                  "cuStreamEndCapture failed: "
                  "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");
    // A failed update drops the kept graph: the next step instantiates.
    int64_t instantiations = counts.graphInstantiations;
    expectFailure("cuGraphExecUpdate_v2", 999,
                  "cuGraphExecUpdate failed: CUDA_ERROR_UNKNOWN");
    EXPECT_EQ(counts.graphInstantiations, instantiations + 1);
    instantiations = counts.graphInstantiations;
    expectFailure("cuGraphLaunch", 719,
                  "cuGraphLaunch failed: CUDA_ERROR_LAUNCH_FAILED");
    EXPECT_EQ(counts.graphInstantiations, instantiations + 1);

    // Refused: instantiated anew, the step runs.
    instantiations = counts.graphInstantiations;
    int64_t launches = counts.graphLaunches;
    driver.failCall("cuGraphExecUpdate_v2", 1, 910);
    Result<std::vector<float>> refused = step();
    driver.clearFailure();
    ASSERT_TRUE(refused.ok()) << refused.error();
    EXPECT_EQ((*refused)[expectedNext(cached)], 1.0f);
    EXPECT_EQ(counts.graphUpdatesRefused, 1);
    EXPECT_EQ(counts.graphInstantiations, instantiations + 1);
    EXPECT_EQ(counts.graphLaunches, launches + 1);
    EXPECT_EQ(driver.state("graph_execs"), 1);
  }
}

// Tests that capture is off with ModelOptions::cudaGraphs false, while
// kernels are timed (events between launches), and after captureGraphs
// (false); the steps then launch kernel by kernel and are right.
TEST_F(CudaGraphTest, TimingAndTheSwitchTurnCaptureOff) {
  fake.setWaits(false);
  auto expectUncapturedStep = [&](Sequence &sequence, cuda::CudaModel &gpu) {
    EXPECT_FALSE(gpu.capturesGraphs());
    int64_t captures = driver.state("captures");
    int64_t launches = driver.state("launches");
    int64_t graphLaunches = gpu.launchCounts().graphLaunches;
    int64_t token = 1;
    ASSERT_TRUE(sequence.forward(&token, 1).ok());
    EXPECT_EQ(driver.state("captures"), captures);
    EXPECT_EQ(driver.state("launches"), launches + 1);
    EXPECT_EQ(gpu.launchCounts().graphLaunches, graphLaunches);
  };
  {
    ModelOptions options = onCuda();
    options.cudaGraphs = false;
    Result<Model> model = loadOnCuda(fake, options);
    ASSERT_TRUE(model.ok()) << model.error();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    expectUncapturedStep(*sequence, *model->cudaModel());
  }
  {
    Result<Model> model = loadOnCuda(fake);
    ASSERT_TRUE(model.ok()) << model.error();
    cuda::CudaModel &gpu = *model->cudaModel();
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    gpu.timeKernels(true);
    expectUncapturedStep(*sequence, gpu);
    ASSERT_EQ(gpu.kernelTimes().size(), 1u);
    EXPECT_EQ(gpu.kernelTimes()[0].launches, 1);
    gpu.timeKernels(false);
    EXPECT_TRUE(gpu.capturesGraphs());
    int64_t token = 1;
    ASSERT_TRUE(sequence->forward(&token, 1).ok());
    EXPECT_EQ(gpu.launchCounts().graphLaunches, 1);
    gpu.captureGraphs(false);
    expectUncapturedStep(*sequence, gpu);
  }
}
