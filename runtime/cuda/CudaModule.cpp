//===- CudaModule.cpp - A CUDA artifact's kernels, loaded -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaModule.h"

#include "frontends/huggingface/Printable.h"

#include <cstdint>
#include <string_view>

using namespace jikji;
using namespace jikji::runtime;
using namespace jikji::runtime::cuda;

namespace {

/// The signature of jikji_cuda_arch, jikji_cuda_ptx and jikji_cuda_cubin.
using EmbeddedFunction = const void *(*)(uint64_t *size);

/// One embedded image part: its address and size (without the NUL).
struct Embedded {
  const void *data = nullptr;
  uint64_t size = 0;
};

Result<Embedded> findEmbedded(const Artifact &artifact, const char *symbol) {
  auto function = reinterpret_cast<EmbeddedFunction>(artifact.symbol(symbol));
  if (!function)
    return Error(artifact.path() + ": a 'cuda' artifact must export " + symbol +
                 "; the library has no such symbol");
  Embedded embedded;
  embedded.data = function(&embedded.size);
  if (!embedded.data || embedded.size == 0)
    return Error(artifact.path() + ": " + symbol +
                 " returned an empty image; expected its bytes");
  return embedded;
}

/// "sm_90" -> 90; -1 when `arch` is not "sm_" followed by 2 or 3 digits.
int archNumber(std::string_view arch) {
  if (arch.size() < 5 || arch.size() > 6 || arch.substr(0, 3) != "sm_")
    return -1;
  int number = 0;
  for (char c : arch.substr(3)) {
    if (c < '0' || c > '9')
      return -1;
    number = number * 10 + (c - '0');
  }
  return number;
}

} // namespace

Result<std::unique_ptr<CudaModule>>
CudaModule::load(const std::shared_ptr<CudaDevice> &device,
                 const Artifact &artifact) {
  Result<Embedded> arch = findEmbedded(artifact, kCudaArchSymbol);
  if (!arch)
    return Error(arch.error());
  Result<Embedded> ptx = findEmbedded(artifact, kCudaPtxSymbol);
  if (!ptx)
    return Error(ptx.error());
  Result<Embedded> cubin = findEmbedded(artifact, kCudaCubinSymbol);
  if (!cubin)
    return Error(cubin.error());
  std::string archName(static_cast<const char *>(arch->data),
                       static_cast<size_t>(arch->size));
  int archNumberValue = archNumber(archName);
  if (archNumberValue < 0)
    return Error(artifact.path() + ": " + kCudaArchSymbol +
                 ": expected \"sm_<compute capability>\" (\"sm_90\"), "
                 "found \"" +
                 hf::printable(archName) + "\"");

  std::unique_ptr<CudaModule> module(new CudaModule(device));
  module->artifactArch_ = archName;
  const CudaDeviceInfo &info = device->info();
  // A cubin runs only on its own compute capability (within a major
  // version the driver may accept it, but the artifact's cubin was
  // assembled for one exact target, so the PTX is the safer path).
  module->loadedCubin_ = archNumberValue == info.major * 10 + info.minor;
  Result<bool> current = device->makeCurrent();
  if (!current)
    return Error(current.error());
  // cuModuleLoadData reads a PTX image up to its NUL, which the ABI
  // guarantees after the counted bytes.
  const void *image = module->loadedCubin_ ? cubin->data : ptx->data;
  CUmodule loaded = nullptr;
  Result<bool> ok = device->driver().check(
      device->driver().moduleLoadData(&loaded, image),
      "cuModuleLoadData (" + module->describeImage() + ")");
  if (!ok)
    return Error(artifact.path() + ": " + ok.error());
  module->module_ = loaded;
  return module;
}

CudaModule::~CudaModule() {
  if (!module_)
    return;
  (void)device_->makeCurrent();
  (void)device_->driver().moduleUnload(module_);
}

std::string CudaModule::describeImage() const {
  if (loadedCubin_)
    return "cubin for " + artifactArch_;
  return "PTX for " + artifactArch_ + ", compiled by the driver for " +
         device_->info().arch();
}

Result<CUfunction> CudaModule::function(const char *name) {
  auto found = functions_.find(name);
  if (found != functions_.end())
    return found->second;
  CUfunction function = nullptr;
  Result<bool> ok = device_->driver().check(
      device_->driver().moduleGetFunction(&function, module_, name),
      "cuModuleGetFunction(" + hf::printable(name) + ")");
  if (!ok)
    return Error(ok.error());
  functions_.emplace(name, function);
  return function;
}
