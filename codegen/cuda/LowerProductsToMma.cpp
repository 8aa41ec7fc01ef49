//===- LowerProductsToMma.cpp - Weight products on tensor cores -----------===//
//
// Part of Jikji. Upstream routes to mma.sync do not take bf16 in MLIR 22
// (../shared/MLIR22-NOTES.md), so the product kernel is Jikji's own
// (MmaKernel.cpp); this pass finds the products it takes and the residual
// add it can finish them with (MmaProducts.h).
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/MmaProducts.h"
#include "codegen/cuda/Passes.h"

#define DEBUG_TYPE "jikji-lower-products-to-mma"

namespace jikji {
#define GEN_PASS_DEF_LOWERPRODUCTSTOMMAPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;
using namespace jikji::cuda;

namespace {

struct LowerProductsToMmaPass final
    : jikji::impl::LowerProductsToMmaPassBase<LowerProductsToMmaPass> {
  void runOnOperation() override {
    struct Match {
      linalg::GenericOp op;
      MmaProduct product;
      MmaEpilogue epilogue;
    };
    SmallVector<Match> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      std::optional<MmaProduct> product = matchBf16Product(op);
      if (!product)
        product = matchBlockScaledProduct(op);
      if (product)
        matches.push_back({op, *product, matchMmaEpilogue(op, *product)});
    });
    for (Match &match : matches) {
      // With an epilogue, in the consumer's place: after the allocation of
      // its result, which is all that may lie between the two.
      OpBuilder b(match.epilogue.consumer ? match.epilogue.consumer
                                          : match.op.getOperation());
      buildMmaKernel(b, match.op.getLoc(), match.product, match.epilogue);
      if (match.epilogue.consumer)
        match.epilogue.consumer->erase();
      match.op.erase();
    }
  }
};

} // namespace
