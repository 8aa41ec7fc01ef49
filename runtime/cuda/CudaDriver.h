//===- CudaDriver.h - libcuda.so.1, loaded at run time ----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The CUDA driver library, opened with dlopen when a CUDA device is asked
// for, never linked: the runtime builds and runs where CUDA is not
// installed, and says "no CUDA driver found" only when a GPU is requested.
// A CudaDriver holds the library and the entry points the runtime calls,
// and turns a failing CUresult into a message naming the call and the
// error ("cuMemAllocManaged failed: CUDA_ERROR_OUT_OF_MEMORY").
//
// JIKJI_CUDA_DRIVER=PATH loads another library with the same entry points
// instead of libcuda.so.1 (the tests' fake driver, or a driver outside the
// library search path).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDADRIVER_H
#define JIKJI_RUNTIME_CUDA_CUDADRIVER_H

#include "frontends/huggingface/Result.h"
#include "runtime/cuda/CudaDriverTypes.h"

#include <memory>
#include <string>

namespace jikji::runtime::cuda {

/// The library loaded when JIKJI_CUDA_DRIVER is not set.
constexpr const char *kCudaDriverLibrary = "libcuda.so.1";
/// The environment variable that names another driver library.
constexpr const char *kCudaDriverVariable = "JIKJI_CUDA_DRIVER";

/// The loaded driver. Shared (std::shared_ptr) by everything that calls it,
/// so that it outlives the last context, module and buffer made through it.
/// The library itself stays loaded for the rest of the process: a driver
/// that has run cuInit may keep threads and exit handlers of its own, which
/// unloading it would leave pointing into unmapped code (the CUDA runtime
/// library does not unload it either). Loading it again returns the same
/// library.
class CudaDriver {
public:
  /// Opens the driver library (JIKJI_CUDA_DRIVER or libcuda.so.1), resolves
  /// every entry point and calls cuInit(0). Fails with "no CUDA driver
  /// found: <dlopen's reason>", "<library>: no CUDA driver entry point
  /// '<name>'", or "cuInit failed: <error>".
  static Result<std::shared_ptr<CudaDriver>> load();

  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;
  ~CudaDriver();

  /// The library's path or name as it was opened.
  const std::string &library() const { return library_; }

  /// cuGetErrorName's name for `result` ("CUDA_ERROR_OUT_OF_MEMORY"), or
  /// "CUresult <number>" for one the driver does not name.
  std::string errorName(CUresult result) const;
  /// Success, or "<call> failed: <errorName(result)>".
  Result<bool> check(CUresult result, const std::string &call) const;

  // The entry points, all resolved by load().
  cuInit_t init = nullptr;
  cuDeviceGetCount_t deviceGetCount = nullptr;
  cuDeviceGet_t deviceGet = nullptr;
  cuDeviceGetAttribute_t deviceGetAttribute = nullptr;
  cuDeviceGetName_t deviceGetName = nullptr;
  cuDeviceTotalMem_t deviceTotalMem = nullptr;
  cuDevicePrimaryCtxRetain_t primaryCtxRetain = nullptr;
  cuDevicePrimaryCtxRelease_t primaryCtxRelease = nullptr;
  cuCtxSetCurrent_t ctxSetCurrent = nullptr;
  cuStreamCreate_t streamCreate = nullptr;
  cuStreamDestroy_t streamDestroy = nullptr;
  cuStreamSynchronize_t streamSynchronize = nullptr;
  cuModuleLoadData_t moduleLoadData = nullptr;
  cuModuleUnload_t moduleUnload = nullptr;
  cuModuleGetFunction_t moduleGetFunction = nullptr;
  cuLaunchKernel_t launchKernel = nullptr;
  cuMemAllocManaged_t memAllocManaged = nullptr;
  cuMemFree_t memFree = nullptr;
  cuMemGetInfo_t memGetInfo = nullptr;
  cuMemsetD8Async_t memsetD8Async = nullptr;
  cuEventCreate_t eventCreate = nullptr;
  cuEventDestroy_t eventDestroy = nullptr;
  cuEventRecord_t eventRecord = nullptr;
  cuEventSynchronize_t eventSynchronize = nullptr;
  cuEventElapsedTime_t eventElapsedTime = nullptr;
  cuStreamBeginCapture_t streamBeginCapture = nullptr;
  cuStreamEndCapture_t streamEndCapture = nullptr;
  cuGraphInstantiateWithFlags_t graphInstantiate = nullptr;
  cuGraphExecUpdate_t graphExecUpdate = nullptr;
  cuGraphLaunch_t graphLaunch = nullptr;
  cuGraphDestroy_t graphDestroy = nullptr;
  cuGraphExecDestroy_t graphExecDestroy = nullptr;
  cuGetErrorName_t getErrorName = nullptr;

private:
  explicit CudaDriver(std::string library) : library_(std::move(library)) {}

  std::string library_;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDADRIVER_H
