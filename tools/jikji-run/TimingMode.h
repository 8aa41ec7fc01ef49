//===- TimingMode.h - jikji-run --time-decode / --time-prefill --*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Times one step shape of a compiled model with no prompt file: decode
// steps of B sequences that each hold a context of L positions, or a
// prefill of T tokens after such a context. It is how the GPU check
// (utils/gpu-check.sh) measures the kernels at DeepSeek-V3's shapes (128
// heads, 4,096-row caches, batch 64 and 132), and it works on the CPU too.
//
// The context is not computed: the sequences start at length L
// (Sequence::assumeFilled) over a cache of pseudo-random values in [-1, 1)
// (KvCache::fillWithNoise; zeros would flatter a GPU, which computes on
// zeros faster). No kernel skips work by value, so a step costs what it
// would after a real prompt, and computing 4,096 positions of 132
// sequences first would cost far more than the steps measured. The token
// ids are pseudo-random, so that the routed experts' rows spread as with
// varied text. The logits mean nothing and are not checked beyond the
// runtime's own NaN check.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_RUN_TIMINGMODE_H
#define JIKJI_TOOLS_JIKJI_RUN_TIMINGMODE_H

#include "frontends/huggingface/Result.h"
#include "runtime/session/Model.h"

#include <cstdint>
#include <functional>

namespace jikji::runtime {

/// The step shape to time; exactly one of decodeBatch and prefillTokens is
/// nonzero.
struct TimingPlan {
  /// --time-decode B: decode steps of B sequences, one token each.
  int64_t decodeBatch = 0;
  /// --time-prefill T: a prefill of T tokens in one sequence.
  int64_t prefillTokens = 0;
  /// --context L: the positions each sequence holds before the timed work.
  int64_t context = 0;
  /// --steps N: the timed decode steps, or the timed prefill runs.
  int64_t steps = 16;
  /// --warmup W: untimed steps or runs first (the first step pays for
  /// loading kernels and filling the runtime's buffer pool).
  int64_t warmup = 2;
  /// The pseudo-random token ids' seed (--seed).
  uint64_t seed = 0;
};

/// Checks the plan against the model: the sequences' capacity (context plus
/// every step's tokens) within what the model allows.
Result<bool> checkTimingPlan(const Model &model, const TimingPlan &plan);

/// Runs the plan and prints one line to stdout:
///   decode: batch 64, context 4096, 16 steps after 2 untimed: median
///   12.345 ms per step (min 12.100, max 13.002), 5184.2 tokens/s, one call
///   per step (jikji_forward_batch)
///   prefill: 4096 tokens at context 0, 3 runs after 1 untimed: median
///   812.300 ms (min 810.002, max 815.500), 5042.5 tokens/s
/// `afterWarmup` runs once, after the untimed steps (jikji-run snapshots
/// the kernel times there, so that its table covers the timed steps only).
Result<bool> runTiming(const Model &model, const TimingPlan &plan,
                       const std::function<void()> &afterWarmup);

} // namespace jikji::runtime

#endif // JIKJI_TOOLS_JIKJI_RUN_TIMINGMODE_H
