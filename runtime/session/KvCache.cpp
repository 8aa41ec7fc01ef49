//===- KvCache.cpp - The KV cache of one or more sequences ----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/KvCache.h"

#include "frontends/huggingface/Printable.h"

#include <limits>
#include <string>

using namespace jikji;
using namespace jikji::runtime;

Result<KvCache> KvCache::allocate(const Model &model, int64_t capacity,
                                  int64_t slots) {
  const KvCacheLayout &layout = model.manifest().kvCache;
  // "for 16 positions", or with several slots "for 4 sequences of 16
  // positions".
  std::string extent =
      (slots == 1 ? "" : std::to_string(slots) + " sequences of ") +
      std::to_string(capacity) + " positions";
  KvCache cache;
  for (const KvCacheTensor &tensor : layout.tensors) {
    // The manifest reader bounds layers * per-token values * 4 by int64
    // (bytes_per_token); only the capacity and the slots can still
    // overflow.
    uint64_t bytesPerPosition = static_cast<uint64_t>(layout.layers) *
                                static_cast<uint64_t>(sizeof(float));
    for (int64_t dim : tensor.perTokenShape)
      bytesPerPosition *= static_cast<uint64_t>(dim);
    const uint64_t limit = std::numeric_limits<uint64_t>::max();
    if (bytesPerPosition > limit / static_cast<uint64_t>(capacity) ||
        bytesPerPosition * static_cast<uint64_t>(capacity) >
            limit / static_cast<uint64_t>(slots))
      return Error("KV cache '" + hf::printable(tensor.name) + "' for " +
                   extent + ": more bytes than 64 bits count");
    uint64_t slotBytes = bytesPerPosition * static_cast<uint64_t>(capacity);
    uint64_t bytes = slotBytes * static_cast<uint64_t>(slots);
    std::string what =
        "KV cache '" + hf::printable(tensor.name) + "' of " + extent;
    cache.slotBytes_.push_back(slotBytes);
    // The artifact's kernels read and write the cache on the GPU.
    if (cuda::CudaModel *gpu = model.cudaModel()) {
      Result<cuda::ManagedBuffer> buffer =
          cuda::ManagedBuffer::allocate(gpu->device(), bytes, what);
      if (!buffer)
        return Error(buffer.error());
      cache.device_.push_back(std::move(*buffer));
      continue;
    }
    Result<HostBuffer> buffer = HostBuffer::allocate(bytes, what);
    if (!buffer)
      return Error(buffer.error());
    cache.host_.push_back(std::move(*buffer));
  }
  return Result<KvCache>(std::move(cache));
}

uint64_t KvCache::bytes() const {
  uint64_t total = 0;
  for (const HostBuffer &buffer : host_)
    total += buffer.size();
  for (const cuda::ManagedBuffer &buffer : device_)
    total += buffer.size();
  return total;
}

void KvCache::fillWithNoise(uint64_t seed) {
  // xorshift64*, whose top 24 bits make a float in [-1, 1) exactly.
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto fill = [&](void *data, uint64_t bytes) {
    float *values = static_cast<float *>(data);
    for (uint64_t i = 0, n = bytes / sizeof(float); i < n; ++i) {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      uint64_t bits = (state * 0x2545F4914F6CDD1Dull) >> 40;
      values[i] = static_cast<float>(bits) * 0x1p-23f - 1.0f;
    }
  };
  for (HostBuffer &buffer : host_)
    fill(buffer.data(), buffer.size());
  for (cuda::ManagedBuffer &buffer : device_)
    fill(buffer.data(), buffer.size());
}

std::vector<void *> KvCache::slotPointers(int64_t slot) {
  // A model's cache is all on the host or all on the GPU, so the tensors
  // are in one of the two lists, in manifest order like slotBytes_.
  std::vector<void *> pointers;
  const uint64_t slotIndex = static_cast<uint64_t>(slot);
  for (size_t i = 0; i < host_.size(); ++i)
    pointers.push_back(static_cast<char *>(host_[i].data()) +
                       slotIndex * slotBytes_[i]);
  for (size_t i = 0; i < device_.size(); ++i)
    pointers.push_back(static_cast<char *>(device_[i].data()) +
                       slotIndex * slotBytes_[i]);
  return pointers;
}
