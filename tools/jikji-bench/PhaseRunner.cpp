//===- PhaseRunner.cpp - Timing decode and prefill on a model -------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/PhaseRunner.h"

#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"
#include "runtime/support/TokenStream.h"

#include <algorithm>
#include <chrono>
#include <vector>

using namespace jikji;
using namespace jikji::bench;
using namespace jikji::runtime;

namespace {

using Clock = std::chrono::steady_clock;

/// The index of the median of `values` (the lower middle for an even
/// count), so that a run's time and its work stay together.
size_t medianIndex(const std::vector<double> &values) {
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return values[a] < values[b]; });
  return order[(order.size() - 1) / 2];
}

} // namespace

Result<PhaseTiming> jikji::bench::timeDecode(const Model &model,
                                             const StepCost &cost,
                                             const PhasePlan &plan,
                                             int64_t batch) {
  const int64_t vocab = model.vocabSize();
  // The prompts are prefilled once and every run continues the same
  // sequences: at batch 16 the prompts would otherwise cost more than the
  // decode steps timed.
  const int64_t capacity = plan.promptTokens + plan.runs * plan.decodeSteps;
  if (capacity > model.maxPositions())
    return Error("decode needs " + std::to_string(capacity) +
                 " positions (--prompt-tokens + --runs x --decode-steps); "
                 "the model's context limit is " +
                 std::to_string(model.maxPositions()));
  Result<SequenceBatch> sequences =
      SequenceBatch::create(model, batch, capacity);
  if (!sequences)
    return Error(sequences.error());
  std::vector<TokenStream> streams;
  std::vector<float> logits(static_cast<size_t>(batch * vocab));
  for (int64_t row = 0; row < batch; ++row) {
    streams.emplace_back(static_cast<uint64_t>(row) + 1, vocab);
    std::vector<int64_t> prompt;
    for (int64_t i = 0; i < plan.promptTokens; ++i)
      prompt.push_back(streams.back().next());
    if (prompt.empty())
      continue;
    Result<bool> prefilled = sequences->forwardInto(
        row, prompt.data(), static_cast<int64_t>(prompt.size()), logits.data(),
        /*logitRows=*/1);
    if (!prefilled)
      return Error("prompt of sequence " + std::to_string(row) + ": " +
                   prefilled.error());
  }

  std::vector<double> seconds;
  std::vector<StepWork> works;
  std::vector<int64_t> firstPositions;
  std::vector<int64_t> tokens(static_cast<size_t>(batch));
  for (int run = 0; run < plan.runs; ++run) {
    int64_t firstPosition = sequences->length(0);
    firstPositions.push_back(firstPosition);
    Clock::time_point start = Clock::now();
    for (int64_t step = 0; step < plan.decodeSteps; ++step) {
      for (int64_t row = 0; row < batch; ++row)
        tokens[static_cast<size_t>(row)] =
            streams[static_cast<size_t>(row)].next();
      Result<bool> decoded =
          sequences->decodeInto(tokens.data(), logits.data());
      if (!decoded)
        return Error("decode step " + std::to_string(step) + ": " +
                     decoded.error());
    }
    seconds.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
    StepWork work;
    for (int64_t step = 0; step < plan.decodeSteps; ++step)
      work += cost.batchDecodeStep(batch, firstPosition + step);
    works.push_back(work);
  }

  // The run of median time, with its own work (later runs attend a longer
  // cache).
  size_t middle = medianIndex(seconds);
  PhaseTiming timing;
  timing.seconds = seconds[middle];
  timing.work = works[middle];
  timing.firstPosition = firstPositions[middle];
  timing.tokens = batch * plan.decodeSteps;
  timing.cacheBytes = sequences->cacheBytes();
  timing.oneCallPerStep = batch == 1 || sequences->decodesInOneCall();
  return timing;
}

Result<PhaseTiming> jikji::bench::timePrefill(const Model &model,
                                              const StepCost &cost,
                                              const PhasePlan &plan) {
  const int64_t vocab = model.vocabSize();
  Result<Sequence> sequence = Sequence::create(model, plan.prefillTokens);
  if (!sequence)
    return Error(sequence.error());
  // Generation needs the last token's logits only (what the useful
  // FLOPs count too).
  std::vector<float> logits(static_cast<size_t>(vocab));
  TokenStream stream(1, vocab);
  std::vector<int64_t> tokens;
  for (int64_t i = 0; i < plan.prefillTokens; ++i)
    tokens.push_back(stream.next());
  std::vector<double> seconds;
  for (int run = 0; run < plan.runs; ++run) {
    sequence->reset();
    Clock::time_point start = Clock::now();
    Result<bool> prefilled =
        sequence->forwardInto(tokens.data(), plan.prefillTokens, logits.data(),
                              /*logitRows=*/1);
    if (!prefilled)
      return Error("prefill: " + prefilled.error());
    seconds.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
  }
  PhaseTiming timing;
  timing.seconds = seconds[medianIndex(seconds)];
  timing.tokens = plan.prefillTokens;
  timing.work = cost.sequenceStep(plan.prefillTokens, 0, 1);
  timing.cacheBytes = sequence->cacheBytes();
  return timing;
}
