//===- FuseMoeRouting.h - Patterns of deepseek-fuse-moe-routing -*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_PASSES_FUSEMOEROUTING_H
#define JIKJI_PASSES_FUSEMOEROUTING_H

#include "mlir/IR/PatternMatch.h"

namespace jikji {

/// linear + moe_router -> fused_router; moe_experts + the shared experts'
/// add -> grouped_experts.
void populateFuseMoeRoutingPatterns(mlir::RewritePatternSet &patterns);

} // namespace jikji

#endif // JIKJI_PASSES_FUSEMOEROUTING_H
