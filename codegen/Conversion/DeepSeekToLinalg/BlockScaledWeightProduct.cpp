//===- BlockScaledWeightProduct.cpp - x (W · scale)ᵀ for FP8 weights ------===//
//
// Part of Jikji. An FP8 product costs arithmetic per weight (the e4m3
// decoding) where a bf16 one costs bytes, and as one linalg loop nest LLVM
// gave it one dot product at a time: a chain of 8 dependent FMAs and a
// horizontal reduction per 128-column block, the block scale multiplied
// into every weight. This kernel, in the vector dialect, takes 4 output
// features at a time, in two forms:
// - rows in blocks of 4 (prefill): each 16 codes decoded once, multiplied
//   by their block's scale, and used by the 4 rows (16 accumulators), so
//   the decoding costs a quarter of an FMA per product;
// - the rows left (all of a decode step's one row): 4 independent 16-lane
//   accumulators per 128-column block, scaled once at the block's end by
//   the block's scale into 4 running sums. Where the target has AVX-512
//   VBMI, 64 codes at a time are decoded by two byte lookups
//   (float8E4M3FNByLookup: exact values, NaN codes NaN); elsewhere 16 at a
//   time through float16 (the 2^8 it leaves out folded into the scale),
//   the NaN codes found by a max over 64 codes at a time instead of a test
//   of every decoded weight. Each step prefetches the codes 1024 columns
//   ahead (or in the next register block's rows).
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace jikji::lowering;

namespace {

constexpr int64_t kRows = 4;    // input rows per register block (prefill)
constexpr int64_t kColumns = 4; // output features per register block
constexpr int64_t kLanes = 16;  // float32 per AVX-512 register
constexpr int64_t kChunk = 64;  // e4m3 codes per AVX-512 register
// How far ahead of the codes it decodes a one-row step prefetches, per
// feature: 16 cache lines (bench-v3-fp8 decode steps took the same time,
// within 2%, with 512 and 2048).
constexpr int64_t kPrefetchCodes = 1024;

class BlockScaledProduct {
public:
  BlockScaledProduct(OpBuilder &b, Location loc, Value input, Value weight,
                     Value scales, ArrayRef<int64_t> block, int64_t blocks,
                     bool byteLookup)
      : b(b), loc(loc), input(input), weight(weight), scales(scales),
        scaleRows(block[0]), blockWidth(block[1]), blocks(blocks),
        byteLookup(byteLookup) {
    features = cast<RankedTensorType>(weight.getType()).getDimSize(0);
    // The widest step of codes that divides the block (128 in every
    // checkpoint): 64, one AVX-512 register of bytes.
    for (chunk = kChunk; chunk > kLanes && blockWidth % chunk != 0;)
      chunk /= 2;
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
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }

  Value read(Value matrix, Value row, Value column) {
    Type element = cast<RankedTensorType>(matrix.getType()).getElementType();
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    return vector::TransferReadOp::create(
        b, loc, VectorType::get({kLanes}, element), matrix,
        ValueRange{row, column}, padding, ArrayRef<bool>{true});
  }

  /// Features [column, column + width) of rows [0, rows) into `tile`
  /// ([rows, width] when `offset`, else the whole output). Rows in blocks of
  /// kRows first (registerRowBlock, each decoded weight vector used by
  /// kRows rows), then the 0 to kRows - 1 rows left one at a time
  /// (registerBlock: a decode step's one row).
  Value columns(Value rows, Value column, int64_t width, Value tile,
                bool offset = false) {
    Value blockedRows = mul(
        arith::DivUIOp::create(b, loc, rows, constant(kRows)), constant(kRows));
    auto outColumn = [&](Value feature) {
      return offset ? feature : add(column, feature);
    };
    // Features inside row blocks: the width x K codes of this tile (64 x
    // 7168 = 448 KiB at most) stay in L2 while every row block uses them.
    Value blocked = overRegisterBlocks(
        b, loc, constant(0), blockedRows, kRows, width, kColumns,
        /*rowsOutside=*/true, tile, [&](Value row, Value feature, Value out) {
          return registerRowBlock(row, add(column, feature),
                                  outColumn(feature), out);
        });
    // Rows inside features: the 4 weight rows stay in cache while every
    // row left uses them.
    return overRegisterBlocks(b, loc, blockedRows, rows, 1, width, kColumns,
                              /*rowsOutside=*/false, blocked,
                              [&](Value row, Value feature, Value out) {
                                return registerBlock(row, add(column, feature),
                                                     outColumn(feature), out);
                              });
  }

  /// out[row + i, outColumn + j] = Σ_k x[row + i, k] · (W[f + j, k] ·
  /// scale[f / 128, k / 128]) for i, j < 4 over the whole blocks: each 16
  /// codes decoded once (NaN codes to NaN) and multiplied by their block's
  /// scale, then used by 4 rows; 16 accumulators across the reduction, as
  /// the bf16 kernel (BlockedWeightProduct.cpp). The scale multiplies each
  /// decoded weight, once per 4 rows, as the reference dequantizes it.
  Value registerRowBlock(Value row, Value feature, Value outColumn, Value out) {
    auto lanesType = VectorType::get({kLanes}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    SmallVector<Value> zeros(kRows * kColumns, zero);
    Value scaleRow =
        arith::DivUIOp::create(b, loc, feature, constant(scaleRows));
    auto byBlock = scf::ForOp::create(
        b, loc, constant(0), constant(blocks), constant(1), zeros,
        [&](OpBuilder &, Location, Value kb, ValueRange blockSums) {
          Value begin = mul(kb, constant(blockWidth));
          Value scale = tensor::ExtractOp::create(b, loc, scales,
                                                  ValueRange{scaleRow, kb});
          // The decoding leaves out 2^8 (float8E4M3FNOver256): exact.
          Value scaled = arith::MulFOp::create(
              b, loc, scale,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(256.0f)));
          Value lanes = vector::BroadcastOp::create(b, loc, lanesType, scaled);
          auto inBlock = scf::ForOp::create(
              b, loc, begin, add(begin, constant(blockWidth)), constant(kLanes),
              blockSums, [&](OpBuilder &, Location, Value k, ValueRange sums) {
                SmallVector<Value> x, w, next;
                for (int64_t i = 0; i < kRows; ++i)
                  x.push_back(read(input, add(row, constant(i)), k));
                for (int64_t j = 0; j < kColumns; ++j) {
                  Value codes = read(weight, add(feature, constant(j)), k);
                  w.push_back(arith::MulFOp::create(
                      b, loc, float8E4M3FNOver256(b, loc, codes), lanes));
                }
                for (int64_t i = 0; i < kRows; ++i)
                  for (int64_t j = 0; j < kColumns; ++j)
                    next.push_back(vector::FMAOp::create(
                        b, loc, x[i], w[j], sums[i * kColumns + j]));
                scf::YieldOp::create(b, loc, next);
              });
          scf::YieldOp::create(b, loc, inBlock.getResults());
        });
    return writeRegisterBlock(b, loc, byBlock.getResults(), kRows, kColumns, out,
                              row, outColumn);
  }

  /// The e4m3 codes of `lanes` weights of feature `feature` from column
  /// `column`, as i8.
  Value readCodes(Value feature, Value column, int64_t lanes) {
    Type element = cast<RankedTensorType>(weight.getType()).getElementType();
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    Value codes = vector::TransferReadOp::create(
        b, loc, VectorType::get({lanes}, element), weight,
        ValueRange{feature, column}, padding, ArrayRef<bool>{true});
    return arith::BitcastOp::create(
        b, loc, VectorType::get({lanes}, b.getI8Type()), codes);
  }

  /// The weight's buffer, for prefetches only (it is never written).
  Value prefetchBuffer() {
    auto type = cast<RankedTensorType>(weight.getType());
    return bufferization::ToBufferOp::create(
        b, loc, bufferization::getMemRefTypeWithFullyDynamicLayout(type),
        weight, /*read_only=*/b.getUnitAttr());
  }

  /// Prefetches the codes of features [feature, feature + kColumns)
  /// kPrefetchCodes columns ahead of column `k`, for a one-row step. Past
  /// the end of their rows the prefetches move to the same place in the
  /// next register block's features (kColumns rows on), whose codes come
  /// next: alone, the hardware prefetcher left products over rows of 2048
  /// codes (V3's expert down projections) 1.6x slower per code than over
  /// rows of 7168.
  void prefetchAhead(Value buffer, Value feature, Value k) {
    int64_t width = cast<RankedTensorType>(weight.getType()).getDimSize(1);
    Value ahead = add(k, constant(kPrefetchCodes));
    Value wraps = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                        ahead, constant(width));
    // (Rows narrower than kPrefetchCodes prefetch their last code.)
    Value column = arith::MinUIOp::create(
        b, loc,
        arith::SelectOp::create(b, loc, wraps, sub(ahead, constant(width)),
                                ahead),
        constant(width - 1));
    Value first = arith::SelectOp::create(
        b, loc, wraps, add(feature, constant(kColumns)), feature);
    for (int64_t j = 0; j < kColumns; ++j) {
      // The last block's prefetches stay in the weight.
      Value row = arith::MinUIOp::create(b, loc, add(first, constant(j)),
                                         constant(features - 1));
      memref::PrefetchOp::create(b, loc, buffer, ValueRange{row, column},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
    }
  }

  /// out[row, outColumn + j] = Σ_kb scale[f / 128, kb] ·
  /// (x[row, kb-th block] · W[f + j, kb-th block]) for j < 4 and the
  /// whole blocks kb; NaN where W[f + j] holds a NaN code.
  Value registerBlock(Value row, Value feature, Value outColumn, Value out) {
    if (byteLookup && chunk == kChunk)
      return lookupRegisterBlock(row, feature, outColumn, out);
    auto lanesType = VectorType::get({kLanes}, b.getF32Type());
    auto chunkType = VectorType::get({chunk}, b.getI8Type());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    Value noCodes = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(chunkType, b.getI8IntegerAttr(0)));
    Value magnitudeMask = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(chunkType, b.getI8IntegerAttr(0x7F)));
    // Per feature: the running sum (4 x 16 lanes), then the largest code
    // magnitude seen (4 x `chunk` bytes). The NaN codes S.1111.111 are the
    // only ones of magnitude 0x7F: a max over every code finds them with 2
    // byte ops per `chunk` codes, where testing each decoded weight cost 3
    // ops (mask, compare, blend) per 16.
    SmallVector<Value> initial(kColumns, zero);
    initial.append(kColumns, noCodes);
    // 4 features starting at a multiple of 4 share one row of scales.
    Value scaleRow =
        arith::DivUIOp::create(b, loc, feature, constant(scaleRows));
    Value weightBuffer = prefetchBuffer();
    auto byBlock = scf::ForOp::create(
        b, loc, constant(0), constant(blocks), constant(1), initial,
        [&](OpBuilder &, Location, Value kb, ValueRange carried) {
          Value begin = mul(kb, constant(blockWidth));
          SmallVector<Value> inBlockInitial(kColumns, zero);
          inBlockInitial.append(carried.begin() + kColumns, carried.end());
          auto inBlock = scf::ForOp::create(
              b, loc, begin, add(begin, constant(blockWidth)), constant(chunk),
              inBlockInitial,
              [&](OpBuilder &, Location, Value k, ValueRange partial) {
                SmallVector<Value> next(partial.begin(), partial.end());
                prefetchAhead(weightBuffer, feature, k);
                for (int64_t j = 0; j < kColumns; ++j) {
                  Value codes = readCodes(add(feature, constant(j)), k, chunk);
                  Value magnitudes =
                      arith::AndIOp::create(b, loc, codes, magnitudeMask);
                  next[kColumns + j] = arith::MaxUIOp::create(
                      b, loc, next[kColumns + j], magnitudes);
                }
                // The decoding reads its 16 codes again (an operand of the
                // sign extension, not a lane extract of the wide read).
                for (int64_t lane = 0; lane < chunk; lane += kLanes) {
                  Value column = add(k, constant(lane));
                  Value x = read(input, row, column);
                  for (int64_t j = 0; j < kColumns; ++j) {
                    Value w = float8E4M3FNBitsAsFiniteOver256(
                        b, loc,
                        readCodes(add(feature, constant(j)), column, kLanes));
                    next[j] = vector::FMAOp::create(b, loc, x, w, next[j]);
                  }
                }
                scf::YieldOp::create(b, loc, next);
              });
          // The decoded weights are 2^8 too small: the scale makes up.
          SmallVector<Value> next =
              addScaledBlock(scaleRow, kb, inBlock.getResults(), carried,
                             /*factor=*/256.0f);
          for (int64_t j = 0; j < kColumns; ++j)
            next.push_back(inBlock.getResult(kColumns + j));
          scf::YieldOp::create(b, loc, next);
        });
    Value nan = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN()));
    Value nanMagnitude =
        arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0x7F));
    SmallVector<Value> dots;
    for (int64_t j = 0; j < kColumns; ++j) {
      Value dot = vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, byBlock.getResult(j),
          arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
      Value largest =
          vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXUI,
                                      byBlock.getResult(kColumns + j));
      Value hasNaN = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           largest, nanMagnitude);
      dots.push_back(arith::SelectOp::create(b, loc, hasNaN, nan, dot));
    }
    return writeDots(dots, out, row, outColumn);
  }

  /// registerBlock with the codes decoded by byte lookups
  /// (float8E4M3FNByLookup, AVX-512 VBMI): 64 codes of each feature per
  /// step in 1 permute, 2 lookups, 1 sign merge and 6 unpacks, their
  /// values exact and NaN codes NaN, where the float16 decoding costs 3
  /// integer ops and a conversion per 16 codes and a separate search for
  /// the NaN codes (in L2, 23 against 14 GB/s of codes, docs/benchmarks.md).
  /// Each block's 4 accumulators are scaled once at its end.
  Value lookupRegisterBlock(Value row, Value feature, Value outColumn,
                            Value out) {
    auto lanesType = VectorType::get({kLanes}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanesType, b.getF32FloatAttr(0.0)));
    SmallVector<Value> initial(kColumns, zero);
    Value scaleRow =
        arith::DivUIOp::create(b, loc, feature, constant(scaleRows));
    Value weightBuffer = prefetchBuffer();
    auto byBlock = scf::ForOp::create(
        b, loc, constant(0), constant(blocks), constant(1), initial,
        [&](OpBuilder &, Location, Value kb, ValueRange carried) {
          Value begin = mul(kb, constant(blockWidth));
          SmallVector<Value> inBlockInitial(kColumns, zero);
          auto inBlock = scf::ForOp::create(
              b, loc, begin, add(begin, constant(blockWidth)), constant(chunk),
              inBlockInitial,
              [&](OpBuilder &, Location, Value k, ValueRange partial) {
                SmallVector<Value> x;
                for (int64_t lane = 0; lane < chunk; lane += kLanes)
                  x.push_back(read(input, row, add(k, constant(lane))));
                SmallVector<Value> next(partial.begin(), partial.end());
                prefetchAhead(weightBuffer, feature, k);
                for (int64_t j = 0; j < kColumns; ++j) {
                  SmallVector<Value> w = float8E4M3FNByLookup(
                      b, loc, readCodes(add(feature, constant(j)), k, chunk));
                  for (auto [xs, ws] : llvm::zip_equal(x, w))
                    next[j] = vector::FMAOp::create(b, loc, xs, ws, next[j]);
                }
                scf::YieldOp::create(b, loc, next);
              });
          scf::YieldOp::create(b, loc,
                               addScaledBlock(scaleRow, kb,
                                              inBlock.getResults(), carried,
                                              /*factor=*/1.0f));
        });
    SmallVector<Value> dots;
    for (int64_t j = 0; j < kColumns; ++j)
      dots.push_back(vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, byBlock.getResult(j),
          arith::FastMathFlags::reassoc | arith::FastMathFlags::contract));
    return writeDots(dots, out, row, outColumn);
  }

  /// carried[j] + sums[j] · scale · factor for the block's 4 features, the
  /// scale of column block `kb` in scale row `scaleRow`: each block's sums
  /// scaled once, at its end (the one-row kernels' epilogue per block).
  SmallVector<Value> addScaledBlock(Value scaleRow, Value kb, ValueRange sums,
                                    ValueRange carried, float factor) {
    Value scale =
        tensor::ExtractOp::create(b, loc, scales, ValueRange{scaleRow, kb});
    if (factor != 1.0f)
      scale = arith::MulFOp::create(
          b, loc, scale,
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(factor)));
    Value lanes = vector::BroadcastOp::create(
        b, loc, VectorType::get({kLanes}, b.getF32Type()), scale);
    SmallVector<Value> next;
    for (int64_t j = 0; j < kColumns; ++j)
      next.push_back(
          vector::FMAOp::create(b, loc, sums[j], lanes, carried[j]));
    return next;
  }

  /// The 4 features' dot products into out[row, outColumn ..].
  Value writeDots(ArrayRef<Value> dots, Value out, Value row,
                  Value outColumn) {
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
  /// Codes per step of the reduction (a multiple of kLanes).
  int64_t chunk = kChunk;
  /// The one-row products decode by byte lookups (the target has VBMI).
  bool byteLookup = false;
};

} // namespace

bool jikji::lowering::hasBlockScaledWeightProduct(int64_t features) {
  return features % kColumns == 0;
}

Value jikji::lowering::blockScaledWeightProduct(
    OpBuilder &b, Location loc, Value input, Value weight, Value scales,
    ArrayRef<int64_t> block, int64_t blocks, Value output, bool threaded,
    bool byteLookup) {
  Value rows = tensor::DimOp::create(b, loc, input, 0);
  return BlockScaledProduct(b, loc, input, weight, scales, block, blocks,
                            byteLookup)
      .build(rows, output, threaded);
}
