//===- StepMemory.h - What a step frees, kept for the next -----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A compiled step allocates its temporaries with malloc and frees them
// before it returns; the next step asks for the same sizes again. glibc's
// defaults give blocks of tens of megabytes (a 512-token prefill's hidden
// states, expert inputs, attention scores) back to the kernel at each free,
// by munmap or by trimming the heap, so every step faulted them in again:
// about 31,000 page faults per 512-token prefill of bench-v2-lite
// (docs/benchmarks.md). Loading a model therefore tells malloc, once per
// process, to keep what it is given back.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_STEPMEMORY_H
#define JIKJI_RUNTIME_SUPPORT_STEPMEMORY_H

namespace jikji::runtime {

/// Serves blocks up to 32 MiB (glibc's largest mmap threshold) from the
/// heap rather than from fresh mappings, and trims the heap only when over
/// 1 GiB of it is free, so that the next step reuses what this one freed.
/// Process-wide (malloc has no other scope) and idempotent; a no-op where
/// the C library is not glibc.
void keepFreedMemoryForNextStep();

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_STEPMEMORY_H
