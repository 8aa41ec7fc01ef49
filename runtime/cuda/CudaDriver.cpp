//===- CudaDriver.cpp - libcuda.so.1, loaded at run time ------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaDriver.h"

#include <cstdlib>

#include <dlfcn.h>

using namespace jikji;
using namespace jikji::runtime::cuda;

namespace {

/// dlerror's message, or a stand-in when it has none.
std::string lastDlError() {
  const char *message = ::dlerror();
  return message ? message : "unknown dlopen failure";
}

/// Resolves `symbol` into `entry`; false when the library lacks it.
template <typename Function>
bool resolve(void *handle, const char *symbol, Function &entry) {
  // POSIX guarantees that dlsym's object pointer converts to a function
  // pointer.
  entry = reinterpret_cast<Function>(::dlsym(handle, symbol));
  return entry != nullptr;
}

} // namespace

Result<std::shared_ptr<CudaDriver>> CudaDriver::load() {
  const char *configured = std::getenv(kCudaDriverVariable);
  std::string library =
      configured && *configured ? configured : kCudaDriverLibrary;
  ::dlerror();
  // RTLD_LOCAL: the driver's symbols stay out of the global namespace,
  // where an artifact or the user's program could collide with them.
  void *handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Error("no CUDA driver found: " + lastDlError());
  // The handle is never closed once cuInit has run (see CudaDriver.h).
  std::shared_ptr<CudaDriver> driver(new CudaDriver(library));

  // The names libcuda.so.1 exports: cuda.h maps several public names to
  // versioned ones, and the unversioned symbols keep old, different ABIs.
  // The first one missing is remembered; the rest are not looked up.
  CudaDriver &d = *driver;
  const char *missing = nullptr;
  auto need = [&](const char *symbol, auto &entry) {
    if (!missing && !resolve(handle, symbol, entry))
      missing = symbol;
  };
  need("cuInit", d.init);
  need("cuDeviceGetCount", d.deviceGetCount);
  need("cuDeviceGet", d.deviceGet);
  need("cuDeviceGetAttribute", d.deviceGetAttribute);
  need("cuDeviceGetName", d.deviceGetName);
  need("cuDeviceTotalMem_v2", d.deviceTotalMem);
  need("cuDevicePrimaryCtxRetain", d.primaryCtxRetain);
  need("cuDevicePrimaryCtxRelease_v2", d.primaryCtxRelease);
  need("cuCtxSetCurrent", d.ctxSetCurrent);
  need("cuStreamCreate", d.streamCreate);
  need("cuStreamDestroy_v2", d.streamDestroy);
  need("cuStreamSynchronize", d.streamSynchronize);
  need("cuModuleLoadData", d.moduleLoadData);
  need("cuModuleUnload", d.moduleUnload);
  need("cuModuleGetFunction", d.moduleGetFunction);
  need("cuLaunchKernel", d.launchKernel);
  need("cuMemAllocManaged", d.memAllocManaged);
  need("cuMemFree_v2", d.memFree);
  need("cuMemGetInfo_v2", d.memGetInfo);
  need("cuMemsetD8Async", d.memsetD8Async);
  need("cuEventCreate", d.eventCreate);
  need("cuEventDestroy_v2", d.eventDestroy);
  need("cuEventRecord", d.eventRecord);
  need("cuEventSynchronize", d.eventSynchronize);
  // cuda.h 13 maps cuEventElapsedTime to a _v2 that CUDA 12's first
  // drivers lack; the unversioned symbol has the same signature.
  need("cuEventElapsedTime", d.eventElapsedTime);
  // The CUDA graph calls (CudaLaunchApi captures a step as a graph);
  // cuda.h 13 maps cuStreamBeginCapture to _v2, cuGraphInstantiate to
  // cuGraphInstantiateWithFlags and cuGraphExecUpdate to _v2 (CUDA 12's
  // signature, with a result-info struct).
  need("cuStreamBeginCapture_v2", d.streamBeginCapture);
  need("cuStreamEndCapture", d.streamEndCapture);
  need("cuGraphInstantiateWithFlags", d.graphInstantiate);
  need("cuGraphExecUpdate_v2", d.graphExecUpdate);
  need("cuGraphLaunch", d.graphLaunch);
  need("cuGraphDestroy", d.graphDestroy);
  need("cuGraphExecDestroy", d.graphExecDestroy);
  need("cuGetErrorName", d.getErrorName);
  if (missing) {
    // Not a driver, and none of its code has run: unload it.
    ::dlclose(handle);
    return Error(library + ": no CUDA driver entry point '" + missing +
                 "' (a driver older than CUDA 12, or not a CUDA driver)");
  }

  Result<bool> initialized = driver->check(driver->init(0), "cuInit");
  if (!initialized)
    return Error(initialized.error());
  return driver;
}

CudaDriver::~CudaDriver() = default;

std::string CudaDriver::errorName(CUresult result) const {
  const char *name = nullptr;
  if (getErrorName && getErrorName(result, &name) == CUDA_SUCCESS && name)
    return name;
  return "CUresult " + std::to_string(result);
}

Result<bool> CudaDriver::check(CUresult result, const std::string &call) const {
  if (result == CUDA_SUCCESS)
    return true;
  return Error(call + " failed: " + errorName(result));
}
