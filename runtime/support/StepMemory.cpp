//===- StepMemory.cpp - Memory a compiled step frees, kept for the next ---===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/StepMemory.h"

#include <mutex>

#ifdef __GLIBC__
#include <malloc.h>
#endif

void jikji::runtime::keepFreedMemoryForNextStep() {
#ifdef __GLIBC__
  static std::once_flag once;
  std::call_once(once, [] {
    // Setting either threshold ends glibc's own adjustment of both, so
    // both are set: the mmap threshold at its largest allowed value, the
    // trim threshold far above a step's temporaries.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
#endif
}
