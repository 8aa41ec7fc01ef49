//===- ConvertGpuToNvvm.cpp - Kernels to NVVM without libdevice -----------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "jikji-convert-gpu-to-nvvm"

namespace jikji {
#define GEN_PASS_DEF_CONVERTGPUTONVVMPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
struct ConvertGpuToNvvmPass final
    : jikji::impl::ConvertGpuToNvvmPassBase<ConvertGpuToNvvmPass> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    MLIRContext *context = &getContext();

    // exp, sin, cos, tanh, log, erf, ... as f32 polynomials (f16 and bf16
    // widened to f32 first): only arith and fma/floor/abs remain.
    RewritePatternSet approximations(context);
    auto everyFunction = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(approximations, everyFunction);
    populateMathPolynomialApproximationPatterns(approximations, everyFunction);
    if (failed(applyPatternsGreedily(module, std::move(approximations))))
      return signalPassFailure();

    LowerToLLVMOptions options(context);
    LLVMTypeConverter converter(context, options);
    configureGpuToNVVMTypeConverter(converter);
    RewritePatternSet patterns(context);
    populateGpuToNVVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    populateFuncToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    index::populateIndexToLLVMConversionPatterns(converter, patterns);
    populateMathToLLVMConversionPatterns(converter, patterns);

    LLVMConversionTarget target(*context);
    configureGpuToNVVMConversionLegality(target);
    // The NVPTX backend emits these as one instruction each; upstream marks
    // them illegal only to send them to libdevice.
    target.addLegalOp<LLVM::FAbsOp, LLVM::FCeilOp, LLVM::FFloorOp, LLVM::FMAOp,
                      LLVM::FMulAddOp, LLVM::SqrtOp, LLVM::RoundEvenOp>();
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    // Whatever math is left has no instruction and no approximation; some
    // upstream GPU patterns (powf, ...) still call libdevice directly.
    WalkResult left = module.walk([](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect())) {
        op->emitOpError("has no lowering for NVIDIA GPUs without libdevice");
        return WalkResult::interrupt();
      }
      auto call = dyn_cast<LLVM::CallOp>(op);
      if (!call || !call.getCallee())
        return WalkResult::advance();
      auto callee = SymbolTable::lookupNearestSymbolFrom<LLVM::LLVMFuncOp>(
          op, call.getCalleeAttr());
      if (callee && callee.isExternal()) {
        op->emitOpError("calls '")
            << *call.getCallee()
            << "', which kernels cannot link (no libdevice): this math "
               "function has no lowering for NVIDIA GPUs yet";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
