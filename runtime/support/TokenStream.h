//===- TokenStream.h - Pseudo-random token ids for timing -------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The token ids jikji-bench and `jikji-run --time-decode/--time-prefill`
// feed: a step's time does not depend on them except through the routing,
// and varied ids spread the routed experts' rows as varied text does. The
// same seed gives the same ids, so runs are repeatable.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_TOKENSTREAM_H
#define JIKJI_RUNTIME_SUPPORT_TOKENSTREAM_H

#include <cstdint>

namespace jikji::runtime {

/// Token ids in [0, vocab) from a 64-bit linear congruential generator.
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

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_TOKENSTREAM_H
