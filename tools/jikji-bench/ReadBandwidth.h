//===- ReadBandwidth.h - The machine's memory read bandwidth ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Decode at batch 1 is bound by how fast the weights stream from memory, so
// the benchmark measures that limit in the same run as the model: a
// streaming reduction over a buffer much larger than the caches, split
// evenly over the threads.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_READBANDWIDTH_H
#define JIKJI_TOOLS_JIKJI_BENCH_READBANDWIDTH_H

#include "frontends/huggingface/Result.h"

#include <cstdint>

namespace jikji::bench {

/// A buffer to read, filled once so that every page is resident.
class BandwidthBuffer {
public:
  /// Allocates and fills `bytes` (rounded down to whole 64-byte lines).
  static Result<BandwidthBuffer> allocate(uint64_t bytes);

  BandwidthBuffer(BandwidthBuffer &&other) noexcept;
  BandwidthBuffer &operator=(BandwidthBuffer &&) = delete;
  BandwidthBuffer(const BandwidthBuffer &) = delete;
  ~BandwidthBuffer();

  uint64_t bytes() const { return words_ * sizeof(uint64_t); }

  /// Reads the whole buffer `passes` times on `threads` threads, each
  /// summing its own contiguous slice, and returns the best bytes per second
  /// of the passes (after one untimed pass): other work on a shared machine
  /// only ever lowers a pass, and the limit is what the machine can do.
  double measure(int threads, int passes) const;

private:
  BandwidthBuffer(uint64_t *data, uint64_t words)
      : data_(data), words_(words) {}
  uint64_t *data_;
  uint64_t words_;
};

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_READBANDWIDTH_H
