//===- BlockScaledWeightProduct.cpp - x (W · scale)ᵀ for FP8 weights ------===//
//
// Part of Jikji. An FP8 product costs arithmetic per weight (the e4m3
// decoding) where a bf16 one costs bytes, and as one linalg loop nest LLVM
// gave it one dot product at a time: a chain of 8 dependent FMAs and a
// horizontal reduction per 128-column block, the block scale multiplied
// into every weight. This kernel, in the vector dialect, takes 4 output
// features at a time over one input row: 4 independent 16-lane
// accumulators per 128-column block, scaled once at the block's end by
// the block's scale (times the 2^8 the decoding leaves out) into 4 running
// sums. The decoding runs once per weight and row.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace jikji::lowering;

namespace {

constexpr int64_t kColumns = 4; // output features per register block
constexpr int64_t kLanes = 16;  // float32 per AVX-512 register

class BlockScaledProduct {
public:
  BlockScaledProduct(OpBuilder &b, Location loc, Value input, Value weight,
                     Value scales, ArrayRef<int64_t> block, int64_t blocks)
      : b(b), loc(loc), input(input), weight(weight), scales(scales),
        scaleRows(block[0]), blockWidth(block[1]), blocks(blocks) {
    features = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  }

  Value build(Value rows, Value output, bool threaded) {
    return overFeatureBlocks(
        b, loc, rows, output, features, threaded,
        [&](Value column, int64_t width, Value tile, bool offset) {
          return columns(rows, column, width, tile, offset);
        });
  }

private:
  Value constant(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }

  Value read(Value matrix, Value row, Value column) {
    Type element = cast<RankedTensorType>(matrix.getType()).getElementType();
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    return vector::TransferReadOp::create(
        b, loc, VectorType::get({kLanes}, element), matrix,
        ValueRange{row, column}, padding, ArrayRef<bool>{true});
  }

  /// Features [column, column + width) of rows [0, rows) into `tile`
  /// ([rows, width] when `offset`, else the whole output). Rows inside
  /// features: the 4 weight rows stay in cache while every row uses them.
  Value columns(Value rows, Value column, int64_t width, Value tile,
                bool offset = false) {
    auto byColumns = scf::ForOp::create(
        b, loc, constant(0), constant(width), constant(kColumns),
        ValueRange{tile},
        [&](OpBuilder &, Location, Value feature, ValueRange tileIn) {
          auto byRows = scf::ForOp::create(
              b, loc, constant(0), rows, constant(1), tileIn,
              [&](OpBuilder &, Location, Value row, ValueRange current) {
                Value result = registerBlock(
                    row, add(column, feature),
                    offset ? feature : add(column, feature), current[0]);
                scf::YieldOp::create(b, loc, result);
              });
          scf::YieldOp::create(b, loc, byRows.getResults());
        });
    return byColumns.getResult(0);
  }

  /// out[row, outColumn + j] = Σ_kb scale[f / 128, kb] ·
  /// (x[row, kb-th block] · W[f + j, kb-th block]) for j < 4 and the
  /// whole blocks kb.
  Value registerBlock(Value row, Value feature, Value outColumn, Value out) {
    auto lanesType = VectorType::get({kLanes}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    SmallVector<Value> zeros(kColumns, zero);
    // 4 features starting at a multiple of 4 share one row of scales.
    Value scaleRow =
        arith::DivUIOp::create(b, loc, feature, constant(scaleRows));
    auto byBlock = scf::ForOp::create(
        b, loc, constant(0), constant(blocks), constant(1), zeros,
        [&](OpBuilder &, Location, Value kb, ValueRange sums) {
          Value begin = mul(kb, constant(blockWidth));
          auto inBlock = scf::ForOp::create(
              b, loc, begin, add(begin, constant(blockWidth)), constant(kLanes),
              zeros, [&](OpBuilder &, Location, Value k, ValueRange partial) {
                Value x = read(input, row, k);
                SmallVector<Value> next;
                for (int64_t j = 0; j < kColumns; ++j) {
                  Value w = float8E4M3FNOver256(
                      b, loc, read(weight, add(feature, constant(j)), k));
                  next.push_back(
                      vector::FMAOp::create(b, loc, x, w, partial[j]));
                }
                scf::YieldOp::create(b, loc, next);
              });
          Value scale = tensor::ExtractOp::create(b, loc, scales,
                                                  ValueRange{scaleRow, kb});
          Value scaled = arith::MulFOp::create(
              b, loc, scale,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(256.0f)));
          Value lanes = vector::BroadcastOp::create(b, loc, lanesType, scaled);
          SmallVector<Value> next;
          for (int64_t j = 0; j < kColumns; ++j)
            next.push_back(vector::FMAOp::create(b, loc, inBlock.getResult(j),
                                                 lanes, sums[j]));
          scf::YieldOp::create(b, loc, next);
        });
    SmallVector<Value> dots;
    for (int64_t j = 0; j < kColumns; ++j)
      dots.push_back(vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, byBlock.getResult(j),
          arith::FastMathFlags::reassoc | arith::FastMathFlags::contract));
    Value values = vector::FromElementsOp::create(
        b, loc, VectorType::get({kColumns}, b.getF32Type()), dots);
    return vector::TransferWriteOp::create(b, loc, values, out,
                                           ValueRange{row, outColumn},
                                           ArrayRef<bool>{true})
        .getResult();
  }

  OpBuilder &b;
  Location loc;
  Value input, weight, scales;
  int64_t scaleRows, blockWidth, blocks;
  int64_t features = 0;
};

} // namespace

bool jikji::lowering::hasBlockScaledWeightProduct(int64_t features) {
  return features % kColumns == 0;
}

Value jikji::lowering::blockScaledWeightProduct(
    OpBuilder &b, Location loc, Value input, Value weight, Value scales,
    ArrayRef<int64_t> block, int64_t blocks, Value output, bool threaded) {
  Value rows = tensor::DimOp::create(b, loc, input, 0);
  return BlockScaledProduct(b, loc, input, weight, scales, block, blocks)
      .build(rows, output, threaded);
}
