//===- ParallelLoops.h - Which linalg ops run on threads --------*- C++ -*-===//
//
// Part of Jikji. The lowering to linalg knows which ops carry the work (the
// products over weights); the CPU pipeline, much later, runs the parallel
// loops of exactly those ops on threads. A discardable attribute carries
// that knowledge across bufferization.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CONVERSION_PARALLELLOOPS_H
#define JIKJI_CODEGEN_CONVERSION_PARALLELLOOPS_H

#include "llvm/ADT/StringRef.h"

namespace jikji {

/// An attribute on a linalg op whose parallel loops should be shared among
/// threads: a unit attribute when the op is always large enough that a fork
/// and join (a few microseconds) is noise next to it; an integer N when
/// that holds only from N iterations of its outermost loop on (rows of
/// tokens: hundreds in a prefill, one in a decode step), which the CPU
/// pipeline tests at run time.
inline constexpr llvm::StringLiteral kParallelLoopsAttrName = "jikji.parallel";

} // namespace jikji

#endif // JIKJI_CODEGEN_CONVERSION_PARALLELLOOPS_H
