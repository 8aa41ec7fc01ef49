//===- CpuFeaturesTest.cpp - Tests of the running CPU's features ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime reads CPUID itself; Linux reads it too and lists what it found
// (and what the OS enables) in /proc/cpuinfo. The two must agree.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/CpuFeatures.h"

#include "frontends/huggingface/Json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

using namespace jikji::runtime;

namespace {

/// The flags of the first processor in /proc/cpuinfo; empty when there is
/// no such file.
std::set<std::string> cpuinfoFlags() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    std::string flag;
    while (words >> flag)
      flags.insert(flag);
    return flags;
  }
  return {};
}

/// Linux's names for the features whose LLVM names differ
/// (arch/x86/include/asm/cpufeatures.h).
std::string linuxName(std::string_view feature) {
  static const std::map<std::string_view, std::string> renamed = {
      {"sse3", "pni"},
      {"sse4.1", "sse4_1"},
      {"sse4.2", "sse4_2"},
      {"bmi", "bmi1"},
      {"avx512vbmi2", "avx512_vbmi2"},
      {"avx512vnni", "avx512_vnni"},
      {"avx512bitalg", "avx512_bitalg"},
      {"avx512vpopcntdq", "avx512_vpopcntdq"},
      {"avx512fp16", "avx512_fp16"},
      {"avx512bf16", "avx512_bf16"},
      {"avxvnni", "avx_vnni"},
      {"sahf", "lahf_lm"},
      {"lzcnt", "abm"},
  };
  auto found = renamed.find(feature);
  return found != renamed.end() ? found->second : std::string(feature);
}

} // namespace

// Tests that the features the runtime detects are the ones Linux reports.
TEST(CpuFeaturesTest, AgreesWithProcCpuinfo) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "not an x86-64 machine";
#endif
  std::set<std::string> flags = cpuinfoFlags();
  if (flags.empty())
    GTEST_SKIP() << "no /proc/cpuinfo flags";
  const CpuFeatureSet &detected = runningCpuFeatures();
  for (std::string_view feature : detectableCpuFeatures())
    EXPECT_EQ(detected.count(feature) != 0,
              flags.count(linuxName(feature)) != 0)
        << feature << " (" << linuxName(feature) << " in /proc/cpuinfo)";
  // Every x86-64 CPU this project runs on has SSE3 (2004); an empty set
  // would mean CPUID was not read at all.
  EXPECT_TRUE(detected.count("sse3"));
}

// Tests that the detected features are named in the shared list, each once.
TEST(CpuFeaturesTest, DetectsOnlyListedFeatures) {
  for (const std::string &feature : runningCpuFeatures())
    EXPECT_TRUE(isDetectableCpuFeature(feature)) << feature;
  CpuFeatureSet unique(detectableCpuFeatures().begin(),
                       detectableCpuFeatures().end());
  EXPECT_EQ(unique.size(), detectableCpuFeatures().size());
}

// Tests that docs/runtime-abi.md lists the features this runtime checks, so
// the document and the list cannot drift apart.
TEST(CpuFeaturesTest, DocumentedListIsTheList) {
  std::string docPath = std::string(JIKJI_SOURCE_DIR) + "/docs/runtime-abi.md";
  jikji::Result<std::string> doc = jikji::hf::readTextFile(docPath);
  ASSERT_TRUE(doc.ok()) << doc.error();
  size_t section = doc->find("\n## The CPU\n");
  ASSERT_NE(section, std::string::npos);
  size_t begin = doc->find("\n`sse3 ", section);
  ASSERT_NE(begin, std::string::npos);
  begin += 2;
  size_t end = doc->find('`', begin);
  ASSERT_NE(end, std::string::npos);
  std::istringstream words(doc->substr(begin, end - begin));
  CpuFeatureSet documented;
  std::string word;
  while (words >> word)
    EXPECT_TRUE(documented.insert(word).second) << word << " listed twice";
  EXPECT_EQ(documented, CpuFeatureSet(detectableCpuFeatures().begin(),
                                      detectableCpuFeatures().end()));
}
