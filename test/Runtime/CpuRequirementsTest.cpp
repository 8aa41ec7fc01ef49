//===- CpuRequirementsTest.cpp - Tests of the load-time CPU check ---------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The check takes the CPU's features as a parameter, so that the refusal an
// artifact gets on a smaller CPU is tested here on any machine.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/CpuRequirements.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace jikji;
using namespace jikji::runtime;

namespace {

/// A manifest whose code needs `features` of a CPU named `cpu`.
Manifest needing(const std::string &cpu,
                 const std::vector<std::string> &features) {
  Manifest manifest;
  manifest.cpu = ManifestCpu{cpu, features};
  return manifest;
}

/// The features of the x86-64 level `name`, as a CPU of that level has them.
CpuFeatureSet levelFeatures(std::string_view name) {
  for (const CpuLevel &level : x86CpuLevels())
    if (level.name == name)
      return CpuFeatureSet(level.features.begin(), level.features.end());
  ADD_FAILURE() << "no level " << name;
  return {};
}

/// The error of checkCpuRequirements, or "" when it passes.
std::string errorFor(const Manifest &manifest, const CpuFeatureSet &available) {
  Result<bool> checked = checkCpuRequirements(manifest, "model.so", available);
  return checked ? std::string() : checked.error();
}

} // namespace

// Tests that an artifact of an older compiler (no `cpu`) loads on any CPU,
// one that needs nothing loads too, and one whose features are all present
// loads.
TEST(CpuRequirementsTest, PassesWhenEveryFeatureIsPresent) {
  EXPECT_EQ(errorFor(Manifest(), {}), "");
  EXPECT_EQ(errorFor(needing("x86-64", {}), {}), "");
  CpuFeatureSet v4 = levelFeatures("x86-64-v4");
  EXPECT_EQ(errorFor(needing("x86-64-v3", {"avx", "avx2", "fma"}), v4), "");
}

// Tests the refusal on a CPU without avx512bf16 (a Zen 3 or an Ice Lake
// running code for Zen 4): the CPU it was compiled for, the missing feature,
// and the highest level the CPU has to recompile with.
TEST(CpuRequirementsTest, NamesTheMissingFeatures) {
  CpuFeatureSet iceLake = levelFeatures("x86-64-v4");
  iceLake.insert("avx512vnni");
  EXPECT_EQ(errorFor(needing("znver4",
                             {"avx2", "avx512bf16", "avx512f", "avx512vnni"}),
                     iceLake),
            "model.so: the artifact was compiled for znver4 and needs "
            "avx512bf16, which this CPU lacks; recompile with "
            "--cpu=x86-64-v4 (the highest x86-64 level this CPU has), or "
            "with --cpu=host on this machine");
  EXPECT_EQ(errorFor(needing("sapphirerapids",
                             {"avx2", "avx512bf16", "avx512f", "avx512fp16"}),
                     levelFeatures("x86-64-v3")),
            "model.so: the artifact was compiled for sapphirerapids and needs "
            "avx512bf16, avx512f and avx512fp16, which this CPU lacks; "
            "recompile with --cpu=x86-64-v3 (the highest x86-64 level this "
            "CPU has), or with --cpu=host on this machine");
  EXPECT_EQ(errorFor(needing("x86-64-v2", {"sse4.2"}), {}),
            "model.so: the artifact was compiled for x86-64-v2 and needs "
            "sse4.2, which this CPU lacks; recompile with --cpu=x86-64 (the "
            "highest x86-64 level this CPU has), or with --cpu=host on this "
            "machine");
}

// Tests that a feature this runtime cannot detect (named by a newer
// compiler) is refused rather than assumed present.
TEST(CpuRequirementsTest, RefusesFeaturesItCannotDetect) {
  EXPECT_EQ(errorFor(needing("diamondrapids", {"avx2", "avx10.2-512"}),
                     levelFeatures("x86-64-v4")),
            "model.so: the artifact was compiled for diamondrapids and needs "
            "avx10.2-512, which this runtime cannot detect (the artifact is "
            "from a newer jikji-compile); use that jikji's runtime, or "
            "recompile with --cpu=x86-64-v4 (the highest x86-64 level this "
            "CPU has), or with --cpu=host on this machine");
}

// Tests that the levels build on each other and that a CPU has a level only
// with all of its features.
TEST(CpuRequirementsTest, LevelsNeedAllTheirFeatures) {
  const std::vector<CpuLevel> &levels = x86CpuLevels();
  ASSERT_EQ(levels.size(), 3u);
  for (size_t i = 0; i < levels.size(); ++i) {
    CpuFeatureSet features = levelFeatures(levels[i].name);
    EXPECT_EQ(highestCpuLevel(features), levels[i].name);
    for (std::string_view feature : levels[i].features) {
      EXPECT_TRUE(isDetectableCpuFeature(feature)) << feature;
      // Without it, the CPU has the levels below the one that brought it.
      size_t introduced = 0;
      while (std::find(levels[introduced].features.begin(),
                       levels[introduced].features.end(),
                       feature) == levels[introduced].features.end())
        ++introduced;
      CpuFeatureSet less = features;
      less.erase(less.find(feature));
      EXPECT_EQ(highestCpuLevel(less), introduced == 0
                                           ? std::string_view("x86-64")
                                           : levels[introduced - 1].name)
          << levels[i].name << " without " << feature;
    }
    // Each level has every feature of the one below.
    if (i > 0) {
      for (std::string_view feature : levels[i - 1].features)
        EXPECT_TRUE(features.count(feature)) << levels[i].name << feature;
    }
  }
}
