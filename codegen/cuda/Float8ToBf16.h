//===- Float8ToBf16.h - e4m3 to bf16 in registers ---------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_FLOAT8TOBF16_H
#define JIKJI_CODEGEN_CUDA_FLOAT8TOBF16_H

#include "mlir/IR/Builders.h"

namespace jikji::cuda {

/// The bf16 bits (in the low half of an i32) of the f8E4M3FN value whose
/// bits are the i32 `bits` (0 to 255). Exact: bf16 has more exponent and
/// mantissa bits than e4m3, so every e4m3 value, its subnormals included,
/// is a bf16 value; 0x7f and 0xff (e4m3fn's only NaNs) give a quiet NaN of
/// the same sign. Integer and f32 ops only, so it works on every GPU the
/// tensor-core kernels target (the PTX conversions from e4m3 need sm_89
/// and give f16).
mlir::Value bf16BitsOfFloat8E4M3FN(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::Value bits);

} // namespace jikji::cuda

#endif // JIKJI_CODEGEN_CUDA_FLOAT8TOBF16_H
