//===- BusErrorReport.cpp - SIGBUS as a message, for programs ------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/BusErrorReport.h"

#include <cstring>

#include <signal.h>
#include <unistd.h>

namespace {

const char *busErrorMessage = "";
size_t busErrorLength = 0;
int busErrorExitCode = 1;

extern "C" void onBusError(int) {
  // write and _exit are async-signal-safe; nothing else runs here. A short
  // write cannot be retried usefully in a dying process.
  ssize_t ignored = ::write(STDERR_FILENO, busErrorMessage, busErrorLength);
  (void)ignored;
  ::_exit(busErrorExitCode);
}

} // namespace

void jikji::runtime::reportBusErrorsAndExit(const char *message, int exitCode) {
  busErrorMessage = message;
  busErrorLength = std::strlen(message);
  busErrorExitCode = exitCode;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = onBusError;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}
