//===- HostBuffer.cpp - Zero-initialised host memory ----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/HostBuffer.h"

#include <cstdlib>
#include <limits>
#include <utility>

using namespace jikji;
using namespace jikji::runtime;

Result<HostBuffer> HostBuffer::allocate(uint64_t bytes,
                                        const std::string &what) {
  if (bytes > std::numeric_limits<size_t>::max())
    return Error("cannot allocate " + std::to_string(bytes) + " bytes for " +
                 what + ": more than the address space holds");
  // calloc(0) may return nullptr; one byte keeps "null means failure".
  void *data = std::calloc(bytes ? static_cast<size_t>(bytes) : 1, 1);
  if (!data)
    return Error("cannot allocate " + std::to_string(bytes) + " bytes for " +
                 what + ": out of memory");
  return HostBuffer(data, bytes);
}

HostBuffer::HostBuffer(HostBuffer &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

HostBuffer &HostBuffer::operator=(HostBuffer &&other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

HostBuffer::~HostBuffer() { std::free(data_); }
