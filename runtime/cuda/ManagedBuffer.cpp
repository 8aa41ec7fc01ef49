//===- ManagedBuffer.cpp - Zeroed CUDA managed memory ---------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/ManagedBuffer.h"

#include <utility>

using namespace jikji;
using namespace jikji::runtime::cuda;

Result<CUdeviceptr> jikji::runtime::cuda::allocateZeroedManaged(
    const CudaDevice &device, uint64_t bytes, const std::string &what,
    Zeroing zeroing) {
  const CudaDriver &driver = device.driver();
  std::string failure = "cannot allocate " + std::to_string(bytes) +
                        " bytes of managed memory for " + what + ": ";
  size_t freeBytes = 0, totalBytes = 0;
  Result<bool> ok =
      driver.check(driver.memGetInfo(&freeBytes, &totalBytes), "cuMemGetInfo");
  if (!ok)
    return Error(failure + ok.error());
  if (bytes > freeBytes)
    return Error(failure + "the GPU has " + std::to_string(freeBytes) +
                 " bytes free of " + std::to_string(totalBytes));
  CUdeviceptr pointer = 0;
  ok = driver.check(driver.memAllocManaged(&pointer, static_cast<size_t>(bytes),
                                           CU_MEM_ATTACH_GLOBAL),
                    "cuMemAllocManaged");
  if (!ok)
    return Error(failure + ok.error());
  // Zeroed, as the CPU device's buffers are: a cache or a buffer the
  // artifact's host code reads before a kernel filled it (after a failed
  // launch) then holds zeros, not whatever the memory held before.
  ok = zeroManaged(device, pointer, bytes, zeroing);
  if (!ok) {
    (void)driver.memFree(pointer);
    return Error(failure + ok.error());
  }
  return pointer;
}

Result<bool> jikji::runtime::cuda::zeroManaged(const CudaDevice &device,
                                               CUdeviceptr pointer,
                                               uint64_t bytes,
                                               Zeroing zeroing) {
  const CudaDriver &driver = device.driver();
  Result<bool> ok = driver.check(
      driver.memsetD8Async(pointer, 0, static_cast<size_t>(bytes),
                           device.stream()),
      "cuMemsetD8Async");
  if (ok && zeroing == Zeroing::Waited)
    ok = device.synchronize();
  return ok;
}

Result<ManagedBuffer>
ManagedBuffer::allocate(const std::shared_ptr<CudaDevice> &device,
                        uint64_t bytes, const std::string &what) {
  Result<bool> current = device->makeCurrent();
  if (!current)
    return Error("cannot allocate managed memory for " + what + ": " +
                 current.error());
  Result<CUdeviceptr> pointer =
      allocateZeroedManaged(*device, bytes ? bytes : 1, what);
  if (!pointer)
    return Error(pointer.error());
  return ManagedBuffer(device, *pointer, bytes);
}

ManagedBuffer::ManagedBuffer(ManagedBuffer &&other) noexcept
    : device_(std::move(other.device_)),
      pointer_(std::exchange(other.pointer_, 0)),
      size_(std::exchange(other.size_, 0)) {}

ManagedBuffer &ManagedBuffer::operator=(ManagedBuffer &&other) noexcept {
  if (this != &other) {
    release();
    device_ = std::move(other.device_);
    pointer_ = std::exchange(other.pointer_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

ManagedBuffer::~ManagedBuffer() { release(); }

void ManagedBuffer::release() {
  if (pointer_ && device_) {
    // Freed from whichever thread drops the buffer, so its context first.
    (void)device_->makeCurrent();
    (void)device_->driver().memFree(pointer_);
  }
  pointer_ = 0;
  size_ = 0;
}
