//===- Passes.td - Passes that shape the artifact ----------*- tablegen -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_ARTIFACT_PASSES_TD
#define JIKJI_CODEGEN_ARTIFACT_PASSES_TD

include "mlir/Pass/PassBase.td"

def CreateEntryPointPass
    : Pass<"jikji-create-entry-point", "mlir::ModuleOp"> {
  let summary = "Give @forward the artifact's C entry point and bind parameters";
  let description = [{
    Creates `jikji_forward` with the C signature of docs/runtime-abi.md
    (pointers and 64-bit integers only) around the tensor-level `@forward`,
    which becomes private. Every `deepseek.param` and `deepseek.expert_param`
    becomes a read of the runtime's parameter table: a memref over the
    pointer the runtime bound, wrapped as a `restrict` tensor. The order of
    the table is recorded in the module attribute `jikji.parameters`, which
    the artifact's manifest lists. `@forward`'s new argument for the table
    is marked `deepseek.param_table`: the runtime writes it before a step,
    and nothing writes it during one (the CUDA pipeline reads it without
    waiting for kernels).

    With `roll-layers` (the default), each run of two or more consecutive
    calls to the same layer function becomes one `scf.for` over those layers:
    the hidden state is carried, each cache is sliced at the loop's layer,
    and each parameter reads table entry `first + step * stride`. `@forward`
    then has one call per run instead of one per layer, so bufferization and
    everything after it cost the same for 61 layers as for 4.

    Runs after `convert-deepseek-to-linalg` and before bufferization.
  }];
  let options = [
    Option<"rollLayers", "roll-layers", "bool", /*default=*/"true",
           "Call each run of layers of one kind from one loop">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

#endif // JIKJI_CODEGEN_ARTIFACT_PASSES_TD
