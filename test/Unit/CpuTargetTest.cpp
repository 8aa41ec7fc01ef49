//===- CpuTargetTest.cpp - Tests of jikji-compile --cpu -------------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//
//
// The compiler and the runtime share one list of features
// (runtime/support/CpuFeatures.h); these tests hold it to LLVM's names, its
// x86-64 levels to LLVM's, and the runtime's CPUID reading to LLVM's host
// detection.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact/CpuTarget.h"

#include "runtime/support/CpuFeatures.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace jikji;

namespace {

/// The manifest `cpu` of code compiled for `cpu`; fails the test when the
/// name is refused.
runtime::ManifestCpu requirementsOf(const std::string &cpu) {
  Result<std::unique_ptr<llvm::TargetMachine>> machine =
      createCpuTargetMachine(cpu);
  if (!machine) {
    ADD_FAILURE() << machine.error();
    return {};
  }
  return cpuRequirements(**machine);
}

bool isX86Host() {
  return llvm::Triple(llvm::sys::getDefaultTargetTriple()).getArch() ==
         llvm::Triple::x86_64;
}

bool contains(const std::vector<std::string> &features,
              const std::string &feature) {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

} // namespace

// Tests that every feature the runtime detects is one LLVM knows by that
// name: a misspelt one would never be recorded, so never checked.
TEST(CpuTargetTest, RuntimeFeaturesAreLlvmFeatures) {
  if (!isX86Host())
    GTEST_SKIP() << "not an x86-64 compiler";
  Result<std::unique_ptr<llvm::TargetMachine>> machine =
      createCpuTargetMachine("x86-64");
  ASSERT_TRUE(machine) << machine.error();
  std::set<std::string> llvmFeatures;
  for (const llvm::SubtargetFeatureKV &feature :
       (*machine)->getMCSubtargetInfo()->getAllProcessorFeatures())
    llvmFeatures.insert(feature.Key);
  for (std::string_view feature : runtime::detectableCpuFeatures())
    EXPECT_TRUE(llvmFeatures.count(std::string(feature))) << feature;
}

// Tests that the runtime's x86-64 levels (which its message suggests) are
// LLVM's: code for x86-64-vN needs exactly the level's features.
TEST(CpuTargetTest, LevelsMatchLlvm) {
  if (!isX86Host())
    GTEST_SKIP() << "not an x86-64 compiler";
  EXPECT_EQ(requirementsOf("x86-64").features, std::vector<std::string>());
  for (const runtime::CpuLevel &level : runtime::x86CpuLevels()) {
    runtime::ManifestCpu cpu = requirementsOf(std::string(level.name));
    EXPECT_EQ(cpu.name, level.name);
    std::vector<std::string> expected(level.features.begin(),
                                      level.features.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(cpu.features, expected) << level.name;
  }
}

// Tests that a named CPU brings its own features, not the host's: Zen 4 has
// the BF16 and VNNI dot products but not AVX512-FP16; Skylake-AVX512 has
// neither dot product.
TEST(CpuTargetTest, NamedCpuHasItsOwnFeatures) {
  if (!isX86Host())
    GTEST_SKIP() << "not an x86-64 compiler";
  runtime::ManifestCpu zen4 = requirementsOf("znver4");
  EXPECT_EQ(zen4.name, "znver4");
  for (const char *feature :
       {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
        "avx512bf16", "avx512vnni"})
    EXPECT_TRUE(contains(zen4.features, feature)) << feature;
  EXPECT_FALSE(contains(zen4.features, "avx512fp16"));
  runtime::ManifestCpu skylake = requirementsOf("skylake-avx512");
  EXPECT_TRUE(contains(skylake.features, "avx512f"));
  EXPECT_FALSE(contains(skylake.features, "avx512bf16"));
  EXPECT_FALSE(contains(skylake.features, "avx512vnni"));
  EXPECT_TRUE(std::is_sorted(zen4.features.begin(), zen4.features.end()));
}

// Tests that code for the host needs what the runtime finds on the host:
// LLVM's host detection and the runtime's CPUID reading agree, so an
// artifact compiled here loads here.
TEST(CpuTargetTest, HostNeedsWhatTheRuntimeDetects) {
  if (!isX86Host())
    GTEST_SKIP() << "not an x86-64 compiler";
  runtime::ManifestCpu host = requirementsOf(kHostCpu);
  EXPECT_EQ(host.name, llvm::sys::getHostCPUName().str());
  const runtime::CpuFeatureSet &running = runtime::runningCpuFeatures();
  EXPECT_EQ(host.features,
            std::vector<std::string>(running.begin(), running.end()));
}

// Tests the message for a CPU LLVM does not know.
TEST(CpuTargetTest, RefusesUnknownCpu) {
  Result<std::unique_ptr<llvm::TargetMachine>> machine =
      createCpuTargetMachine("znver9");
  ASSERT_FALSE(machine);
  EXPECT_EQ(machine.error(),
            "--cpu: unknown CPU 'znver9' for " +
                llvm::sys::getDefaultTargetTriple() +
                "; jikji-compile --cpu=help lists the names LLVM knows "
                "(e.g. x86-64-v3, skylake-avx512, znver4), and --cpu=host "
                "is this machine's CPU");
}
