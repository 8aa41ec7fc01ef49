//===- CudaDevice.cpp - One GPU: its context and stream -------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaDevice.h"

using namespace jikji;
using namespace jikji::runtime::cuda;

/// Reads `ordinal`'s name, compute capability and memory into `info`.
static Result<bool> queryDevice(const CudaDriver &driver, int ordinal,
                                CUdevice &device, CudaDeviceInfo &info) {
  Result<bool> ok =
      driver.check(driver.deviceGet(&device, ordinal),
                   "cuDeviceGet(" + std::to_string(ordinal) + ")");
  if (!ok)
    return ok;
  info.ordinal = ordinal;
  char name[256] = {};
  ok = driver.check(driver.deviceGetName(name, sizeof(name) - 1, device),
                    "cuDeviceGetName");
  if (!ok)
    return ok;
  info.name = name;
  ok = driver.check(
      driver.deviceGetAttribute(
          &info.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
      "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
  if (!ok)
    return ok;
  ok = driver.check(
      driver.deviceGetAttribute(
          &info.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
      "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
  if (!ok)
    return ok;
  size_t total = 0;
  ok = driver.check(driver.deviceTotalMem(&total, device), "cuDeviceTotalMem");
  if (!ok)
    return ok;
  info.totalBytes = total;
  return true;
}

/// The number of GPUs, or the failing call.
static Result<int> countDevices(const CudaDriver &driver) {
  int count = 0;
  Result<bool> ok =
      driver.check(driver.deviceGetCount(&count), "cuDeviceGetCount");
  if (!ok)
    return Error(ok.error());
  return count;
}

Result<std::vector<CudaDeviceInfo>> jikji::runtime::cuda::listCudaDevices() {
  Result<std::shared_ptr<CudaDriver>> driver = CudaDriver::load();
  if (!driver)
    return Error(driver.error());
  Result<int> count = countDevices(**driver);
  if (!count)
    return Error(count.error());
  std::vector<CudaDeviceInfo> devices;
  for (int ordinal = 0; ordinal < *count; ++ordinal) {
    CUdevice device = 0;
    CudaDeviceInfo info;
    Result<bool> queried = queryDevice(**driver, ordinal, device, info);
    if (!queried)
      return Error(queried.error());
    devices.push_back(std::move(info));
  }
  return devices;
}

Result<std::shared_ptr<CudaDevice>> CudaDevice::open(int ordinal) {
  Result<std::shared_ptr<CudaDriver>> loaded = CudaDriver::load();
  if (!loaded)
    return Error(loaded.error());
  // From here the destructor releases whatever has been set up, so each
  // failure below just returns.
  std::shared_ptr<CudaDevice> device(new CudaDevice(std::move(*loaded)));
  const CudaDriver &driver = *device->driver_;
  Result<int> count = countDevices(driver);
  if (!count)
    return Error(count.error());
  if (ordinal < 0 || ordinal >= *count)
    return Error(*count == 0
                     ? "no CUDA GPU: the driver (" + driver.library() +
                           ") sees none"
                     : "CUDA GPU " + std::to_string(ordinal) +
                           ": the driver sees " + std::to_string(*count));
  Result<bool> ok =
      queryDevice(driver, ordinal, device->device_, device->info_);
  if (!ok)
    return Error(ok.error());
  int managed = 0;
  ok = driver.check(
      driver.deviceGetAttribute(&managed, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY,
                                device->device_),
      "cuDeviceGetAttribute(MANAGED_MEMORY)");
  if (!ok)
    return Error(ok.error());
  if (!managed)
    return Error("CUDA GPU " + std::to_string(ordinal) + " (" +
                 device->info_.name +
                 ") has no managed memory, which CUDA artifacts need");

  CUcontext context = nullptr;
  ok = driver.check(driver.primaryCtxRetain(&context, device->device_),
                    "cuDevicePrimaryCtxRetain");
  if (!ok)
    return Error(ok.error());
  device->context_ = context;
  ok = device->makeCurrent();
  if (!ok)
    return Error(ok.error());
  // Non-blocking: the runtime's work does not wait for, nor hold up, work
  // other code in the process puts on the legacy default stream.
  CUstream stream = nullptr;
  ok = driver.check(driver.streamCreate(&stream, CU_STREAM_NON_BLOCKING),
                    "cuStreamCreate");
  if (!ok)
    return Error(ok.error());
  device->stream_ = stream;
  return device;
}

CudaDevice::~CudaDevice() {
  // Teardown cannot report; each step runs whatever the previous one did,
  // so that a failure (a context lost to an earlier fault) leaks nothing
  // the driver would still let go of.
  if (context_)
    (void)driver_->ctxSetCurrent(context_);
  if (stream_)
    (void)driver_->streamDestroy(stream_);
  if (context_) {
    (void)driver_->ctxSetCurrent(nullptr);
    (void)driver_->primaryCtxRelease(device_);
  }
}

Result<bool> CudaDevice::makeCurrent() const {
  return driver_->check(driver_->ctxSetCurrent(context_), "cuCtxSetCurrent");
}

Result<bool> CudaDevice::synchronize() const {
  return driver_->check(driver_->streamSynchronize(stream_),
                        "cuStreamSynchronize");
}
