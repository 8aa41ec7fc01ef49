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

#endif // JIKJI_CODEGEN_CPU_PASSES_TD
