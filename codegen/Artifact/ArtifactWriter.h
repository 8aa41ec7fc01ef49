//===- ArtifactWriter.h - The compiled model as a shared library -*- C++
//-*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_ARTIFACT_ARTIFACTWRITER_H
#define JIKJI_CODEGEN_ARTIFACT_ARTIFACTWRITER_H

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace jikji {

/// The manifest of a module that went through jikji-create-entry-point:
/// its parameter table (`jikji.parameters`), its KV-cache layout (the
/// `deepseek.kv_cache` arguments of @forward), and the config's facts.
Result<runtime::Manifest> buildManifest(mlir::ModuleOp module,
                                        const hf::ModelConfig &config,
                                        const std::string &target);

/// Translates `module` (LLVM dialect) to LLVM IR, optimizes it for the CPU
/// `cpu` (createCpuTargetMachine: kHostCpu or an LLVM CPU name), embeds
/// `manifest` behind `jikji_manifest()` with its `cpu` set to what the code
/// needs (cpuRequirements), emits an object in process and links it into the
/// shared library `outputPath` with the system's C compiler driver. Only
/// `jikji_*` symbols are exported.
Result<bool> writeCpuArtifact(mlir::ModuleOp module,
                              const runtime::Manifest &manifest,
                              const std::string &cpu,
                              const std::string &outputPath);

/// What the CUDA artifact carries besides host code (docs/runtime-abi.md).
struct CudaImage {
  /// The architecture the cubin is for: sm_80 or sm_90.
  std::string gpuArch;
  /// The kernels as PTX, for a GPU of another architecture (the driver
  /// compiles it at load).
  std::string ptx;
  /// The kernels assembled by ptxas for `gpuArch`.
  std::string cubin;
};

/// As writeCpuArtifact (`cpu` is the host code's), for host code that
/// launches kernels through the runtime; the artifact also exports
/// `jikji_cuda_arch`, `jikji_cuda_ptx` and `jikji_cuda_cubin`, each
/// `const void *(uint64_t *size)`.
Result<bool> writeCudaArtifact(mlir::ModuleOp module,
                               const runtime::Manifest &manifest,
                               const CudaImage &image, const std::string &cpu,
                               const std::string &outputPath);

} // namespace jikji

#endif // JIKJI_CODEGEN_ARTIFACT_ARTIFACTWRITER_H
