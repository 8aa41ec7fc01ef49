//===- FuseSwiGlu.h - Patterns of deepseek-fuse-swiglu ----------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_PASSES_FUSESWIGLU_H
#define JIKJI_PASSES_FUSESWIGLU_H

#include "mlir/IR/PatternMatch.h"

namespace jikji {

/// linear/linear/silu_mul/linear of one input -> deepseek.swiglu.
void populateFuseSwiGluPatterns(mlir::RewritePatternSet &patterns);

} // namespace jikji

#endif // JIKJI_PASSES_FUSESWIGLU_H
