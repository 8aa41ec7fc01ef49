//===- BlockedWeightProduct.cpp - x Wᵀ register-blocked for prefill -------===//
//
// Part of Jikji. For several input rows, a product over a weight is
// limited by arithmetic, not by reading the weight, if each weight vector
// loaded serves several rows. LLVM's vectorizer only vectorizes innermost
// loops, so the linalg loops give it one dot product at a time: every
// weight element is loaded once per row. This builds the register-blocked
// kernel itself in the vector dialect: 4 rows x 4 output features, each a
// 16-lane float32 accumulator, over the reduction in steps of 16. Per step
// 4 input and 4 weight vectors feed 16 FMAs.
//
// An input rounded to bf16 (LoweringOptions::bf16Dot) takes the same
// blocks with `vdpbf16ps` in place of the FMAs: each multiplies 32 bf16
// pairs into the 16 float32 lanes, so a step covers 32 of the reduction,
// and the weight needs no widening. Twice the FMA kernel's arithmetic per
// instruction (MLIR22-NOTES.md measured 160-179 against 102-106 GFLOP/s).
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"

using namespace mlir;
using jikji::lowering::overFeatureBlocks;
using jikji::lowering::overRegisterBlocks;
using jikji::lowering::writeRegisterBlock;

namespace {

constexpr int64_t kRows = 4;    // input rows per register block
constexpr int64_t kColumns = 4; // output features per register block
constexpr int64_t kLanes = 16;  // float32 per AVX-512 register

class BlockedProduct {
public:
  BlockedProduct(OpBuilder &b, Location loc, Value input, Value weight)
      : b(b), loc(loc), input(input), weight(weight) {
    auto weightType = cast<RankedTensorType>(weight.getType());
    features = weightType.getDimSize(0);
    depth = weightType.getDimSize(1);
    dotBf16 =
        cast<RankedTensorType>(input.getType()).getElementType().isBF16();
  }

  /// Rows [0, rows) of the product, into `output` [M, N] (rows a multiple
  /// of kRows), feature blocks shared among threads when `threaded`.
  Value build(Value rows, Value output, bool threaded) {
    return overFeatureBlocks(
        b, loc, rows, output, features, threaded,
        [&](Value column, int64_t width, Value tile, bool offset) {
          return columns(rows, column, width, tile, offset);
        });
  }

  /// Rows [0, rows) of the product (a multiple of kRows), each block of
  /// rows over features [0, featureEnd(row)) (a multiple of kColumns), into
  /// `output`; on the calling thread.
  Value upTo(Value rows, function_ref<Value(Value row)> featureEnd,
             Value output) {
    return scf::ForOp::create(
               b, loc, constant(0), rows, constant(kRows), ValueRange{output},
               [&](OpBuilder &, Location, Value row, ValueRange current) {
                 auto features = scf::ForOp::create(
                     b, loc, constant(0), featureEnd(row), constant(kColumns),
                     current,
                     [&](OpBuilder &, Location, Value feature,
                         ValueRange tile) {
                       scf::YieldOp::create(
                           b, loc,
                           registerBlock(row, feature, feature, tile[0]));
                     });
                 scf::YieldOp::create(b, loc, features.getResults());
               })
        .getResult(0);
  }

private:
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }

  /// `count` elements of row `row` of `matrix` from column `column`, as
  /// stored.
  Value loadStored(Value matrix, Value row, Value column, int64_t count) {
    Type element = cast<RankedTensorType>(matrix.getType()).getElementType();
    auto type = VectorType::get({count}, element);
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    return vector::TransferReadOp::create(b, loc, type, matrix,
                                          ValueRange{row, column}, padding,
                                          ArrayRef<bool>{true});
  }

  /// 16 lanes of row `row` of `matrix` from column `column`, in float32.
  Value load(Value matrix, Value row, Value column) {
    Value lanes = loadStored(matrix, row, column, kLanes);
    if (cast<VectorType>(lanes.getType()).getElementType().isF32())
      return lanes;
    // bf16: the top half of the float32 of the same value (see widenToF32).
    auto i16 = VectorType::get({kLanes}, b.getI16Type());
    auto i32 = VectorType::get({kLanes}, b.getI32Type());
    Value bits = arith::BitcastOp::create(b, loc, i16, lanes);
    Value wide = arith::ExtUIOp::create(b, loc, i32, bits);
    Value sixteen = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(i32, b.getI32IntegerAttr(16)));
    Value shifted = arith::ShLIOp::create(b, loc, wide, sixteen);
    return arith::BitcastOp::create(
        b, loc, VectorType::get({kLanes}, b.getF32Type()), shifted);
  }

  /// Features [column, column + width) of rows [0, rows) into `tile`
  /// ([rows, width] when `offset`, else the whole output).
  Value columns(Value rows, Value column, int64_t width, Value tile,
                bool offset = false) {
    return overRegisterBlocks(
        b, loc, constant(0), rows, kRows, width, kColumns,
        /*rowsOutside=*/true, tile, [&](Value row, Value feature, Value out) {
          return registerBlock(row, add(column, feature),
                               offset ? feature : add(column, feature), out);
        });
  }

  /// out[row + i, outColumn + j] = x[row + i] · W[feature + j] for the
  /// 4 x 4 block, sums in 16 registers across the reduction.
  Value registerBlock(Value row, Value feature, Value outColumn, Value out) {
    auto lanesType = VectorType::get({kLanes}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    SmallVector<Value> zeros(kRows * kColumns, zero);
    // bf16 operands come in pairs per lane: 32 of the reduction per step.
    int64_t step = dotBf16 ? 2 * kLanes : kLanes;
    auto operand = [&](Value matrix, Value at, Value k) {
      return dotBf16 ? loadStored(matrix, at, k, step) : load(matrix, at, k);
    };
    auto reduction = scf::ForOp::create(
        b, loc, constant(0), constant(depth), constant(step), zeros,
        [&](OpBuilder &, Location, Value k, ValueRange sums) {
          SmallVector<Value> x, w, next;
          for (int64_t i = 0; i < kRows; ++i)
            x.push_back(operand(input, add(row, constant(i)), k));
          for (int64_t j = 0; j < kColumns; ++j)
            w.push_back(operand(weight, add(feature, constant(j)), k));
          for (int64_t i = 0; i < kRows; ++i)
            for (int64_t j = 0; j < kColumns; ++j) {
              Value sum = sums[i * kColumns + j];
              next.push_back(
                  dotBf16 ? x86vector::DotBF16Op::create(b, loc, lanesType,
                                                         sum, x[i], w[j])
                                .getResult()
                          : vector::FMAOp::create(b, loc, x[i], w[j], sum)
                                .getResult());
            }
          scf::YieldOp::create(b, loc, next);
        });
    return writeRegisterBlock(b, loc, reduction.getResults(), kRows, kColumns, out,
                              row, outColumn);
  }

  OpBuilder &b;
  Location loc;
  Value input, weight;
  int64_t features = 0, depth = 0;
  bool dotBf16 = false; // a bf16 input: vdpbf16ps in place of FMAs
};

} // namespace

Value jikji::lowering::overFeatureBlocks(
    OpBuilder &b, Location loc, Value rows, Value output, int64_t features,
    bool threaded,
    function_ref<Value(Value column, int64_t width, Value tile, bool offset)>
        columns) {
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  if (!threaded)
    return columns(constant(0), features, output, /*offset=*/false);
  // Whole blocks of at most 64 features: enough blocks for the threads,
  // each big enough that its share of the weight streams.
  int64_t block = kColumns;
  for (int64_t width = 64; width > kColumns; width /= 2)
    if (features % width == 0) {
      block = width;
      break;
    }
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(features / block)},
      ValueRange{output}, std::nullopt,
      [&](OpBuilder &, Location, ValueRange arguments) {
        Value column =
            arith::MulIOp::create(b, loc, arguments[0], constant(block));
        SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), column};
        SmallVector<OpFoldResult> sizes{rows, b.getIndexAttr(block)};
        SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
        Value tile = tensor::ExtractSliceOp::create(
            b, loc,
            RankedTensorType::get({ShapedType::kDynamic, block},
                                  b.getF32Type()),
            arguments[1], offsets, sizes, strides);
        Value result = columns(column, block, tile, /*offset=*/true);
        auto terminator = scf::InParallelOp::create(b, loc);
        b.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(b, loc, result, arguments[1],
                                              offsets, sizes, strides);
      });
  return forall.getResult(0);
}

bool jikji::lowering::hasBlockedWeightProduct(Value input, Value weight) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  Type element = weightType.getElementType();
  if (inputType.getRank() != 2 || weightType.getDimSize(0) % kColumns != 0)
    return false;
  if (inputType.getElementType().isBF16())
    return element.isBF16() && weightType.getDimSize(1) % (2 * kLanes) == 0;
  return (element.isBF16() || element.isF32()) &&
         weightType.getDimSize(1) % kLanes == 0;
}

Value jikji::lowering::blockedWeightProduct(OpBuilder &b, Location loc,
                                            Value input, Value weight,
                                            Value rows, Value output,
                                            bool threaded) {
  return BlockedProduct(b, loc, input, weight).build(rows, output, threaded);
}

bool jikji::lowering::hasBlockedProductUpTo(int64_t depth) {
  return depth % kLanes == 0;
}

Value jikji::lowering::blockedProductUpTo(
    OpBuilder &b, Location loc, Value input, Value weight, Value rows,
    function_ref<Value(Value row)> featureEnd, Value output) {
  return BlockedProduct(b, loc, input, weight).upTo(rows, featureEnd, output);
}

Value jikji::lowering::writeRegisterBlock(OpBuilder &b, Location loc,
                                          ValueRange sums, int64_t rows,
                                          int64_t columns, Value out,
                                          Value row, Value column) {
  auto rowType = VectorType::get({columns}, b.getF32Type());
  for (int64_t i = 0; i < rows; ++i) {
    SmallVector<Value> dots;
    for (int64_t j = 0; j < columns; ++j)
      dots.push_back(vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, sums[i * columns + j],
          arith::FastMathFlags::reassoc | arith::FastMathFlags::contract));
    Value values = vector::FromElementsOp::create(b, loc, rowType, dots);
    Value outRow = arith::AddIOp::create(
        b, loc, row, arith::ConstantIndexOp::create(b, loc, i));
    out = vector::TransferWriteOp::create(b, loc, values, out,
                                          ValueRange{outRow, column},
                                          ArrayRef<bool>{true})
              .getResult();
  }
  return out;
}

Value jikji::lowering::overRegisterBlocks(
    OpBuilder &b, Location loc, Value rowBegin, Value rowEnd, int64_t rowStep,
    int64_t width, int64_t featureStep, bool rowsOutside, Value tile,
    function_ref<Value(Value row, Value feature, Value tile)> kernel) {
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // One loop of the nest, over rows or features, around `inner`.
  auto loop = [&](bool overRows, Value init,
                  function_ref<Value(Value, Value)> inner) {
    Value begin = overRows ? rowBegin : index(0);
    Value end = overRows ? rowEnd : index(width);
    Value step = index(overRows ? rowStep : featureStep);
    return scf::ForOp::create(
               b, loc, begin, end, step, ValueRange{init},
               [&](OpBuilder &b, Location loc, Value at, ValueRange current) {
                 scf::YieldOp::create(b, loc, inner(at, current[0]));
               })
        .getResult(0);
  };
  return loop(rowsOutside, tile, [&](Value outer, Value outerTile) {
    return loop(!rowsOutside, outerTile, [&](Value inner, Value current) {
      return rowsOutside ? kernel(outer, inner, current)
                         : kernel(inner, outer, current);
    });
  });
}
