//===- MmaTiledKernel.cpp - Products in 64 x 64 tiles through shared memory ===//
//
// Part of Jikji. The kernel of a weight product with many rows (a prefill,
// a long batch): a block of four warps computes a 64 x 64 tile of y. K is
// walked 32 at a time: the block's threads copy the 64 x 32 slices of x and
// of each weight into workgroup memory as bf16 pairs (x rounded, FP8
// weights decoded), wait, and each warp runs its 32 x 32 quarter of the
// tile as 2 x 4 mma.sync m16n8k16 per 16 of K, reading its fragments from
// the shared slices. Every element of x and W is read from global memory
// by one thread per block instead of once per 16 x 8 tile, as the warp
// kernel (MmaKernel.cpp) does.
//
// Shared rows hold 16 pairs and are padded to 20: the fragment reads of a
// warp (rows g, pairs q for lane 4g + q) then fall on 32 different banks.
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

constexpr int64_t kTileRows = 64, kTileColumns = 64, kTileDepth = 32;
/// Warps per block, as a 2 x 2 grid over the tile.
constexpr int64_t kWarpRows = 2, kWarpColumns = 2;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kThreads = kWarpSize * kWarpRows * kWarpColumns;
/// mma.sync tiles per warp: 2 x 4 of 16 x 8.
constexpr int64_t kSubRows = kTileRows / kWarpRows / kMmaTileM;
constexpr int64_t kSubColumns = kTileColumns / kWarpColumns / kMmaTileN;
/// bf16 pairs per row of a shared slice, and the padded row length.
constexpr int64_t kPairs = kTileDepth / 2, kPaddedPairs = kPairs + 4;

struct TiledKernelBuilder {
  OpBuilder &b;
  Location loc;
  ArrayRef<MmaProduct> products;
  const MmaProduct &shape;
  Value rows, tileRow, tileColumn, thread, warpRow, warpColumn, group, quad;
  /// The shared slices: x's, then one per product's weight.
  Value inputSlice;
  SmallVector<Value, 2> weightSlices;

  TiledKernelBuilder(OpBuilder &b, Location loc, ArrayRef<MmaProduct> products)
      : b(b), loc(loc), products(products), shape(products.front()) {}

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value lhs, Value rhs) {
    return arith::AddIOp::create(b, loc, lhs, rhs);
  }
  Value add(Value lhs, int64_t rhs) { return add(lhs, index(rhs)); }
  Value mul(Value lhs, int64_t rhs) {
    return arith::MulIOp::create(b, loc, lhs, index(rhs));
  }
  Value div(Value lhs, int64_t rhs) {
    return arith::DivUIOp::create(b, loc, lhs, index(rhs));
  }
  Value rem(Value lhs, int64_t rhs) {
    return arith::RemUIOp::create(b, loc, lhs, index(rhs));
  }
  Value zeroF32() {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat(0.0f));
  }
  Value below(Value row) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows);
  }
  /// `row`, or the last row where it is past M (read, then discarded).
  Value clamped(Value row) {
    return arith::MinUIOp::create(
        b, loc, row, arith::SubIOp::create(b, loc, rows, index(1)));
  }

  /// Where accumulator `r` (mma.sync's C order) of tile (i, j) of product
  /// `p` lives among the kernel's accumulators.
  static int64_t at(int64_t p, int64_t i, int64_t j, int64_t r) {
    return ((p * kSubRows + i) * kSubColumns + j) * 4 + r;
  }
  /// The row of y accumulator `r` of sub-tile row `i` holds for this lane.
  Value rowOf(int64_t i, int64_t r) {
    Value base = add(mul(tileRow, kTileRows), mul(warpRow, kTileRows / 2));
    return add(add(base, group), i * kMmaTileM + 8 * (r / 2));
  }
  /// The column of y accumulator `r` of sub-tile column `j` holds.
  Value columnOf(int64_t j, int64_t r) {
    Value base =
        add(mul(tileColumn, kTileColumns), mul(warpColumn, kTileColumns / 2));
    return add(add(base, mul(quad, 2)), j * kMmaTileN + r % 2);
  }

  /// Copies the K slice [k, k + 32) of x (rows of the tile past M as zeros)
  /// and of each weight into the shared slices: thread t stores pairs t,
  /// t + 128, ... of each, so that neighbouring threads read neighbouring
  /// elements.
  void fillSlices(Value k) {
    Value zeroPair = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
    for (int64_t i = 0; i < kTileRows * kPairs / kThreads; ++i) {
      Value pairIndex = add(thread, i * kThreads);
      Value sliceRow = div(pairIndex, kPairs);
      Value pair = rem(pairIndex, kPairs);
      Value column = add(k, mul(pair, 2));
      Value row = add(mul(tileRow, kTileRows), sliceRow);
      Value packed = arith::SelectOp::create(
          b, loc, below(row),
          loadBf16Pair(b, loc, shape.input, clamped(row), column), zeroPair);
      memref::StoreOp::create(b, loc, packed, inputSlice,
                              ValueRange{sliceRow, pair});
      Value weightRow = add(mul(tileColumn, kTileColumns), sliceRow);
      for (auto [product, slice] : llvm::zip(products, weightSlices))
        memref::StoreOp::create(
            b, loc, loadBf16Pair(b, loc, product.weight, weightRow, column),
            slice, ValueRange{sliceRow, pair});
    }
  }

  /// The accumulators plus the products over the shared slices: per 16 of
  /// K, this warp's 2 x 4 mma.sync per product.
  SmallVector<Value> multiplySlices(ValueRange accumulators) {
    SmallVector<Value> sums(accumulators);
    auto read = [&](Value slice, Value row, Value pair) -> Value {
      return memref::LoadOp::create(b, loc, slice, ValueRange{row, pair});
    };
    for (int64_t step = 0; step < kTileDepth / kMmaTileK; ++step) {
      Value low = add(quad, step * kMmaTileK / 2), high = add(low, 4);
      SmallVector<SmallVector<Value, 4>> a;
      for (int64_t i = 0; i < kSubRows; ++i) {
        Value top = add(add(mul(warpRow, kTileRows / 2), group), i * kMmaTileM);
        Value bottom = add(top, 8);
        a.push_back({read(inputSlice, top, low), read(inputSlice, bottom, low),
                     read(inputSlice, top, high),
                     read(inputSlice, bottom, high)});
      }
      for (auto [p, slice] : llvm::enumerate(weightSlices))
        for (int64_t j = 0; j < kSubColumns; ++j) {
          Value n = add(add(mul(warpColumn, kTileColumns / 2), group),
                        j * kMmaTileN);
          SmallVector<Value, 2> bFragment{read(slice, n, low),
                                          read(slice, n, high)};
          for (int64_t i = 0; i < kSubRows; ++i) {
            int64_t first = at(p, i, j, 0);
            SmallVector<Value, 4> d = multiplyAccumulateBf16(
                b, loc, a[i], bFragment, ArrayRef<Value>(sums).slice(first, 4));
            llvm::copy(d, sums.begin() + first);
          }
        }
    }
    return sums;
  }

  /// `accumulators` plus the products over K in [begin, end), a slice at
  /// a time: fill, wait, multiply, wait (before the next fill overwrites).
  SmallVector<Value> accumulate(Value begin, Value end,
                                ValueRange accumulators) {
    auto loop =
        scf::ForOp::create(b, loc, begin, end, index(kTileDepth), accumulators);
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(loop.getBody());
    fillSlices(loop.getInductionVar());
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> sums = multiplySlices(loop.getRegionIterArgs());
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, sums);
    return loop.getResults();
  }

  /// With block-scaled weights (the tile's 64 columns lie in one N block).
  SmallVector<Value> accumulateScaled(ValueRange accumulators) {
    Value scaleRow = div(mul(tileColumn, kTileColumns), shape.blockN);
    return accumulateBlockScaled(
        b, loc, products, scaleRow, accumulators,
        [&](Value begin, Value end, ValueRange zeros) {
          return accumulate(begin, end, zeros);
        });
  }

  void build(const MmaEpilogue &epilogue) {
    rows = memref::DimOp::create(b, loc, shape.input, 0);
    Value rowTiles =
        arith::CeilDivUIOp::create(b, loc, rows, index(kTileRows));
    int64_t columnTiles = shape.n / kTileColumns;
    auto sliceType = MemRefType::get(
        {kTileRows, kPaddedPairs}, b.getI32Type(), MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(b.getContext(),
                                   gpu::AddressSpace::Workgroup));
    SmallVector<Type> slices(products.size() + 1, sliceType);
    Value one = index(1);
    auto launch = gpu::LaunchOp::create(
        b, loc, mul(rowTiles, columnTiles), one, one, index(kThreads), one,
        one, /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, slices);
    b.setInsertionPointToStart(&launch.getBody().front());
    ArrayRef<BlockArgument> shared = launch.getWorkgroupAttributions();
    inputSlice = shared.front();
    weightSlices.assign(shared.begin() + 1, shared.end());

    Value block = launch.getBlockIds().x;
    thread = launch.getThreadIds().x;
    tileColumn = rem(block, columnTiles);
    tileRow = div(block, columnTiles);
    Value warp = div(thread, kWarpSize), lane = rem(thread, kWarpSize);
    warpRow = div(warp, kWarpColumns);
    warpColumn = rem(warp, kWarpColumns);
    group = div(lane, 4);
    quad = rem(lane, 4);

    // The accumulators start from y (a product adds onto its init).
    Value zero = zeroF32();
    SmallVector<Value> accumulators(
        products.size() * kSubRows * kSubColumns * 4);
    for (auto [p, product] : llvm::enumerate(products))
      for (int64_t i = 0; i < kSubRows; ++i)
        for (int64_t j = 0; j < kSubColumns; ++j)
          for (int64_t r = 0; r < 4; ++r) {
            Value row = rowOf(i, r);
            Value value = memref::LoadOp::create(
                b, loc, product.output, ValueRange{clamped(row), columnOf(j, r)});
            accumulators[at(p, i, j, r)] =
                arith::SelectOp::create(b, loc, below(row), value, zero);
          }
    SmallVector<Value> results =
        shape.scales ? accumulateScaled(accumulators)
                     : accumulate(index(0), index(shape.k), accumulators);

    // Rows past M are not stored.
    for (int64_t i = 0; i < kSubRows; ++i)
      for (int64_t half = 0; half < 2; ++half) {
        Value row = rowOf(i, 2 * half);
        auto guard = scf::IfOp::create(b, loc, below(row), /*withElse=*/false);
        OpBuilder::InsertionGuard insertion(b);
        b.setInsertionPointToStart(guard.thenBlock());
        for (int64_t j = 0; j < kSubColumns; ++j)
          for (int64_t r = 2 * half; r < 2 * half + 2; ++r) {
            SmallVector<Value> values;
            for (size_t p = 0; p < products.size(); ++p)
              values.push_back(results[at(p, i, j, r)]);
            storeMmaResults(b, loc, products, epilogue, row, columnOf(j, r),
                            values);
          }
      }
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
  }
};

} // namespace

bool jikji::cuda::fitsMmaTiles(const MmaProduct &product) {
  if (product.n % kTileColumns != 0 || product.k % kTileDepth != 0)
    return false;
  return !product.scales || (product.blockN % kTileColumns == 0 &&
                             product.blockK % kTileDepth == 0);
}

void jikji::cuda::buildMmaTiledKernel(OpBuilder &b, Location loc,
                                      ArrayRef<MmaProduct> products,
                                      const MmaEpilogue &epilogue) {
  TiledKernelBuilder(b, loc, products).build(epilogue);
}
