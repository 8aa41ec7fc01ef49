//===- PhaseRunner.cpp - Timing decode and prefill on a model -------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/PhaseRunner.h"

#include "runtime/session/Sequence.h"

#include <algorithm>
#include <chrono>
#include <vector>

using namespace jikji;
using namespace jikji::bench;
using namespace jikji::runtime;

namespace {

using Clock = std::chrono::steady_clock;

/// Deterministic token ids in [0, vocab): the same for every run of a
/// phase, different for each sequence and step.
class TokenStream {
public:
  TokenStream(uint64_t seed, int64_t vocab)
      : state_(seed * 0x9E3779B97F4A7C15ull + 1), vocab_(vocab) {}
  int64_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int64_t>((state_ >> 33) % static_cast<uint64_t>(vocab_));
  }

private:
  uint64_t state_;
  int64_t vocab_;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle]
                           : (values[middle - 1] + values[middle]) / 2;
}

} // namespace

Result<PhaseTiming> jikji::bench::timeDecode(const Model &model,
                                             const StepCost &cost,
                                             const PhasePlan &plan,
                                             int64_t batch) {
  const int64_t vocab = model.vocabSize();
  const int64_t capacity = plan.promptTokens + plan.decodeSteps;
  std::vector<Sequence> sequences;
  for (int64_t row = 0; row < batch; ++row) {
    Result<Sequence> sequence = Sequence::create(model, capacity);
    if (!sequence)
      return Error(sequence.error());
    sequences.push_back(std::move(*sequence));
  }
  std::vector<float> logits(
      static_cast<size_t>(std::max<int64_t>(plan.promptTokens, 1) * vocab));
  std::vector<double> seconds;
  for (int run = 0; run < plan.runs; ++run) {
    std::vector<TokenStream> streams;
    for (int64_t row = 0; row < batch; ++row) {
      streams.emplace_back(static_cast<uint64_t>(row) + 1, vocab);
      Sequence &sequence = sequences[static_cast<size_t>(row)];
      sequence.reset();
      std::vector<int64_t> prompt;
      for (int64_t i = 0; i < plan.promptTokens; ++i)
        prompt.push_back(streams.back().next());
      if (!prompt.empty()) {
        Result<bool> prefilled = sequence.forwardInto(
            prompt.data(), static_cast<int64_t>(prompt.size()), logits.data());
        if (!prefilled)
          return Error("prompt of sequence " + std::to_string(row) + ": " +
                       prefilled.error());
      }
    }
    Clock::time_point start = Clock::now();
    for (int64_t step = 0; step < plan.decodeSteps; ++step) {
      for (int64_t row = 0; row < batch; ++row) {
        int64_t token = streams[static_cast<size_t>(row)].next();
        Result<bool> decoded = sequences[static_cast<size_t>(row)].forwardInto(
            &token, 1, logits.data());
        if (!decoded)
          return Error("decode step " + std::to_string(step) + " of sequence " +
                       std::to_string(row) + ": " + decoded.error());
      }
    }
    seconds.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
  }

  PhaseTiming timing;
  timing.seconds = median(seconds);
  timing.tokens = batch * plan.decodeSteps;
  for (int64_t step = 0; step < plan.decodeSteps; ++step)
    timing.work += cost.batchDecodeStep(batch, plan.promptTokens + step);
  timing.cacheBytes = static_cast<uint64_t>(batch) * sequences[0].cacheBytes();
  return timing;
}

Result<PhaseTiming> jikji::bench::timePrefill(const Model &model,
                                              const StepCost &cost,
                                              const PhasePlan &plan) {
  const int64_t vocab = model.vocabSize();
  Result<Sequence> sequence = Sequence::create(model, plan.prefillTokens);
  if (!sequence)
    return Error(sequence.error());
  std::vector<float> logits(static_cast<size_t>(plan.prefillTokens * vocab));
  TokenStream stream(1, vocab);
  std::vector<int64_t> tokens;
  for (int64_t i = 0; i < plan.prefillTokens; ++i)
    tokens.push_back(stream.next());
  std::vector<double> seconds;
  for (int run = 0; run < plan.runs; ++run) {
    sequence->reset();
    Clock::time_point start = Clock::now();
    Result<bool> prefilled =
        sequence->forwardInto(tokens.data(), plan.prefillTokens, logits.data());
    if (!prefilled)
      return Error("prefill: " + prefilled.error());
    seconds.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
  }
  PhaseTiming timing;
  timing.seconds = median(seconds);
  timing.tokens = plan.prefillTokens;
  timing.work = cost.sequenceStep(plan.prefillTokens, 0, 1);
  timing.cacheBytes = sequence->cacheBytes();
  return timing;
}
