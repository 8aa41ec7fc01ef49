//===- Float8ToBf16.cpp - e4m3 to bf16 in registers -----------------------===//
//
// Part of Jikji. e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits;
// bf16: sign, 8 exponent bits (bias 127), 7 mantissa bits.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Float8ToBf16.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

Value jikji::cuda::bf16BitsOfFloat8E4M3FN(OpBuilder &b, Location loc,
                                          Value bits) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto constant = [&](int64_t value) {
    return arith::ConstantIntOp::create(b, loc, i32, value).getResult();
  };
  Value magnitude = arith::AndIOp::create(b, loc, bits, constant(0x7f));
  Value sign = arith::ShLIOp::create(
      b, loc, arith::AndIOp::create(b, loc, bits, constant(0x80)), constant(8));
  // A normal number (exponent e in 1..15, mantissa m): bf16 exponent
  // e - 7 + 127 = e + 120 and mantissa m << 4, i.e. the magnitude's bits
  // moved up 4 with 120 added to the exponent field.
  Value normal = arith::AddIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, magnitude, constant(4)),
      constant(120 << 7));
  // A subnormal (e = 0) is m * 2^-9: m as f32 times 2^-9 is exact and
  // normal in f32 (and so in bf16, whose exponent range is f32's), and its
  // top half is the bf16 (the low half is zero: m has 3 bits). m = 0 gives
  // +0.
  Value scaled = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32, magnitude),
      arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                     APFloat(0x1p-9f)));
  Value subnormal = arith::ShRUIOp::create(
      b, loc, arith::BitcastOp::create(b, loc, i32, scaled), constant(16));
  Value isSubnormal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            magnitude, constant(0x08));
  Value isNan = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                      magnitude, constant(0x7f));
  Value finite =
      arith::SelectOp::create(b, loc, isSubnormal, subnormal, normal);
  Value result =
      arith::SelectOp::create(b, loc, isNan, constant(0x7fc0), finite);
  return arith::OrIOp::create(b, loc, sign, result);
}
