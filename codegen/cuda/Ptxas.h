//===- Ptxas.h - PTX out of the module, cubin out of ptxas ------*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_CUDA_PTXAS_H
#define JIKJI_CODEGEN_CUDA_PTXAS_H

#include "frontends/huggingface/Result.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace jikji {

/// The PTX text of the module's gpu.binary (made by addCudaBinaryPasses).
/// The binary and the `gpu.container_module` mark are removed, so that the
/// host code translates to LLVM IR alone.
Result<std::string> takePtx(mlir::ModuleOp module);

/// The ptxas that jikji-compile runs: `$JIKJI_PTXAS` if set, else the one
/// of the CUDA toolkit found at configure time, else the first on PATH.
Result<std::string> findPtxas();

/// Assembles `ptx` for `gpuArch` (sm_80, sm_90) with ptxas and returns the
/// cubin's bytes; a rejection returns ptxas's own message.
Result<std::string> assembleWithPtxas(const std::string &ptx,
                                      const std::string &gpuArch);

} // namespace jikji

#endif // JIKJI_CODEGEN_CUDA_PTXAS_H
