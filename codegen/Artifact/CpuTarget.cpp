//===- CpuTarget.cpp - The CPU an artifact's code is compiled for ---------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact/CpuTarget.h"

#include "runtime/support/CpuFeatures.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <set>

using namespace jikji;

namespace {

/// The native target of the default triple, registered on first use.
Result<const llvm::Target *> nativeTarget(const llvm::Triple &triple) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return Error("no LLVM target for " + triple.str() + ": " + error);
  return target;
}

/// The subtarget of `triple` with no CPU chosen, which knows every CPU and
/// feature name of the architecture.
Result<std::unique_ptr<llvm::MCSubtargetInfo>>
genericSubtarget(const llvm::Triple &triple) {
  Result<const llvm::Target *> target = nativeTarget(triple);
  if (!target)
    return Error(target.error());
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      (*target)->createMCSubtargetInfo(triple, "", ""));
  if (!subtarget)
    return Error("no subtarget information for " + triple.str());
  return subtarget;
}

} // namespace

Result<std::unique_ptr<llvm::TargetMachine>>
jikji::createCpuTargetMachine(const std::string &cpu) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  Result<const llvm::Target *> target = nativeTarget(triple);
  if (!target)
    return Error(target.error());
  std::string cpuName;
  llvm::SubtargetFeatures features;
  if (cpu == kHostCpu) {
    cpuName = llvm::sys::getHostCPUName().str();
    for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature, enabled);
  } else {
    // LLVM would warn about an unknown CPU on stderr and compile for a
    // generic one, which is not what the user asked for.
    Result<std::unique_ptr<llvm::MCSubtargetInfo>> generic =
        genericSubtarget(triple);
    if (!generic)
      return Error(generic.error());
    if (!(*generic)->isCPUStringValid(cpu))
      return Error("--cpu: unknown CPU '" + cpu + "' for " + triple.str() +
                   "; jikji-compile --cpu=help lists the names LLVM knows "
                   "(e.g. x86-64-v3, skylake-avx512, znver4), and --cpu=" +
                   kHostCpu + " is this machine's CPU");
    cpuName = cpu;
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine((*target)->createTargetMachine(
      triple, cpuName, features.getString(), options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return Error("cannot create a target machine for " + triple.str() +
                 " and CPU " + cpuName);
  return machine;
}

Result<bool> jikji::printCpuNames(llvm::raw_ostream &os) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  Result<std::unique_ptr<llvm::MCSubtargetInfo>> generic =
      genericSubtarget(triple);
  if (!generic)
    return Error(generic.error());
  os << kHostCpu << "\n";
  for (const llvm::SubtargetSubTypeKV &cpu :
       (*generic)->getAllProcessorDescriptions())
    os << cpu.Key << "\n";
  return true;
}

runtime::ManifestCpu
jikji::cpuRequirements(const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo &subtarget = *machine.getMCSubtargetInfo();
  std::set<std::string> features;
  for (const llvm::SubtargetFeatureKV &feature :
       subtarget.getAllProcessorFeatures())
    if (runtime::isDetectableCpuFeature(feature.Key) &&
        subtarget.getFeatureBits().test(feature.Value))
      features.insert(feature.Key);
  runtime::ManifestCpu cpu;
  cpu.name = subtarget.getCPU().str();
  cpu.features.assign(features.begin(), features.end());
  return cpu;
}
