//===- CudaDevice.h - One GPU: its context and stream -----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A CudaDevice is the GPU the runtime runs a CUDA artifact on: the device's
// primary context (shared with any other CUDA code in the process, as the
// CUDA runtime library shares it) and one stream of the runtime's own. Every
// call into the driver goes through makeCurrent() first, so that any thread
// may call it. It is shared (std::shared_ptr) by the module, the buffers and
// the model made on it, and torn down after the last of them: stream, then
// context, then the driver library.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDADEVICE_H
#define JIKJI_RUNTIME_CUDA_CUDADEVICE_H

#include "frontends/huggingface/Result.h"
#include "runtime/cuda/CudaDriver.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jikji::runtime::cuda {

/// What the driver says about one GPU.
struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  /// The compute capability: 9.0 for Hopper (sm_90), 8.0 for A100 (sm_80).
  int major = 0;
  int minor = 0;
  uint64_t totalBytes = 0;

  /// "sm_<major><minor>", the name jikji-compile's --gpu-arch takes.
  std::string arch() const {
    return "sm_" + std::to_string(major) + std::to_string(minor);
  }
};

/// The GPUs the driver sees (JIKJI_CUDA_DRIVER or libcuda.so.1); fails as
/// CudaDriver::load does, or with the first failing query.
Result<std::vector<CudaDeviceInfo>> listCudaDevices();

/// One GPU in use. Not copyable; shared through std::shared_ptr.
class CudaDevice {
public:
  /// Loads the driver and opens GPU `ordinal`: "no CUDA GPU: the driver
  /// sees none" when there is none, otherwise the first failing driver
  /// call, named. A GPU without managed memory is refused: the artifact's
  /// host code and kernels share their buffers (docs/runtime-abi.md).
  static Result<std::shared_ptr<CudaDevice>> open(int ordinal = 0);

  CudaDevice(const CudaDevice &) = delete;
  CudaDevice &operator=(const CudaDevice &) = delete;
  ~CudaDevice();

  const CudaDriver &driver() const { return *driver_; }
  const CudaDeviceInfo &info() const { return info_; }
  CUstream stream() const { return stream_; }

  /// Makes the device's context the calling thread's current one.
  Result<bool> makeCurrent() const;
  /// Waits for everything launched on the stream.
  Result<bool> synchronize() const;

private:
  explicit CudaDevice(std::shared_ptr<CudaDriver> driver)
      : driver_(std::move(driver)) {}

  std::shared_ptr<CudaDriver> driver_;
  CudaDeviceInfo info_;
  CUdevice device_ = 0;
  /// The retained primary context; null until retained.
  CUcontext context_ = nullptr;
  /// The runtime's stream; null until created.
  CUstream stream_ = nullptr;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDADEVICE_H
