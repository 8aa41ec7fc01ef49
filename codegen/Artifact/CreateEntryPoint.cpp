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
/// The entry point of one decode step of a batch of sequences.
constexpr StringLiteral kBatchEntryPointName = "jikji_forward_batch";
constexpr StringLiteral kParametersAttrName = "jikji.parameters";
/// The argument of @forward and the layer functions that holds the
/// runtime's table of parameter addresses.
constexpr StringLiteral kParamTableAttrName = "deepseek.param_table";

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

/// The stacked caches behind `caches`, the runtime's array of one pointer
/// per cache tensor, as tensors of `types` whose dynamic sizes are
/// `dynamicSizes` (i64): the buffers, and the tensors over them.
std::pair<SmallVector<Value>, SmallVector<Value>>
cachesOverPointers(OpBuilder &b, Location loc, Value caches,
                   ArrayRef<RankedTensorType> types, ValueRange dynamicSizes) {
  SmallVector<Value> buffers, tensors;
  for (auto [index, type] : llvm::enumerate(types)) {
    auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
    buffers.push_back(
        memrefOverPointer(b, loc, loadPointer(b, loc, caches, index),
                          memrefType, dynamicSizes));
    // The caches are read and written in place: writable, and restrict
    // because nothing else in the artifact aliases them.
    tensors.push_back(bufferization::ToTensorOp::create(
        b, loc, type, buffers.back(), /*restrict=*/true, /*writable=*/true));
  }
  return {buffers, tensors};
}

/// Writes an entry function's results (logits, caches...) into their
/// buffers and returns status 0 from the C entry point.
void writeResultsAndReturn(OpBuilder &b, Location loc, ValueRange results,
                           ValueRange buffers) {
  for (auto [result, buffer] : llvm::zip_equal(results, buffers))
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, result, buffer, /*restrict=*/true,
        /*writable=*/true);
  Value ok = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
  func::ReturnOp::create(b, loc, ValueRange{ok});
}

struct CreateEntryPointPass final
    : jikji::impl::CreateEntryPointPassBase<CreateEntryPointPass> {
  using Base::Base;
  void runOnOperation() override;

  /// Records the parameter table's order: the order in which `forward`
  /// first reads each parameter. Returns each name's table entry.
  llvm::DenseMap<StringAttr, int64_t> recordParameterTable(func::FuncOp forward);
  /// Replaces every parameter op of `function` with a read of the table
  /// passed as its new last argument, at the entry of its name. With
  /// `roll-layers`, runs of layers of one kind become loops first.
  LogicalResult bindParameters(func::FuncOp function,
                               const llvm::DenseMap<StringAttr, int64_t> &table);
  /// Builds jikji_forward and jikji_forward_last_logits around `forward`.
  LogicalResult createEntryPoints(func::FuncOp forward);
  /// Builds jikji_forward_batch around `forwardBatch`.
  LogicalResult createBatchEntryPoint(func::FuncOp forwardBatch);
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

llvm::DenseMap<StringAttr, int64_t>
CreateEntryPointPass::recordParameterTable(func::FuncOp forward) {
  Builder b(forward.getContext());
  // The table holds one pointer per parameter, and one per expert of a
  // stacked parameter (experts are separate checkpoint tensors, read in
  // place), in the order the parameters first appear.
  SmallVector<Attribute> entries;
  llvm::DenseMap<StringAttr, int64_t> table;
  int64_t next = 0;
  forward.walk([&](Operation *op) {
    if (!isa<ds::ParamOp, ds::ExpertParamOp>(op))
      return;
    auto name = op->getAttrOfType<StringAttr>("name");
    if (!table.try_emplace(name, next).second)
      return; // Read again further on (a tied head): one entry.
    NamedAttrList entry;
    entry.append("name", name);
    entry.append("type", TypeAttr::get(op->getResult(0).getType()));
    if (auto stacked = dyn_cast<ds::ExpertParamOp>(op)) {
      entry.append("experts", b.getI64IntegerAttr(stacked.getNumExperts()));
      next += stacked.getNumExperts();
    } else {
      next += 1;
    }
    entries.push_back(entry.getDictionary(b.getContext()));
  });
  getOperation()->setAttr(kParametersAttrName, b.getArrayAttr(entries));
  return table;
}

LogicalResult CreateEntryPointPass::bindParameters(
    func::FuncOp function, const llvm::DenseMap<StringAttr, int64_t> &table) {
  Location loc = function.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(function.getContext());
  unsigned tableArgument = function.getNumArguments();
  // Marked, so that later passes know it for what it is: written by the
  // runtime before a step, read-only in it.
  MLIRContext *context = function.getContext();
  auto marked = DictionaryAttr::get(
      context, {NamedAttribute(StringAttr::get(context, kParamTableAttrName),
                               UnitAttr::get(context))});
  if (failed(function.insertArgument(tableArgument, ptrType, marked, loc)))
    return failure();
  Value tableValue = function.getArgument(tableArgument);

  llvm::DenseMap<Operation *, int64_t> tableIndex;
  WalkResult walk = function.walk([&](Operation *op) {
    if (!isa<ds::ParamOp, ds::ExpertParamOp>(op))
      return WalkResult::advance();
    auto entry = table.find(op->getAttrOfType<StringAttr>("name"));
    if (entry == table.end()) {
      op->emitOpError("reads a parameter that @forward does not");
      return WalkResult::interrupt();
    }
    tableIndex[op] = entry->second;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  if (rollLayers) {
    FailureOr<int64_t> loops = jikji::rollLayerCalls(
        function, tableIndex, [&](Operation *op, Value index) {
          return bindParameter(op, tableValue, index);
        });
    if (failed(loops))
      return failure();
    LLVM_DEBUG(llvm::dbgs() << "rolled " << *loops << " runs of layers in @"
                            << function.getName() << "\n");
  }
  // The parameters outside loops read constant entries.
  SmallVector<Operation *> parameters;
  function.walk([&](Operation *op) {
    if (isa<ds::ParamOp, ds::ExpertParamOp>(op))
      parameters.push_back(op);
  });
  for (Operation *op : parameters)
    if (failed(bindParameter(op, tableValue,
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
    auto [cacheBuffers, cacheTensors] = cachesOverPointers(
        b, loc, caches, {keyCacheType, valueCacheType}, {capacity});
    Type index = b.getIndexType();
    Value startIndex = arith::IndexCastOp::create(b, loc, index, start);
    Value firstLogit = arith::IndexCastOp::create(
        b, loc, index, arith::SubIOp::create(b, loc, numTokens, numLogits));

    auto call = func::CallOp::create(
        b, loc, forward,
        ValueRange{tokens, startIndex, cacheTensors[0], cacheTensors[1],
                   firstLogit, params});
    auto logitsBuffer = memrefOverPointer(
        b, loc, logitsPointer,
        MemRefType::get(logitsType.getShape(), logitsType.getElementType()),
        {numLogits});
    writeResultsAndReturn(
        b, loc, call.getResults(),
        ValueRange{logitsBuffer, cacheBuffers[0], cacheBuffers[1]});
  };
  createEntryPoint(kEntryPointName, /*lastLogitsOnly=*/false);
  createEntryPoint(kLastLogitsEntryPointName, /*lastLogitsOnly=*/true);
  forward.setPrivate();
  return success();
}

LogicalResult
CreateEntryPointPass::createBatchEntryPoint(func::FuncOp forwardBatch) {
  MLIRContext *context = forwardBatch.getContext();
  FunctionType type = forwardBatch.getFunctionType();
  // @forward_batch(tokens, positions, key_cache, value_cache, parameters)
  //   -> (logits, key_cache, value_cache)
  if (type.getNumInputs() != 5 || type.getNumResults() != 3)
    return forwardBatch.emitOpError(
        "is not the imported batched decode signature");
  auto tokensType = cast<RankedTensorType>(type.getInput(0));
  auto positionsType = cast<RankedTensorType>(type.getInput(1));
  auto keyCacheType = cast<RankedTensorType>(type.getInput(2));
  auto valueCacheType = cast<RankedTensorType>(type.getInput(3));
  auto logitsType = cast<RankedTensorType>(type.getResult(0));

  OpBuilder b(context);
  Location loc = forwardBatch.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(context);
  Type i64 = b.getI64Type();
  // (params, tokens, positions, batch, caches, capacity, logits)
  SmallVector<Type> inputs{ptrType, ptrType, ptrType, i64,
                           ptrType, i64,     ptrType};
  b.setInsertionPointToEnd(getOperation().getBody());
  auto entry = func::FuncOp::create(b, loc, kBatchEntryPointName,
                                    b.getFunctionType(inputs, {b.getI32Type()}));
  Block *body = entry.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value params = body->getArgument(0), tokensPointer = body->getArgument(1);
  Value positionsPointer = body->getArgument(2), batch = body->getArgument(3);
  Value caches = body->getArgument(4), capacity = body->getArgument(5);
  Value logitsPointer = body->getArgument(6);

  Value tokens = tensorOverPointer(b, loc, tokensPointer, tokensType, {batch});
  Value positions =
      tensorOverPointer(b, loc, positionsPointer, positionsType, {batch});
  // [slots, layers, capacity, entry...]: slot after slot, each laid out as
  // one sequence's caches.
  auto [cacheBuffers, cacheTensors] =
      cachesOverPointers(b, loc, caches, {keyCacheType, valueCacheType},
                         {batch, capacity});
  auto call = func::CallOp::create(
      b, loc, forwardBatch,
      ValueRange{tokens, positions, cacheTensors[0], cacheTensors[1], params});
  auto logitsBuffer = memrefOverPointer(
      b, loc, logitsPointer,
      MemRefType::get(logitsType.getShape(), logitsType.getElementType()),
      {batch});
  writeResultsAndReturn(
      b, loc, call.getResults(),
      ValueRange{logitsBuffer, cacheBuffers[0], cacheBuffers[1]});
  forwardBatch.setPrivate();
  return success();
}

void CreateEntryPointPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward) {
    module.emitError("no @forward function to expose");
    return signalPassFailure();
  }
  // Both entry functions read the one table the runtime fills, in
  // @forward's order.
  llvm::DenseMap<StringAttr, int64_t> table = recordParameterTable(forward);
  if (failed(bindParameters(forward, table)) ||
      failed(createEntryPoints(forward)))
    return signalPassFailure();
  if (auto forwardBatch = module.lookupSymbol<func::FuncOp>("forward_batch"))
    if (failed(bindParameters(forwardBatch, table)) ||
        failed(createBatchEntryPoint(forwardBatch)))
      return signalPassFailure();
}

} // namespace
