//===- CpuRequirements.h - Can this CPU run the artifact's code -*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// An artifact compiled for one CPU (`jikji-compile --cpu`) may use
// instructions another CPU lacks, and would die of SIGILL in the middle of a
// step there. Its manifest lists the features its code may use (`cpu`,
// docs/runtime-abi.md); the runtime compares them with the running CPU's
// before anything of the artifact runs, and refuses with a message that says
// what to recompile with.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_ARTIFACT_CPUREQUIREMENTS_H
#define JIKJI_RUNTIME_ARTIFACT_CPUREQUIREMENTS_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Manifest.h"
#include "runtime/support/CpuFeatures.h"

#include <string>

namespace jikji::runtime {

/// Whether a CPU with `available` features (runningCpuFeatures() when
/// loading; any set in tests) runs the code of the artifact at `path`.
/// True for a manifest without `cpu` (an artifact of an older compiler,
/// which recorded nothing). Otherwise every listed feature must be in
/// `available`; the error names the CPU the artifact was compiled for, the
/// features missing, and the `--cpu` to recompile with (the highest x86-64
/// level `available` covers). A feature this runtime cannot detect (from a
/// newer compiler) is refused too: it cannot be shown to be present.
Result<bool> checkCpuRequirements(const Manifest &manifest,
                                  const std::string &path,
                                  const CpuFeatureSet &available);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_ARTIFACT_CPUREQUIREMENTS_H
