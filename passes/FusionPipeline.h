//===- FusionPipeline.h - The fusions jikji-compile runs --------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_PASSES_FUSIONPIPELINE_H
#define JIKJI_PASSES_FUSIONPIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace jikji {

/// Which fusions run; each can be turned off, and turning one off never
/// changes the numbers beyond rounding (DESIGN.md, decision 5).
struct FusionOptions {
  bool absorbMla = true;
  bool fuseMoeRouting = true;
  bool fuseSwiGlu = true;
};

/// Adds the graph fusions, in order, to `pm`.
void buildFusionPipeline(mlir::OpPassManager &pm, const FusionOptions &options);

/// Registers `jikji-fuse` (all fusions on) with jikji-opt.
void registerFusionPipeline();

} // namespace jikji

#endif // JIKJI_PASSES_FUSIONPIPELINE_H
