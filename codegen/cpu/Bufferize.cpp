//===- Bufferize.cpp - One-shot bufferization, rows contiguous ------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#define DEBUG_TYPE "jikji-bufferize"

namespace jikji {
#define GEN_PASS_DEF_BUFFERIZEPASS
#include "codegen/cpu/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {
/// `strided<[?, ..., ?, 1], offset: ?>`: any slice of rows of a row-major
/// tensor, and nothing with a gap inside a row.
MemRefType rowContiguousMemRef(TensorType type, Attribute memorySpace) {
  auto ranked = cast<RankedTensorType>(type);
  int64_t rank = ranked.getRank();
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  if (rank > 0)
    strides.back() = 1;
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic,
                                       strides);
  return MemRefType::get(ranked.getShape(), ranked.getElementType(), layout,
                         memorySpace);
}

struct BufferizePass final : jikji::impl::BufferizePassBase<BufferizePass> {
  void runOnOperation() override {
    bufferization::OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.setFunctionBoundaryTypeConversion(
        bufferization::LayoutMapOption::FullyDynamicLayoutMap);
    options.functionArgTypeConverterFn =
        [](bufferization::TensorLikeType type, Attribute memorySpace,
           func::FuncOp, const bufferization::BufferizationOptions &)
        -> bufferization::BufferLikeType {
      auto tensorType = dyn_cast<RankedTensorType>(type);
      if (!tensorType)
        return cast<bufferization::BufferLikeType>(
            bufferization::getMemRefTypeWithFullyDynamicLayout(
                cast<TensorType>(type), memorySpace));
      return cast<bufferization::BufferLikeType>(
          rowContiguousMemRef(tensorType, memorySpace));
    };
    // Results take the arguments' layout too, so that a call's result
    // casts to what its caller expects.
    options.inferFunctionResultLayout = false;
    // A buffer whose layout bufferization cannot infer before it exists
    // (a tensor.empty's, as seen from an scf.if yielding what a branch
    // computed into one) is an allocation: identity layout. With the
    // default, fully dynamic strides, an scf.if whose branches each
    // allocate their result (the attention's two forms) returned a strided
    // memref, and the reshape after it copied the whole result into a
    // contiguous buffer on one thread.
    options.unknownTypeConverterFn =
        [](TensorType type, Attribute memorySpace,
           const bufferization::BufferizationOptions &) {
          return bufferization::getMemRefTypeWithStaticIdentityLayout(
              type, memorySpace);
        };
    bufferization::BufferizationState state;
    if (failed(bufferization::runOneShotModuleBufferize(getOperation(),
                                                        options, state)))
      signalPassFailure();
  }
};
} // namespace
