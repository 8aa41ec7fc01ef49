//===- RollLayerCalls.h - One loop per run of layers of a kind ---*- C++
//-*-===//
//
// Part of Jikji. The importer writes @forward as one call per layer, which
// keeps the graph readable for the fusion passes; a 61-layer model then has
// 61 copies of the same call, its parameter reads and its cache slices, and
// every later pass (bufferization above all, whose alias analysis grows with
// the square of the slices of one cache) pays for each copy. Rolling each
// run of consecutive calls to the same layer function into one scf.for makes
// @forward's size, and the compile time, independent of the layer count.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_ARTIFACT_ROLLLAYERCALLS_H
#define JIKJI_CODEGEN_ARTIFACT_ROLLLAYERCALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace jikji {

/// Binds `parameter` (a `deepseek.param` or `deepseek.expert_param` op) to
/// entry `index` (an i64 value) of the parameter table and erases it.
using BindParameterFn = llvm::function_ref<mlir::LogicalResult(
    mlir::Operation *parameter, mlir::Value index)>;

/// Rewrites every run of two or more consecutive calls in `forward` to the
/// same layer function into one `scf.for` over the run's layers, when the
/// calls differ only in what a loop can index:
///   - values carried from one call's results to the next call (the hidden
///     state),
///   - cache slices `extract_slice %cache[l, 0, ...]` (or `[0, l, ...]`: the
///     layer axis is the one the slice drops) written back by `insert_slice`
///     at the same place, with l one more per call,
///   - parameters whose table entries (`tableIndex`) advance by the same
///     stride per call,
/// and everything else is the same value for every call. Inside the loop the
/// parameters are bound through `bind` with an index computed from the
/// induction variable; the rolled calls' own parameter ops are erased
/// unbound (their table entries stay, since the runtime fills the table).
/// Returns the number of loops made.
mlir::FailureOr<int64_t>
rollLayerCalls(mlir::func::FuncOp forward,
               const llvm::DenseMap<mlir::Operation *, int64_t> &tableIndex,
               BindParameterFn bind);

} // namespace jikji

#endif // JIKJI_CODEGEN_ARTIFACT_ROLLLAYERCALLS_H
