//===- Importer.h - config.json to the as-written deepseek graph -*- C++
//-*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_IMPORTER_H
#define JIKJI_FRONTENDS_HUGGINGFACE_IMPORTER_H

#include "frontends/huggingface/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace jikji::hf {

struct ImportOptions {
  /// Also build `@forward_batch`: one decode step of a batch of sequences,
  /// one new token each, over caches with a leading slot axis.
  bool batchedDecode = false;
};

/// Builds the as-written graph of `config` (DESIGN.md, decisions 2 to 5):
/// a public `@forward` over one sequence's new tokens and the stacked KV
/// caches, one private function per layer kind called once per layer, and
/// every weight a `deepseek.param` named as in the checkpoint. Only the
/// config is needed; the weights' element types follow its
/// `quantization_config` (FP8 linears) and the released checkpoints (BF16,
/// the router bias F32).
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              const ModelConfig &config,
                                              const ImportOptions &options = {});

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_IMPORTER_H
