//===- CpuFeatures.cpp - The x86 extensions compiled code may need --------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/CpuFeatures.h"

#include <algorithm>
#include <cstdint>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

using namespace jikji::runtime;

namespace {

/// The register of a CPUID leaf that holds a feature's bit.
enum class CpuidRegister { Eax, Ebx, Ecx, Edx };

/// Which register state the OS must save (XCR0) for a feature's
/// instructions to be usable: the SSE registers are always saved on
/// x86-64, the upper halves of the YMM registers (AVX) and the opmask and
/// ZMM registers (AVX-512) only when the OS has turned them on.
enum class RegisterState { Base, Avx, Avx512 };

/// Where CPUID reports a feature (Intel SDM vol. 2A, CPUID; AMD APM vol. 3,
/// appendix E).
struct FeatureBit {
  std::string_view name;
  uint32_t leaf;
  uint32_t subleaf;
  CpuidRegister reg;
  unsigned bit;
  RegisterState state;
};

constexpr uint32_t kExtendedLeaf = 0x80000001;

// clang-format off
const FeatureBit kFeatureBits[] = {
    {"sse3",            1, 0, CpuidRegister::Ecx,  0, RegisterState::Base},
    {"ssse3",           1, 0, CpuidRegister::Ecx,  9, RegisterState::Base},
    {"fma",             1, 0, CpuidRegister::Ecx, 12, RegisterState::Avx},
    {"cx16",            1, 0, CpuidRegister::Ecx, 13, RegisterState::Base},
    {"sse4.1",          1, 0, CpuidRegister::Ecx, 19, RegisterState::Base},
    {"sse4.2",          1, 0, CpuidRegister::Ecx, 20, RegisterState::Base},
    {"movbe",           1, 0, CpuidRegister::Ecx, 22, RegisterState::Base},
    {"popcnt",          1, 0, CpuidRegister::Ecx, 23, RegisterState::Base},
    {"xsave",           1, 0, CpuidRegister::Ecx, 26, RegisterState::Base},
    {"avx",             1, 0, CpuidRegister::Ecx, 28, RegisterState::Avx},
    {"f16c",            1, 0, CpuidRegister::Ecx, 29, RegisterState::Avx},
    {"bmi",             7, 0, CpuidRegister::Ebx,  3, RegisterState::Base},
    {"avx2",            7, 0, CpuidRegister::Ebx,  5, RegisterState::Avx},
    {"bmi2",            7, 0, CpuidRegister::Ebx,  8, RegisterState::Base},
    {"avx512f",         7, 0, CpuidRegister::Ebx, 16, RegisterState::Avx512},
    {"avx512dq",        7, 0, CpuidRegister::Ebx, 17, RegisterState::Avx512},
    {"avx512ifma",      7, 0, CpuidRegister::Ebx, 21, RegisterState::Avx512},
    {"avx512cd",        7, 0, CpuidRegister::Ebx, 28, RegisterState::Avx512},
    {"avx512bw",        7, 0, CpuidRegister::Ebx, 30, RegisterState::Avx512},
    {"avx512vl",        7, 0, CpuidRegister::Ebx, 31, RegisterState::Avx512},
    {"avx512vbmi",      7, 0, CpuidRegister::Ecx,  1, RegisterState::Avx512},
    {"avx512vbmi2",     7, 0, CpuidRegister::Ecx,  6, RegisterState::Avx512},
    {"gfni",            7, 0, CpuidRegister::Ecx,  8, RegisterState::Base},
    {"avx512vnni",      7, 0, CpuidRegister::Ecx, 11, RegisterState::Avx512},
    {"avx512bitalg",    7, 0, CpuidRegister::Ecx, 12, RegisterState::Avx512},
    {"avx512vpopcntdq", 7, 0, CpuidRegister::Ecx, 14, RegisterState::Avx512},
    {"avx512fp16",      7, 0, CpuidRegister::Edx, 23, RegisterState::Avx512},
    {"avxvnni",         7, 1, CpuidRegister::Eax,  4, RegisterState::Avx},
    {"avx512bf16",      7, 1, CpuidRegister::Eax,  5, RegisterState::Avx512},
    {"sahf",            kExtendedLeaf, 0, CpuidRegister::Ecx, 0, RegisterState::Base},
    {"lzcnt",           kExtendedLeaf, 0, CpuidRegister::Ecx, 5, RegisterState::Base},
};
// clang-format on

#if defined(__x86_64__)
/// The four registers of CPUID(leaf, subleaf), or zeros for a leaf above
/// the CPU's highest (which would otherwise return another leaf's data).
struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  uint32_t get(CpuidRegister reg) const {
    switch (reg) {
    case CpuidRegister::Eax:
      return eax;
    case CpuidRegister::Ebx:
      return ebx;
    case CpuidRegister::Ecx:
      return ecx;
    case CpuidRegister::Edx:
      return edx;
    }
    return 0;
  }
};

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidResult result;
  // __get_cpuid_count checks the leaf against the highest one of its range.
  if (!__get_cpuid_count(leaf, subleaf, &result.eax, &result.ebx, &result.ecx,
                         &result.edx))
    return CpuidResult();
  return result;
}

/// XCR0, the register state the OS saves; 0 when the OS has not enabled
/// XSAVE (then no AVX state is usable).
uint64_t enabledRegisterState() {
  constexpr uint32_t kOsXsaveBit = 1u << 27;
  if (!(cpuid(1, 0).ecx & kOsXsaveBit))
    return 0;
  uint32_t low, high;
  // XGETBV with ECX = 0, spelled as bytes so that no -mxsave is needed.
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(low), "=d"(high) : "c"(0));
  return (uint64_t(high) << 32) | low;
}

CpuFeatureSet detectRunningCpuFeatures() {
  // XCR0 bits: 1 SSE, 2 AVX (upper YMM), 5 opmask, 6 upper ZMM0-15,
  // 7 ZMM16-31.
  constexpr uint64_t kAvxState = 0x6;
  constexpr uint64_t kAvx512State = 0xe6;
  uint64_t state = enabledRegisterState();
  CpuFeatureSet features;
  for (const FeatureBit &feature : kFeatureBits) {
    if (!(cpuid(feature.leaf, feature.subleaf).get(feature.reg) &
          (1u << feature.bit)))
      continue;
    if (feature.state == RegisterState::Avx && (state & kAvxState) != kAvxState)
      continue;
    if (feature.state == RegisterState::Avx512 &&
        (state & kAvx512State) != kAvx512State)
      continue;
    features.emplace(feature.name);
  }
  return features;
}
#else
CpuFeatureSet detectRunningCpuFeatures() { return {}; }
#endif

} // namespace

const std::vector<std::string_view> &jikji::runtime::detectableCpuFeatures() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> result;
    for (const FeatureBit &feature : kFeatureBits)
      result.push_back(feature.name);
    return result;
  }();
  return names;
}

bool jikji::runtime::isDetectableCpuFeature(std::string_view name) {
  const std::vector<std::string_view> &names = detectableCpuFeatures();
  return std::find(names.begin(), names.end(), name) != names.end();
}

const CpuFeatureSet &jikji::runtime::runningCpuFeatures() {
  static const CpuFeatureSet features = detectRunningCpuFeatures();
  return features;
}

const std::vector<CpuLevel> &jikji::runtime::x86CpuLevels() {
  // The x86-64 psABI's levels, less what every x86-64 CPU has (SSE2, CMOV,
  // ...) and what no code generator emits for numbers (OSXSAVE's own bit is
  // the OS's, not the CPU's).
  static const std::vector<CpuLevel> levels = [] {
    std::vector<std::string_view> v2 = {"cx16",   "popcnt", "sahf", "sse3",
                                        "sse4.1", "sse4.2", "ssse3"};
    std::vector<std::string_view> v3 = v2;
    v3.insert(v3.end(), {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt",
                         "movbe", "xsave"});
    std::vector<std::string_view> v4 = v3;
    v4.insert(v4.end(),
              {"avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"});
    return std::vector<CpuLevel>{
        {"x86-64-v2", v2}, {"x86-64-v3", v3}, {"x86-64-v4", v4}};
  }();
  return levels;
}

std::string_view
jikji::runtime::highestCpuLevel(const CpuFeatureSet &features) {
  std::string_view highest = "x86-64";
  for (const CpuLevel &level : x86CpuLevels()) {
    bool hasAll = std::all_of(
        level.features.begin(), level.features.end(),
        [&](std::string_view name) { return features.count(name) != 0; });
    if (!hasAll)
      break;
    highest = level.name;
  }
  return highest;
}
