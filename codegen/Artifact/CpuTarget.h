//===- CpuTarget.h - The CPU an artifact's code is compiled for -*- C++ -*-===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//
//
// `jikji-compile --cpu=NAME`: the artifact's code (a CUDA artifact's host
// code too) is generated for one CPU, this machine's (`host`, the default)
// or one LLVM knows by name (x86-64-v3, skylake-avx512, znver4, ...). What
// that code needs of the CPU that runs it goes into the manifest, which the
// runtime checks at load (runtime/artifact/CpuRequirements.h).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_CODEGEN_ARTIFACT_CPUTARGET_H
#define JIKJI_CODEGEN_ARTIFACT_CPUTARGET_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Manifest.h"

#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace jikji {

/// The `--cpu` name of the compiling machine's own CPU.
constexpr const char *kHostCpu = "host";

/// A target machine for the default triple and `cpu`: kHostCpu (this
/// machine's CPU and the features it reports) or an LLVM CPU name of the
/// triple's architecture, with that CPU's features and no others. An
/// unknown name is an error that says how to list the known ones.
Result<std::unique_ptr<llvm::TargetMachine>>
createCpuTargetMachine(const std::string &cpu);

/// Prints the names --cpu takes, kHostCpu first, one a line.
Result<bool> printCpuNames(llvm::raw_ostream &os);

/// What the code `machine` generates needs of the CPU that runs it: the
/// machine's CPU name and the features of runtime::detectableCpuFeatures()
/// it has (implied ones included: avx512bf16 brings avx512bw), sorted.
runtime::ManifestCpu cpuRequirements(const llvm::TargetMachine &machine);

} // namespace jikji

#endif // JIKJI_CODEGEN_ARTIFACT_CPUTARGET_H
