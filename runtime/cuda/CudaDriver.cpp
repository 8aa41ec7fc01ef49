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
  struct Entry {
    const char *symbol;
    bool resolved;
  };
  CudaDriver &d = *driver;
  const Entry entries[] = {
      {"cuInit", resolve(handle, "cuInit", d.init)},
      {"cuDeviceGetCount",
       resolve(handle, "cuDeviceGetCount", d.deviceGetCount)},
      {"cuDeviceGet", resolve(handle, "cuDeviceGet", d.deviceGet)},
      {"cuDeviceGetAttribute",
       resolve(handle, "cuDeviceGetAttribute", d.deviceGetAttribute)},
      {"cuDeviceGetName", resolve(handle, "cuDeviceGetName", d.deviceGetName)},
      {"cuDeviceTotalMem_v2",
       resolve(handle, "cuDeviceTotalMem_v2", d.deviceTotalMem)},
      {"cuDevicePrimaryCtxRetain",
       resolve(handle, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain)},
      {"cuDevicePrimaryCtxRelease_v2",
       resolve(handle, "cuDevicePrimaryCtxRelease_v2", d.primaryCtxRelease)},
      {"cuCtxSetCurrent", resolve(handle, "cuCtxSetCurrent", d.ctxSetCurrent)},
      {"cuStreamCreate", resolve(handle, "cuStreamCreate", d.streamCreate)},
      {"cuStreamDestroy_v2",
       resolve(handle, "cuStreamDestroy_v2", d.streamDestroy)},
      {"cuStreamSynchronize",
       resolve(handle, "cuStreamSynchronize", d.streamSynchronize)},
      {"cuModuleLoadData",
       resolve(handle, "cuModuleLoadData", d.moduleLoadData)},
      {"cuModuleUnload", resolve(handle, "cuModuleUnload", d.moduleUnload)},
      {"cuModuleGetFunction",
       resolve(handle, "cuModuleGetFunction", d.moduleGetFunction)},
      {"cuLaunchKernel", resolve(handle, "cuLaunchKernel", d.launchKernel)},
      {"cuMemAllocManaged",
       resolve(handle, "cuMemAllocManaged", d.memAllocManaged)},
      {"cuMemFree_v2", resolve(handle, "cuMemFree_v2", d.memFree)},
      {"cuMemGetInfo_v2", resolve(handle, "cuMemGetInfo_v2", d.memGetInfo)},
      {"cuMemsetD8Async", resolve(handle, "cuMemsetD8Async", d.memsetD8Async)},
      {"cuGetErrorName", resolve(handle, "cuGetErrorName", d.getErrorName)},
  };
  for (const Entry &entry : entries)
    if (!entry.resolved) {
      // Not a driver, and none of its code has run: unload it.
      ::dlclose(handle);
      return Error(library + ": no CUDA driver entry point '" + entry.symbol +
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
