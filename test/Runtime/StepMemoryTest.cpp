//===- StepMemoryTest.cpp - Tests that freed step memory is reused --------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/StepMemory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include <sys/resource.h>

using namespace jikji::runtime;

namespace {
long minorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

/// One step's worth of temporaries: allocated, written, freed. Returns the
/// page faults it took.
long stepFaults() {
  constexpr size_t kSizes[] = {4u << 20, 24u << 20, 12u << 20, 24u << 20,
                               4u << 20};
  long before = minorFaults();
  void *blocks[std::size(kSizes)];
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    blocks[i] = std::malloc(kSizes[i]);
    std::memset(blocks[i], 1, kSizes[i]);
  }
  for (void *block : blocks)
    std::free(block);
  return minorFaults() - before;
}
} // namespace

// AddressSanitizer (utils/sanitize.sh) replaces malloc with its own
// allocator, which ignores mallopt and quarantines what is freed.
#if defined(__SANITIZE_ADDRESS__)
#define JIKJI_MALLOC_IS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JIKJI_MALLOC_IS_ASAN 1
#endif
#endif

#ifdef __GLIBC__
// Tests that, once the runtime has set malloc up, a step that allocates what
// the previous one freed takes (almost) no page faults. With glibc's
// defaults each such step of these sizes faulted all of its 68 MiB in
// again, about 17,400 faults.
TEST(StepMemoryTest, NextStepReusesFreedMemory) {
#ifdef JIKJI_MALLOC_IS_ASAN
  GTEST_SKIP() << "AddressSanitizer's malloc is not glibc's: mallopt has no "
                  "effect on it";
#endif
  keepFreedMemoryForNextStep();
  keepFreedMemoryForNextStep(); // idempotent
  long first = stepFaults();
  for (int step = 0; step < 3; ++step)
    EXPECT_LT(stepFaults(), 100) << "step " << step << " after " << first
                                 << " faults in the first";
}
#endif
