//===- Float8.cpp - FP8 decoding for the lowerings ------------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include <limits>

using namespace mlir;

Value jikji::lowering::widenFloat8E4M3FN(OpBuilder &b, Location loc,
                                         Value value) {
  // e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; no
  // infinities, S.1111.111 is NaN. Every value is a float16 exactly, 2^-8
  // times the one whose bits are the e4m3 bits moved into float16's
  // places (exponent bias 15, 10 mantissa bits), subnormals included; the
  // hardware's half-to-float conversion (F16C's vcvtph2ps on x86) then
  // widens it. A few vector ops per 16 weights; a table lookup would be a
  // gather, and LLVM left the products scalar around one.
  Value bits = arith::BitcastOp::create(b, loc, b.getI8Type(), value);
  // Sign-extended and shifted by 7, the sign lands in bit 15 with a copy
  // in bit 14 that the mask clears: S.0EEEE.MMM0000000.
  Value wide = arith::ExtSIOp::create(b, loc, b.getI16Type(), bits);
  Value moved = arith::ShLIOp::create(
      b, loc, wide,
      arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(7)));
  Value halfBits = arith::AndIOp::create(
      b, loc, moved,
      arith::ConstantOp::create(b, loc,
                                b.getI16IntegerAttr(static_cast<int16_t>(
                                    static_cast<uint16_t>(0xBF80)))));
  Value half = arith::BitcastOp::create(b, loc, b.getF16Type(), halfBits);
  Value widened = arith::ExtFOp::create(b, loc, b.getF32Type(), half);
  Value decoded = arith::MulFOp::create(
      b, loc, widened,
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(256.0f)));
  // S.1111.111 would become 480: NaN instead.
  Value nanBits = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0x7F));
  Value isNaN = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, bits, nanBits), nanBits);
  return arith::SelectOp::create(
      b, loc, isNaN,
      arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN())),
      decoded);
}
