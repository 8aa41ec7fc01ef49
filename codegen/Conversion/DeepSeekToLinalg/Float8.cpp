//===- Float8.cpp - FP8 decoding for the lowerings ------------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/APFloat.h"

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

namespace {
constexpr int64_t kLookupCodes = 64; // codes per lookup: one AVX-512 register
constexpr int64_t kLaneBytes = 16;   // bytes per 128-bit lane (the unpacks')
constexpr int64_t kFloatLanes = 16;  // float32 per AVX-512 register
} // namespace

/// vpermi2b (AVX-512 VBMI) on 64 bytes.
static constexpr llvm::StringLiteral kByteLookupIntrinsic =
    "llvm.x86.avx512.vpermi2var.qi.512";

/// Byte i of the result is byte `index[i] & 127` of the 128-byte table
/// `low` ++ `high`.
static Value lookUpBytes(OpBuilder &b, Location loc, Value low, Value index,
                         Value high) {
  return LLVM::CallIntrinsicOp::create(b, loc, index.getType(),
                                       b.getStringAttr(kByteLookupIntrinsic),
                                       ValueRange{low, index, high})
      .getResult(0);
}

namespace {
/// The memory effects of `llvm.call_intrinsic`, which declares none, so
/// that the buffer deallocation pipeline accepts the byte lookups in
/// kernels on tensors (it rejects ops whose effects are unknown): none for
/// the byte lookup, which computes from its operands only; every kind for
/// any other intrinsic, as unknown effects are taken to be.
struct IntrinsicCallEffects
    : MemoryEffectOpInterface::ExternalModel<IntrinsicCallEffects,
                                             LLVM::CallIntrinsicOp> {
  void getEffects(
      Operation *op,
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
          &effects) const {
    if (cast<LLVM::CallIntrinsicOp>(op).getIntrin() == kByteLookupIntrinsic)
      return;
    effects.emplace_back(MemoryEffects::Allocate::get());
    effects.emplace_back(MemoryEffects::Free::get());
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};
} // namespace

void jikji::lowering::registerByteLookupEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, LLVM::LLVMDialect *) {
    LLVM::CallIntrinsicOp::attachInterface<IntrinsicCallEffects>(*context);
  });
}

/// The 64-byte halves of the tables from an e4m3 magnitude code (7 bits)
/// to byte `byte` (2: the low, 3: the high) of its value's float32 bits.
static std::pair<Value, Value> magnitudeTable(OpBuilder &b, Location loc,
                                              unsigned byte) {
  SmallVector<int8_t> bytes;
  for (unsigned magnitude = 0; magnitude < 128; ++magnitude) {
    llvm::APFloat value(llvm::APFloat::Float8E4M3FN(),
                        llvm::APInt(8, magnitude));
    bool lost = false;
    value.convert(llvm::APFloat::IEEEsingle(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
    uint32_t bits = value.bitcastToAPInt().getZExtValue();
    // A float32 of an e4m3 value has only its upper two bytes set (3
    // mantissa bits); the NaN code's is the quiet NaN 0x7FC00000.
    assert((bits & 0xFFFF) == 0 && "e4m3 has 3 mantissa bits");
    bytes.push_back(static_cast<int8_t>((bits >> (8 * byte)) & 0xFF));
  }
  auto type = VectorType::get({kLookupCodes}, b.getI8Type());
  auto half = [&](int64_t begin) -> Value {
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            type, ArrayRef<int8_t>(bytes).slice(begin, kLookupCodes)));
  };
  return {half(0), half(kLookupCodes)};
}

SmallVector<Value> jikji::lowering::float8E4M3FNByLookup(OpBuilder &b,
                                                         Location loc,
                                                         Value bits) {
  auto bytesType = cast<VectorType>(bits.getType());
  assert(bytesType.getNumElements() == kLookupCodes &&
         bytesType.getElementType().isInteger(8) && "64 codes as i8");
  // The float32 bits of an e4m3 value are its two upper bytes, looked up
  // from the code's 7 magnitude bits (vpermi2b ignores the 8th), with the
  // code's sign bit as bit 31. The NaN codes' entries are NaN, so no test
  // is needed. The bytes become float32 lanes through x86's unpacks, which
  // interleave within 128-bit lanes: interleaving bytes [lo, hi] gives the
  // 16-bit upper halves, interleaving those with zeros the float32s. The
  // codes are first permuted so that the 4 results come out in order.
  //
  // Code j of the result r (0-3), lane position l = j / 4 of 4, element e
  // = j % 4, is taken from byte 16 * l + 8 * (r / 2) + 4 * (r % 2) + e of
  // the permuted codes (the unpacks' order).
  SmallVector<int64_t> permutation(kLookupCodes);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t j = 0; j < kFloatLanes; ++j)
      permutation[kLaneBytes * (j / 4) + 8 * (r / 2) + 4 * (r % 2) + j % 4] =
          kFloatLanes * r + j;
  Value codes = vector::ShuffleOp::create(b, loc, bits, bits, permutation);
  auto [lowBytes0, lowBytes1] = magnitudeTable(b, loc, 2);
  auto [highBytes0, highBytes1] = magnitudeTable(b, loc, 3);
  Value low = lookUpBytes(b, loc, lowBytes0, codes, lowBytes1);
  Value magnitudeHigh = lookUpBytes(b, loc, highBytes0, codes, highBytes1);
  Value signBit = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(bytesType, b.getIntegerAttr(b.getI8Type(),
                                                         APInt(8, 0x80))));
  Value high = arith::OrIOp::create(
      b, loc, magnitudeHigh, arith::AndIOp::create(b, loc, codes, signBit));
  // Interleave 8 bytes of each 128-bit lane of `x` and `y` (vpunpck*bw /
  // *wd): `upper` picks the lanes' upper 8 bytes (of `element`-sized items).
  auto interleave = [&](Value x, Value y, int64_t items, bool upper) {
    int64_t count = cast<VectorType>(x.getType()).getNumElements();
    int64_t perLane = count / 4;
    SmallVector<int64_t> mask;
    for (int64_t lane = 0; lane < 4; ++lane)
      for (int64_t i = 0; i < items; ++i) {
        int64_t item = lane * perLane + (upper ? items : 0) + i;
        mask.push_back(item);
        mask.push_back(count + item);
      }
    return vector::ShuffleOp::create(b, loc, x, y, mask).getResult();
  };
  auto halvesType = VectorType::get({kLookupCodes / 2}, b.getI16Type());
  auto floatsType = VectorType::get({kFloatLanes}, b.getF32Type());
  Value zeros = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(halvesType, b.getI16IntegerAttr(0)));
  SmallVector<Value> floats;
  for (bool upperBytes : {false, true}) {
    Value halves = vector::BitCastOp::create(
        b, loc, halvesType, interleave(low, high, 8, upperBytes));
    for (bool upperHalves : {false, true})
      floats.push_back(vector::BitCastOp::create(
          b, loc, floatsType, interleave(zeros, halves, 4, upperHalves)));
  }
  return floats;
}
