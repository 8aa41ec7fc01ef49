//===- HostInfo.cpp - What the benchmark records about its host -----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/HostInfo.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sched.h>

using namespace jikji;
using namespace jikji::bench;

std::string jikji::bench::cpuModelName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.compare(0, 10, "model name") != 0)
      continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      break;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown CPU" : line.substr(start);
  }
  return "unknown CPU";
}

int jikji::bench::availableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0)
    return 1;
  int count = CPU_COUNT(&set);
  return count > 0 ? count : 1;
}

std::optional<double> jikji::bench::loadAverage1Minute() {
  std::ifstream loadavg("/proc/loadavg");
  double value = 0;
  if (!(loadavg >> value))
    return std::nullopt;
  return value;
}

/// The value of `field` ("VmRSS:") in /proc/self/status, in bytes.
static uint64_t statusKiB(const char *field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  size_t length = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, length, field) != 0)
      continue;
    return std::strtoull(line.c_str() + length, nullptr, 10) * 1024;
  }
  return 0;
}

uint64_t jikji::bench::residentBytes() { return statusKiB("VmRSS:"); }
uint64_t jikji::bench::peakResidentBytes() { return statusKiB("VmHWM:"); }

bool jikji::bench::resetPeakResident() {
  // Writing 5 to clear_refs resets VmHWM (Linux 4.0 and later).
  FILE *file = std::fopen("/proc/self/clear_refs", "w");
  if (!file)
    return false;
  bool written = std::fputs("5", file) >= 0;
  return std::fclose(file) == 0 && written;
}
