//===- Ptxas.cpp - PTX out of the module, cubin out of ptxas --------------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Ptxas.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

jikji::Result<std::string> jikji::takePtx(ModuleOp module) {
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1)
    return Error("expected one gpu.binary (the kernels' PTX), found " +
                 std::to_string(binaries.size()));
  ArrayAttr objects = binaries.front().getObjects();
  if (objects.size() != 1)
    return Error("expected one object in the gpu.binary, found " +
                 std::to_string(objects.size()));
  auto object = cast<gpu::ObjectAttr>(objects[0]);
  if (object.getFormat() != gpu::CompilationTarget::Assembly)
    return Error("the gpu.binary holds no PTX text");
  std::string ptx = object.getObject().str();
  binaries.front().erase();
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  return ptx;
}

jikji::Result<std::string> jikji::findPtxas() {
  if (const char *fromEnvironment = std::getenv("JIKJI_PTXAS")) {
    if (!llvm::sys::fs::can_execute(fromEnvironment))
      return Error(std::string("JIKJI_PTXAS=") + fromEnvironment +
                   " is not an executable");
    return std::string(fromEnvironment);
  }
  llvm::SmallString<256> configured(JIKJI_CUDA_ROOT);
  llvm::sys::path::append(configured, "bin", "ptxas");
  if (llvm::sys::fs::can_execute(configured))
    return configured.str().str();
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return Error("ptxas not found (looked in " + configured.str().str() +
               " and on PATH; set JIKJI_PTXAS or install the CUDA toolkit)");
}

namespace {
/// A temporary file removed when this goes out of scope.
struct TemporaryFile {
  llvm::SmallString<128> path;
  ~TemporaryFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

std::string readFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}
} // namespace

jikji::Result<std::string>
jikji::assembleWithPtxas(const std::string &ptx, const std::string &gpuArch) {
  Result<std::string> ptxas = findPtxas();
  if (!ptxas)
    return Error(ptxas.error());
  TemporaryFile input, output, log;
  if (llvm::sys::fs::createTemporaryFile("jikji", "ptx", input.path) ||
      llvm::sys::fs::createTemporaryFile("jikji", "cubin", output.path) ||
      llvm::sys::fs::createTemporaryFile("jikji-ptxas", "log", log.path))
    return Error("cannot create temporary files for ptxas");
  {
    std::error_code error;
    llvm::raw_fd_ostream os(input.path, error);
    if (error)
      return Error(input.path.str().str() + ": " + error.message());
    os << ptx;
  }
  std::string arch = "-arch=" + gpuArch;
  llvm::SmallVector<llvm::StringRef> arguments{*ptxas, arch,        "-O3",
                                               "-o",   output.path, input.path};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.path.str(),
                                                log.path.str()};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*ptxas, arguments, std::nullopt,
                                         redirects, 0, 0, &message);
  if (status != 0) {
    std::string said = readFile(log.path);
    return Error("ptxas " + arch + " rejected the kernels" +
                 (message.empty() ? "" : " (" + message + ")") +
                 (said.empty() ? "" : ":\n" + said));
  }
  std::string cubin = readFile(output.path);
  if (cubin.empty())
    return Error("ptxas wrote no cubin");
  return cubin;
}
