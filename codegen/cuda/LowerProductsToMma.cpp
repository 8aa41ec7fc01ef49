//===- LowerProductsToMma.cpp - Weight products on tensor cores -----------===//
//
// Part of Jikji. Upstream routes to mma.sync do not take bf16 in MLIR 22
// (../shared/MLIR22-NOTES.md), so the product kernel is built here, NVVM op
// by NVVM op: one warp per 16 x 8 output tile, K in steps of 16.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/IR/Matchers.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "jikji-lower-products-to-mma"

namespace jikji {
#define GEN_PASS_DEF_LOWERPRODUCTSTOMMAPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The m16n8k16 tile of one mma.sync.
constexpr int64_t kTileM = 16, kTileN = 8, kTileK = 16;

/// `y[m, n] += x[m, k] * extf(W[n, k])`, with x f32 or bf16 and y f32.
struct Product {
  Value input, weight, output;
  int64_t n, k;
};

/// The bf16 value `value` widens to f32: `extf(x)`, or the lowering's
/// shift into the top half, `bitcast(shli(extui(bitcast(x)), 16))`.
Value widenedBf16(Value value) {
  if (!value.getType().isF32())
    return Value();
  if (auto extend = value.getDefiningOp<arith::ExtFOp>())
    return extend.getIn().getType().isBF16() ? extend.getIn() : Value();
  auto toFloat = value.getDefiningOp<arith::BitcastOp>();
  auto shift = toFloat ? toFloat.getIn().getDefiningOp<arith::ShLIOp>()
                       : arith::ShLIOp();
  auto wide = shift ? shift.getLhs().getDefiningOp<arith::ExtUIOp>()
                    : arith::ExtUIOp();
  auto bits = wide ? wide.getIn().getDefiningOp<arith::BitcastOp>()
                   : arith::BitcastOp();
  APInt amount;
  if (!bits || !matchPattern(shift.getRhs(), m_ConstantInt(&amount)) ||
      amount != 16 || !bits.getIn().getType().isBF16())
    return Value();
  return bits.getIn();
}

/// `value` is block argument `index` widened from bf16, or (when `f32Ok`)
/// that argument itself in f32.
bool isWidenedArgument(Value value, unsigned index, bool f32Ok) {
  if (auto argument = dyn_cast<BlockArgument>(value))
    return f32Ok && argument.getArgNumber() == index &&
           argument.getType().isF32();
  auto argument = dyn_cast_or_null<BlockArgument>(widenedBf16(value));
  return argument && argument.getArgNumber() == index;
}

std::optional<Product> matchProduct(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return std::nullopt;
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return std::nullopt;
  MLIRContext *context = op.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(3, 0, {m, k}, context) ||
      maps[1] != AffineMap::get(3, 0, {n, k}, context) ||
      maps[2] != AffineMap::get(3, 0, {m, n}, context))
    return std::nullopt;

  Product product{op.getDpsInputs()[0], op.getDpsInputs()[1],
                  op.getDpsInits()[0], 0, 0};
  auto inputType = dyn_cast<MemRefType>(product.input.getType());
  auto weightType = dyn_cast<MemRefType>(product.weight.getType());
  auto outputType = dyn_cast<MemRefType>(product.output.getType());
  if (!inputType || !weightType || !outputType ||
      !weightType.hasStaticShape() || !weightType.getElementType().isBF16() ||
      !outputType.getElementType().isF32() ||
      !(inputType.getElementType().isF32() ||
        inputType.getElementType().isBF16()))
    return std::nullopt;
  product.n = weightType.getDimSize(0);
  product.k = weightType.getDimSize(1);
  if (product.n % kTileN != 0 || product.k % kTileK != 0)
    return std::nullopt;

  // The body: yield(addf(acc, mulf(x, extf(w)))), operands in any order.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value accumulator = add.getLhs(), term = add.getRhs();
  if (!isa<BlockArgument>(accumulator))
    std::swap(accumulator, term);
  auto multiply = term.getDefiningOp<arith::MulFOp>();
  auto accumulatorArgument = dyn_cast<BlockArgument>(accumulator);
  if (!multiply || !accumulatorArgument ||
      accumulatorArgument.getArgNumber() != 2)
    return std::nullopt;
  Value x = multiply.getLhs(), w = multiply.getRhs();
  if (!isWidenedArgument(w, 1, /*f32Ok=*/false))
    std::swap(x, w);
  if (!isWidenedArgument(w, 1, /*f32Ok=*/false) ||
      !isWidenedArgument(x, 0, /*f32Ok=*/true))
    return std::nullopt;
  // Nothing else may happen in the body: every op feeds the yield.
  llvm::SmallPtrSet<Operation *, 16> feeding;
  SmallVector<Operation *> worklist{add};
  while (!worklist.empty()) {
    Operation *current = worklist.pop_back_val();
    if (current->getBlock() != &body || !feeding.insert(current).second)
      continue;
    for (Value operand : current->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.push_back(producer);
  }
  if (feeding.size() + 1 != body.getOperations().size())
    return std::nullopt;
  return product;
}

/// Builds the kernel of one product in place of `op`.
struct MmaKernelBuilder {
  OpBuilder &b;
  Location loc;
  Type i16, i32, f32, bf16;

  MmaKernelBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {
    i16 = b.getI16Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    bf16 = b.getBF16Type();
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

  /// Two neighbouring elements of `row` as the bf16x2 in a .b32 register
  /// that mma.sync takes: the element at `column` in the low half.
  Value loadPair(Value memref, Value row, Value column) {
    auto half = [&](Value at) {
      Value value = memref::LoadOp::create(b, loc, memref, ValueRange{row, at});
      if (!value.getType().isBF16())
        value = arith::TruncFOp::create(b, loc, bf16, value);
      Value bits = arith::BitcastOp::create(b, loc, i16, value);
      return arith::ExtUIOp::create(b, loc, i32, bits).getResult();
    };
    Value low = half(column);
    Value high = half(add(column, index(1)));
    Value shifted = arith::ShLIOp::create(
        b, loc, high, arith::ConstantIntOp::create(b, loc, i32, 16));
    return arith::OrIOp::create(b, loc, shifted, low);
  }

  void build(linalg::GenericOp op, const Product &product) {
    Value rows = memref::DimOp::create(b, loc, product.input, 0);
    Value rowTiles = arith::CeilDivUIOp::create(b, loc, rows, index(kTileM));
    Value columnTiles = index(product.n / kTileN);
    Value one = index(1);
    auto launch = gpu::LaunchOp::create(
        b, loc, arith::MulIOp::create(b, loc, rowTiles, columnTiles), one, one,
        index(32), one, one);
    b.setInsertionPointToStart(&launch.getBody().front());

    // Which tile this warp computes, and which fragment elements this lane
    // holds (PTX ISA, "Matrix Fragments for mma.m16n8k16").
    Value block = launch.getBlockIds().x, lane = launch.getThreadIds().x;
    Value tileColumn = arith::RemUIOp::create(b, loc, block, columnTiles);
    Value tileRow = arith::DivUIOp::create(b, loc, block, columnTiles);
    Value group = arith::DivUIOp::create(b, loc, lane, index(4));
    Value pair = mul(arith::RemUIOp::create(b, loc, lane, index(4)), index(2));
    Value row0 = add(mul(tileRow, index(kTileM)), group);
    Value row1 = add(row0, index(8));
    Value lastRow = arith::SubIOp::create(b, loc, rows, one);
    auto inRange = [&](Value row) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows)
          .getResult();
    };
    Value valid0 = inRange(row0), valid1 = inRange(row1);
    // Rows past M read the last row and count as zero.
    Value safe0 = arith::MinUIOp::create(b, loc, row0, lastRow);
    Value safe1 = arith::MinUIOp::create(b, loc, row1, lastRow);
    Value column = add(mul(tileColumn, index(kTileN)), pair);
    Value nextColumn = add(column, one);
    Value weightRow = add(mul(tileColumn, index(kTileN)), group);

    Value zero = arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                                APFloat(0.0f));
    auto loadOutput = [&](Value row, Value valid, Value at) {
      Value value =
          memref::LoadOp::create(b, loc, product.output, ValueRange{row, at});
      return arith::SelectOp::create(b, loc, valid, value, zero).getResult();
    };
    SmallVector<Value> accumulators{loadOutput(safe0, valid0, column),
                                    loadOutput(safe0, valid0, nextColumn),
                                    loadOutput(safe1, valid1, column),
                                    loadOutput(safe1, valid1, nextColumn)};

    auto loop = scf::ForOp::create(b, loc, index(0), index(product.k),
                                   index(kTileK), accumulators);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = add(loop.getInductionVar(), pair);
    Value k8 = add(k0, index(8));
    Value zeroPair = arith::ConstantIntOp::create(b, loc, i32, 0);
    auto inputPair = [&](Value row, Value valid, Value at) {
      Value packed = loadPair(product.input, row, at);
      return arith::SelectOp::create(b, loc, valid, packed, zeroPair)
          .getResult();
    };
    SmallVector<Value> a{
        inputPair(safe0, valid0, k0), inputPair(safe1, valid1, k0),
        inputPair(safe0, valid0, k8), inputPair(safe1, valid1, k8)};
    SmallVector<Value> bFragment{loadPair(product.weight, weightRow, k0),
                                 loadPair(product.weight, weightRow, k8)};
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(4, f32));
    auto mma = NVVM::MmaOp::create(
        b, loc, resultType, a, bFragment, loop.getRegionIterArgs(),
        {kTileM, kTileN, kTileK}, std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                      NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value> results;
    for (int64_t i = 0; i < 4; ++i)
      results.push_back(LLVM::ExtractValueOp::create(b, loc, mma, i));
    scf::YieldOp::create(b, loc, results);

    b.setInsertionPointAfter(loop);
    auto store = [&](Value valid, Value row, Value first, Value second) {
      auto guard = scf::IfOp::create(b, loc, valid, /*withElse=*/false);
      OpBuilder::InsertionGuard insertion(b);
      b.setInsertionPointToStart(guard.thenBlock());
      memref::StoreOp::create(b, loc, first, product.output,
                              ValueRange{row, column});
      memref::StoreOp::create(b, loc, second, product.output,
                              ValueRange{row, nextColumn});
    };
    store(valid0, row0, loop.getResult(0), loop.getResult(1));
    store(valid1, row1, loop.getResult(2), loop.getResult(3));
    gpu::TerminatorOp::create(b, loc);
  }
};

struct LowerProductsToMmaPass final
    : jikji::impl::LowerProductsToMmaPassBase<LowerProductsToMmaPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Product>> products;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Product> product = matchProduct(op))
        products.push_back({op, *product});
    });
    for (auto &[op, product] : products) {
      OpBuilder b(op);
      MmaKernelBuilder(b, op.getLoc()).build(op, product);
      op.erase();
    }
  }
};

} // namespace
