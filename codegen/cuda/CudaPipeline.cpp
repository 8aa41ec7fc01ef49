//===- CudaPipeline.cpp - deepseek to kernels and host code for CUDA ------===//
//
// Part of Jikji. Each step carries the reason it is there. This first
// pipeline is the correct one: one thread per element of each linalg op's
// parallel space, reductions sequential in the thread; tensor cores only
// for bf16 weight products and on request; a decode step's latent
// attention is flash-decoding, a fixed number of kernels split over the
// cache length (LatentFlashDecoding.cpp); shared-memory tiles and wgmma
// come with the performance work.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/CudaPipeline.h"

#include "codegen/cpu/CpuPipeline.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

bool jikji::isSupportedGpuArch(llvm::StringRef gpuArch) {
  return gpuArch == "sm_80" || gpuArch == "sm_90";
}

void jikji::addCudaLaunchPasses(OpPassManager &pm,
                                const CudaOptions &options) {
  // As on the CPU: no bufferization ops and no memref.copy (which would
  // call MLIR's runtime library) remain; copies become linalg ops, and so
  // kernels like everything else.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createConvertMemRefCopyToLinalgPass());
  // Weight products as tensor-core kernels, before the generic mapping
  // takes every linalg op.
  if (options.tensorCores) {
    LowerProductsToMmaPassOptions mma;
    mma.tiles = options.tiledProducts;
    pm.addNestedPass<func::FuncOp>(createLowerProductsToMmaPass(mma));
  }
  // Each linalg op becomes an scf.parallel over its parallel dimensions
  // with its reductions as scf.for inside: the unit a kernel is made of.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // ... whose reductions then sum in registers rather than in memory.
  pm.addNestedPass<func::FuncOp>(createAccumulateInRegistersPass());
  // Blocks and threads; the grid follows the runtime token count. No
  // canonicalization until the launches exist: it would merge a block loop
  // with the thread loop it holds and drop their mapping.
  pm.addNestedPass<func::FuncOp>(createMapParallelLoopsToGpuPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addNestedPass<func::FuncOp>(createCheckParallelLoopsMappedPass());
  // Now safe: fold the tiling arithmetic, so that what a kernel needs is
  // constants it can recompute rather than arguments.
  pm.addPass(createCanonicalizerPass());
  // Constant tables (RoPE frequencies) must live in device memory.
  pm.addNestedPass<func::FuncOp>(createSinkGlobalsIntoLaunchesPass());
  // Constants and index arithmetic used by a kernel are recomputed inside
  // it rather than passed as arguments.
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
}

void jikji::addCudaLinalgPasses(OpPassManager &pm) {
  // Each op's name rides on its location through the lowering, to name
  // the kernels made from it.
  pm.addPass(createMarkOpLocationsPass());
  addPortableLinalgPasses(pm);
}

void jikji::addCudaGpuPasses(OpPassManager &pm, const CudaOptions &options) {
  addCudaLaunchPasses(pm, options);
  pm.addPass(createNameKernelsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // One image for the artifact, loaded once by the runtime.
  pm.addPass(createMergeGpuModulesPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The deallocation bookkeeping's arrays on the host's stack, where
  // filling them needs no wait.
  pm.addPass(createHostArraysOnStackPass());
  // Launches return at once; the host waits for the kernels only where it
  // touches memory itself.
  pm.addPass(createPlaceGpuSynchronizationsPass());
}

void jikji::addCudaEmulationPasses(OpPassManager &pm,
                                   const CudaOptions &options) {
  addCudaLaunchPasses(pm, options);
  pm.addNestedPass<func::FuncOp>(createEmulateGpuLaunchesPass());
  pm.addPass(createCanonicalizerPass());
  // The host code, kernels included, as the CPU pipeline compiles it; its
  // linalg and OpenMP steps find nothing left to do in the kernels' loops.
  addCpuLlvmPasses(pm);
}

void jikji::addCudaNvvmPasses(OpPassManager &pm, const CudaOptions &options) {
  // Host and kernels alike: structured control flow and views become
  // branches and descriptor arithmetic.
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // The NVPTX target of the kernels; PTX ISA 8.0 is what ptxas of CUDA 12+
  // accepts for both sm_80 and sm_90 and what later tensor-core
  // instructions (wgmma) need.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuToNvvmPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  // Host code, as on the CPU, except that heap buffers come from the
  // runtime (device memory): the generic allocation functions are
  // redirected to its ABI below.
  addHostLlvmConversionPasses(pm, /*genericAllocationFunctions=*/true);
  // Kernel arguments: memref descriptors expanded into scalars.
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Launches and allocations through the runtime's table.
  pm.addPass(createLowerGpuHostCallsPass());
  pm.addPass(createCanonicalizerPass());
}

void jikji::addCudaBinaryPasses(OpPassManager &pm) {
  // PTX text only ("isa"): the artifact writer runs ptxas itself, so that
  // the architecture, the flags and the error message are Jikji's.
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void jikji::buildLowerToCudaPipeline(OpPassManager &pm,
                                     const CudaOptions &options,
                                     CudaPhase phase) {
  addCudaLinalgPasses(pm);
  addCpuBufferizePasses(pm);
  addCudaGpuPasses(pm, options);
  if (phase == CudaPhase::Gpu)
    return;
  addCudaNvvmPasses(pm, options);
  if (phase == CudaPhase::Nvvm)
    return;
  addCudaBinaryPasses(pm);
}

void jikji::registerCudaDialects(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

namespace {
struct LowerToCudaOptions : public PassPipelineOptions<LowerToCudaOptions> {
  Option<std::string> gpuArch{*this, "gpu-arch",
                              llvm::cl::desc("sm_80 or sm_90"),
                              llvm::cl::init("sm_90")};
  Option<std::string> phase{
      *this, "phase",
      llvm::cl::desc("Stop after 'gpu', 'nvvm' or 'binary' (the default)"),
      llvm::cl::init("binary")};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Weight products on tensor cores (bf16 activations)"),
      llvm::cl::init(false)};
};
} // namespace

namespace {
struct GpuArchOptions : public PassPipelineOptions<GpuArchOptions> {
  Option<std::string> gpuArch{*this, "gpu-arch",
                              llvm::cl::desc("sm_80 or sm_90"),
                              llvm::cl::init("sm_90")};
};

/// Adds what `build` adds for `gpuArch`, or reports an unsupported one.
LogicalResult
withGpuArch(StringRef text,
            function_ref<LogicalResult(const Twine &)> errorHandler,
            function_ref<void(const jikji::CudaOptions &)> build) {
  GpuArchOptions options;
  if (failed(options.parseFromString(text)))
    return failure();
  if (!jikji::isSupportedGpuArch(options.gpuArch))
    return errorHandler("gpu-arch must be sm_80 or sm_90, found '" +
                        options.gpuArch + "'");
  jikji::CudaOptions cuda;
  cuda.gpuArch = options.gpuArch;
  build(cuda);
  return success();
}
} // namespace

void jikji::registerCudaPipelines() {
  registerJikjiCudaPasses();
  // The upstream steps of the pipeline, so that tests can run them one by
  // one around Jikji's own.
  registerConvertLinalgToParallelLoopsPass();
  registerPass([] { return createConvertParallelLoopToGpuPass(); });
  registerGpuKernelOutliningPass();
  registerGpuNVVMAttachTarget();
  registerGpuModuleToBinaryPass();
  registerPass([] { return createGpuToLLVMConversionPass(); });
  // registerPassPipeline rather than PassPipelineRegistration: a bad
  // option value is reported as an error instead of being built.
  registerPassPipeline(
      "jikji-lower-to-cuda",
      "Lower the deepseek graph to NVVM kernels (PTX) and LLVM host code",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        LowerToCudaOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (!isSupportedGpuArch(options.gpuArch))
          return errorHandler("gpu-arch must be sm_80 or sm_90, found '" +
                              options.gpuArch + "'");
        std::optional<CudaPhase> phase =
            llvm::StringSwitch<std::optional<CudaPhase>>(options.phase)
                .Case("gpu", CudaPhase::Gpu)
                .Case("nvvm", CudaPhase::Nvvm)
                .Case("binary", CudaPhase::Binary)
                .Default(std::nullopt);
        if (!phase)
          return errorHandler("phase must be gpu, nvvm or binary, found '" +
                              options.phase + "'");
        CudaOptions cuda;
        cuda.gpuArch = options.gpuArch;
        cuda.tensorCores = options.tensorCores;
        buildLowerToCudaPipeline(pm, cuda, *phase);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(LowerToCudaOptions());
      });
  // The two halves after bufferization, for tests that start from memrefs.
  PassPipelineRegistration<>(
      "jikji-cuda-outline-kernels",
      "Map bufferized linalg ops to GPU kernels in one gpu.module",
      [](OpPassManager &pm) { addCudaGpuPasses(pm, CudaOptions()); });
  registerPassPipeline(
      "jikji-cuda-lower-to-ptx",
      "Lower outlined kernels to PTX (a gpu.binary) and host code to LLVM",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        return withGpuArch(text, errorHandler, [&](const CudaOptions &cuda) {
          addCudaNvvmPasses(pm, cuda);
          addCudaBinaryPasses(pm);
        });
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(GpuArchOptions());
      });
}
