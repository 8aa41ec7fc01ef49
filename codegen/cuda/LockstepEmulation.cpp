//===- LockstepEmulation.cpp - Kernels whose threads meet, on the host ----===//
//
// Part of Jikji. How one block runs in lockstep (LockstepEmulation.h):
//
// - A run of ops with no meeting point inside becomes an `scf.for` over the
//   block's threads, the ops cloned into its body.
// - A value that one such loop makes and a later one (or a meeting point)
//   uses is kept in a per-thread array, its home, indexed by thread.
// - Values every thread computes alike (constants, block ids, index
//   arithmetic on them, the induction variable of a loop around a meeting
//   point) are computed once, outside the thread loops, and need no home;
//   a loop around a meeting point must be bounded by such values.
// - An `scf.for` around a meeting point runs once for the block, its body
//   in lockstep, each iteration argument in a home.
// - A barrier needs nothing more: every thread has finished the ops before
//   it when the next thread loop starts.
// - mma.sync m16n8k16 (bf16 operands, f32 accumulators) is computed per
//   warp from its 32 lanes' fragments, laid out as the PTX ISA's "Matrix
//   Fragments for mma.m16n8k16 with floating point type" says.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/LockstepEmulation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

#include <array>

using namespace mlir;

namespace {

constexpr int64_t kWarpSize = 32;

/// Why `mma` is not the one tensor-core instruction the emulation computes.
std::optional<std::string> whyNotEmulated(NVVM::MmaOp mma) {
  NVVM::MMAShapeAttr shape = mma.getShape();
  if (shape.getM() != 16 || shape.getN() != 8 || shape.getK() != 16)
    return std::string("an mma.sync of a shape other than m16n8k16");
  if (mma.getMultiplicandAPtxType() != NVVM::MMATypes::bf16 ||
      mma.getMultiplicandBPtxType() != NVVM::MMATypes::bf16)
    return std::string("an mma.sync with operands other than bf16");
  if (mma.getLayoutA() != NVVM::MMALayout::row ||
      mma.getLayoutB() != NVVM::MMALayout::col)
    return std::string("an mma.sync with layouts other than row, col");
  if (mma.getOperandA().size() != 4 || mma.getOperandB().size() != 2 ||
      mma.getOperandC().size() != 4 ||
      !llvm::all_of(mma.getOperandC(),
                    [](Value c) { return c.getType().isF32(); }))
    return std::string("an mma.sync without float32 accumulators");
  return std::nullopt;
}

/// Whether a home (a memref of it) can hold a value of `type`.
bool isHomeable(Type type) {
  return isa<IndexType, IntegerType, FloatType, VectorType>(type);
}

/// Emits one block of a launch in lockstep; see the file comment.
class LockstepEmitter {
public:
  LockstepEmitter(OpBuilder &b, OpBuilder &scratch, gpu::LaunchOp launch,
                  std::array<int64_t, 3> blockSize)
      : b(b), scratch(scratch), launch(launch), loc(launch.getLoc()),
        blockSize(blockSize),
        threads(blockSize[0] * blockSize[1] * blockSize[2]) {}

  LogicalResult emit(ArrayRef<Value> blockIds, ArrayRef<Value> gridSize) {
    gpu::KernelDim3 ids = launch.getBlockIds(), grid = launch.getGridSize(),
                    sizes = launch.getBlockSize();
    std::array<Value, 3> idArgs{ids.x, ids.y, ids.z},
        gridArgs{grid.x, grid.y, grid.z}, sizeArgs{sizes.x, sizes.y, sizes.z};
    for (int dim = 0; dim < 3; ++dim) {
      uniforms[idArgs[dim]] = blockIds[dim];
      uniforms[gridArgs[dim]] = gridSize[dim];
      uniforms[sizeArgs[dim]] = index(blockSize[dim]);
    }
    // Workgroup memory: one array for all the blocks, which run one after
    // another; host memory has no address spaces.
    for (BlockArgument tile : launch.getWorkgroupAttributions()) {
      auto type = cast<MemRefType>(tile.getType());
      uniforms[tile] = memref::AllocaOp::create(
          scratch, loc,
          MemRefType::get(type.getShape(), type.getElementType(),
                          type.getLayout()));
    }
    return emitBody(launch.getBody().front());
  }

private:
  OpBuilder &b;
  /// Where per-thread arrays are allocated.
  OpBuilder &scratch;
  gpu::LaunchOp launch;
  Location loc;
  std::array<int64_t, 3> blockSize;
  int64_t threads;
  /// Values every thread computes alike, as computed outside the thread
  /// loops (valid where the emitter currently is).
  DenseMap<Value, Value> uniforms;
  DenseMap<Value, bool> uniformity;
  /// Per-thread arrays of the values kept between thread loops: one, or
  /// one per field of a tensor-core result.
  DenseMap<Value, SmallVector<Value, 4>> homes;
  /// A warp's A (16 x 16) and B (16 x 8, K by N) as one mma.sync sees
  /// them, shared by all of them.
  Value mmaA, mmaB;

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value add(Value lhs, Value rhs) {
    return arith::AddIOp::create(b, loc, lhs, rhs);
  }
  Value mul(Value lhs, Value rhs) {
    return arith::MulIOp::create(b, loc, lhs, rhs);
  }
  Value div(Value lhs, int64_t rhs) {
    return arith::DivUIOp::create(b, loc, lhs, index(rhs));
  }
  Value rem(Value lhs, int64_t rhs) {
    return arith::RemUIOp::create(b, loc, lhs, index(rhs));
  }
  Value newArray(Type element, ArrayRef<int64_t> shape) {
    return memref::AllocaOp::create(scratch, loc,
                                    MemRefType::get(shape, element));
  }

  /// Emits a loop over [0, count) and `body` in it; leaves `b` after it.
  template <typename Body> void forRange(int64_t count, Body body) {
    auto loop = scf::ForOp::create(b, loc, index(0), index(count), index(1));
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }

  /// The home of `value`: empty, one array, or one per field.
  ArrayRef<Value> homeOf(Value value) const {
    auto found = homes.find(value);
    return found == homes.end() ? ArrayRef<Value>() : found->second;
  }

  bool isThreadId(Value value) {
    gpu::KernelDim3 ids = launch.getThreadIds();
    return value == ids.x || value == ids.y || value == ids.z;
  }

  /// Whether every thread computes `value` alike.
  bool isUniform(Value value) {
    if (uniforms.count(value) ||
        !launch.getBody().isAncestor(value.getParentRegion()))
      return true;
    if (auto known = uniformity.find(value); known != uniformity.end())
      return known->second;
    Operation *def = value.getDefiningOp();
    bool uniform =
        def && def->getNumRegions() == 0 && isPure(def) &&
        !isa<gpu::GPUDialect, NVVM::NVVMDialect>(def->getDialect()) &&
        llvm::all_of(def->getOperands(),
                     [&](Value operand) { return isUniform(operand); });
    uniformity[value] = uniform;
    return uniform;
  }

  /// `value` (uniform) computed at `b`, unless it is already.
  Value materializeUniform(Value value) {
    if (Value known = uniforms.lookup(value))
      return known;
    if (!launch.getBody().isAncestor(value.getParentRegion()))
      return value;
    Operation *def = value.getDefiningOp();
    IRMapping mapping;
    for (Value operand : def->getOperands())
      mapping.map(operand, materializeUniform(operand));
    Operation *copy = b.clone(*def, mapping);
    for (auto [original, copied] :
         llvm::zip(def->getResults(), copy->getResults()))
      uniforms[original] = copied;
    return uniforms.lookup(value);
  }

  /// Thread `thread`'s id in the block's dimension of `id`.
  Value threadId(Value id, Value thread) {
    gpu::KernelDim3 ids = launch.getThreadIds();
    if (id == ids.x)
      return rem(thread, blockSize[0]);
    if (id == ids.y)
      return rem(div(thread, blockSize[0]), blockSize[1]);
    return div(thread, blockSize[0] * blockSize[1]);
  }

  /// Readies `values` for `valueForThread` in loops emitted next: the
  /// uniform ones are computed now; the others must have a home.
  LogicalResult prepare(Operation *user, ValueRange values) {
    for (Value value : values) {
      if (isUniform(value))
        materializeUniform(value);
      else if (!isThreadId(value) && !homes.count(value))
        return user->emitOpError("uses a value the lockstep emulation of ")
               << launch->getName() << " keeps nowhere";
    }
    return success();
  }

  /// What `value` (readied by `prepare`) is for thread `thread`; null for
  /// a tensor-core result, whose fields have homes of their own.
  Value valueForThread(Value value, Value thread) {
    if (Value uniform = uniforms.lookup(value))
      return uniform;
    if (!launch.getBody().isAncestor(value.getParentRegion()))
      return value;
    if (isThreadId(value))
      return threadId(value, thread);
    ArrayRef<Value> home = homeOf(value);
    if (home.size() != 1)
      return {};
    return memref::LoadOp::create(b, loc, home[0], thread);
  }

  /// Gives `value` of thread `thread`, computed as `computed`, a home.
  LogicalResult keep(Operation *op, Value value, Value computed,
                     Value thread) {
    if (!isHomeable(value.getType()))
      return op->emitOpError("makes a value of type ")
             << value.getType()
             << " that the lockstep emulation cannot keep between threads";
    auto [known, inserted] = homes.try_emplace(value);
    if (inserted)
      known->second.push_back(newArray(value.getType(), {threads}));
    memref::StoreOp::create(b, loc, computed, known->second[0], thread);
    return success();
  }

  /// Copies `sources` into the homes `destinations`, thread by thread.
  LogicalResult copyIntoHomes(Operation *user, ValueRange sources,
                              ArrayRef<Value> destinations) {
    if (failed(prepare(user, sources)))
      return failure();
    LogicalResult result = success();
    forRange(threads, [&](Value thread) {
      // All loads before the stores: a source may be another destination.
      SmallVector<Value> values;
      for (Value source : sources)
        values.push_back(valueForThread(source, thread));
      for (auto [value, destination] : llvm::zip(values, destinations)) {
        if (!value) {
          result = user->emitOpError("passes a tensor-core result on whole");
          return;
        }
        memref::StoreOp::create(b, loc, value, destination, thread);
      }
    });
    return result;
  }

  LogicalResult emitBody(Block &block) {
    SmallVector<Operation *> run;
    for (Operation &op : block.without_terminator()) {
      if (!jikji::cuda::containsMeetingPoint(&op)) {
        run.push_back(&op);
        continue;
      }
      if (failed(emitRun(run)) || failed(emitMeetingPoint(&op)))
        return failure();
      run.clear();
    }
    return emitRun(run);
  }

  /// `run`, ops of one block with no meeting point inside, as a loop over
  /// the threads.
  LogicalResult emitRun(ArrayRef<Operation *> run) {
    if (run.empty())
      return success();
    Block *block = run.front()->getBlock();
    SmallPtrSet<Operation *, 16> members(run.begin(), run.end());
    auto inRun = [&](Operation *op) {
      Operation *ancestor = block->findAncestorOpInBlock(*op);
      return ancestor && members.contains(ancestor);
    };
    auto definedInRun = [&](Value value) {
      Operation *owner = value.getDefiningOp();
      return inRun(owner ? owner : value.getParentBlock()->getParentOp());
    };

    // What the run takes from outside: a tensor-core result only through
    // the field extractions at its top level, which read the fields' homes.
    llvm::SetVector<Value> external;
    for (Operation *op : run)
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (!definedInRun(operand))
            external.insert(operand);
      });
    for (Value value : external) {
      if (homeOf(value).size() <= 1)
        continue;
      for (Operation *user : value.getUsers())
        if (inRun(user) && !(isa<LLVM::ExtractValueOp>(user) &&
                             members.contains(user)))
          return user->emitOpError(
              "uses a tensor-core result other than by llvm.extractvalue");
    }
    SmallVector<Value> readied;
    for (Value value : external)
      if (homeOf(value).size() <= 1)
        readied.push_back(value);
    if (failed(prepare(run.front(), readied)))
      return failure();

    LogicalResult result = success();
    forRange(threads, [&](Value thread) {
      IRMapping mapping;
      for (Value value : readied)
        mapping.map(value, valueForThread(value, thread));
      for (Operation *op : run) {
        auto extract = dyn_cast<LLVM::ExtractValueOp>(op);
        ArrayRef<Value> fields =
            extract ? homeOf(extract.getContainer()) : ArrayRef<Value>();
        if (fields.size() > 1) {
          int64_t field = extract.getPosition()[0];
          mapping.map(extract.getResult(),
                      memref::LoadOp::create(b, loc, fields[field], thread));
          continue;
        }
        b.clone(*op, mapping);
      }
      // What later loops use is kept, except what they can recompute.
      for (Operation *op : run)
        for (Value value : op->getResults()) {
          bool usedLater = llvm::any_of(value.getUsers(), [&](Operation *user) {
            return !inRun(user);
          });
          if (usedLater && !isUniform(value) && succeeded(result))
            result = keep(op, value, mapping.lookup(value), thread);
        }
    });
    return result;
  }

  LogicalResult emitMeetingPoint(Operation *op) {
    // Every thread finished the ops before it: the run before is a loop.
    if (isa<gpu::BarrierOp>(op))
      return success();
    if (auto mma = dyn_cast<NVVM::MmaOp>(op))
      return emitMma(mma);
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return emitLoop(loop);
    return op->emitOpError("cannot be emulated in lockstep");
  }

  LogicalResult emitLoop(scf::ForOp op) {
    for (Value bound : {op.getLowerBound(), op.getUpperBound(), op.getStep()})
      if (!isUniform(bound))
        return op.emitOpError("holds a barrier or a warp instruction and has "
                              "bounds that differ between threads");
    Value lower = materializeUniform(op.getLowerBound());
    Value upper = materializeUniform(op.getUpperBound());
    Value step = materializeUniform(op.getStep());
    SmallVector<Value> iterationHomes;
    for (Value init : op.getInitArgs()) {
      if (!isHomeable(init.getType()))
        return op.emitOpError("carries a value of type ")
               << init.getType()
               << " that the lockstep emulation cannot keep between threads";
      iterationHomes.push_back(newArray(init.getType(), {threads}));
    }
    if (failed(copyIntoHomes(op, op.getInitArgs(), iterationHomes)))
      return failure();

    auto loop = scf::ForOp::create(b, loc, lower, upper, step);
    for (auto [argument, home] :
         llvm::zip(op.getRegionIterArgs(), iterationHomes))
      homes[argument] = {home};
    // What the body computes once is valid inside the loop only.
    DenseMap<Value, Value> outside = uniforms;
    uniforms[op.getInductionVar()] = loop.getInductionVar();
    {
      OpBuilder::InsertionGuard insertion(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      if (failed(emitBody(*op.getBody())) ||
          failed(copyIntoHomes(op, op.getBody()->getTerminator()->getOperands(),
                               iterationHomes)))
        return failure();
    }
    uniforms = std::move(outside);
    for (auto [result, home] : llvm::zip(op.getResults(), iterationHomes))
      homes[result] = {home};
    return success();
  }

  /// The bf16 pair in `bits` (the element of lower index in the low half),
  /// widened, stored at `first` and `second` of `tile`.
  void storePair(Value bits, Value tile, ValueRange first, ValueRange second) {
    Type i16 = b.getI16Type(), f32 = b.getF32Type(), bf16 = b.getBF16Type();
    auto widen = [&](Value half) {
      Value narrow = arith::TruncIOp::create(b, loc, i16, half);
      Value value = arith::BitcastOp::create(b, loc, bf16, narrow);
      return arith::ExtFOp::create(b, loc, f32, value).getResult();
    };
    Value high = arith::ShRUIOp::create(
        b, loc, bits, arith::ConstantIntOp::create(b, loc, b.getI32Type(), 16));
    memref::StoreOp::create(b, loc, widen(bits), tile, first);
    memref::StoreOp::create(b, loc, widen(high), tile, second);
  }

  /// mma.sync m16n8k16 row.col, bf16 x bf16 + f32, warp by warp: the
  /// lanes' fragments are gathered into a 16 x 16 A and a 16 x 8 B (K x N),
  /// and each lane's four accumulators are summed over K from them.
  LogicalResult emitMma(NVVM::MmaOp mma) {
    SmallVector<Value> a(mma.getOperandA()), bOperand(mma.getOperandB()),
        c(mma.getOperandC());
    if (failed(prepare(mma, a)) || failed(prepare(mma, bOperand)) ||
        failed(prepare(mma, c)))
      return failure();
    Type f32 = b.getF32Type();
    if (!mmaA) {
      mmaA = newArray(f32, {16, 16});
      mmaB = newArray(f32, {16, 8});
    }
    Value aTile = mmaA, bTile = mmaB;
    SmallVector<Value, 4> results;
    for (int j = 0; j < 4; ++j)
      results.push_back(newArray(f32, {threads}));

    forRange(threads / kWarpSize, [&](Value warp) {
      Value first = mul(warp, index(kWarpSize));
      // Lane l holds, with g = l / 4 and q = l % 4: A register i at row
      // g + 8 (i % 2), columns 2q + 8 (i / 2) and the next; B register i
      // at rows (K) 2q + 8i and the next, column g.
      forRange(kWarpSize, [&](Value lane) {
        Value thread = add(first, lane);
        Value g = div(lane, 4), q2 = mul(rem(lane, 4), index(2));
        for (int i = 0; i < 4; ++i) {
          Value row = add(g, index(8 * (i % 2)));
          Value column = add(q2, index(8 * (i / 2)));
          storePair(valueForThread(a[i], thread), aTile, {row, column},
                    {row, add(column, index(1))});
        }
        for (int i = 0; i < 2; ++i) {
          Value k = add(q2, index(8 * i));
          storePair(valueForThread(bOperand[i], thread), bTile, {k, g},
                    {add(k, index(1)), g});
        }
      });
      // Accumulator j of lane l: row g + 8 (j / 2), column 2q + j % 2.
      forRange(kWarpSize, [&](Value lane) {
        Value thread = add(first, lane);
        Value g = div(lane, 4), q2 = mul(rem(lane, 4), index(2));
        for (int j = 0; j < 4; ++j) {
          Value row = add(g, index(8 * (j / 2)));
          Value column = add(q2, index(j % 2));
          auto sum = scf::ForOp::create(b, loc, index(0), index(16), index(1),
                                        valueForThread(c[j], thread));
          {
            OpBuilder::InsertionGuard insertion(b);
            b.setInsertionPointToStart(sum.getBody());
            Value k = sum.getInductionVar();
            Value left = memref::LoadOp::create(b, loc, aTile, ValueRange{row, k});
            Value right =
                memref::LoadOp::create(b, loc, bTile, ValueRange{k, column});
            Value product = arith::MulFOp::create(b, loc, left, right);
            scf::YieldOp::create(
                b, loc,
                ValueRange{arith::AddFOp::create(
                    b, loc, sum.getRegionIterArgs()[0], product)});
          }
          memref::StoreOp::create(b, loc, sum.getResult(0), results[j],
                                  thread);
        }
      });
    });
    homes[mma.getResult()] = results;
    return success();
  }
};

} // namespace

bool jikji::cuda::containsMeetingPoint(Operation *op) {
  return op
      ->walk([](Operation *inner) {
        return isMeetingPoint(inner) ? WalkResult::interrupt()
                                     : WalkResult::advance();
      })
      .wasInterrupted();
}

bool jikji::cuda::isMeetingPoint(Operation *op) {
  return isa<gpu::BarrierOp, gpu::ShuffleOp, gpu::SubgroupReduceOp,
             gpu::AllReduceOp>(op) ||
         isa<NVVM::NVVMDialect>(op->getDialect());
}

std::optional<std::string>
jikji::cuda::whyNotLockstep(gpu::LaunchOp launch) {
  gpu::KernelDim3 sizes = launch.getBlockSizeOperandValues();
  std::array<std::optional<int64_t>, 3> blockSize{
      getConstantIntValue(sizes.x), getConstantIntValue(sizes.y),
      getConstantIntValue(sizes.z)};
  if (!blockSize[0] || !blockSize[1] || !blockSize[2])
    return std::string("a block size that is not a constant");
  if (!launch.getPrivateAttributions().empty() ||
      launch.getDynamicSharedMemorySize())
    return std::string("private or dynamic shared memory");
  std::string reason;
  launch.getBody().walk([&](Operation *op) {
    if (!isMeetingPoint(op))
      return WalkResult::advance();
    auto mma = dyn_cast<NVVM::MmaOp>(op);
    if (!isa<gpu::BarrierOp>(op) && !mma)
      reason = "'" + op->getName().getStringRef().str() +
               "', which the lockstep emulation does not model";
    else if (std::optional<std::string> why = mma ? whyNotEmulated(mma)
                                                  : std::nullopt)
      reason = *why;
    else if (mma && *blockSize[0] * *blockSize[1] * *blockSize[2] %
                            kWarpSize != 0)
      reason = "an mma.sync in a block of partial warps";
    for (Operation *parent = op->getParentOp();
         reason.empty() && parent != launch; parent = parent->getParentOp())
      if (!isa<scf::ForOp>(parent))
        reason = "'" + op->getName().getStringRef().str() + "' inside '" +
                 parent->getName().getStringRef().str() + "'";
    return reason.empty() ? WalkResult::advance() : WalkResult::interrupt();
  });
  if (!reason.empty())
    return reason;
  return std::nullopt;
}

LogicalResult jikji::cuda::emitBlockInLockstep(OpBuilder &b,
                                               OpBuilder &scratch,
                                               gpu::LaunchOp launch,
                                               ArrayRef<Value> blockIds,
                                               ArrayRef<Value> gridSize) {
  gpu::KernelDim3 sizes = launch.getBlockSizeOperandValues();
  std::array<int64_t, 3> blockSize{*getConstantIntValue(sizes.x),
                                   *getConstantIntValue(sizes.y),
                                   *getConstantIntValue(sizes.z)};
  return LockstepEmitter(b, scratch, launch, blockSize)
      .emit(blockIds, gridSize);
}
