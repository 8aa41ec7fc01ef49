//===- InitAll.h - Register Jikji's dialects and passes ---------*- C++ -*-===//
//
// Part of Jikji. The one place that says what the tools know about, so that
// jikji-opt and jikji-compile accept the same IR and run the same passes.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_INITALL_H
#define JIKJI_TOOLS_INITALL_H

#include "codegen/Artifact/Passes.h"
#include "codegen/Conversion/Passes.h"
#include "codegen/cpu/CpuPipeline.h"
#include "codegen/cuda/CudaPipeline.h"
#include "dialects/DeepSeek/IR/DeepSeekDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/FusionPipeline.h"
#include "passes/Passes.h"

namespace jikji {

/// Registers every dialect a Jikji module may contain (affine: the GPU
/// mapping leaves affine.apply until the NVVM phase lowers it).
inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<deepseek::DeepSeekDialect, mlir::affine::AffineDialect,
                  mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::memref::MemRefDialect, mlir::LLVM::LLVMDialect,
                  mlir::omp::OpenMPDialect, mlir::vector::VectorDialect>();
  // What one-shot bufferization needs to know about upstream ops.
  mlir::arith::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  mlir::linalg::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::scf::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::tensor::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::vector::registerBufferizableOpInterfaceExternalModels(registry);
  registerCudaDialects(registry);
}

/// Registers Jikji's passes and pipelines and the upstream passes that its
/// pipelines use (canonicalize, cse, inline, ...).
inline void registerAllPasses() {
  mlir::registerTransformsPasses();
  registerJikjiGraphPasses();
  registerFusionPipeline();
  registerJikjiConversionPasses();
  registerJikjiArtifactPasses();
  registerCpuPipelines();
  registerCudaPipelines();
}

} // namespace jikji

#endif // JIKJI_TOOLS_INITALL_H
