//===- Passes.td - CPU codegen passes ----------------------*- tablegen -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CPU_PASSES_TD
#define JIKJI_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMemRefCopyToLinalgPass
    : Pass<"convert-memref-copy-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    MLIR lowers a `memref.copy` between strided buffers to a call of
    `memrefCopy` from its C runner library, which an artifact must not
    depend on (it links only libc, libm and pthreads). As `linalg.copy` the
    copy becomes ordinary loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def BufferizePass : Pass<"jikji-bufferize", "mlir::ModuleOp"> {
  let summary = "One-shot bufferization across functions, rows contiguous";
  let description = [{
    One-shot bufferization of the whole module, function boundaries
    included, like `one-shot-bufferize{bufferize-function-boundaries}` with
    one difference: every function argument and result is a memref whose
    offset and outer strides are dynamic but whose innermost stride is 1
    (`strided<[?, ..., ?, 1], offset: ?>`). Layer functions receive slices
    of the stacked caches and weights in place, which that layout takes
    without a copy, and the code inside knows every row is contiguous:
    vector loads need it, and LLVM then vectorizes without checking
    strides at run time.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def FreeParallelTemporariesPass
    : Pass<"jikji-free-parallel-temporaries", "mlir::func::FuncOp"> {
  let summary = "Free the buffers an scf.forall iteration allocates";
  let description = [{
    MLIR 22's ownership-based deallocation leaves the body of an
    `scf.forall` alone: the buffers an iteration allocates at its top level
    were never freed (the soak test measured gigabytes). An iteration
    cannot hand a buffer to anything after it (its results go through
    `scf.forall.in_parallel`), so every top-level `memref.alloc` without a
    `memref.dealloc` is freed just before the terminator. Run after the
    deallocation pipeline.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def ApproximateExpPass : Pass<"jikji-approximate-exp"> {
  let summary = "Float32 math.exp as a polynomial that vectorizes";
  let description = [{
    `math.exp` otherwise becomes a call of libm's `expf`, which LLVM's loop
    vectorizer cannot widen: the SwiGLU epilogues and the softmaxes ran
    one element per call (3,594 call sites in a bench-v2-lite artifact).
    Rewritten as upstream's polynomial approximation (range reduction by
    ln 2, a degree-7 polynomial, relative error below 2^-22 over float32's
    normal range; results below 2^-126 flush to zero, -inf gives 0) it is
    plain arithmetic, which vectorizes wherever its loop does (the prefill
    attention's per-head softmax, 16 lanes at a time). Other math ops, and exp
    of other types, stay as they are: sine and cosine take RoPE's large
    arguments, where the polynomial's range reduction loses accuracy.
  }];
  // The pattern broadcasts its constants with vector ops for vector exps.
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def LinalgToThreadedLoopsPass
    : Pass<"jikji-linalg-to-threaded-loops", "mlir::func::FuncOp"> {
  let summary = "Lower linalg ops to loops, parallel where marked";
  let description = [{
    Linalg ops marked `jikji.parallel` by the lowering to linalg (the
    products over weights) become `scf.parallel` over their parallel
    dimensions, with their reductions as `scf.for` inside; every other
    linalg op becomes `scf.for` loops, as `convert-linalg-to-loops` makes
    them. A fork and join costs microseconds: only the ops that carry the
    work are worth one. An op marked `jikji.parallel = N` (an integer:
    norms, RoPE, residual additions, whose row count is a prefill's
    hundreds of tokens or a decode step's one) is lowered both ways behind
    a run-time test, threaded from N iterations of its outermost loop on;
    inside loops that threads already share it stays serial.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SetOpenMPThreadCountPass
    : Pass<"jikji-set-openmp-thread-count", "mlir::ModuleOp"> {
  let summary = "Run every omp.parallel on the artifact's thread count";
  let description = [{
    Adds the artifact's thread count, an internal global that starts at 1,
    the exported `void jikji_set_num_threads(int32_t)` that the runtime
    calls to change it (values below 1 count as 1), and makes every
    `omp.parallel` read it as its `num_threads`. The count is the
    runtime's to choose, per loaded model, not the OpenMP environment's.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // JIKJI_CODEGEN_CPU_PASSES_TD
