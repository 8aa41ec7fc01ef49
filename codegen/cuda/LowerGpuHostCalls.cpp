//===- LowerGpuHostCalls.cpp - Launches and allocations via the runtime ---===//
//
// Part of Jikji. Why not MLIR's own host lowering: `gpu-to-llvm` followed by
// LLVM IR translation calls `mgpuModuleLoad`, `mgpuLaunchKernel`, ... from
// MLIR's CUDA test wrappers and loads the image in a global constructor,
// before the runtime could say which device or context to use. Jikji keeps
// `gpu-to-llvm` for what it does well (expanding memref descriptors into
// kernel arguments) and replaces only the launch itself, so the runtime
// owns modules, contexts, streams and memory (docs/runtime-abi.md).
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "mlir/IR/SymbolTable.h"

#define DEBUG_TYPE "jikji-lower-gpu-host-calls"

namespace jikji {
#define GEN_PASS_DEF_LOWERGPUHOSTCALLSPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The fields of `JikjiCudaApi` (docs/runtime-abi.md), in order.
enum ApiField : int32_t { Context, Alloc, Free, Launch, Synchronize };

/// Names of what this pass defines in the artifact.
constexpr StringLiteral kApiGlobal = "jikji.cuda.api";
constexpr StringLiteral kBindFunction = "jikji_cuda_bind";

/// What jikji-place-gpu-synchronizations calls to wait for the kernels.
constexpr StringLiteral kSynchronizeMarker = "jikji_gpu_synchronize";

/// What `finalize-memref-to-llvm{use-generic-functions}` calls.
constexpr StringLiteral kGenericAlloc = "_mlir_memref_to_llvm_alloc";
constexpr StringLiteral kGenericFree = "_mlir_memref_to_llvm_free";

struct HostCallBuilder {
  ModuleOp module;
  OpBuilder b;
  Type ptr, i64, i32, voidType;
  LLVM::LLVMFuncOp alloc, free, launch, synchronize;
  DenseMap<StringAttr, LLVM::GlobalOp> kernelNames;

  explicit HostCallBuilder(ModuleOp module)
      : module(module), b(module.getContext()) {
    MLIRContext *context = module.getContext();
    ptr = LLVM::LLVMPointerType::get(context);
    i64 = IntegerType::get(context, 64);
    i32 = IntegerType::get(context, 32);
    voidType = LLVM::LLVMVoidType::get(context);
  }

  Value constant(Location loc, Type type, int64_t value) {
    return LLVM::ConstantOp::create(b, loc, type,
                                    b.getIntegerAttr(type, value));
  }

  /// The table the runtime bound, and `jikji_cuda_bind` that binds it.
  void createApiGlobal() {
    Location loc = module.getLoc();
    b.setInsertionPointToStart(module.getBody());
    auto global = LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false,
                                         LLVM::Linkage::Internal, kApiGlobal,
                                         Attribute());
    Block *init = b.createBlock(&global.getInitializerRegion());
    b.setInsertionPointToStart(init);
    LLVM::ReturnOp::create(b, loc,
                           ValueRange{LLVM::ZeroOp::create(b, loc, ptr)});

    b.setInsertionPointToEnd(module.getBody());
    auto bind = LLVM::LLVMFuncOp::create(
        b, loc, kBindFunction, LLVM::LLVMFunctionType::get(voidType, {ptr}));
    Block *body = bind.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    Value address = LLVM::AddressOfOp::create(b, loc, ptr, kApiGlobal);
    LLVM::StoreOp::create(b, loc, body->getArgument(0), address);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }

  /// An internal function `name(params) -> result` that calls field `field`
  /// of the bound table with the table's context first.
  LLVM::LLVMFuncOp createThunk(StringRef name, ApiField field, Type result,
                               ArrayRef<Type> params) {
    Location loc = module.getLoc();
    b.setInsertionPointToEnd(module.getBody());
    auto type = LLVM::LLVMFunctionType::get(result, params);
    auto thunk =
        LLVM::LLVMFuncOp::create(b, loc, name, type, LLVM::Linkage::Internal);
    Block *body = thunk.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    Value address = LLVM::AddressOfOp::create(b, loc, ptr, kApiGlobal);
    Value api = LLVM::LoadOp::create(b, loc, ptr, address);
    auto fieldAt = [&](int32_t index) {
      Value at = LLVM::GEPOp::create(b, loc, ptr, ptr, api,
                                     ArrayRef<LLVM::GEPArg>{index});
      return LLVM::LoadOp::create(b, loc, ptr, at).getResult();
    };
    SmallVector<Value> arguments{fieldAt(Context)};
    llvm::append_range(arguments, body->getArguments());
    SmallVector<Type> calleeParams{ptr};
    llvm::append_range(calleeParams, params);
    // An indirect call takes the callee as its first operand.
    SmallVector<Value> operands{fieldAt(field)};
    llvm::append_range(operands, arguments);
    auto call = LLVM::CallOp::create(
        b, loc, LLVM::LLVMFunctionType::get(result, calleeParams), operands);
    LLVM::ReturnOp::create(b, loc,
                           isa<LLVM::LLVMVoidType>(result)
                               ? ValueRange{}
                               : ValueRange{call.getResult()});
    return thunk;
  }

  void createThunks() {
    alloc = createThunk("jikji.cuda.alloc", Alloc, ptr, {i64});
    free = createThunk("jikji.cuda.free", Free, voidType, {ptr});
    // launch(kernel, grid xyz, block xyz, shared bytes, params, count)
    launch = createThunk("jikji.cuda.launch", Launch, voidType,
                         {ptr, i64, i64, i64, i64, i64, i64, i32, ptr, i64});
    synchronize =
        createThunk("jikji.cuda.synchronize", Synchronize, voidType, {});
  }

  /// A private NUL-terminated copy of `name`, for the runtime to look up.
  Value kernelName(Location loc, StringAttr name) {
    LLVM::GlobalOp &global = kernelNames[name];
    if (!global) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      std::string text = name.str() + '\0';
      auto type = LLVM::LLVMArrayType::get(
          IntegerType::get(module.getContext(), 8), text.size());
      global = LLVM::GlobalOp::create(
          b, loc, type, /*isConstant=*/true, LLVM::Linkage::Private,
          ("jikji.kernel." + name.getValue()).str(), b.getStringAttr(text));
    }
    return LLVM::AddressOfOp::create(b, loc, global);
  }

  Value toI64(Location loc, Value value) {
    if (value.getType() == i64)
      return value;
    return LLVM::ZExtOp::create(b, loc, i64, value);
  }

  /// The launch as a call: each argument is stored in its own stack slot
  /// (allocated once, in the entry block) and the call receives the array
  /// of slot addresses, as cuLaunchKernel expects.
  LogicalResult lowerLaunch(gpu::LaunchFuncOp op) {
    if (!op.getAsyncDependencies().empty() || op.getAsyncToken() ||
        op.getAsyncObject() || op.hasClusterSize())
      return op.emitOpError("is asynchronous or clustered, which the Jikji "
                            "launch ABI does not express yet");
    Location loc = op.getLoc();
    auto function = op->getParentOfType<LLVM::LLVMFuncOp>();
    if (!function)
      return op.emitOpError("is not inside host code in the LLVM dialect");
    OperandRange operands = op.getKernelOperands();
    int64_t count = operands.size();

    b.setInsertionPointToStart(&function.getBody().front());
    Value one = constant(loc, i64, 1);
    SmallVector<Value> slots;
    for (Value operand : operands)
      slots.push_back(
          LLVM::AllocaOp::create(b, loc, ptr, operand.getType(), one));
    Value params = LLVM::AllocaOp::create(
        b, loc, ptr, ptr, constant(loc, i64, std::max<int64_t>(count, 1)));

    b.setInsertionPoint(op);
    for (auto [index, operand] : llvm::enumerate(operands)) {
      LLVM::StoreOp::create(b, loc, operand, slots[index]);
      Value entry = LLVM::GEPOp::create(
          b, loc, ptr, ptr, params,
          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
      LLVM::StoreOp::create(b, loc, slots[index], entry);
    }
    Value shared = op.getDynamicSharedMemorySize();
    if (!shared)
      shared = constant(loc, i32, 0);
    LLVM::CallOp::create(
        b, loc, launch,
        ValueRange{
            kernelName(loc, op.getKernelName()), toI64(loc, op.getGridSizeX()),
            toI64(loc, op.getGridSizeY()), toI64(loc, op.getGridSizeZ()),
            toI64(loc, op.getBlockSizeX()), toI64(loc, op.getBlockSizeY()),
            toI64(loc, op.getBlockSizeZ()), shared, params,
            constant(loc, i64, count)});
    // No wait here: jikji-place-gpu-synchronizations put one before each
    // piece of host code that touches memory after a launch.
    op.erase();
    return success();
  }

  /// Calls of `from` become calls of `to`, and `from`'s declaration goes.
  LogicalResult redirect(StringRef from, LLVM::LLVMFuncOp to) {
    auto declaration = module.lookupSymbol<LLVM::LLVMFuncOp>(from);
    if (!declaration)
      return success();
    if (declaration.getFunctionType() != to.getFunctionType())
      return declaration.emitOpError("does not have the type of ")
             << to.getName();
    if (failed(SymbolTable::replaceAllSymbolUses(declaration.getNameAttr(),
                                                 to.getNameAttr(), module)))
      return failure();
    declaration.erase();
    return success();
  }
};

struct LowerGpuHostCallsPass final
    : jikji::impl::LowerGpuHostCallsPassBase<LowerGpuHostCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (StringRef name : {kApiGlobal, kBindFunction})
      if (module.lookupSymbol(name)) {
        module.emitError("already defines ") << name;
        return signalPassFailure();
      }
    HostCallBuilder builder(module);
    builder.createApiGlobal();
    builder.createThunks();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
    for (gpu::LaunchFuncOp op : launches)
      if (failed(builder.lowerLaunch(op)))
        return signalPassFailure();
    if (failed(builder.redirect(kGenericAlloc, builder.alloc)) ||
        failed(builder.redirect(kGenericFree, builder.free)) ||
        failed(builder.redirect(kSynchronizeMarker, builder.synchronize)))
      return signalPassFailure();
  }
};

} // namespace
