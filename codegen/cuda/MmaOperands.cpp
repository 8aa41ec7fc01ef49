//===- MmaOperands.cpp - What the tensor-core kernels load and store ------===//
//
// Part of Jikji. The parts the product kernels share (MmaKernel.cpp, one
// warp per 16 x 8 tile; MmaTiledKernel.cpp, tiles through workgroup
// memory): operands as the bf16 pairs mma.sync takes, the instruction
// itself, the sum over block-scaled weights, and the results stored or
// finished by the epilogue.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Float8ToBf16.h"
#include "codegen/cuda/MmaProducts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

Value jikji::cuda::bf16BitsOf(OpBuilder &b, Location loc, Value value) {
  Type i32 = b.getI32Type();
  if (isa<Float8E4M3FNType>(value.getType())) {
    Value bits = arith::BitcastOp::create(b, loc, b.getI8Type(), value);
    return bf16BitsOfFloat8E4M3FN(b, loc,
                                  arith::ExtUIOp::create(b, loc, i32, bits));
  }
  if (!value.getType().isBF16())
    value = arith::TruncFOp::create(b, loc, b.getBF16Type(), value);
  Value bits = arith::BitcastOp::create(b, loc, b.getI16Type(), value);
  return arith::ExtUIOp::create(b, loc, i32, bits);
}

Value jikji::cuda::loadBf16Pair(OpBuilder &b, Location loc, Value memref,
                                Value row, Value column) {
  auto half = [&](Value at) {
    return bf16BitsOf(
        b, loc, memref::LoadOp::create(b, loc, memref, ValueRange{row, at}));
  };
  Value low = half(column);
  Value next = arith::AddIOp::create(
      b, loc, column, arith::ConstantIndexOp::create(b, loc, 1));
  Value high = half(next);
  Value shifted = arith::ShLIOp::create(
      b, loc, high, arith::ConstantIntOp::create(b, loc, b.getI32Type(), 16));
  return arith::OrIOp::create(b, loc, shifted, low);
}

void jikji::cuda::storeMmaResults(OpBuilder &b, Location loc,
                                  ArrayRef<MmaProduct> products,
                                  const MmaEpilogue &epilogue, Value row,
                                  Value column, ArrayRef<Value> values) {
  linalg::GenericOp consumer = epilogue.consumer;
  for (auto [i, product] : llvm::enumerate(products))
    if (!consumer || epilogue.storeProducts[i])
      memref::StoreOp::create(b, loc, values[i], product.output,
                              ValueRange{row, column});
  if (!consumer)
    return;
  // The consumer's body at this element: a y it reads is the kernel's
  // value, any other operand is loaded (its init only if the body uses it).
  Block &body = consumer.getRegion().front();
  IRMapping mapping;
  for (OpOperand &operand : consumer->getOpOperands()) {
    BlockArgument argument = consumer.getMatchingBlockArgument(&operand);
    if (argument.use_empty())
      continue;
    Value value;
    for (auto [i, product] : llvm::enumerate(products))
      if (operand.get() == product.output)
        value = values[i];
    if (!value)
      value = memref::LoadOp::create(b, loc, operand.get(),
                                     ValueRange{row, column});
    mapping.map(argument, value);
  }
  for (Operation &inner : body.without_terminator())
    b.clone(inner, mapping);
  Value result = mapping.lookupOrDefault(
      cast<linalg::YieldOp>(body.getTerminator()).getValues()[0]);
  memref::StoreOp::create(b, loc, result, consumer.getDpsInits()[0],
                          ValueRange{row, column});
}

SmallVector<Value, 4> jikji::cuda::multiplyAccumulateBf16(OpBuilder &b,
                                                        Location loc,
                                                        ValueRange a,
                                                        ValueRange bFragment,
                                                        ValueRange c) {
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(4, b.getF32Type()));
  auto mma = NVVM::MmaOp::create(
      b, loc, resultType, a, bFragment, c, {kMmaTileM, kMmaTileN, kMmaTileK},
      std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                    NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value, 4> d;
  for (int64_t j = 0; j < 4; ++j)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, mma, j));
  return d;
}

SmallVector<Value> jikji::cuda::accumulateBlockScaled(
    OpBuilder &b, Location loc, ArrayRef<MmaProduct> products,
    Value scaleRow, ValueRange accumulators,
    function_ref<SmallVector<Value>(Value, Value, ValueRange)> accumulate) {
  const MmaProduct &shape = products.front();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  int64_t blocks = llvm::divideCeilSigned(shape.k, shape.blockK);
  auto loop = scf::ForOp::create(b, loc, index(0), index(blocks), index(1),
                                 accumulators);
  OpBuilder::InsertionGuard insertion(b);
  b.setInsertionPointToStart(loop.getBody());
  Value block = loop.getInductionVar();
  Value begin = arith::MulIOp::create(b, loc, block, index(shape.blockK));
  Value end = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, begin, index(shape.blockK)),
      index(shape.k));
  Value zero =
      arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(0.0f));
  SmallVector<Value> partial = accumulate(
      begin, end, SmallVector<Value>(accumulators.size(), zero));
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(),
                                                arith::FastMathFlags::contract);
  int64_t perProduct = accumulators.size() / products.size();
  SmallVector<Value> sums;
  for (auto [p, product] : llvm::enumerate(products)) {
    Value scale = memref::LoadOp::create(b, loc, product.scales,
                                         ValueRange{scaleRow, block});
    for (int64_t i = p * perProduct; i < (int64_t(p) + 1) * perProduct; ++i) {
      Value scaled = arith::MulFOp::create(b, loc, partial[i], scale, contract);
      sums.push_back(arith::AddFOp::create(
          b, loc, loop.getRegionIterArgs()[i], scaled, contract));
    }
  }
  scf::YieldOp::create(b, loc, sums);
  return loop.getResults();
}
