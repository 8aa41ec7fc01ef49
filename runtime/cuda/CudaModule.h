//===- CudaModule.h - A CUDA artifact's kernels, loaded ---------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A CUDA artifact embeds its kernels twice (docs/runtime-abi.md): a cubin
// assembled for the architecture `jikji_cuda_arch` names, and the PTX it
// came from. The module is the cubin when the GPU has exactly that compute
// capability, else the PTX, which the driver compiles for the GPU at hand.
// Kernels are looked up by name on first launch and kept: the artifact
// passes the same name pointer for the same kernel each time.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDAMODULE_H
#define JIKJI_RUNTIME_CUDA_CUDAMODULE_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Artifact.h"
#include "runtime/cuda/CudaDevice.h"

#include <memory>
#include <string>
#include <unordered_map>

namespace jikji::runtime::cuda {

/// The exports of a CUDA artifact besides the manifest and entry point.
constexpr const char *kCudaArchSymbol = "jikji_cuda_arch";
constexpr const char *kCudaPtxSymbol = "jikji_cuda_ptx";
constexpr const char *kCudaCubinSymbol = "jikji_cuda_cubin";
constexpr const char *kCudaBindSymbol = "jikji_cuda_bind";

/// A loaded module. Not copyable; unloaded by the destructor, before the
/// device it holds.
class CudaModule {
public:
  /// Loads `artifact`'s image on `device`. Refuses, naming the artifact, an
  /// artifact without jikji_cuda_arch, jikji_cuda_ptx or jikji_cuda_cubin,
  /// an architecture that is not "sm_<digits>" or an empty image; and a
  /// driver that refuses the image ("cuModuleLoadData (cubin for sm_90)
  /// failed: CUDA_ERROR_INVALID_IMAGE").
  static Result<std::unique_ptr<CudaModule>>
  load(const std::shared_ptr<CudaDevice> &device, const Artifact &artifact);

  CudaModule(const CudaModule &) = delete;
  CudaModule &operator=(const CudaModule &) = delete;
  ~CudaModule();

  /// The architecture the artifact was compiled for ("sm_90").
  const std::string &artifactArch() const { return artifactArch_; }
  /// True when the cubin was loaded, false for the PTX.
  bool loadedCubin() const { return loadedCubin_; }
  /// "cubin for sm_90" or "PTX for sm_90, compiled by the driver for
  /// sm_80".
  std::string describeImage() const;

  /// The kernel `name`, cached by the pointer's address; or
  /// "cuModuleGetFunction(<name>) failed: <error>". The device's context
  /// must be current.
  Result<CUfunction> function(const char *name);

private:
  explicit CudaModule(std::shared_ptr<CudaDevice> device)
      : device_(std::move(device)) {}

  std::shared_ptr<CudaDevice> device_;
  CUmodule module_ = nullptr;
  std::string artifactArch_;
  bool loadedCubin_ = false;
  std::unordered_map<const char *, CUfunction> functions_;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDAMODULE_H
