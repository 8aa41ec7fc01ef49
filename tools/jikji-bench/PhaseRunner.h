//===- PhaseRunner.h - Timing decode and prefill on a model -----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Runs a loaded model through the runtime's sequences, as a program using
// the runtime would, and times the phases:
//
// - decode at batch B: B sequences each prefilled with its own prompt
//   (untimed, once), then per run `decodeSteps` rounds of one token per
//   sequence (timed). Runs continue the same sequences, so run r decodes
//   positions prompt + r x steps onwards; each run's bytes count its own
//   cache length.
//   The sequences are the slots of one SequenceBatch: a step is one
//   jikji_forward_batch call for all of them when the artifact exports it,
//   else one call per sequence. The bytes a batch step "must read" count
//   the weights once either way, so that without the batched entry point
//   the fraction shows what batching would gain.
// - prefill: one sequence, one step of `prefillTokens` tokens (timed).
//
// Token ids are pseudo-random: time does not depend on them except through
// routing, and varied ids spread the routing as StepCost's expected-expert
// count assumes. Each phase reports the run of median time.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_PHASERUNNER_H
#define JIKJI_TOOLS_JIKJI_BENCH_PHASERUNNER_H

#include "frontends/huggingface/Result.h"
#include "runtime/session/Model.h"
#include "tools/jikji-bench/StepCost.h"

#include <cstdint>
#include <string>

namespace jikji::bench {

/// What to time.
struct PhasePlan {
  int64_t promptTokens = 128;
  int64_t decodeSteps = 64;
  int64_t prefillTokens = 512;
  int runs = 3;
};

/// One timed phase.
struct PhaseTiming {
  /// The seconds of the run of median time, and the tokens one run
  /// processes.
  double seconds = 0;
  int64_t tokens = 0;
  /// The bytes and FLOPs that run must spend (StepCost).
  StepWork work;
  /// Decode: the position of that run's first step.
  int64_t firstPosition = 0;
  /// The most KV-cache bytes held at once.
  uint64_t cacheBytes = 0;
  /// Decode: true when each step was one call for the whole batch (always
  /// at batch 1), false when it was one call per sequence.
  bool oneCallPerStep = true;
};

/// Times decode at `batch` sequences on `model`.
Result<PhaseTiming> timeDecode(const runtime::Model &model,
                               const StepCost &cost, const PhasePlan &plan,
                               int64_t batch);

/// Times a prefill of plan.prefillTokens tokens on `model`.
Result<PhaseTiming> timePrefill(const runtime::Model &model,
                                const StepCost &cost, const PhasePlan &plan);

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_PHASERUNNER_H
