//===- HostBuffer.h - Zero-initialised host memory --------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime's large allocations (KV caches, logits, weights it has to copy)
// are sized by the model and the user, so they can fail; with exceptions off,
// a failing `new` or std::vector would abort. A HostBuffer comes from calloc
// instead, and a failed allocation is a message. calloc also leaves the
// zeroing of large blocks to the kernel's fresh pages, so a cache of the full
// context costs memory only as it fills.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_HOSTBUFFER_H
#define JIKJI_RUNTIME_SUPPORT_HOSTBUFFER_H

#include "frontends/huggingface/Result.h"

#include <cstdint>
#include <string>

namespace jikji::runtime {

/// An owned, zero-initialised block of host memory, aligned for any scalar
/// type (16 bytes). Move-only; freed by the destructor.
class HostBuffer {
public:
  /// Allocates `bytes` zero bytes. `what` names the use for the message:
  /// "cannot allocate 123 bytes for <what>".
  static Result<HostBuffer> allocate(uint64_t bytes, const std::string &what);

  HostBuffer() = default;
  HostBuffer(HostBuffer &&other) noexcept;
  HostBuffer &operator=(HostBuffer &&other) noexcept;
  HostBuffer(const HostBuffer &) = delete;
  HostBuffer &operator=(const HostBuffer &) = delete;
  ~HostBuffer();

  void *data() { return data_; }
  const void *data() const { return data_; }
  uint64_t size() const { return size_; }

private:
  HostBuffer(void *data, uint64_t size) : data_(data), size_(size) {}

  void *data_ = nullptr;
  uint64_t size_ = 0;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_HOSTBUFFER_H
