//===- DeepSeekToLinalg.cpp - The convert-deepseek-to-linalg pass ---------===//
//
// Part of Jikji. A thin driver over the pattern sets of this folder.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"
#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"
#include "codegen/Conversion/Passes.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Transforms/DialectConversion.h"

#define DEBUG_TYPE "convert-deepseek-to-linalg"

namespace jikji {
#define GEN_PASS_DEF_CONVERTDEEPSEEKTOLINALGPASS
#include "codegen/Conversion/Passes.h.inc"
} // namespace jikji

using namespace mlir;
namespace ds = jikji::deepseek;

void jikji::populateDeepSeekToLinalgPatterns(RewritePatternSet &patterns,
                                             const LoweringOptions &options) {
  populateElementwiseToLinalgPatterns(patterns);
  populateLinearToLinalgPatterns(patterns, options);
  populateAttentionToLinalgPatterns(patterns, options);
  populateLatentAttentionToLinalgPatterns(patterns, options);
  populateSlotLoopPatterns(patterns, options);
  populateMoeToLinalgPatterns(patterns, options);
}

namespace {
struct ConvertDeepSeekToLinalgPass final
    : jikji::impl::ConvertDeepSeekToLinalgPassBase<
          ConvertDeepSeekToLinalgPass> {
  using Base::Base;
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    jikji::lowering::registerByteLookupEffects(registry);
  }
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    ConversionTarget target(*context);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect, vector::VectorDialect,
                           x86vector::X86VectorDialect>();
    target.addIllegalDialect<ds::DeepSeekDialect>();
    // Parameters name checkpoint tensors; the artifact binds them later.
    target.addLegalOp<ds::ParamOp, ds::ExpertParamOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(context);
    jikji::LoweringOptions options;
    options.cpuKernels = cpuKernels;
    options.bf16Dot = bf16Dot;
    options.x86Vbmi = x86Vbmi;
    jikji::populateDeepSeekToLinalgPatterns(patterns, options);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
