//===- ReadBandwidth.cpp - The machine's memory read bandwidth ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/ReadBandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace jikji;
using namespace jikji::bench;

namespace {

/// Keeps the sums alive, so that the compiler cannot drop the reads.
std::atomic<uint64_t> sink{0};

/// Sums words [begin, end). Integer sums may be reordered, so the compiler
/// vectorizes the loop; eight accumulators keep the adds from waiting on
/// each other. Reading, not the adds, is the limit.
uint64_t sumWords(const uint64_t *words, uint64_t begin, uint64_t end) {
  uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int lane = 0; lane < 8; ++lane)
      a[lane] += words[i + lane];
  for (; i < end; ++i)
    a[0] += words[i];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

} // namespace

Result<BandwidthBuffer> BandwidthBuffer::allocate(uint64_t bytes) {
  uint64_t words = bytes / 64 * 8;
  if (words == 0)
    return Error("the bandwidth buffer must hold at least 64 bytes");
  void *memory = std::aligned_alloc(4096, (words * 8 + 4095) / 4096 * 4096);
  if (!memory)
    return Error("cannot allocate " + std::to_string(bytes) +
                 " bytes for the bandwidth buffer");
  auto *data = static_cast<uint64_t *>(memory);
  // Distinct values, so that no page is shared with the zero page.
  for (uint64_t i = 0; i < words; ++i)
    data[i] = i * 0x9E3779B97F4A7C15ull;
  return BandwidthBuffer(data, words);
}

BandwidthBuffer::BandwidthBuffer(BandwidthBuffer &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      words_(std::exchange(other.words_, 0)) {}

BandwidthBuffer::~BandwidthBuffer() { std::free(data_); }

double BandwidthBuffer::measure(int threads, int passes) const {
  threads = std::max(threads, 1);
  auto pass = [&]() {
    std::vector<std::thread> workers;
    std::vector<uint64_t> sums(static_cast<size_t>(threads), 0);
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      // Slices of whole 64-byte lines.
      uint64_t lines = words_ / 8;
      uint64_t begin = lines * t / threads * 8;
      uint64_t end = lines * (t + 1) / threads * 8;
      workers.emplace_back([this, &sums, t, begin, end] {
        sums[static_cast<size_t>(t)] = sumWords(data_, begin, end);
      });
    }
    for (std::thread &worker : workers)
      worker.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    for (uint64_t sum : sums)
      sink.fetch_add(sum, std::memory_order_relaxed);
    return static_cast<double>(bytes()) / seconds;
  };
  pass();
  double best = 0;
  for (int i = 0; i < std::max(passes, 1); ++i)
    best = std::max(best, pass());
  return best;
}
