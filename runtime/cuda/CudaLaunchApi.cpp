//===- CudaLaunchApi.cpp - The functions a CUDA artifact calls ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaLaunchApi.h"

#include "frontends/huggingface/Printable.h"
#include "runtime/cuda/ManagedBuffer.h"

#include <climits>
#include <cstdlib>
#include <utility>

using namespace jikji;
using namespace jikji::runtime::cuda;

CudaLaunchApi::CudaLaunchApi(std::shared_ptr<CudaDevice> device,
                             CudaModule &module)
    : device_(std::move(device)), module_(module) {
  table_.context = this;
  table_.alloc = &CudaLaunchApi::alloc;
  table_.free = &CudaLaunchApi::free;
  table_.launch = &CudaLaunchApi::launch;
  table_.synchronize = &CudaLaunchApi::synchronize;
}

CudaLaunchApi::~CudaLaunchApi() { releaseAll(); }

void CudaLaunchApi::fail(std::string message) {
  if (!error_)
    error_ = std::move(message);
}

void *CudaLaunchApi::hostStandIn(int64_t bytes) {
  void *pointer = std::calloc(static_cast<size_t>(bytes > 0 ? bytes : 1), 1);
  if (pointer)
    hostStandIns_.insert(pointer);
  return pointer;
}

void *CudaLaunchApi::alloc(void *context, int64_t bytes) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  ++self.counts_.allocations;
  if (bytes < 1) {
    self.fail("the artifact asked for " + std::to_string(bytes) +
              " bytes; expected at least 1 (docs/runtime-abi.md)");
    return self.hostStandIn(1);
  }
  if (self.error_)
    return self.hostStandIn(bytes);
  Result<CUdeviceptr> pointer = allocateZeroedManaged(
      *self.device_, static_cast<uint64_t>(bytes), "a buffer of the artifact");
  if (!pointer) {
    self.fail(pointer.error());
    return self.hostStandIn(bytes);
  }
  self.managed_.insert(*pointer);
  return reinterpret_cast<void *>(*pointer);
}

void CudaLaunchApi::free(void *context, void *pointer) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  // An allocation that failed even on the host returned null.
  if (!pointer)
    return;
  if (self.hostStandIns_.erase(pointer)) {
    std::free(pointer);
    return;
  }
  auto address = reinterpret_cast<CUdeviceptr>(pointer);
  if (!self.managed_.erase(address)) {
    // Freeing it would be a double free or worse; leave it and say so.
    self.fail("the artifact freed a buffer the runtime did not allocate "
              "(or freed it twice)");
    return;
  }
  // Freed even after a failure: the step must not leak.
  Result<bool> freed = self.device_->driver().check(
      self.device_->driver().memFree(address), "cuMemFree");
  if (!freed)
    self.fail(freed.error());
}

void CudaLaunchApi::launch(void *context, const char *name, int64_t gridX,
                           int64_t gridY, int64_t gridZ, int64_t blockX,
                           int64_t blockY, int64_t blockZ, int32_t sharedBytes,
                           void **params, int64_t numParams) {
  (void)numParams; // cuLaunchKernel reads the count from the kernel.
  auto &self = *static_cast<CudaLaunchApi *>(context);
  if (self.error_)
    return;
  std::string kernel = name ? hf::printable(name) : "(null)";
  // An empty piece of work (an expert that received no tokens).
  if (gridX == 0) {
    ++self.counts_.skippedEmpty;
    return;
  }
  auto fits = [](int64_t value) { return value >= 1 && value <= UINT_MAX; };
  if (!name || !fits(gridX) || !fits(gridY) || !fits(gridZ) || !fits(blockX) ||
      !fits(blockY) || !fits(blockZ) || sharedBytes < 0) {
    self.fail("launch of kernel " + kernel + ": grid (" +
              std::to_string(gridX) + ", " + std::to_string(gridY) + ", " +
              std::to_string(gridZ) + "), block (" + std::to_string(blockX) +
              ", " + std::to_string(blockY) + ", " + std::to_string(blockZ) +
              "), " + std::to_string(sharedBytes) +
              " shared bytes: expected positive sizes that fit 32 bits");
    return;
  }
  Result<CUfunction> function = self.module_.function(name);
  if (!function) {
    self.fail(function.error());
    return;
  }
  ++self.counts_.launches;
  self.lastKernel_ = name;
  const CudaDriver &driver = self.device_->driver();
  Result<bool> launched = driver.check(
      driver.launchKernel(
          *function, static_cast<unsigned>(gridX), static_cast<unsigned>(gridY),
          static_cast<unsigned>(gridZ), static_cast<unsigned>(blockX),
          static_cast<unsigned>(blockY), static_cast<unsigned>(blockZ),
          static_cast<unsigned>(sharedBytes), self.device_->stream(), params,
          nullptr),
      "cuLaunchKernel(" + kernel + ")");
  if (!launched)
    self.fail(launched.error());
}

void CudaLaunchApi::synchronize(void *context) {
  auto &self = *static_cast<CudaLaunchApi *>(context);
  if (self.error_)
    return;
  const CudaDriver &driver = self.device_->driver();
  // A kernel that faults is reported here, not at its launch.
  std::string call = "cuStreamSynchronize";
  if (self.lastKernel_)
    call += " after kernel " + hf::printable(self.lastKernel_);
  Result<bool> done =
      driver.check(driver.streamSynchronize(self.device_->stream()), call);
  if (!done)
    self.fail(done.error());
}

void CudaLaunchApi::releaseAll() {
  if (!managed_.empty())
    (void)device_->makeCurrent();
  for (CUdeviceptr pointer : managed_)
    (void)device_->driver().memFree(pointer);
  managed_.clear();
  for (void *pointer : hostStandIns_)
    std::free(pointer);
  hostStandIns_.clear();
}

Result<bool> CudaLaunchApi::endStep() {
  // The artifact frees its buffers before returning; after a failure it may
  // not have reached every free.
  releaseAll();
  lastKernel_ = nullptr;
  if (error_)
    return Error(*std::exchange(error_, std::nullopt));
  return true;
}
