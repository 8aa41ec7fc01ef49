//===- Subprocess.cpp - Run a program and measure it ----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/Subprocess.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::bench;

std::string
jikji::bench::commandLine(const std::vector<std::string> &arguments) {
  std::string line;
  for (const std::string &argument : arguments) {
    if (!line.empty())
      line += ' ';
    line += argument;
  }
  return line;
}

Result<ProcessRun>
jikji::bench::runProcess(const std::vector<std::string> &arguments) {
  if (arguments.empty())
    return Error("runProcess: no program to run");
  std::vector<char *> argv;
  for (const std::string &argument : arguments)
    argv.push_back(const_cast<char *>(argument.c_str()));
  argv.push_back(nullptr);

  // A pipe that closes on exec tells the parent whether exec failed, and why.
  int execStatus[2];
  if (::pipe2(execStatus, O_CLOEXEC) != 0)
    return Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  auto start = std::chrono::steady_clock::now();
  pid_t child = ::fork();
  if (child < 0) {
    ::close(execStatus[0]);
    ::close(execStatus[1]);
    return Error(std::string("cannot fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::close(execStatus[0]);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::execvp(argv[0], argv.data());
    int error = errno;
    (void)!::write(execStatus[1], &error, sizeof(error));
    ::_exit(127);
  }
  ::close(execStatus[1]);
  int execError = 0;
  ssize_t got;
  do
    got = ::read(execStatus[0], &execError, sizeof(execError));
  while (got < 0 && errno == EINTR);
  ::close(execStatus[0]);

  int status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof(usage));
  pid_t waited;
  do
    waited = ::wait4(child, &status, 0, &usage);
  while (waited < 0 && errno == EINTR);
  ProcessRun run;
  run.wallSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (got == static_cast<ssize_t>(sizeof(execError)))
    return Error("cannot run " + arguments[0] + ": " +
                 std::strerror(execError));
  if (waited < 0)
    return Error("waiting for " + arguments[0] + ": " + std::strerror(errno));
  run.exitCode =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Linux reports ru_maxrss in KiB.
  run.peakResidentBytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return run;
}
