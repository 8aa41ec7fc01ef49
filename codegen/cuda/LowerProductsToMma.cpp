//===- LowerProductsToMma.cpp - Weight products on tensor cores -----------===//
//
// Part of Jikji. Upstream routes to mma.sync do not take bf16 in MLIR 22
// (../shared/MLIR22-NOTES.md), so the product kernel is Jikji's own
// (MmaKernel.cpp, and MmaTiledKernel.cpp for steps of many rows); this
// pass finds the products they take, pairs SwiGLU's gate and up products,
// finds the elementwise op each kernel can finish with (MmaProducts.h), and
// chooses between the two kernels by the step's row count at run time.
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

/// One kernel: its products' ops and what it finishes with.
struct MmaKernelWork {
  SmallVector<linalg::GenericOp, 2> ops;
  SmallVector<MmaProduct, 2> products;
  MmaEpilogue epilogue;
};

/// The kernel of `products` at `b`: the tiled one where it is wanted, fits
/// and the step has the rows to fill its tiles, the warp one otherwise.
void buildKernel(OpBuilder &b, Location loc, ArrayRef<MmaProduct> products,
                 const MmaEpilogue &epilogue, bool tiles) {
  if (!tiles || !fitsMmaTiles(products.front())) {
    buildMmaWarpKernel(b, loc, products, epilogue);
    return;
  }
  Value rows = memref::DimOp::create(b, loc, products.front().input, 0);
  Value many = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::uge, rows,
      arith::ConstantIndexOp::create(b, loc, kMmaTiledMinRows));
  auto choice = scf::IfOp::create(b, loc, many, /*withElse=*/true);
  b.setInsertionPointToStart(choice.thenBlock());
  buildMmaTiledKernel(b, loc, products, epilogue);
  b.setInsertionPointToStart(choice.elseBlock());
  buildMmaWarpKernel(b, loc, products, epilogue);
  b.setInsertionPointAfter(choice);
}

/// The op after `op`, past allocations.
Operation *nextPastAllocations(Operation *op) {
  Operation *next = op->getNextNode();
  while (isa_and_nonnull<memref::AllocOp>(next))
    next = next->getNextNode();
  return next;
}

struct LowerProductsToMmaPass final
    : jikji::impl::LowerProductsToMmaPassBase<LowerProductsToMmaPass> {
  using LowerProductsToMmaPassBase::LowerProductsToMmaPassBase;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, MmaProduct>> found;
    getOperation().walk([&](linalg::GenericOp op) {
      std::optional<MmaProduct> product = matchBf16Product(op);
      if (!product)
        product = matchBlockScaledProduct(op);
      if (product)
        found.push_back({op, *product});
    });

    // Two adjacent products over the same x share a kernel when one
    // elementwise op combines them (the SwiGLU); otherwise each has its own.
    SmallVector<MmaKernelWork> kernels;
    for (size_t i = 0; i < found.size(); ++i) {
      auto [op, product] = found[i];
      if (i + 1 < found.size() &&
          nextPastAllocations(op) == found[i + 1].first.getOperation() &&
          canShareKernel(product, found[i + 1].second)) {
        MmaKernelWork pair{
            {op, found[i + 1].first}, {product, found[i + 1].second}, {}};
        pair.epilogue = matchMmaEpilogue(pair.ops, pair.products);
        if (pair.epilogue.consumer) {
          kernels.push_back(std::move(pair));
          ++i;
          continue;
        }
      }
      MmaKernelWork single{{op}, {product}, {}};
      single.epilogue = matchMmaEpilogue(single.ops, single.products);
      kernels.push_back(std::move(single));
    }

    for (MmaKernelWork &kernel : kernels) {
      // With an epilogue, in the consumer's place: after the allocations
      // that are all that may lie between it and the products.
      Operation *at = kernel.epilogue.consumer
                          ? kernel.epilogue.consumer.getOperation()
                          : kernel.ops.back().getOperation();
      OpBuilder b(at);
      buildKernel(b, kernel.ops.front().getLoc(), kernel.products,
                  kernel.epilogue, tiles);
      if (kernel.epilogue.consumer)
        kernel.epilogue.consumer->erase();
      for (linalg::GenericOp op : kernel.ops)
        op.erase();
    }
  }
};

} // namespace
