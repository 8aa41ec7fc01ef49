//===- HostInfo.h - What the benchmark records about its host ---*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Facts read from /proc that go with every benchmark table: the CPU, how
// many CPUs this process may use, how busy the machine was (the machines
// are shared, so a table measured under load says so), and this process's
// resident memory.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_HOSTINFO_H
#define JIKJI_TOOLS_JIKJI_BENCH_HOSTINFO_H

#include <cstdint>
#include <optional>
#include <string>

namespace jikji::bench {

/// /proc/cpuinfo's first "model name", or "unknown CPU".
std::string cpuModelName();

/// The CPUs this process may run on (its affinity mask), at least 1.
int availableCpus();

/// The 1-minute load average (/proc/loadavg), if readable.
std::optional<double> loadAverage1Minute();

/// This process's resident memory now (VmRSS) and at its peak since the
/// last resetPeakResident() (VmHWM), in bytes; 0 when /proc cannot tell.
uint64_t residentBytes();
uint64_t peakResidentBytes();

/// Restarts the peak (VmHWM) from the current resident size, so that a
/// peak measured afterwards belongs to what ran afterwards. Returns false
/// when the kernel does not allow it (then the peak covers the whole run).
bool resetPeakResident();

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_HOSTINFO_H
