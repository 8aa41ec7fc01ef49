//===- TimingMode.cpp - jikji-run --time-decode / --time-prefill ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-run/TimingMode.h"

#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"
#include "runtime/support/TokenStream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;

namespace {

using Clock = std::chrono::steady_clock;

/// The timed runs' seconds, for the printed line.
struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spreadOf(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  size_t n = seconds.size();
  double median = n % 2 ? seconds[n / 2]
                        : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
  return {median, seconds.front(), seconds.back()};
}

/// Runs `runOnce` plan.warmup times untimed, calls `afterWarmup`, then
/// plan.steps times timed, each run after an untimed `prepare`; the timed
/// runs' seconds, or the first failure (with `runOnce`'s message).
Result<std::vector<double>>
timeRuns(const TimingPlan &plan, const std::function<void()> &afterWarmup,
         const std::function<Result<bool>()> &prepare,
         const std::function<Result<bool>(int64_t run)> &runOnce) {
  std::vector<double> seconds;
  for (int64_t run = 0; run < plan.warmup + plan.steps; ++run) {
    if (run == plan.warmup)
      afterWarmup();
    Result<bool> ready = prepare();
    if (!ready)
      return Error(ready.error());
    Clock::time_point start = Clock::now();
    Result<bool> done = runOnce(run);
    if (!done)
      return Error(done.error());
    if (run >= plan.warmup)
      seconds.push_back(
          std::chrono::duration<double>(Clock::now() - start).count());
  }
  return seconds;
}

/// The positions a sequence needs: the context, then every run's tokens.
/// Decode runs continue one sequence; prefill runs each start again at the
/// context, so they need one run's tokens only.
int64_t capacityOf(const TimingPlan &plan) {
  if (plan.decodeBatch > 0)
    return plan.context + plan.warmup + plan.steps;
  return plan.context + plan.prefillTokens;
}

Result<bool> timeDecode(const Model &model, const TimingPlan &plan,
                        const std::function<void()> &afterWarmup) {
  const int64_t batch = plan.decodeBatch;
  Result<SequenceBatch> sequences =
      SequenceBatch::create(model, batch, capacityOf(plan));
  if (!sequences)
    return Error(sequences.error());
  sequences->fillCacheWithNoise(plan.seed);
  for (int64_t slot = 0; slot < batch; ++slot) {
    Result<bool> filled = sequences->assumeFilled(slot, plan.context);
    if (!filled)
      return filled;
  }
  TokenStream stream(plan.seed, model.vocabSize());
  std::vector<int64_t> tokens(static_cast<size_t>(batch));
  std::vector<float> logits(static_cast<size_t>(batch * model.vocabSize()));
  auto drawTokens = [&]() -> Result<bool> {
    for (int64_t &token : tokens)
      token = stream.next();
    return true;
  };
  Result<std::vector<double>> seconds = timeRuns(
      plan, afterWarmup, drawTokens, [&](int64_t step) -> Result<bool> {
        Result<bool> decoded =
            sequences->decodeInto(tokens.data(), logits.data());
        if (!decoded)
          return Error("decode step " + std::to_string(step) + " (position " +
                       std::to_string(plan.context + step) +
                       "): " + decoded.error());
        return true;
      });
  if (!seconds)
    return Error(seconds.error());
  Spread spread = spreadOf(*seconds);
  std::printf("decode: batch %lld, context %lld, %lld steps after %lld "
              "untimed: median %.3f ms per step (min %.3f, max %.3f), %.1f "
              "tokens/s, %s\n",
              static_cast<long long>(batch),
              static_cast<long long>(plan.context),
              static_cast<long long>(plan.steps),
              static_cast<long long>(plan.warmup), 1e3 * spread.median,
              1e3 * spread.min, 1e3 * spread.max,
              static_cast<double>(batch) / spread.median,
              batch == 1 ? "one call per step"
              : sequences->decodesInOneCall()
                  ? "one call per step (jikji_forward_batch)"
                  : "one call per sequence and step");
  return true;
}

Result<bool> timePrefill(const Model &model, const TimingPlan &plan,
                         const std::function<void()> &afterWarmup) {
  Result<Sequence> sequence = Sequence::create(model, capacityOf(plan));
  if (!sequence)
    return Error(sequence.error());
  sequence->fillCacheWithNoise(plan.seed);
  TokenStream stream(plan.seed, model.vocabSize());
  std::vector<int64_t> tokens(static_cast<size_t>(plan.prefillTokens));
  // Generation needs the last token's logits only.
  std::vector<float> logits(static_cast<size_t>(model.vocabSize()));
  // Each run starts again at the context, with tokens of its own.
  auto restart = [&]() -> Result<bool> {
    for (int64_t &token : tokens)
      token = stream.next();
    return sequence->assumeFilled(plan.context);
  };
  Result<std::vector<double>> seconds = timeRuns(
      plan, afterWarmup, restart, [&](int64_t run) -> Result<bool> {
        Result<bool> prefilled = sequence->forwardInto(
            tokens.data(), plan.prefillTokens, logits.data(),
            /*logitRows=*/1);
        if (!prefilled)
          return Error("prefill run " + std::to_string(run) + ": " +
                       prefilled.error());
        return true;
      });
  if (!seconds)
    return Error(seconds.error());
  Spread spread = spreadOf(*seconds);
  std::printf("prefill: %lld tokens at context %lld, %lld runs after %lld "
              "untimed: median %.3f ms (min %.3f, max %.3f), %.1f tokens/s\n",
              static_cast<long long>(plan.prefillTokens),
              static_cast<long long>(plan.context),
              static_cast<long long>(plan.steps),
              static_cast<long long>(plan.warmup), 1e3 * spread.median,
              1e3 * spread.min, 1e3 * spread.max,
              static_cast<double>(plan.prefillTokens) / spread.median);
  return true;
}

} // namespace

Result<bool> jikji::runtime::checkTimingPlan(const Model &model,
                                             const TimingPlan &plan) {
  Result<bool> fits = model.checkCapacity(capacityOf(plan));
  if (!fits)
    return Error("--context " + std::to_string(plan.context) + " with " +
                 (plan.decodeBatch > 0
                      ? std::to_string(plan.warmup + plan.steps) +
                            " decode steps"
                      : std::to_string(plan.prefillTokens) +
                            " prefill tokens") +
                 ": " + fits.error());
  return true;
}

Result<bool> jikji::runtime::runTiming(
    const Model &model, const TimingPlan &plan,
    const std::function<void()> &afterWarmup) {
  if (plan.decodeBatch > 0)
    return timeDecode(model, plan, afterWarmup);
  return timePrefill(model, plan, afterWarmup);
}
