//===- CpuRequirements.cpp - Can this CPU run the artifact's code ---------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/CpuRequirements.h"

#include <vector>

using namespace jikji;
using namespace jikji::runtime;

/// "a", "a and b", "a, b and c".
static std::string joinNames(const std::vector<std::string> &names) {
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      text += i + 1 == names.size() ? " and " : ", ";
    text += names[i];
  }
  return text;
}

Result<bool>
jikji::runtime::checkCpuRequirements(const Manifest &manifest,
                                     const std::string &path,
                                     const CpuFeatureSet &available) {
  if (!manifest.cpu)
    return true;
  std::vector<std::string> missing, undetectable;
  for (const std::string &feature : manifest.cpu->features) {
    if (!isDetectableCpuFeature(feature))
      undetectable.push_back(feature);
    else if (!available.count(feature))
      missing.push_back(feature);
  }
  std::string recompile =
      "recompile with --cpu=" + std::string(highestCpuLevel(available)) +
      " (the highest x86-64 level this CPU has), or with --cpu=host on this "
      "machine";
  std::string compiledFor =
      path + ": the artifact was compiled for " + manifest.cpu->name;
  if (!missing.empty())
    return Error(compiledFor + " and needs " + joinNames(missing) +
                 ", which this CPU lacks; " + recompile);
  if (!undetectable.empty())
    return Error(compiledFor + " and needs " + joinNames(undetectable) +
                 ", which this runtime cannot detect (the artifact is from a "
                 "newer jikji-compile); use that jikji's runtime, or " +
                 recompile);
  return true;
}
