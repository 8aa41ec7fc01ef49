//===- BusErrorReport.h - SIGBUS as a message, for programs ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime reads weights straight from memory-mapped files and checks
// before every step that none has shrunk (Sequence::forwardInto). A file cut
// while a step runs is beyond that check: the read of a page past the file's
// new end raises SIGBUS, which by default kills the process with a core dump
// and no word of why. A program (jikji-run) can ask for a message and a
// plain exit code instead. A library must not take over its host's signals,
// so the runtime never installs this itself.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_BUSERRORREPORT_H
#define JIKJI_RUNTIME_SUPPORT_BUSERRORREPORT_H

namespace jikji::runtime {

/// From now on, SIGBUS writes `message` (which must outlive the process:
/// a string literal) to stderr and ends the process with `exitCode`. Only
/// async-signal-safe calls run in the handler (write, _exit).
void reportBusErrorsAndExit(const char *message, int exitCode);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_BUSERRORREPORT_H
