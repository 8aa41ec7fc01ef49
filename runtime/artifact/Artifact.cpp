//===- Artifact.cpp - A compiled model, loaded ----------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/Artifact.h"

#include "runtime/artifact/ElfCheck.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <dlfcn.h>
#include <sys/stat.h>

using namespace jikji;
using namespace jikji::runtime;

/// dlerror's message, or a stand-in when it has none.
static std::string lastDlError() {
  const char *message = ::dlerror();
  return message ? message : "unknown dlopen failure";
}

Result<Artifact> Artifact::open(const std::string &path) {
  // dlopen would report a missing file in its own words, prefixed with the
  // path again; checking first gives the usual "<path>: <reason>".
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    return Error(path + ": cannot open the artifact: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return Error(path + ": not a Jikji artifact: expected a shared library "
                        "file, found a directory or special file");

  // dlopen trusts the file's layout: a truncated library raises SIGBUS
  // inside the loader. Its headers are checked against its size first.
  Result<bool> mappable = checkSharedLibraryFile(path);
  if (!mappable)
    return Error(mappable.error());

  // A name without a slash would be looked up on the library search path,
  // not in the current folder, and could load some other library.
  std::string loadPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  // RTLD_NOW: an artifact with an unresolved symbol fails here rather than
  // in the middle of a forward step. RTLD_LOCAL: two artifacts loaded side by
  // side keep their own symbols.
  ::dlerror();
  void *handle = ::dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Error(path + ": cannot load the artifact: " + lastDlError());
  // From here the handle is owned by `artifact` or closed on failure.
  auto fail = [&](std::string message) -> Result<Artifact> {
    ::dlclose(handle);
    return Error(std::move(message));
  };

  ::dlerror();
  void *manifestSymbol = ::dlsym(handle, kManifestSymbol);
  if (!manifestSymbol)
    return fail(path + ": not a Jikji artifact: no " + kManifestSymbol +
                " symbol");
  // POSIX guarantees that dlsym's object pointer converts to a function
  // pointer.
  auto manifestFunction = reinterpret_cast<const char *(*)()>(manifestSymbol);
  const char *manifestText = manifestFunction();
  if (!manifestText)
    return fail(path + ": " + kManifestSymbol +
                " returned a null pointer; expected the manifest's JSON text");
  Result<Manifest> manifest = parseManifest(manifestText, path);
  if (!manifest)
    return fail(manifest.error());

  const std::string &entryName = manifest->forwardEntryPoint;
  ::dlerror();
  void *forwardSymbol = ::dlsym(handle, entryName.c_str());
  if (!forwardSymbol)
    return fail(path + ": manifest 'entry_points.forward' names '" + entryName +
                "', but the library exports no such symbol");
  // Optional: an artifact compiled without threads does not export it.
  void *setNumThreadsSymbol = ::dlsym(handle, kSetNumThreadsSymbol);
  // Optional: artifacts of older compilers do not export it.
  void *forwardLastLogitsSymbol = ::dlsym(handle, kForwardLastLogitsSymbol);
  // Optional: artifacts of older compilers and CUDA artifacts do not export
  // it.
  void *forwardBatchSymbol = ::dlsym(handle, kForwardBatchSymbol);
  ::dlerror();
  return Artifact(
      path, handle, std::move(*manifest),
      reinterpret_cast<ForwardFunction>(forwardSymbol),
      reinterpret_cast<SetNumThreadsFunction>(setNumThreadsSymbol),
      reinterpret_cast<ForwardLastLogitsFunction>(forwardLastLogitsSymbol),
      reinterpret_cast<ForwardBatchFunction>(forwardBatchSymbol));
}

Artifact::Artifact(Artifact &&other) noexcept
    : path_(std::move(other.path_)),
      handle_(std::exchange(other.handle_, nullptr)),
      manifest_(std::move(other.manifest_)),
      forward_(std::exchange(other.forward_, nullptr)),
      setNumThreads_(std::exchange(other.setNumThreads_, nullptr)),
      forwardLastLogits_(std::exchange(other.forwardLastLogits_, nullptr)),
      forwardBatch_(std::exchange(other.forwardBatch_, nullptr)) {}

Artifact &Artifact::operator=(Artifact &&other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    handle_ = std::exchange(other.handle_, nullptr);
    manifest_ = std::move(other.manifest_);
    forward_ = std::exchange(other.forward_, nullptr);
    setNumThreads_ = std::exchange(other.setNumThreads_, nullptr);
    forwardLastLogits_ = std::exchange(other.forwardLastLogits_, nullptr);
    forwardBatch_ = std::exchange(other.forwardBatch_, nullptr);
  }
  return *this;
}

Artifact::~Artifact() { release(); }

void *Artifact::symbol(const char *name) const {
  if (!handle_)
    return nullptr;
  void *address = ::dlsym(handle_, name);
  // A missing symbol leaves a message behind; clear it for the next caller.
  ::dlerror();
  return address;
}

void Artifact::release() {
  if (handle_)
    ::dlclose(handle_);
  handle_ = nullptr;
  forward_ = nullptr;
  setNumThreads_ = nullptr;
  forwardLastLogits_ = nullptr;
  forwardBatch_ = nullptr;
}
