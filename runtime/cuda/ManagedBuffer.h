//===- ManagedBuffer.h - Zeroed CUDA managed memory -------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The memory a CUDA artifact reads and writes from both its host code and
// its kernels (docs/runtime-abi.md): weights, KV caches, tokens, logits and
// the parameter table. cuMemAllocManaged gives an address valid on both
// sides. A ManagedBuffer owns one such block and frees it with its device
// still alive (it holds the device).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_MANAGEDBUFFER_H
#define JIKJI_RUNTIME_CUDA_MANAGEDBUFFER_H

#include "frontends/huggingface/Result.h"
#include "runtime/cuda/CudaDevice.h"

#include <cstdint>
#include <memory>
#include <string>

namespace jikji::runtime::cuda {

/// How a block is zeroed on the device's stream.
enum class Zeroing {
  /// The stream is synchronized before returning: the host may touch the
  /// block at once, and no kernel launched before still runs.
  Waited,
  /// The zeroing is only enqueued: kernels launched after it see zeros, and
  /// the host must synchronize before it touches the block.
  Enqueued,
};

/// Allocates `bytes` (>= 1) of managed memory on `device`, zeroed on the
/// device's stream as `zeroing` says. Refuses more
/// than the GPU has free (asking the driver to oversubscribe managed memory
/// can stall the GPU rather than fail), and names the failing call
/// otherwise: "cannot allocate N bytes of managed memory for <what>:
/// cuMemAllocManaged failed: CUDA_ERROR_OUT_OF_MEMORY". The device's context
/// must be current.
Result<CUdeviceptr>
allocateZeroedManaged(const CudaDevice &device, uint64_t bytes,
                      const std::string &what,
                      Zeroing zeroing = Zeroing::Waited);

/// Zeroes `bytes` at `pointer` on the device's stream, as `zeroing` says.
/// Names the failing call.
Result<bool> zeroManaged(const CudaDevice &device, CUdeviceptr pointer,
                         uint64_t bytes, Zeroing zeroing);

/// An owned block of managed memory. Move-only.
class ManagedBuffer {
public:
  /// See allocateZeroedManaged; `bytes` 0 allocates one byte, so that the
  /// address is never null.
  static Result<ManagedBuffer>
  allocate(const std::shared_ptr<CudaDevice> &device, uint64_t bytes,
           const std::string &what);

  ManagedBuffer() = default;
  ManagedBuffer(ManagedBuffer &&other) noexcept;
  ManagedBuffer &operator=(ManagedBuffer &&other) noexcept;
  ManagedBuffer(const ManagedBuffer &) = delete;
  ManagedBuffer &operator=(const ManagedBuffer &) = delete;
  ~ManagedBuffer();

  void *data() const { return reinterpret_cast<void *>(pointer_); }
  uint64_t size() const { return size_; }

private:
  ManagedBuffer(std::shared_ptr<CudaDevice> device, CUdeviceptr pointer,
                uint64_t size)
      : device_(std::move(device)), pointer_(pointer), size_(size) {}
  void release();

  std::shared_ptr<CudaDevice> device_;
  CUdeviceptr pointer_ = 0;
  uint64_t size_ = 0;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_MANAGEDBUFFER_H
