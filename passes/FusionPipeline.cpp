//===- FusionPipeline.cpp - The fusions jikji-compile runs ----------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "passes/FusionPipeline.h"

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void jikji::buildFusionPipeline(OpPassManager &pm,
                                const FusionOptions &options) {
  // The latent cache: 71x less cache for V3, and far fewer bytes per decode
  // step.
  if (options.absorbMla)
    pm.addPass(createAbsorbMlaPass());
  // One router op, and experts grouped by the tokens they received.
  if (options.fuseMoeRouting)
    pm.addPass(createFuseMoeRoutingPass());
  // Dense MLPs and shared experts read their input once for gate and up.
  if (options.fuseSwiGlu)
    pm.addPass(createFuseSwiGluPass());
  // What the fusions leave unused (the expanded K/V projections).
  pm.addPass(createCanonicalizerPass());
}

void jikji::registerFusionPipeline() {
  PassPipelineRegistration<>(
      "jikji-fuse", "Run every graph fusion jikji-compile runs by default",
      [](OpPassManager &pm) { buildFusionPipeline(pm, FusionOptions()); });
}
