//===- Float8ToBf16Test.cpp - The tensor-core kernels' FP8 decoding -------===//
//
// Part of Jikji. The FP8 products on tensor cores decode e4m3 weights to
// bf16 with integer ops (codegen/cuda/Float8ToBf16.cpp), which no GPU here
// can run. Built on constants, the ops fold to their values, so each of
// the 256 encodings is checked against APFloat's conversion.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Float8ToBf16.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

using namespace mlir;

TEST(Float8ToBf16Test, DecodesEveryEncodingExactly) {
  MLIRContext context;
  context.loadDialect<arith::ArithDialect, func::FuncDialect>();
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto function = func::FuncOp::create(
      b, loc, "decode",
      b.getFunctionType({}, SmallVector<Type>(256, b.getI32Type())));
  b.setInsertionPointToStart(function.addEntryBlock());
  SmallVector<Value> decoded;
  for (int64_t bits = 0; bits < 256; ++bits)
    decoded.push_back(jikji::cuda::bf16BitsOfFloat8E4M3FN(
        b, loc, arith::ConstantIntOp::create(b, loc, b.getI32Type(), bits)));
  auto terminator = func::ReturnOp::create(b, loc, decoded);
  ASSERT_TRUE(
      succeeded(applyPatternsGreedily(function, FrozenRewritePatternSet())));

  for (unsigned bits = 0; bits < 256; ++bits) {
    SCOPED_TRACE("e4m3 bits " + std::to_string(bits));
    APInt result;
    ASSERT_TRUE(
        matchPattern(terminator.getOperand(bits), m_ConstantInt(&result)))
        << "did not fold to a constant";
    ASSERT_EQ(result.getZExtValue() >> 16, 0u) << "bits above the bf16";
    llvm::APFloat actual(llvm::APFloat::BFloat(), result.trunc(16));
    llvm::APFloat expected(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, bits));
    EXPECT_EQ(actual.isNegative(), expected.isNegative());
    if (expected.isNaN()) {
      EXPECT_TRUE(actual.isNaN());
      continue;
    }
    bool losesInfo = false;
    expected.convert(llvm::APFloat::BFloat(),
                     llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    EXPECT_FALSE(losesInfo);
    EXPECT_EQ(actual.bitcastToAPInt(), expected.bitcastToAPInt())
        << "decoded " << actual.convertToFloat() << ", expected "
        << expected.convertToFloat();
  }
}
