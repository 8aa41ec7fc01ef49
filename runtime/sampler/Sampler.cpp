//===- Sampler.cpp - Choosing the next token ------------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/sampler/Sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

using namespace jikji;
using namespace jikji::runtime;

//===----------------------------------------------------------------------===//
// Random
//===----------------------------------------------------------------------===//

static uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t rotateLeft(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

Random::Random(uint64_t seed) {
  for (uint64_t &word : state_)
    word = splitMix64(seed);
}

uint64_t Random::next() {
  uint64_t result = rotateLeft(state_[1] * 5, 7) * 9;
  uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotateLeft(state_[3], 45);
  return result;
}

double Random::nextUnit() {
  // 53 bits fill a double's mantissa exactly, so every value is exact and
  // the result is below 1.
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

//===----------------------------------------------------------------------===//
// Picking
//===----------------------------------------------------------------------===//

Result<bool>
jikji::runtime::validateSamplingOptions(const SamplingOptions &options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0)
    return Error("sampling 'temperature': expected a finite number >= 0, "
                 "found " +
                 std::to_string(options.temperature));
  if (options.topK < 0)
    return Error("sampling 'top_k': expected an integer >= 0 (0 keeps every "
                 "token), found " +
                 std::to_string(options.topK));
  if (!(options.topP > 0 && options.topP <= 1))
    return Error("sampling 'top_p': expected a number in (0, 1], found " +
                 std::to_string(options.topP));
  return true;
}

/// Refuses a row with NaN or infinity: the model has gone wrong, and
/// sampling from it would hide that.
static Result<bool> checkLogits(const float *logits, int64_t vocabSize) {
  if (vocabSize <= 0)
    return Error("logits: expected at least one entry, found " +
                 std::to_string(vocabSize));
  for (int64_t i = 0; i < vocabSize; ++i)
    if (!std::isfinite(logits[i]))
      return Error("logits[" + std::to_string(i) + "] is " +
                   (std::isnan(logits[i]) ? "NaN" : "infinite") +
                   "; expected finite logits");
  return true;
}

Result<int64_t> jikji::runtime::pickGreedy(const float *logits,
                                           int64_t vocabSize) {
  Result<bool> finite = checkLogits(logits, vocabSize);
  if (!finite)
    return Error(finite.error());
  int64_t best = 0;
  for (int64_t i = 1; i < vocabSize; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

Result<int64_t> Sampler::sample(const float *logits, int64_t vocabSize) {
  if (options_.temperature == 0)
    return pickGreedy(logits, vocabSize);
  Result<bool> finite = checkLogits(logits, vocabSize);
  if (!finite)
    return Error(finite.error());

  // Candidates in a total order (logit descending, id ascending), so that
  // filtering and the walk below do not depend on the sort's stability.
  candidates_.clear();
  for (int64_t i = 0; i < vocabSize; ++i)
    candidates_.emplace_back(logits[i], i);
  auto moreLikely = [](const std::pair<float, int64_t> &a,
                       const std::pair<float, int64_t> &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t kept = candidates_.size();
  if (options_.topK > 0 && static_cast<size_t>(options_.topK) < kept)
    kept = static_cast<size_t>(options_.topK);
  // Only filtering needs the order; plain sampling walks the ids in order.
  bool filtering = kept < candidates_.size() || options_.topP < 1;
  if (filtering) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + kept,
                      candidates_.end(), moreLikely);
    candidates_.resize(kept);
  }

  // Softmax in double, shifted by the largest logit so that exp never
  // overflows; the largest candidate always has
  // weight 1.
  float maxLogit = candidates_.front().first;
  for (const auto &candidate : candidates_)
    maxLogit = std::max(maxLogit, candidate.first);
  weights_.resize(kept);
  double total = 0;
  for (size_t i = 0; i < kept; ++i) {
    weights_[i] =
        std::exp((candidates_[i].first - maxLogit) / options_.temperature);
    total += weights_[i];
  }
  if (options_.topP < 1) {
    double reach = options_.topP * total, cumulative = 0;
    size_t nucleus = 0;
    while (nucleus < kept && cumulative < reach)
      cumulative += weights_[nucleus++];
    kept = std::max<size_t>(nucleus, 1);
    total = 0;
    for (size_t i = 0; i < kept; ++i)
      total += weights_[i];
  }

  double target = random_.nextUnit() * total;
  size_t lastLikely = 0;
  for (size_t i = 0; i < kept; ++i) {
    if (weights_[i] == 0)
      continue;
    lastLikely = i;
    target -= weights_[i];
    if (target < 0)
      return candidates_[i].second;
  }
  // Rounding can leave a tiny non-negative remainder: the draw belongs to
  // the last candidate that had any weight.
  return candidates_[lastLikely].second;
}
