//===- Float8.cpp - FP8 decoding for the lowerings ------------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include <limits>

using namespace mlir;

/// A constant of `element` type, splat to `like`'s shape when it is a vector.
static Value splatLike(OpBuilder &b, Location loc, Type like, Type element,
                       Attribute value) {
  if (auto vector = dyn_cast<VectorType>(like)) {
    auto type = VectorType::get(vector.getShape(), element);
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<Attribute>{value}));
  }
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
}

/// `type` with its element type replaced (scalars stay scalars).
static Type withElement(Type type, Type element) {
  if (auto vector = dyn_cast<VectorType>(type))
    return VectorType::get(vector.getShape(), element);
  return element;
}

/// The e4m3 codes `bits` (i8, or a vector of them) as float32 / 2^8, every
/// code taken as finite (S.1111.111 comes out as ±480 / 2^8).
static Value decodeAsFinite(OpBuilder &b, Location loc, Value bits) {
  // e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; no
  // infinities, S.1111.111 is NaN. Every value is a float16 exactly, 2^8
  // times the one whose bits are the e4m3 bits moved into float16's
  // places (exponent bias 15, 10 mantissa bits), subnormals included; the
  // hardware's half-to-float conversion (F16C's vcvtph2ps on x86) then
  // widens it. A few vector ops per 16 weights; a table lookup would be a
  // gather, and LLVM left the products scalar around one.
  Type type = bits.getType();
  Type i16 = b.getI16Type();
  // Sign-extended and shifted by 7, the sign lands in bit 15 with a copy
  // in bit 14 that the mask clears: S.0EEEE.MMM0000000.
  Value wide = arith::ExtSIOp::create(b, loc, withElement(type, i16), bits);
  Value moved = arith::ShLIOp::create(
      b, loc, wide, splatLike(b, loc, type, i16, b.getI16IntegerAttr(7)));
  // The mask's bits as an i16 attribute: getI16IntegerAttr would take it as
  // a negative int16_t, and an APInt built from that is not truncated to
  // 16 bits (matchers comparing the constant then miss it).
  Value halfBits = arith::AndIOp::create(
      b, loc, moved,
      splatLike(b, loc, type, i16, b.getIntegerAttr(i16, APInt(16, 0xBF80))));
  Value half = arith::BitcastOp::create(
      b, loc, withElement(type, b.getF16Type()), halfBits);
  return arith::ExtFOp::create(b, loc, withElement(type, b.getF32Type()), half);
}

Value jikji::lowering::float8E4M3FNOver256(OpBuilder &b, Location loc,
                                           Value value) {
  Type type = value.getType();
  Type i8 = b.getI8Type();
  Value bits = arith::BitcastOp::create(b, loc, withElement(type, i8), value);
  Value widened = decodeAsFinite(b, loc, bits);
  // S.1111.111 would become 480 / 256: NaN instead.
  Value nanBits = splatLike(b, loc, type, i8, b.getI8IntegerAttr(0x7F));
  Value isNaN = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, bits, nanBits), nanBits);
  return arith::SelectOp::create(
      b, loc, isNaN,
      splatLike(b, loc, type, b.getF32Type(),
                b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN())),
      widened);
}

Value jikji::lowering::float8E4M3FNBitsAsFiniteOver256(OpBuilder &b,
                                                       Location loc,
                                                       Value bits) {
  return decodeAsFinite(b, loc, bits);
}

Value jikji::lowering::widenFloat8E4M3FN(OpBuilder &b, Location loc,
                                         Value value) {
  return arith::MulFOp::create(b, loc, float8E4M3FNOver256(b, loc, value),
                               splatLike(b, loc, value.getType(),
                                         b.getF32Type(),
                                         b.getF32FloatAttr(256.0f)));
}
