//===- CudaPipeline.h - deepseek to kernels and host code for CUDA -*- C++ -*-//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_CUDAPIPELINE_H
#define JIKJI_CODEGEN_CUDA_CUDAPIPELINE_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace jikji {

/// The phases of the CUDA pipeline after bufferization (which it shares
/// with the CPU pipeline), in order; jikji-compile stops after any of them
/// with `--emit=gpu|nvvm|ptx`.
enum class CudaPhase {
  /// Kernels outlined into one gpu.module, launched from the host.
  Gpu,
  /// Kernels in the NVVM/LLVM dialects, host code in the LLVM dialect
  /// calling the runtime's launch ABI.
  Nvvm,
  /// The gpu.module compiled to PTX by LLVM's NVPTX backend (a gpu.binary).
  Binary,
};

struct CudaOptions {
  /// The GPU architecture the PTX targets: sm_80 or sm_90.
  std::string gpuArch = "sm_90";
  /// Run the weight products on tensor cores (mma.sync with bf16 operands:
  /// the activations are rounded to bf16, so the numbers change).
  bool tensorCores = false;
  /// With tensor cores: steps of 64 rows or more run the products that fit
  /// in 64 x 64 tiles through workgroup memory (MmaTiledKernel.cpp).
  bool tiledProducts = true;
};

/// Whether `gpuArch` is one the pipeline supports.
bool isSupportedGpuArch(llvm::StringRef gpuArch);

/// DeepSeek ops -> linalg on tensors for the GPU: the portable lowering,
/// with each op's name marked on its location (jikji-mark-op-locations) so
/// that the kernels made from it are named after it.
void addCudaLinalgPasses(mlir::OpPassManager &pm);
/// bufferized memrefs -> gpu.launch ops in the host functions, before
/// outlining: the kernels as the GPU will run them.
void addCudaLaunchPasses(mlir::OpPassManager &pm, const CudaOptions &options);
/// bufferized memrefs -> kernels outlined and launched (CudaPhase::Gpu):
/// the launch passes, then outlining into one gpu.module.
void addCudaGpuPasses(mlir::OpPassManager &pm, const CudaOptions &options);
/// bufferized memrefs -> the LLVM dialect for the CPU, with every launch
/// of addCudaLaunchPasses run as loops on the host
/// (jikji-emulate-gpu-launches): the GPU mapping, checkable without a GPU,
/// the tensor-core kernels of `options` included.
void addCudaEmulationPasses(mlir::OpPassManager &pm,
                            const CudaOptions &options);
/// -> NVVM kernels and LLVM host code (CudaPhase::Nvvm).
void addCudaNvvmPasses(mlir::OpPassManager &pm, const CudaOptions &options);
/// -> PTX inside a gpu.binary (CudaPhase::Binary).
void addCudaBinaryPasses(mlir::OpPassManager &pm);

/// The whole pipeline from the deepseek graph to `phase`: the CPU
/// pipeline's linalg and bufferization steps, then the steps above.
void buildLowerToCudaPipeline(mlir::OpPassManager &pm,
                              const CudaOptions &options,
                              CudaPhase phase = CudaPhase::Binary);

/// Registers the dialects, the NVVM target and the LLVM IR translations
/// the CUDA pipeline needs.
void registerCudaDialects(mlir::DialectRegistry &registry);

/// Registers Jikji's CUDA passes and `jikji-lower-to-cuda` with jikji-opt.
void registerCudaPipelines();

} // namespace jikji

#endif // JIKJI_CODEGEN_CUDA_CUDAPIPELINE_H
