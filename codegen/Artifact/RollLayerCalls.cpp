//===- RollLayerCalls.cpp - One loop per run of layers of a kind ----------===//
//
// Part of Jikji. See RollLayerCalls.h for why @forward's layer calls become
// loops. The matcher is strict on purpose: a call is added to a run only
// when every operand and every result fits one of the roles below, so a
// graph of another shape is left as it is, never rolled wrongly.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact/RollLayerCalls.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using jikji::BindParameterFn;
namespace ds = jikji::deepseek;

namespace {

/// How one operand of a layer call changes from a layer to the next.
enum class OperandRole {
  /// The same value for every layer (the start position, a cache length).
  Invariant,
  /// A result of the previous layer (the hidden state).
  Carried,
  /// A parameter op whose table entry advances by the run's stride.
  Parameter,
  /// `extract_slice %cache[l, 0, ...]` (or `[0, l, ...]`, the layer axis
  /// being the one the slice drops) of the cache as the previous layer
  /// left it, one layer further on; the call's result of the same cache is
  /// written back to the same place.
  CacheSlice,
};

struct OperandPattern {
  OperandRole role = OperandRole::Invariant;
  /// Carried, CacheSlice: the number of the previous call's result.
  unsigned result = 0;

  bool operator==(const OperandPattern &other) const {
    return role == other.role && result == other.result;
  }
  bool operator!=(const OperandPattern &other) const {
    return !(*this == other);
  }
};

/// Consecutive calls to one layer function that a loop can replace.
struct LayerRun {
  SmallVector<func::CallOp> calls;
  /// One per call operand, the same for every pair of neighbours.
  SmallVector<OperandPattern> operands;
  /// How far each parameter's table entry moves from a layer to the next.
  int64_t tableStride = 0;
};

bool isParameter(Value value) {
  return value.getDefiningOp<ds::ParamOp>() ||
         value.getDefiningOp<ds::ExpertParamOp>();
}

/// Where a layer's slice of a stacked cache sits: the axis of layers (the
/// one the slice drops: 0 in @forward's caches, 1 in @forward_batch's,
/// whose slots come first) and the layer read.
struct LayerSlice {
  unsigned axis = 0;
  int64_t layer = 0;
};

/// The layer `slice` reads, when it drops exactly one unit axis at a static
/// offset and starts every other axis at 0 with unit strides.
std::optional<LayerSlice> sliceLayer(tensor::ExtractSliceOp slice) {
  llvm::SmallBitVector dropped = slice.getDroppedDims();
  if (dropped.count() != 1 || !slice.hasUnitStride())
    return std::nullopt;
  unsigned axis = dropped.find_first();
  ArrayRef<int64_t> offsets = slice.getStaticOffsets();
  for (auto [dim, offset] : llvm::enumerate(offsets))
    if (dim == axis ? ShapedType::isDynamic(offset) : offset != 0)
      return std::nullopt;
  return LayerSlice{axis, offsets[axis]};
}

/// Whether `write` puts its tensor exactly where `read` took it from.
bool writesBackWhereRead(tensor::InsertSliceOp write,
                         tensor::ExtractSliceOp read) {
  return write.getDest() == read.getSource() &&
         write.getSource().getType() == read.getType() &&
         write.getMixedOffsets() == read.getMixedOffsets() &&
         write.getMixedSizes() == read.getMixedSizes() &&
         write.getMixedStrides() == read.getMixedStrides();
}

/// The role of operand `number` of `next`, judged against `previous`.
std::optional<OperandPattern>
classifyOperand(func::CallOp previous, func::CallOp next, unsigned number) {
  Value before = previous.getOperand(number), after = next.getOperand(number);
  if (before == after)
    return OperandPattern{OperandRole::Invariant};
  if (auto result = dyn_cast<OpResult>(after);
      result && result.getOwner() == previous)
    return OperandPattern{OperandRole::Carried, result.getResultNumber()};
  if (isParameter(before) && isParameter(after) &&
      before.getDefiningOp()->getName() == after.getDefiningOp()->getName() &&
      before.hasOneUse() && after.hasOneUse())
    return OperandPattern{OperandRole::Parameter};

  auto readBefore = before.getDefiningOp<tensor::ExtractSliceOp>();
  auto readAfter = after.getDefiningOp<tensor::ExtractSliceOp>();
  if (!readBefore || !readAfter)
    return std::nullopt;
  auto write = readAfter.getSource().getDefiningOp<tensor::InsertSliceOp>();
  auto written = write ? dyn_cast<OpResult>(write.getSource()) : OpResult();
  std::optional<LayerSlice> layerBefore = sliceLayer(readBefore);
  std::optional<LayerSlice> layerAfter = sliceLayer(readAfter);
  if (!written || written.getOwner() != previous || !layerBefore ||
      !layerAfter || layerAfter->axis != layerBefore->axis ||
      layerAfter->layer != layerBefore->layer + 1 ||
      !writesBackWhereRead(write, readBefore) ||
      readAfter.getType() != readBefore.getType() ||
      readAfter.getMixedSizes() != readBefore.getMixedSizes())
    return std::nullopt;
  return OperandPattern{OperandRole::CacheSlice, written.getResultNumber()};
}

/// The pattern of the operand that reads result `result` of the previous
/// call, if any.
const OperandPattern *patternOfResult(ArrayRef<OperandPattern> operands,
                                      unsigned result) {
  for (const OperandPattern &pattern : operands)
    if ((pattern.role == OperandRole::Carried ||
         pattern.role == OperandRole::CacheSlice) &&
        pattern.result == result)
      return &pattern;
  return nullptr;
}

/// Whether every value `previous` hands to `next` goes only where its
/// pattern says, so that the loop may hide it.
bool handsOverOnly(func::CallOp previous, func::CallOp next,
                   ArrayRef<OperandPattern> operands) {
  for (OpResult result : previous->getResults()) {
    const OperandPattern *pattern =
        patternOfResult(operands, result.getResultNumber());
    if (!pattern) {
      if (!result.use_empty())
        return false;
      continue;
    }
    if (!result.hasOneUse())
      return false;
    Operation *user = *result.getUsers().begin();
    if (pattern->role == OperandRole::Carried) {
      if (user != next.getOperation())
        return false;
      continue;
    }
    // A cache: written back, and the cache as written feeds only the next
    // layer's read and the next layer's write; the read that fed
    // `previous` fed nothing else.
    unsigned number = pattern - operands.data();
    auto read = next.getOperand(number).getDefiningOp<tensor::ExtractSliceOp>();
    Operation *write = read.getSource().getDefiningOp();
    auto previousRead =
        previous.getOperand(number).getDefiningOp<tensor::ExtractSliceOp>();
    if (user != write || !previousRead->hasOneUse())
      return false;
    int64_t uses = 0;
    bool feedsNextWrite = false;
    for (Operation *cacheUser : write->getUsers()) {
      ++uses;
      if (auto nextWrite = dyn_cast<tensor::InsertSliceOp>(cacheUser))
        feedsNextWrite |= nextWrite.getDest() == write->getResult(0);
    }
    if (uses != 2 || !feedsNextWrite)
      return false;
  }
  return true;
}

/// Adds `next` to `run` when it continues it.
bool extendRun(LayerRun &run, func::CallOp next,
               const llvm::DenseMap<Operation *, int64_t> &tableIndex) {
  func::CallOp previous = run.calls.back();
  if (next.getCallee() != previous.getCallee())
    return false;
  SmallVector<OperandPattern> operands;
  std::optional<int64_t> stride;
  for (unsigned number = 0; number < next.getNumOperands(); ++number) {
    std::optional<OperandPattern> pattern =
        classifyOperand(previous, next, number);
    if (!pattern)
      return false;
    if (pattern->role == OperandRole::Parameter) {
      auto before =
          tableIndex.find(previous.getOperand(number).getDefiningOp());
      auto after = tableIndex.find(next.getOperand(number).getDefiningOp());
      if (before == tableIndex.end() || after == tableIndex.end())
        return false;
      int64_t step = after->second - before->second;
      if (stride && *stride != step)
        return false;
      stride = step;
    }
    operands.push_back(*pattern);
  }
  if (run.calls.size() >= 2 &&
      (operands != run.operands || stride.value_or(0) != run.tableStride))
    return false;
  if (!handsOverOnly(previous, next, operands))
    return false;
  run.operands = std::move(operands);
  run.tableStride = stride.value_or(0);
  run.calls.push_back(next);
  return true;
}

/// The writes of the last call's caches, one per cache operand (in operand
/// order), when each result is written back where it was read and nowhere
/// else.
std::optional<SmallVector<tensor::InsertSliceOp>>
finalWrites(const LayerRun &run) {
  func::CallOp last = run.calls.back();
  SmallVector<tensor::InsertSliceOp> writes;
  for (auto [number, pattern] : llvm::enumerate(run.operands)) {
    if (pattern.role != OperandRole::CacheSlice)
      continue;
    OpResult result = last->getResult(pattern.result);
    auto read = last.getOperand(number).getDefiningOp<tensor::ExtractSliceOp>();
    auto write =
        result.hasOneUse()
            ? dyn_cast<tensor::InsertSliceOp>(*result.getUsers().begin())
            : tensor::InsertSliceOp();
    if (!write || write.getSource() != result || !read->hasOneUse() ||
        !writesBackWhereRead(write, read))
      return std::nullopt;
    writes.push_back(write);
  }
  // Results the loop neither carries nor writes back must be unused.
  for (OpResult result : last->getResults())
    if (!patternOfResult(run.operands, result.getResultNumber()) &&
        !result.use_empty())
      return std::nullopt;
  return writes;
}

/// Replaces `run` by one scf.for; returns false (changing nothing) when its
/// last call's results do not fit.
FailureOr<bool> rollRun(const LayerRun &run,
                        const llvm::DenseMap<Operation *, int64_t> &tableIndex,
                        BindParameterFn bind) {
  std::optional<SmallVector<tensor::InsertSliceOp>> lastWrites =
      finalWrites(run);
  if (!lastWrites)
    return false;
  func::CallOp first = run.calls.front(), last = run.calls.back();
  const int64_t numLayers = run.calls.size();

  // What each layer of the run owns, found before anything changes: its
  // call, its cache reads, the writes after it, its parameter ops.
  struct UnrolledLayer {
    Operation *call;
    SmallVector<Operation *> reads, writes, parameters;
  };
  SmallVector<UnrolledLayer> unrolled;
  for (auto [layer, call] : llvm::enumerate(run.calls)) {
    UnrolledLayer &owned = unrolled.emplace_back();
    owned.call = call;
    unsigned cache = 0;
    for (auto [number, pattern] : llvm::enumerate(run.operands)) {
      Value operand = func::CallOp(call).getOperand(number);
      if (pattern.role == OperandRole::Parameter)
        owned.parameters.push_back(operand.getDefiningOp());
      if (pattern.role != OperandRole::CacheSlice)
        continue;
      owned.reads.push_back(operand.getDefiningOp());
      // The write after this layer is the next layer's read source, or the
      // run's last write.
      owned.writes.push_back(layer + 1 < run.calls.size()
                                 ? func::CallOp(run.calls[layer + 1])
                                       .getOperand(number)
                                       .getDefiningOp<tensor::ExtractSliceOp>()
                                       .getSource()
                                       .getDefiningOp()
                                 : (*lastWrites)[cache].getOperation());
      ++cache;
    }
  }

  // Loop-carried values: the carried operands, then the caches, each in
  // operand order.
  SmallVector<Value> inits;
  SmallVector<unsigned> carried, caches;
  for (auto [number, pattern] : llvm::enumerate(run.operands))
    if (pattern.role == OperandRole::Carried) {
      carried.push_back(number);
      inits.push_back(first.getOperand(number));
    }
  for (auto [number, pattern] : llvm::enumerate(run.operands))
    if (pattern.role == OperandRole::CacheSlice) {
      caches.push_back(number);
      inits.push_back(first.getOperand(number)
                          .getDefiningOp<tensor::ExtractSliceOp>()
                          .getSource());
    }

  OpBuilder b(first);
  Location loc = first.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = arith::ConstantIndexOp::create(b, loc, numLayers);
  // Parameters cloned into the body, with their first layer's table entry;
  // bound once the body is complete.
  SmallVector<std::pair<Operation *, int64_t>> unbound;
  Value tableStep;
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, inits,
      [&](OpBuilder &b, Location loc, Value step, ValueRange iterArgs) {
        tableStep = arith::MulIOp::create(
            b, loc, arith::IndexCastOp::create(b, loc, b.getI64Type(), step),
            arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                         run.tableStride));
        SmallVector<Value> operands;
        SmallVector<tensor::ExtractSliceOp> reads(first.getNumOperands());
        for (auto [number, pattern] : llvm::enumerate(run.operands)) {
          Value firstOperand = first.getOperand(number);
          switch (pattern.role) {
          case OperandRole::Invariant:
            operands.push_back(firstOperand);
            break;
          case OperandRole::Carried:
            operands.push_back(
                iterArgs[llvm::find(carried, number) - carried.begin()]);
            break;
          case OperandRole::Parameter: {
            Operation *parameter = b.clone(*firstOperand.getDefiningOp());
            unbound.emplace_back(
                parameter, tableIndex.lookup(firstOperand.getDefiningOp()));
            operands.push_back(parameter->getResult(0));
            break;
          }
          case OperandRole::CacheSlice: {
            auto firstRead =
                firstOperand.getDefiningOp<tensor::ExtractSliceOp>();
            Value cache =
                iterArgs[carried.size() +
                         (llvm::find(caches, number) - caches.begin())];
            SmallVector<OpFoldResult> offsets = firstRead.getMixedOffsets();
            LayerSlice firstLayer = *sliceLayer(firstRead);
            offsets[firstLayer.axis] =
                arith::AddIOp::create(
                    b, loc, step,
                    arith::ConstantIndexOp::create(b, loc, firstLayer.layer))
                    .getResult();
            reads[number] = tensor::ExtractSliceOp::create(
                b, loc, firstRead.getType(), cache, offsets,
                firstRead.getMixedSizes(), firstRead.getMixedStrides());
            operands.push_back(reads[number]);
            break;
          }
          }
        }
        auto call = func::CallOp::create(b, loc, first.getCalleeAttr(),
                                         first.getResultTypes(), operands);
        // A carried value goes back into the buffer it came in: the loop
        // then yields what it was given (one-shot bufferization requires
        // that of a loop), for the price of copying the hidden state once
        // per layer, which is small next to the layer itself.
        SmallVector<Value> yielded;
        for (auto [position, number] : llvm::enumerate(carried))
          yielded.push_back(bufferization::MaterializeInDestinationOp::create(
                                b, loc,
                                call.getResult(run.operands[number].result),
                                iterArgs[position])
                                .getResult());
        for (unsigned number : caches) {
          tensor::ExtractSliceOp read = reads[number];
          yielded.push_back(tensor::InsertSliceOp::create(
              b, loc, call.getResult(run.operands[number].result),
              read.getSource(), read.getMixedOffsets(), read.getMixedSizes(),
              read.getMixedStrides()));
        }
        scf::YieldOp::create(b, loc, yielded);
      });

  // Bind the parameters inside the loop to entry base + step * stride; the
  // step's offset was made first in the body, so it dominates them.
  for (auto &[parameter, base] : unbound) {
    OpBuilder atParameter(parameter);
    Value index = arith::AddIOp::create(
        atParameter, parameter->getLoc(), tableStep,
        arith::ConstantIntOp::create(atParameter, parameter->getLoc(),
                                     atParameter.getI64Type(), base));
    if (failed(bind(parameter, index)))
      return failure();
  }

  // The loop's results stand for the last layer's.
  for (auto [position, number] : llvm::enumerate(carried))
    last->getResult(run.operands[number].result)
        .replaceAllUsesWith(loop.getResult(position));
  for (auto [position, write] : llvm::enumerate(*lastWrites))
    write.getResult().replaceAllUsesWith(
        loop.getResult(carried.size() + position));

  // Erase the unrolled layers from the last, so that each op's users are
  // gone by the time it is erased.
  for (auto &layer : llvm::reverse(unrolled)) {
    for (Operation *write : layer.writes)
      write->erase();
    layer.call->erase();
    for (Operation *op :
         llvm::concat<Operation *>(layer.reads, layer.parameters))
      op->erase();
  }
  return true;
}

} // namespace

FailureOr<int64_t>
jikji::rollLayerCalls(func::FuncOp forward,
                      const llvm::DenseMap<Operation *, int64_t> &tableIndex,
                      BindParameterFn bind) {
  // Runs are found first and rolled after, so that rolling one does not
  // disturb the walk; each run touches only its own ops.
  SmallVector<LayerRun> runs;
  for (Operation &op : forward.getBody().front()) {
    auto call = dyn_cast<func::CallOp>(op);
    if (!call)
      continue;
    if (runs.empty() || !extendRun(runs.back(), call, tableIndex))
      runs.push_back(LayerRun{{call}, {}, 0});
  }
  int64_t loops = 0;
  for (const LayerRun &run : runs) {
    if (run.calls.size() < 2)
      continue;
    FailureOr<bool> rolled = rollRun(run, tableIndex, bind);
    if (failed(rolled))
      return failure();
    loops += *rolled;
  }
  return loops;
}
