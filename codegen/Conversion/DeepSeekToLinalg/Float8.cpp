//===- Float8.cpp - FP8 decoding for the lowerings ------------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/Builders.h"

#include "llvm/ADT/APFloat.h"

using namespace mlir;

DenseElementsAttr jikji::lowering::float8E4M3FNTable(Builder &b) {
  // APFloat decodes the format exactly, so the table is its definition,
  // not a second implementation of it.
  SmallVector<float> values;
  for (unsigned bits = 0; bits < 256; ++bits) {
    llvm::APFloat value(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, bits));
    values.push_back(value.convertToFloat());
  }
  auto type = RankedTensorType::get({256}, b.getF32Type());
  return DenseElementsAttr::get(type, ArrayRef<float>(values));
}
