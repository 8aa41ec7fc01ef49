//===- ArtifactWriter.cpp - The compiled model as a shared library --------===//
//
// Part of Jikji.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact/ArtifactWriter.h"

#include "codegen/Artifact/CpuTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
namespace hf = jikji::hf;

namespace {

std::optional<hf::DType> storageType(Type type) {
  if (type.isBF16())
    return hf::DType::BF16;
  if (type.isF16())
    return hf::DType::F16;
  if (type.isF32())
    return hf::DType::F32;
  if (isa<Float8E4M3FNType>(type))
    return hf::DType::F8E4M3;
  return std::nullopt;
}

} // namespace

jikji::Result<jikji::runtime::Manifest>
jikji::buildManifest(ModuleOp module, const hf::ModelConfig &config,
                     const std::string &target) {
  runtime::Manifest manifest;
  manifest.target = target;
  manifest.configDigest = hf::configDigest(config);
  manifest.modelType = hf::toString(config.modelType);
  manifest.vocabSize = config.vocabSize;
  manifest.hiddenSize = config.hiddenSize;
  manifest.numLayers = config.numHiddenLayers;
  manifest.maxPositionEmbeddings = config.maxPositionEmbeddings;
  manifest.eosTokenId = config.eosTokenId;

  auto parameters = module->getAttrOfType<ArrayAttr>("jikji.parameters");
  if (!parameters)
    return Error("the module has no parameter table (run "
                 "jikji-create-entry-point first)");
  for (Attribute attribute : parameters) {
    auto entry = cast<DictionaryAttr>(attribute);
    auto type =
        cast<RankedTensorType>(cast<TypeAttr>(entry.get("type")).getValue());
    runtime::ManifestParameter parameter;
    parameter.name = cast<StringAttr>(entry.get("name")).str();
    std::optional<hf::DType> dtype = storageType(type.getElementType());
    if (!dtype)
      return Error("parameter '" + parameter.name +
                   "' has no safetensors storage type");
    parameter.dtype = *dtype;
    parameter.shape.assign(type.getShape().begin(), type.getShape().end());
    if (auto experts = entry.getAs<IntegerAttr>("experts"))
      parameter.experts = experts.getInt();
    if (parameter.dtype == hf::DType::F8E4M3) {
      // The checkpoint's layout (MODEL.md, "FP8 checkpoints"), which the
      // importer checked: one float32 `<name>_scale_inv` per block of the
      // config's weight_block_size.
      if (!config.fp8)
        return Error("parameter '" + parameter.name +
                     "' is F8_E4M3 but config.json declares no FP8 "
                     "quantization_config");
      parameter.blockSize = {config.fp8->blockRows, config.fp8->blockCols};
      parameter.scale = parameter.name + "_scale_inv";
    }
    manifest.parameters.push_back(std::move(parameter));
  }
  for (const runtime::ManifestParameter &parameter : manifest.parameters)
    if (parameter.isBlockScaled() &&
        llvm::none_of(manifest.parameters, [&](const auto &other) {
          return other.name == parameter.scale;
        }))
      return Error("FP8 parameter '" + parameter.name +
                   "' has no scale parameter '" + parameter.scale + "'");

  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return Error("the module has no @forward");
  manifest.kvCache.layers = config.numHiddenLayers;
  manifest.kvCache.dtype = hf::DType::F32;
  for (BlockArgument argument : forward.getArguments()) {
    auto role = forward.getArgAttrOfType<StringAttr>(argument.getArgNumber(),
                                                     "deepseek.kv_cache");
    if (!role)
      continue;
    auto type = cast<RankedTensorType>(argument.getType());
    runtime::KvCacheTensor tensor;
    tensor.name = role.str();
    tensor.perTokenShape.assign(type.getShape().begin() + 2,
                                type.getShape().end());
    int64_t values = 1;
    for (int64_t dim : tensor.perTokenShape)
      values *= dim;
    manifest.kvCache.valuesPerTokenPerLayer += values;
    manifest.kvCache.tensors.push_back(std::move(tensor));
  }
  manifest.kvCache.bytesPerToken =
      manifest.kvCache.layers * manifest.kvCache.valuesPerTokenPerLayer *
      int64_t(hf::dtypeSize(manifest.kvCache.dtype));
  return manifest;
}

namespace {

/// `const char *jikji_manifest(void)`, returning the embedded JSON.
void embedManifest(llvm::Module &module, const std::string &json) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(context, json, /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      module, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::PrivateLinkage, text, "jikji_manifest_text");
  auto *function = llvm::Function::Create(
      llvm::FunctionType::get(llvm::PointerType::getUnqual(context), false),
      llvm::GlobalValue::ExternalLinkage, "jikji_manifest", module);
  llvm::IRBuilder<> builder(
      llvm::BasicBlock::Create(context, "entry", function));
  builder.CreateRet(global);
}

/// `const void *symbol(uint64_t *size)`, returning `bytes` (followed by a
/// NUL not counted in `size`, so that text reads as a C string) and
/// storing its size when `size` is not null.
void embedBytes(llvm::Module &module, llvm::StringRef symbol,
                llvm::StringRef bytes) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Constant *data =
      llvm::ConstantDataArray::getString(context, bytes, /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      module, data->getType(), /*isConstant=*/true,
      llvm::GlobalValue::PrivateLinkage, data, (symbol + "_bytes").str());
  global->setAlignment(llvm::Align(16));
  llvm::Type *ptr = llvm::PointerType::getUnqual(context);
  auto *function = llvm::Function::Create(
      llvm::FunctionType::get(ptr, {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, symbol, module);
  llvm::IRBuilder<> builder(
      llvm::BasicBlock::Create(context, "entry", function));
  llvm::Value *size = function->getArg(0);
  llvm::BasicBlock *store =
      llvm::BasicBlock::Create(context, "store", function);
  llvm::BasicBlock *done = llvm::BasicBlock::Create(context, "done", function);
  builder.CreateCondBr(builder.CreateIsNull(size), done, store);
  builder.SetInsertPoint(store);
  builder.CreateStore(builder.getInt64(bytes.size()), size);
  builder.CreateBr(done);
  builder.SetInsertPoint(done);
  builder.CreateRet(global);
}

/// Everything but the `jikji_*` entry points is internal to the artifact,
/// so two artifacts loaded in one process never clash.
void internalize(llvm::Module &module) {
  for (llvm::Function &function : module)
    if (!function.isDeclaration() && !function.getName().starts_with("jikji_"))
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::ModulePassManager passes =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  passes.run(module, modules);
}

jikji::Result<bool> emitObject(llvm::Module &module,
                               llvm::TargetMachine &machine,
                               const std::string &path) {
  std::error_code error;
  llvm::raw_fd_ostream os(path, error, llvm::sys::fs::OF_None);
  if (error)
    return jikji::Error(path + ": " + error.message());
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, os, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return jikji::Error("the target cannot emit object files");
  passes.run(module);
  return true;
}

/// Links with the system C compiler driver, which knows where libc and
/// libm live; the artifact depends on nothing else, but for the OpenMP
/// runtime (libomp.so.5) when it runs loops on threads.
jikji::Result<bool> linkSharedLibrary(const std::string &object,
                                      const std::string &output,
                                      bool threaded) {
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("cc");
  if (!driver)
    return jikji::Error("no C compiler driver (cc) to link the artifact");
  llvm::SmallVector<llvm::StringRef> arguments{
      *driver, "-shared", "-o", output, object, "-lm", "-lpthread"};
  if (threaded)
    arguments.push_back("-l:libomp.so.5");
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*driver, arguments, std::nullopt, {},
                                         0, 0, &message);
  if (status != 0)
    return jikji::Error("linking " + output + " failed" +
                        (message.empty() ? "" : ": " + message));
  return true;
}

} // namespace

namespace {
/// A byte string the artifact exports through embedBytes.
struct EmbeddedBytes {
  llvm::StringRef symbol;
  llvm::StringRef bytes;
};

jikji::Result<bool> writeArtifact(ModuleOp module,
                                  const jikji::runtime::Manifest &manifest,
                                  llvm::ArrayRef<EmbeddedBytes> embedded,
                                  const std::string &cpu,
                                  const std::string &outputPath) {
  using jikji::Error;
  using jikji::Result;
  registerBuiltinDialectTranslation(*module->getContext());
  registerLLVMDialectTranslation(*module->getContext());
  registerOpenMPDialectTranslation(*module->getContext());
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "jikji");
  if (!llvmModule)
    return Error("translation to LLVM IR failed");

  Result<std::unique_ptr<llvm::TargetMachine>> machine =
      jikji::createCpuTargetMachine(cpu);
  if (!machine)
    return Error(machine.error());
  // The manifest states what the code generated below needs of the CPU, as
  // the machine that generates it sees it.
  jikji::runtime::Manifest stated = manifest;
  stated.cpu = jikji::cpuRequirements(**machine);
  llvmModule->setDataLayout((*machine)->createDataLayout());
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  // OpenMP's translation forks through libomp's entry points.
  bool threaded = llvmModule->getFunction("__kmpc_fork_call") != nullptr;
  embedManifest(*llvmModule, jikji::runtime::writeManifestJson(stated));
  for (const EmbeddedBytes &entry : embedded)
    embedBytes(*llvmModule, entry.symbol, entry.bytes);
  internalize(*llvmModule);
  optimize(*llvmModule, **machine);

  llvm::SmallString<128> objectPath;
  if (llvm::sys::fs::createTemporaryFile("jikji", "o", objectPath))
    return Error("cannot create a temporary object file");
  Result<bool> emitted =
      emitObject(*llvmModule, **machine, objectPath.str().str());
  Result<bool> linked =
      emitted ? linkSharedLibrary(objectPath.str().str(), outputPath, threaded)
              : Result<bool>(Error(emitted.error()));
  llvm::sys::fs::remove(objectPath);
  return linked;
}
} // namespace

jikji::Result<bool> jikji::writeCpuArtifact(ModuleOp module,
                                            const runtime::Manifest &manifest,
                                            const std::string &cpu,
                                            const std::string &outputPath) {
  return writeArtifact(module, manifest, {}, cpu, outputPath);
}

jikji::Result<bool> jikji::writeCudaArtifact(ModuleOp module,
                                             const runtime::Manifest &manifest,
                                             const CudaImage &image,
                                             const std::string &cpu,
                                             const std::string &outputPath) {
  EmbeddedBytes embedded[] = {{"jikji_cuda_arch", image.gpuArch},
                              {"jikji_cuda_ptx", image.ptx},
                              {"jikji_cuda_cubin", image.cubin}};
  return writeArtifact(module, manifest, embedded, cpu, outputPath);
}
