//===- FuzzSupport.h - Shared helpers of the fuzz targets -------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The fuzz targets treat a parser's Result error as success: rejecting a bad
// input is the parser's job. A finding is a sanitizer report, a timeout, an
// out-of-memory, or a broken invariant that a caller of the parser relies on,
// which the targets check with JIKJI_FUZZ_CHECK so that it aborts and
// libFuzzer saves the input.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FUZZ_FUZZSUPPORT_H
#define JIKJI_FUZZ_FUZZSUPPORT_H

#include <cstdio>
#include <cstdlib>

/// Aborts with `message` when `condition` is false. Unlike assert() it stays
/// on whatever NDEBUG says, because a fuzz target exists to check.
#define JIKJI_FUZZ_CHECK(condition, message)                                   \
  do {                                                                         \
    if (!(condition)) {                                                        \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__,     \
                   __LINE__, message, #condition);                             \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

#endif // JIKJI_FUZZ_FUZZSUPPORT_H
