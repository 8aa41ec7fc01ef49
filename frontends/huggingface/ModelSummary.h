//===- ModelSummary.h - What an imported model costs ------------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_MODELSUMMARY_H
#define JIKJI_FRONTENDS_HUGGINGFACE_MODELSUMMARY_H

#include "frontends/huggingface/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

namespace jikji::hf {

/// Counts read off a compiled module (not off the config), so that the
/// summary describes the graph as compiled, fusions included.
struct ModelSummary {
  /// Layer function name -> number of calls from `@forward`.
  std::map<std::string, int64_t> layersByKind;
  int64_t parameters = 0;
  /// Parameters a token touches: everything except the routed experts it
  /// was not sent to, and one row of the embedding table.
  double activatedParameters = 0;
  /// Storage type name (bf16, f8E4M3FN, f32, ...) -> {parameters, bytes}.
  std::map<std::string, std::pair<int64_t, int64_t>> byElementType;
  /// FP8 block scales (`weight_scale_inv`): stored beside the weights they
  /// scale, counted in bytes but not as parameters.
  int64_t blockScaleValues = 0;
  int64_t blockScaleBytes = 0;
  /// The multi-token-prediction module, present in the checkpoint but not
  /// compiled: its parameters, for the "with MTP" total.
  int64_t multiTokenPredictionParameters = 0;
  /// KV-cache values and bytes per token per layer, over all cache operands.
  int64_t cacheValuesPerTokenPerLayer = 0;
  int64_t cacheBytesPerTokenPerLayer = 0;
  int64_t layers = 0;
};

/// Walks `@forward` and the layer functions it calls.
ModelSummary summarizeModel(mlir::ModuleOp module, const ModelConfig &config);

/// Human-readable, one fact a line.
void printSummaryText(const ModelSummary &summary, llvm::raw_ostream &os);
/// The same facts as one JSON object.
void printSummaryJson(const ModelSummary &summary, llvm::raw_ostream &os);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_MODELSUMMARY_H
