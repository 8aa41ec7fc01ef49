//===- Sampler.h - Choosing the next token ----------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Turns one row of logits into a token id: greedy, or sampled at a
// temperature with optional top-k and top-p (nucleus) filtering. Sampling
// draws from a seeded xoshiro256** generator implemented here, never from
// std::random_device or the standard distributions (whose output differs
// between standard libraries), so one seed gives one token sequence.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SAMPLER_SAMPLER_H
#define JIKJI_RUNTIME_SAMPLER_SAMPLER_H

#include "frontends/huggingface/Result.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace jikji::runtime {

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any
/// 64-bit seed, zero included, gives a well-mixed state.
class Random {
public:
  explicit Random(uint64_t seed);
  /// The next 64 random bits.
  uint64_t next();
  /// A double uniform in [0, 1), from the top 53 bits of next().
  double nextUnit();

private:
  uint64_t state_[4];
};

/// How to pick tokens.
struct SamplingOptions {
  /// 0 picks greedily; above 0 divides the logits before the softmax.
  double temperature = 0;
  /// Keep only the k most likely tokens; 0 keeps all.
  int64_t topK = 0;
  /// Keep the smallest set of most likely tokens whose probability reaches
  /// topP; 1 keeps all. In (0, 1].
  double topP = 1;
  uint64_t seed = 0;
};

/// Checks `options`, naming the bad field: temperature finite and >= 0,
/// topK >= 0, topP in (0, 1].
Result<bool> validateSamplingOptions(const SamplingOptions &options);

/// The argmax of `logits[0 .. vocabSize)`, ties going to the lower id.
/// Refuses NaN or infinite logits: "logits[17] is NaN".
Result<int64_t> pickGreedy(const float *logits, int64_t vocabSize);

/// Picks tokens one step at a time with the options it was made with; the
/// generator's state carries over from step to step.
class Sampler {
public:
  /// `options` must pass validateSamplingOptions.
  explicit Sampler(const SamplingOptions &options)
      : options_(options), random_(options.seed) {}

  /// The next token for one row of logits. Refuses NaN or infinite logits,
  /// naming the index.
  Result<int64_t> sample(const float *logits, int64_t vocabSize);

private:
  SamplingOptions options_;
  Random random_;
  /// Scratch for the candidates, kept to avoid an allocation per token.
  std::vector<std::pair<float, int64_t>> candidates_;
  std::vector<double> weights_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SAMPLER_SAMPLER_H
