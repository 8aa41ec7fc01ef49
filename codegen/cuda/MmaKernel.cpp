//===- MmaKernel.cpp - One warp per 16 x 8 tile on mma.sync ---------------===//
//
// Part of Jikji. The kernel of a weight product, NVVM op by NVVM op: one
// warp per 16 x 8 output tile, K in steps of 16 with mma.sync m16n8k16
// (bf16 operands, f32 accumulation). FP8 weights are decoded to bf16 in
// registers and summed per K block, each block's sum times its scale. Two
// products over the same x (SwiGLU's gate and up) share the warp's x
// fragments; an elementwise consumer is computed where y is stored.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace jikji::cuda;

namespace {

/// Builds the kernel of one or two products; `build` leaves the insertion
/// point after the launch.
struct MmaKernelBuilder {
  OpBuilder &b;
  Location loc;
  ArrayRef<MmaProduct> products;
  /// What the products share: x and the shapes.
  const MmaProduct &shape;
  Type i32, f32;
  /// Per lane (PTX ISA, "Matrix Fragments for mma.m16n8k16"): whether its
  /// two rows of the tile are below M, the rows it reads instead (rows past
  /// M read the last row and count as zero), the column pair within a K
  /// step, and the weight row (the output column) of its B fragment.
  Value valid0, valid1, safe0, safe1, pair, weightRow;

  MmaKernelBuilder(OpBuilder &b, Location loc, ArrayRef<MmaProduct> products)
      : b(b), loc(loc), products(products), shape(products.front()) {
    i32 = b.getI32Type();
    f32 = b.getF32Type();
  }

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value lhs, Value rhs) {
    return arith::AddIOp::create(b, loc, lhs, rhs);
  }
  Value mul(Value lhs, Value rhs) {
    return arith::MulIOp::create(b, loc, lhs, rhs);
  }
  Value zeroF32() {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(0.0f));
  }

  /// Two neighbouring elements of `row` as the bf16x2 mma.sync takes.
  Value loadPair(Value memref, Value row, Value column) {
    return loadBf16Pair(b, loc, memref, row, column);
  }

  /// One mma.sync per product over the K step [k, k + 16) onto
  /// `accumulators` (four per product, in the products' order), the x
  /// fragment loaded once.
  SmallVector<Value> mmaStep(Value k, ValueRange accumulators) {
    Value k0 = add(k, pair);
    Value k8 = add(k0, index(8));
    Value zeroPair = arith::ConstantIntOp::create(b, loc, i32, 0);
    auto inputPair = [&](Value row, Value valid, Value at) {
      Value packed = loadPair(shape.input, row, at);
      return arith::SelectOp::create(b, loc, valid, packed, zeroPair)
          .getResult();
    };
    SmallVector<Value> a{
        inputPair(safe0, valid0, k0), inputPair(safe1, valid1, k0),
        inputPair(safe0, valid0, k8), inputPair(safe1, valid1, k8)};
    SmallVector<Value> results;
    for (auto [i, product] : llvm::enumerate(products)) {
      SmallVector<Value> bFragment{loadPair(product.weight, weightRow, k0),
                                   loadPair(product.weight, weightRow, k8)};
      llvm::append_range(results,
                         multiplyAccumulateBf16(b, loc, a, bFragment,
                                                accumulators.slice(4 * i, 4)));
    }
    return results;
  }

  /// `accumulators` plus the tile's products over K in [begin, end).
  SmallVector<Value> accumulate(Value begin, Value end,
                                ValueRange accumulators) {
    auto loop =
        scf::ForOp::create(b, loc, begin, end, index(kMmaTileK), accumulators);
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, loc, mmaStep(loop.getInductionVar(), loop.getRegionIterArgs()));
    return loop.getResults();
  }

  /// `accumulators` plus the tile's products with block-scaled weights
  /// (the tile's 8 columns lie in one N block).
  SmallVector<Value> accumulateScaled(Value tileColumn,
                                      ValueRange accumulators) {
    Value scaleRow = arith::DivUIOp::create(
        b, loc, mul(tileColumn, index(kMmaTileN)), index(shape.blockN));
    return accumulateBlockScaled(
        b, loc, products, scaleRow, accumulators,
        [&](Value begin, Value end, ValueRange zeros) {
          return accumulate(begin, end, zeros);
        });
  }

  void build(const MmaEpilogue &epilogue) {
    Value rows = memref::DimOp::create(b, loc, shape.input, 0);
    Value rowTiles = arith::CeilDivUIOp::create(b, loc, rows, index(kMmaTileM));
    Value columnTiles = index(shape.n / kMmaTileN);
    Value one = index(1);
    auto launch = gpu::LaunchOp::create(
        b, loc, arith::MulIOp::create(b, loc, rowTiles, columnTiles), one, one,
        index(32), one, one);
    b.setInsertionPointToStart(&launch.getBody().front());

    // Which tile this warp computes, and which fragment elements this lane
    // holds: rows l / 4 and l / 4 + 8 of the tile, columns 2 (l % 4) and
    // 2 (l % 4) + 1 (and + 8 within a K step).
    Value block = launch.getBlockIds().x, lane = launch.getThreadIds().x;
    Value tileColumn = arith::RemUIOp::create(b, loc, block, columnTiles);
    Value tileRow = arith::DivUIOp::create(b, loc, block, columnTiles);
    Value group = arith::DivUIOp::create(b, loc, lane, index(4));
    pair = mul(arith::RemUIOp::create(b, loc, lane, index(4)), index(2));
    Value row0 = add(mul(tileRow, index(kMmaTileM)), group);
    Value row1 = add(row0, index(8));
    Value lastRow = arith::SubIOp::create(b, loc, rows, one);
    auto inRange = [&](Value row) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows)
          .getResult();
    };
    valid0 = inRange(row0);
    valid1 = inRange(row1);
    safe0 = arith::MinUIOp::create(b, loc, row0, lastRow);
    safe1 = arith::MinUIOp::create(b, loc, row1, lastRow);
    Value column = add(mul(tileColumn, index(kMmaTileN)), pair);
    Value nextColumn = add(column, one);
    weightRow = add(mul(tileColumn, index(kMmaTileN)), group);

    // The accumulators start from y (a product adds onto its init): per
    // product, (row0, column), (row0, column + 1), (row1, column),
    // (row1, column + 1), the order of mma.sync's C fragment.
    Value zero = zeroF32();
    SmallVector<Value> accumulators;
    for (const MmaProduct &product : products)
      for (auto [row, valid] :
           {std::pair(safe0, valid0), std::pair(safe1, valid1)})
        for (Value at : {column, nextColumn}) {
          Value value = memref::LoadOp::create(b, loc, product.output,
                                               ValueRange{row, at});
          accumulators.push_back(
              arith::SelectOp::create(b, loc, valid, value, zero));
        }
    SmallVector<Value> results =
        shape.scales ? accumulateScaled(tileColumn, accumulators)
                     : accumulate(index(0), index(shape.k), accumulators);

    // Rows past M are not stored.
    SmallVector<Value, 2> columns{column, nextColumn};
    auto storeRow = [&](Value valid, Value row, int64_t first) {
      auto guard = scf::IfOp::create(b, loc, valid, /*withElse=*/false);
      OpBuilder::InsertionGuard insertion(b);
      b.setInsertionPointToStart(guard.thenBlock());
      for (auto [offset, at] : llvm::enumerate(columns)) {
        SmallVector<Value> values;
        for (size_t i = 0; i < products.size(); ++i)
          values.push_back(results[4 * i + first + offset]);
        storeMmaResults(b, loc, products, epilogue, row, at, values);
      }
    };
    storeRow(valid0, row0, 0);
    storeRow(valid1, row1, 2);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
  }
};

} // namespace

void jikji::cuda::buildMmaWarpKernel(OpBuilder &b, Location loc,
                                     ArrayRef<MmaProduct> products,
                                     const MmaEpilogue &epilogue) {
  MmaKernelBuilder(b, loc, products).build(epilogue);
}
