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
  // infinities, S.1111.111 is NaN. Every value is a float32 exactly. The
  // decoding is integer and float ops that vectorize (a table lookup is a
  // gather, and LLVM left the products scalar around it).
  auto i32 = [&](int64_t constant) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(constant))
        .getResult();
  };
  auto f32 = [&](float constant) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(constant))
        .getResult();
  };
  Value bits = arith::BitcastOp::create(b, loc, b.getI8Type(), value);
  Value wide = arith::ExtUIOp::create(b, loc, b.getI32Type(), bits);
  Value magnitude = arith::AndIOp::create(b, loc, wide, i32(0x7F));
  // Normal (exponent field E > 0): 2^(E-7) (1 + m/8) is the float32 with
  // exponent field E + 120 and the mantissa's 3 bits on top.
  Value normalBits = arith::AddIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, magnitude, i32(20)),
      i32(120 << 23));
  Value normal =
      arith::BitcastOp::create(b, loc, b.getF32Type(), normalBits);
  // Subnormal (E = 0, so the magnitude is m): m 2^-9.
  Value subnormal = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, b.getF32Type(), magnitude),
      f32(0x1p-9f));
  Value isSubnormal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            magnitude, i32(8));
  Value unsignedValue =
      arith::SelectOp::create(b, loc, isSubnormal, subnormal, normal);
  Value sign = arith::ShLIOp::create(
      b, loc, arith::AndIOp::create(b, loc, wide, i32(0x80)), i32(24));
  Value signedBits = arith::OrIOp::create(
      b, loc,
      arith::BitcastOp::create(b, loc, b.getI32Type(), unsignedValue), sign);
  Value decoded = arith::BitcastOp::create(b, loc, b.getF32Type(), signedBits);
  Value isNaN = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                      magnitude, i32(0x7F));
  return arith::SelectOp::create(
      b, loc, isNaN, f32(std::numeric_limits<float>::quiet_NaN()), decoded);
}
