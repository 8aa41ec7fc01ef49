//===- CpuPipeline.cpp - deepseek to the LLVM dialect for the CPU ---------===//
//
// Part of Jikji. Each step carries the reason it is there. Loops, not yet
// tiled or vectorized by MLIR (LLVM vectorizes the inner loops); the
// products over weights run on threads through OpenMP.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/CpuPipeline.h"

#include "codegen/Artifact/Passes.h"
#include "codegen/Conversion/Passes.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace jikji {
namespace {
void addLinalgPasses(OpPassManager &pm, bool cpuKernels, bool bf16Dot,
                     bool x86Vbmi) {
  // deepseek compute ops become linalg/tensor/scf: what MLIR can bufferize.
  ConvertDeepSeekToLinalgPassOptions lowering;
  lowering.cpuKernels = cpuKernels;
  lowering.bf16Dot = bf16Dot;
  lowering.x86Vbmi = cpuKernels && x86Vbmi;
  pm.addPass(createConvertDeepSeekToLinalgPass(lowering));
  // The C entry point, and weights read from the runtime's table.
  pm.addPass(createCreateEntryPointPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}
} // namespace
} // namespace jikji

void jikji::addCpuLinalgPasses(OpPassManager &pm,
                               const CpuPipelineOptions &options) {
  addLinalgPasses(pm, /*cpuKernels=*/true, options.bf16Dot, options.x86Vbmi);
}

void jikji::addPortableLinalgPasses(OpPassManager &pm) {
  addLinalgPasses(pm, /*cpuKernels=*/false, /*bf16Dot=*/false,
                  /*x86Vbmi=*/false);
}

void jikji::addCpuBufferizePasses(OpPassManager &pm) {
  // Tensors to buffers across calls. Layer functions receive slices of the
  // stacked caches, so their memrefs take dynamic offsets and outer strides
  // (identity layouts would copy a layer's cache on every call); rows stay
  // contiguous, which vector loads and LLVM's vectorizer rely on.
  pm.addPass(createBufferizePass());
  // @forward's loops over layers yield their caches unchanged once in
  // place; folding those loop results back to @forward's arguments lets
  // the next step see that @forward returns its caches as it got them.
  pm.addPass(createCanonicalizerPass());
  // Layer functions update their cache slices in place and return them;
  // dropping those results turns @forward's copy back into the stacked
  // cache into a self-copy that canonicalization removes. Without this,
  // every step copied every layer's whole cache (docs/benchmarks.md).
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  pm.addPass(createCanonicalizerPass());
  // Temporaries are freed where their last use ends, so a decode loop runs
  // in constant memory.
  bufferization::buildBufferDeallocationPipeline(pm);
  // ... which leaves scf.forall bodies alone.
  pm.addNestedPass<func::FuncOp>(createFreeParallelTemporariesPass());
  pm.addPass(createCanonicalizerPass());
}

void jikji::addHostLlvmConversionPasses(OpPassManager &pm,
                                        bool genericAllocationFunctions) {
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = genericAllocationFunctions;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  // exp, rsqrt, ... as LLVM intrinsics; what LLVM has no intrinsic for
  // (none today) would go to libm.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
}

void jikji::addCpuLlvmPasses(OpPassManager &pm) {
  // Clones left by deallocation become allocations and copies, and copies
  // become loops: the artifact may not call MLIR's runtime library.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createConvertMemRefCopyToLinalgPass());
  // exp as arithmetic, so that the loops holding it (SwiGLU epilogues,
  // softmaxes) vectorize rather than call expf one element at a time.
  pm.addPass(createApproximateExpPass());
  // Every scf.forall (the parts of a split attention, a SwiGLU's column
  // tiles, the feature blocks of a blocked product) becomes a parallel loop.
  pm.addPass(createForallToParallelLoopPass());
  // Loops; the products over weights share their parallel loops among
  // threads (OpenMP, with the thread count the runtime sets).
  pm.addNestedPass<func::FuncOp>(createLinalgToThreadedLoopsPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  // scf-to-openmp leaves alloca scopes that only verify once folded.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSetOpenMPThreadCountPass());
  // Then everything to the LLVM dialect.
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Subviews and reshapes become plain descriptor arithmetic.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // The register-blocked products' vectors: transfers become loads and
  // stores (rows are contiguous), reductions may reassociate, and the bf16
  // products' x86vector.avx512.dot becomes its LLVM intrinsic.
  ConvertVectorToLLVMPassOptions vectorOptions;
  vectorOptions.reassociateFPReductions = true;
  vectorOptions.x86Vector = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  addHostLlvmConversionPasses(pm, /*genericAllocationFunctions=*/false);
  pm.addPass(createConvertOpenMPToLLVMPass());
  // The entry point's descriptor casts cancel against the lowered memrefs.
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void jikji::buildLowerToCpuPipeline(OpPassManager &pm, CpuPhase phase,
                                    const CpuPipelineOptions &options) {
  addCpuLinalgPasses(pm, options);
  if (phase == CpuPhase::Linalg)
    return;
  addCpuBufferizePasses(pm);
  if (phase == CpuPhase::Bufferized)
    return;
  addCpuLlvmPasses(pm);
}

namespace {
struct LowerToCpuOptions : public PassPipelineOptions<LowerToCpuOptions> {
  Option<bool> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("Products over BF16 weights multiply BF16-rounded "
                     "activations with vdpbf16ps (needs avx512_bf16)"),
      llvm::cl::init(false)};
  Option<bool> x86Vbmi{
      *this, "x86-vbmi",
      llvm::cl::desc("FP8 one-row products decode through AVX-512 VBMI "
                     "byte-table lookups (needs avx512vbmi)"),
      llvm::cl::init(false)};
};
} // namespace

void jikji::registerCpuPipelines() {
  registerJikjiCpuPasses();
  PassPipelineRegistration<LowerToCpuOptions>(
      "jikji-lower-to-cpu",
      "Lower the deepseek graph to the LLVM dialect for the host CPU",
      [](OpPassManager &pm, const LowerToCpuOptions &options) {
        CpuPipelineOptions cpu;
        cpu.bf16Dot = options.bf16Dot;
        cpu.x86Vbmi = options.x86Vbmi;
        buildLowerToCpuPipeline(pm, CpuPhase::LLVM, cpu);
      });
}
