//===- CreateEntryPoint.cpp - The artifact's C entry point ----------------===//
//
// Part of Jikji. The runtime calls compiled code through plain pointers and
// integers (docs/runtime-abi.md), never through MLIR's memref descriptors, so
// that it needs no MLIR header. This pass builds those descriptors inside the
// artifact, at the boundary.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact/Passes.h"
#include "codegen/Artifact/RollLayerCalls.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "jikji-create-entry-point"

namespace jikji {
#define GEN_PASS_DEF_CREATEENTRYPOINTPASS
#include "codegen/Artifact/Passes.h.inc"
} // namespace jikji

using namespace mlir;
namespace ds = jikji::deepseek;

namespace {

/// The name of the C entry point and of the module attribute listing the
/// parameter table.
constexpr StringLiteral kEntryPointName = "jikji_forward";
/// The entry point that writes the logits of the last tokens only.
constexpr StringLiteral kLastLogitsEntryPointName = "jikji_forward_last_logits";
constexpr StringLiteral kParametersAttrName = "jikji.parameters";

Value i64Constant(OpBuilder &b, Location loc, int64_t value) {
  return LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                  b.getI64IntegerAttr(value));
}

/// A row-major memref of `type` over `pointer`. `dynamicSizes` (i64) give
/// the dynamic dimensions in order. The descriptor is built as the LLVM
/// struct that memref lowering uses, and cast back; the casts cancel when
/// the module reaches the LLVM dialect.
Value memrefOverPointer(OpBuilder &b, Location loc, Value pointer,
                        MemRefType type, ValueRange dynamicSizes) {
  MLIRContext *context = b.getContext();
  int64_t rank = type.getRank();
  Type i64 = b.getI64Type();
  auto ptrType = LLVM::LLVMPointerType::get(context);
  auto arrayType = LLVM::LLVMArrayType::get(i64, rank);
  auto descriptorType = LLVM::LLVMStructType::getLiteral(
      context, {ptrType, ptrType, i64, arrayType, arrayType});

  SmallVector<Value> sizes;
  unsigned nextDynamic = 0;
  for (int64_t dim : type.getShape())
    sizes.push_back(ShapedType::isDynamic(dim) ? dynamicSizes[nextDynamic++]
                                               : i64Constant(b, loc, dim));
  SmallVector<Value> strides(rank);
  for (int64_t dim = rank - 1; dim >= 0; --dim)
    strides[dim] =
        dim == rank - 1
            ? i64Constant(b, loc, 1)
            : LLVM::MulOp::create(b, loc, strides[dim + 1], sizes[dim + 1]);

  Value descriptor = LLVM::PoisonOp::create(b, loc, descriptorType);
  descriptor = LLVM::InsertValueOp::create(b, loc, descriptor, pointer,
                                           ArrayRef<int64_t>{0});
  descriptor = LLVM::InsertValueOp::create(b, loc, descriptor, pointer,
                                           ArrayRef<int64_t>{1});
  descriptor = LLVM::InsertValueOp::create(
      b, loc, descriptor, i64Constant(b, loc, 0), ArrayRef<int64_t>{2});
  for (int64_t dim = 0; dim < rank; ++dim) {
    descriptor = LLVM::InsertValueOp::create(b, loc, descriptor, sizes[dim],
                                             ArrayRef<int64_t>{3, dim});
    descriptor = LLVM::InsertValueOp::create(b, loc, descriptor, strides[dim],
                                             ArrayRef<int64_t>{4, dim});
  }
  return UnrealizedConversionCastOp::create(b, loc, TypeRange{type},
                                            ValueRange{descriptor})
      .getResult(0);
}

/// Entry `index` (a constant or an i64 value) of a table of pointers.
Value loadPointer(OpBuilder &b, Location loc, Value table, LLVM::GEPArg index) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value address = LLVM::GEPOp::create(b, loc, ptrType, ptrType, table,
                                      ArrayRef<LLVM::GEPArg>{index});
  return LLVM::LoadOp::create(b, loc, ptrType, address);
}

/// A read-only tensor over a buffer the caller owns.
Value tensorOverPointer(OpBuilder &b, Location loc, Value pointer,
                        RankedTensorType type, ValueRange dynamicSizes) {
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = memrefOverPointer(b, loc, pointer, memrefType, dynamicSizes);
  return bufferization::ToTensorOp::create(b, loc, type, buffer,
                                           /*restrict=*/true,
                                           /*writable=*/false);
}

struct CreateEntryPointPass final
    : jikji::impl::CreateEntryPointPassBase<CreateEntryPointPass> {
  using Base::Base;
  void runOnOperation() override;

  /// Replaces every parameter op of `forward` with a read of the table
  /// passed as its new last argument, and records the table's order.
  /// With `roll-layers`, runs of layers of one kind become loops first.
  LogicalResult bindParameters(func::FuncOp forward);
  /// Builds jikji_forward and jikji_forward_last_logits around `forward`.
  LogicalResult createEntryPoints(func::FuncOp forward);
};

/// Expert `e`'s tensor of a stacked parameter whose experts are the
/// pointers `experts[0 .. E)`: a read of the table, not a copy.
Value expertOverPointer(OpBuilder &b, Location loc, Value experts, Value e,
                        RankedTensorType expertType) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value index = arith::IndexCastOp::create(b, loc, b.getI64Type(), e);
  Value address = LLVM::GEPOp::create(b, loc, ptrType, ptrType, experts,
                                      ArrayRef<LLVM::GEPArg>{index});
  Value pointer = LLVM::LoadOp::create(b, loc, ptrType, address);
  return tensorOverPointer(b, loc, pointer, expertType, {});
}

/// Replaces the uses of the stacked expert tensor `stacked` with reads
/// through `experts`, a pointer to its E experts' pointers. The lowering
/// reads one expert at a time (a rank-reducing extract_slice at [e, 0, 0]);
/// a layer function receiving the tensor receives the pointer instead.
LogicalResult bindStackedUses(Value stacked, Value experts) {
  auto stackedType = cast<RankedTensorType>(stacked.getType());
  auto expertType = RankedTensorType::get(stackedType.getShape().drop_front(),
                                          stackedType.getElementType());
  // Snapshot the uses: binding adds uses of `experts`, which may be the same
  // value inside a layer function.
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : stacked.getUses())
    uses.push_back(&use);
  for (OpOperand *use : uses) {
    Operation *user = use->getOwner();
    OpBuilder b(user);
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user)) {
      if (slice.getType() != expertType ||
          !llvm::all_of(
              ArrayRef<OpFoldResult>(slice.getMixedOffsets()).drop_front(),
              [](OpFoldResult offset) {
                return isConstantIntValue(offset, 0);
              }))
        return user->emitOpError("reads a stacked expert parameter other "
                                 "than one expert at a time");
      Value e = getValueOrCreateConstantIndexOp(b, slice.getLoc(),
                                                slice.getMixedOffsets()[0]);
      slice.replaceAllUsesWith(
          expertOverPointer(b, slice.getLoc(), experts, e, expertType));
      slice.erase();
      continue;
    }
    if (auto call = dyn_cast<func::CallOp>(user)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      BlockArgument argument = callee.getArgument(use->getOperandNumber());
      use->set(experts);
      if (isa<LLVM::LLVMPointerType>(argument.getType()))
        continue; // Another layer already retyped this callee.
      // Inside the layer the argument becomes the pointer to the experts'
      // pointers: bind its uses through itself, then retype it.
      if (failed(bindStackedUses(argument, argument)))
        return failure();
      argument.setType(experts.getType());
      callee.setFunctionType(FunctionType::get(
          callee.getContext(), callee.getBody().getArgumentTypes(),
          callee.getFunctionType().getResults()));
      continue;
    }
    return user->emitOpError("uses a stacked expert parameter in a way the "
                             "artifact cannot bind");
  }
  return success();
}

/// Replaces parameter op `op` with a read of table entry `index`: a
/// tensor over the pointer there, or for a stacked expert parameter the
/// address of its experts' pointers, which the uses read one at a time.
LogicalResult bindParameter(Operation *op, Value table, LLVM::GEPArg index) {
  OpBuilder b(op);
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  if (isa<ds::ExpertParamOp>(op)) {
    auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
    Value experts = LLVM::GEPOp::create(b, op->getLoc(), ptrType, ptrType,
                                        table, ArrayRef<LLVM::GEPArg>{index});
    if (failed(bindStackedUses(op->getResult(0), experts)))
      return failure();
  } else {
    Value pointer = loadPointer(b, op->getLoc(), table, index);
    op->getResult(0).replaceAllUsesWith(
        tensorOverPointer(b, op->getLoc(), pointer, type, {}));
  }
  op->erase();
  return success();
}

LogicalResult CreateEntryPointPass::bindParameters(func::FuncOp forward) {
  Builder b(forward.getContext());
  Location loc = forward.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  unsigned tableArgument = forward.getNumArguments();
  if (failed(forward.insertArgument(tableArgument, ptrType, {}, loc)))
    return failure();
  Value table = forward.getArgument(tableArgument);

  // The table holds one pointer per parameter, and one per expert of a
  // stacked parameter (experts are separate checkpoint tensors, read in
  // place), in the order the parameters first appear.
  SmallVector<Attribute> entries;
  llvm::DenseMap<Operation *, int64_t> tableIndex;
  int64_t next = 0;
  forward.walk([&](Operation *op) {
    if (!isa<ds::ParamOp, ds::ExpertParamOp>(op))
      return;
    NamedAttrList entry;
    entry.append("name", op->getAttr("name"));
    entry.append("type", TypeAttr::get(op->getResult(0).getType()));
    tableIndex[op] = next;
    if (auto stacked = dyn_cast<ds::ExpertParamOp>(op)) {
      entry.append("experts", b.getI64IntegerAttr(stacked.getNumExperts()));
      next += stacked.getNumExperts();
    } else {
      next += 1;
    }
    entries.push_back(entry.getDictionary(b.getContext()));
  });
  getOperation()->setAttr(kParametersAttrName, b.getArrayAttr(entries));

  if (rollLayers) {
    FailureOr<int64_t> loops = jikji::rollLayerCalls(
        forward, tableIndex, [&](Operation *op, Value index) {
          return bindParameter(op, table, index);
        });
    if (failed(loops))
      return failure();
    LLVM_DEBUG(llvm::dbgs() << "rolled " << *loops << " runs of layers\n");
  }
  // The parameters outside loops read constant entries.
  SmallVector<Operation *> parameters;
  forward.walk([&](Operation *op) {
    if (isa<ds::ParamOp, ds::ExpertParamOp>(op))
      parameters.push_back(op);
  });
  for (Operation *op : parameters)
    if (failed(bindParameter(op, table,
                             static_cast<int32_t>(tableIndex.lookup(op)))))
      return failure();
  return success();
}

LogicalResult CreateEntryPointPass::createEntryPoints(func::FuncOp forward) {
  MLIRContext *context = forward.getContext();
  FunctionType forwardType = forward.getFunctionType();
  // @forward(tokens, start, key_cache, value_cache, first_logit, parameters)
  //   -> (logits, key_cache, value_cache)
  if (forwardType.getNumInputs() != 6 || forwardType.getNumResults() != 3 ||
      !forwardType.getInput(4).isIndex())
    return forward.emitOpError("is not the imported forward signature");
  auto tokensType = cast<RankedTensorType>(forwardType.getInput(0));
  auto keyCacheType = cast<RankedTensorType>(forwardType.getInput(2));
  auto valueCacheType = cast<RankedTensorType>(forwardType.getInput(3));
  auto logitsType = cast<RankedTensorType>(forwardType.getResult(0));

  auto ptrType = LLVM::LLVMPointerType::get(context);
  Type i64 = IntegerType::get(context, 64);
  // One entry point for every token's logits, one for the last tokens'
  // only; both call @forward, which differs only in its first logit row.
  auto createEntryPoint = [&](StringRef name, bool lastLogitsOnly) {
    OpBuilder b(context);
    Location loc = forward.getLoc();
    // (params, tokens, num_tokens, start, caches, capacity, logits
    //  [, num_logits])
    SmallVector<Type> inputs{ptrType, ptrType, i64, i64, ptrType, i64, ptrType};
    if (lastLogitsOnly)
      inputs.push_back(i64);
    b.setInsertionPointToEnd(getOperation().getBody());
    auto entry = func::FuncOp::create(
        b, loc, name, b.getFunctionType(inputs, {b.getI32Type()}));
    Block *body = entry.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value params = body->getArgument(0), tokensPointer = body->getArgument(1);
    Value numTokens = body->getArgument(2), start = body->getArgument(3);
    Value caches = body->getArgument(4), capacity = body->getArgument(5);
    Value logitsPointer = body->getArgument(6);
    Value numLogits = lastLogitsOnly ? body->getArgument(7) : numTokens;

    Value tokens =
        tensorOverPointer(b, loc, tokensPointer, tokensType, {numTokens});
    auto cacheBuffer = [&](int64_t index, RankedTensorType type) {
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      return memrefOverPointer(b, loc, loadPointer(b, loc, caches, index),
                               memrefType, {capacity});
    };
    Value keyCacheBuffer = cacheBuffer(0, keyCacheType);
    Value valueCacheBuffer = cacheBuffer(1, valueCacheType);
    // The caches are read and written in place: writable, and restrict
    // because nothing else in the artifact aliases them.
    Value keyCache = bufferization::ToTensorOp::create(
        b, loc, keyCacheType, keyCacheBuffer, /*restrict=*/true,
        /*writable=*/true);
    Value valueCache = bufferization::ToTensorOp::create(
        b, loc, valueCacheType, valueCacheBuffer, /*restrict=*/true,
        /*writable=*/true);
    Type index = b.getIndexType();
    Value startIndex = arith::IndexCastOp::create(b, loc, index, start);
    Value firstLogit = arith::IndexCastOp::create(
        b, loc, index, arith::SubIOp::create(b, loc, numTokens, numLogits));

    auto call =
        func::CallOp::create(b, loc, forward,
                             ValueRange{tokens, startIndex, keyCache,
                                        valueCache, firstLogit, params});
    auto logitsBuffer = memrefOverPointer(
        b, loc, logitsPointer,
        MemRefType::get(logitsType.getShape(), logitsType.getElementType()),
        {numLogits});
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, call.getResult(0), logitsBuffer,
        /*restrict=*/true, /*writable=*/true);
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, call.getResult(1), keyCacheBuffer,
        /*restrict=*/true, /*writable=*/true);
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, call.getResult(2), valueCacheBuffer,
        /*restrict=*/true, /*writable=*/true);
    Value ok = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
    func::ReturnOp::create(b, loc, ValueRange{ok});
  };
  createEntryPoint(kEntryPointName, /*lastLogitsOnly=*/false);
  createEntryPoint(kLastLogitsEntryPointName, /*lastLogitsOnly=*/true);
  forward.setPrivate();
  return success();
}

void CreateEntryPointPass::runOnOperation() {
  auto forward = getOperation().lookupSymbol<func::FuncOp>("forward");
  if (!forward) {
    getOperation().emitError("no @forward function to expose");
    return signalPassFailure();
  }
  if (failed(bindParameters(forward)) || failed(createEntryPoints(forward)))
    return signalPassFailure();
}

} // namespace
