//===- CpuFeatures.h - The x86 extensions code may need --------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-compile generates code for one CPU (`--cpu`), and that code uses
// whatever vector and bit-manipulation extensions the CPU has: run on a CPU
// without one, it dies of SIGILL in the middle of a step. So the compiler
// records, in the manifest, which of the extensions listed here the target
// has, and the runtime checks them against the running CPU at load
// (docs/runtime-abi.md, "The CPU").
//
// This list is the one both sides share: the compiler records only these
// names, and the runtime knows how to detect each of them. Names are LLVM's
// (and GCC's: -mattr=+avx512bf16, __builtin_cpu_supports), which are also
// what `--cpu` speaks; /proc/cpuinfo spells a few differently (avx512_bf16,
// bmi1, abm).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_CPUFEATURES_H
#define JIKJI_RUNTIME_SUPPORT_CPUFEATURES_H

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace jikji::runtime {

/// A set of CPU features by name.
using CpuFeatureSet = std::set<std::string, std::less<>>;

/// The x86 features the runtime can detect, in a fixed order: every SSE,
/// AVX, AVX2 and AVX-512 extension that code for numbers can use, and the
/// scalar extensions LLVM uses in ordinary code (bmi, bmi2, lzcnt, movbe,
/// popcnt, ...). AMX (which needs the OS's permission per process), AVX10
/// and APX are not among them.
const std::vector<std::string_view> &detectableCpuFeatures();

/// Whether `name` is one of detectableCpuFeatures().
bool isDetectableCpuFeature(std::string_view name);

/// The features of detectableCpuFeatures() that the running CPU has and the
/// operating system enables (AVX and AVX-512 registers are usable only when
/// the OS saves them: XGETBV). Empty on a machine that is not x86-64.
/// Computed once.
const CpuFeatureSet &runningCpuFeatures();

/// The x86-64 microarchitecture levels (x86-64-v2, -v3, -v4), each with the
/// features of detectableCpuFeatures() it requires, lowest first. A CPU of a
/// level runs code compiled with `--cpu=<that level>`.
struct CpuLevel {
  std::string_view name;
  std::vector<std::string_view> features;
};
const std::vector<CpuLevel> &x86CpuLevels();

/// The highest level of x86CpuLevels() whose features are all in
/// `features`; "x86-64" (the baseline every x86-64 CPU has) when none is.
std::string_view highestCpuLevel(const CpuFeatureSet &features);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_CPUFEATURES_H
