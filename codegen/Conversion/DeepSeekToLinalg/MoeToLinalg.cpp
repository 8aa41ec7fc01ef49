//===- MoeToLinalg.cpp - deepseek.moe_router/moe_experts to linalg --------===//
//
// Part of Jikji. Not lowered yet: the router's top-k and the experts' gather
// are the next step of the CPU pipeline. Until then the pass leaves both ops
// in place (a partial conversion), and the pipeline stops with an error that
// names them.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/DeepSeekToLinalg/DeepSeekToLinalg.h"

void jikji::populateMoeToLinalgPatterns(mlir::RewritePatternSet &) {}
