//===- KvCache.h - The KV cache of one or more sequences --------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The cache the entry points read and write, laid out as docs/runtime-abi.md
// states: one allocation per manifest cache tensor, float32
// [slots, layers, capacity, per-token shape...]. A slot is one sequence's
// cache, exactly as jikji_forward takes it; the slots lie back to back, so
// slot 0's pointers are also what jikji_forward_batch takes for all of them.
// A Sequence owns a cache of one slot; a SequenceBatch one of several.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SESSION_KVCACHE_H
#define JIKJI_RUNTIME_SESSION_KVCACHE_H

#include "frontends/huggingface/Result.h"
#include "runtime/cuda/ManagedBuffer.h"
#include "runtime/session/Model.h"
#include "runtime/support/HostBuffer.h"

#include <cstdint>
#include <vector>

namespace jikji::runtime {

/// A zeroed KV cache of `slots` sequences of `capacity` positions each, in
/// host memory on the CPU and managed memory on the model's GPU. Move-only;
/// moving keeps the memory where it is, so pointers into it stay valid.
class KvCache {
public:
  /// Allocates the cache for `model`. `capacity` and `slots` must be at
  /// least 1 (callers check the capacity against the context limit). Fails
  /// with a message naming the tensor when its size does not fit 64 bits or
  /// the memory cannot be had.
  static Result<KvCache> allocate(const Model &model, int64_t capacity,
                                  int64_t slots = 1);

  KvCache() = default;
  KvCache(KvCache &&) noexcept = default;
  KvCache &operator=(KvCache &&) noexcept = default;
  KvCache(const KvCache &) = delete;
  KvCache &operator=(const KvCache &) = delete;

  /// Every byte of every tensor, all slots.
  uint64_t bytes() const;

  /// The entry points' `caches` for slot `slot` (0 <= slot < slots): one
  /// pointer per manifest cache tensor. Slot 0's are the tensors' bases.
  std::vector<void *> slotPointers(int64_t slot);

  /// Overwrites every value of every slot with pseudo-random floats in
  /// [-1, 1), a function of `seed`: a cache that looks like keys to the
  /// hardware, for timing at an assumed context (jikji-run --time-decode).
  /// GPUs run arithmetic on zeros faster than on real data, so timing a
  /// zeroed cache would flatter the kernels.
  void fillWithNoise(uint64_t seed);

private:
  std::vector<HostBuffer> host_;
  std::vector<cuda::ManagedBuffer> device_;
  /// Per tensor, the bytes of one slot: layers x capacity x per-token
  /// values x 4.
  std::vector<uint64_t> slotBytes_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_KVCACHE_H
