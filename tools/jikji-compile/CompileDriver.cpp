//===- CompileDriver.cpp - jikji-compile's phases -------------------------===//
//
// Part of Jikji. Reads a checkpoint folder or a config.json, imports the
// as-written graph and stops at the phase the user asks for.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-compile/CompileDriver.h"

#include "codegen/Artifact/ArtifactWriter.h"
#include "codegen/Artifact/CpuTarget.h"
#include "codegen/cpu/CpuPipeline.h"
#include "codegen/cuda/CudaPipeline.h"
#include "codegen/cuda/Ptxas.h"
#include "frontends/huggingface/Checkpoint.h"
#include "frontends/huggingface/Importer.h"
#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/ModelSummary.h"
#include "frontends/huggingface/Printable.h"
#include "passes/FusionPipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

using namespace mlir;
namespace cl = llvm::cl;

namespace {
/// The phase at which jikji-compile stops: a printed module, or the
/// artifact itself.
enum class EmitPhase {
  DeepSeek,
  Linalg,
  Bufferized,
  LLVM,
  Gpu,
  Nvvm,
  Ptx,
  Artifact
};
enum class Target { None, Cpu, Cuda };

/// jikji-compile's own options, which --help lists (with MLIR's pass
/// manager and timing options); LLVM's many others stay hidden.
cl::OptionCategory &compileCategory() {
  static cl::OptionCategory category("jikji-compile options");
  return category;
}

struct CompileOptions {
  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<checkpoint folder or config.json>"),
                             cl::Required, cl::cat(compileCategory())};
  cl::opt<std::string> output{"o", cl::desc("Output file ('-' for stdout)"),
                              cl::value_desc("file"), cl::init("-"),
                              cl::cat(compileCategory())};
  cl::opt<Target> target{
      "target", cl::desc("The machine to compile for"),
      cl::values(
          clEnumValN(Target::Cpu, "cpu", "x86-64 (which CPU: --cpu)"),
          clEnumValN(Target::Cuda, "cuda", "NVIDIA GPUs (PTX and cubin)")),
      cl::init(Target::None), cl::cat(compileCategory())};
  // --cpu=help lists the names and exits, as --help does, so that it needs
  // no checkpoint.
  cl::opt<std::string> cpu{
      "cpu",
      cl::desc("The CPU the code is compiled for (a CUDA artifact's host "
               "code too): host (default), this machine's, or an LLVM CPU "
               "name such as x86-64-v3, skylake-avx512, znver4 (--cpu=help "
               "lists them). The artifact refuses to load on a CPU without "
               "the features it uses"),
      cl::value_desc("name"),
      cl::init(jikji::kHostCpu),
      cl::cat(compileCategory()),
      cl::callback([](const std::string &name) {
        if (name != "help")
          return;
        jikji::Result<bool> printed = jikji::printCpuNames(llvm::outs());
        if (!printed)
          llvm::errs() << "jikji-compile: error: " << printed.error() << "\n";
        llvm::outs().flush();
        std::exit(printed ? 0 : 1);
      })};
  cl::opt<EmitPhase> emit{
      "emit",
      cl::desc("The phase to stop at (default: the artifact with "
               "--target, else the deepseek graph)"),
      cl::values(
          clEnumValN(EmitPhase::DeepSeek, "deepseek",
                     "the imported deepseek graph, as written"),
          clEnumValN(EmitPhase::Linalg, "linalg",
                     "linalg on tensors, with the artifact's entry point"),
          clEnumValN(EmitPhase::Bufferized, "bufferized",
                     "after bufferization"),
          clEnumValN(EmitPhase::LLVM, "llvm", "the LLVM dialect (cpu)"),
          clEnumValN(EmitPhase::Gpu, "gpu",
                     "kernels outlined into a gpu.module (cuda)"),
          clEnumValN(EmitPhase::Nvvm, "nvvm",
                     "kernels in NVVM, host code in LLVM (cuda)"),
          clEnumValN(EmitPhase::Ptx, "ptx", "the kernels' PTX text (cuda)"),
          clEnumValN(EmitPhase::Artifact, "artifact",
                     "the shared library (needs -o)")),
      cl::cat(compileCategory())};
  cl::opt<std::string> gpuArch{
      "gpu-arch",
      cl::desc("The GPU architecture for --target=cuda: sm_90 "
               "(default) or sm_80"),
      cl::value_desc("sm_XY"), cl::init("sm_90"), cl::cat(compileCategory())};
  cl::opt<bool> gpuTensorCores{
      "gpu-tensor-cores",
      cl::desc("With --target=cuda: run the weight products on tensor cores "
               "(mma.sync, BF16 operands, float32 accumulation; activations "
               "are rounded to BF16)"),
      cl::cat(compileCategory())};
  cl::opt<bool> gpuTiledProducts{
      "gpu-tiled-products",
      cl::desc("With --gpu-tensor-cores: steps of 64 rows or more (a "
               "prefill) run the weight products in 64 x 64 tiles through "
               "shared memory; =false keeps one warp per 16 x 8 tile"),
      cl::init(true), cl::cat(compileCategory())};
  cl::opt<bool> emulateGpuOnCpu{
      "emulate-gpu-on-cpu",
      cl::desc("With --target=cuda: write a CPU artifact in which every "
               "kernel the CUDA pipeline maps runs as loops over its blocks "
               "and threads, to check the GPU mapping against a reference "
               "where no GPU is (slow; threads that meet, as in the "
               "--gpu-tensor-cores kernels, run in lockstep)"),
      cl::cat(compileCategory())};
  cl::opt<bool> cpuBf16Dot{
      "cpu-bf16-dot",
      cl::desc("With --target=cpu: products over BF16 weights round their "
               "input to BF16 and multiply with vdpbf16ps (avx512_bf16; "
               "float32 sums): about twice the arithmetic rate for prefill; "
               "the numbers change by the rounding of the activations"),
      cl::cat(compileCategory())};
  cl::opt<bool> batchedDecode{
      "batched-decode",
      cl::desc("Also export jikji_forward_batch, one decode step for a batch "
               "of sequences that reads the weights once (default: on; "
               "--batched-decode=false leaves it out)"),
      cl::cat(compileCategory())};
  cl::opt<bool> noFusion{"no-fusion",
                         cl::desc("Run no graph fusion: compile the graph as "
                                  "the importer wrote it"),
                         cl::cat(compileCategory())};
  cl::opt<bool> noAbsorbMla{
      "no-absorb-mla",
      cl::desc("Keep attention as written: expanded K and V in the cache"),
      cl::cat(compileCategory())};
  cl::opt<bool> noFuseMoeRouting{
      "no-fuse-moe-routing",
      cl::desc("Keep the router and each routed expert as written"),
      cl::cat(compileCategory())};
  cl::opt<bool> noFuseSwiGlu{
      "no-fuse-swiglu", cl::desc("Keep SwiGLU MLPs as three linear layers"),
      cl::cat(compileCategory())};
  cl::opt<std::string> summary{
      "summary", cl::ValueOptional, cl::value_desc("text|json"),
      cl::desc("Print what the compiled graph holds: layers by kind, "
               "parameters, bytes, activated parameters per token, KV cache "
               "per token"),
      cl::cat(compileCategory())};
};

int fail(const std::string &message) {
  llvm::errs() << "jikji-compile: error: " << message << "\n";
  return 1;
}

/// What the input names: a checkpoint folder (config.json and weights,
/// checked against each other) or a config.json alone.
struct LoadedInput {
  jikji::hf::ModelConfig config;
  std::optional<jikji::hf::CheckpointReport> checkpointReport;
};

jikji::Result<LoadedInput> loadInput(const std::string &path) {
  if (!llvm::sys::fs::exists(path))
    return jikji::Error(path + ": no such file or folder");
  if (!llvm::sys::fs::is_directory(path)) {
    jikji::Result<jikji::hf::ModelConfig> config =
        jikji::hf::loadModelConfig(path);
    if (!config)
      return jikji::Error(config.error());
    return LoadedInput{*config, std::nullopt};
  }
  llvm::SmallString<256> configPath(path);
  llvm::sys::path::append(configPath, "config.json");
  jikji::Result<jikji::hf::ModelConfig> config =
      jikji::hf::loadModelConfig(configPath.str().str());
  if (!config)
    return jikji::Error(config.error());
  jikji::Result<jikji::hf::Checkpoint> checkpoint =
      jikji::hf::openCheckpoint(path);
  if (!checkpoint)
    return jikji::Error(checkpoint.error());
  jikji::Result<jikji::hf::CheckpointReport> report =
      jikji::hf::checkCheckpoint(*config, *checkpoint);
  if (!report)
    return jikji::Error(report.error());
  return LoadedInput{*config, *report};
}

/// Seconds since the driver started, for progress lines on long compiles.
struct CompileTimer {
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  }
};

void progress(const CompileTimer &timer, const std::string &what) {
  llvm::errs() << llvm::formatv("jikji-compile: [{0:F1}s] {1}\n",
                                timer.seconds(), what);
}

void reportUnusedTensors(const jikji::hf::CheckpointReport &report) {
  if (report.unusedTensors.empty())
    return;
  llvm::errs() << "jikji-compile: note: " << report.unusedTensors.size()
               << " checkpoint tensors are not used by the compiled model "
                  "(first: "
               << jikji::hf::printable(report.unusedTensors.front()) << ")\n";
}
} // namespace

int jikji::runCompileDriver(int argc, char **argv, DialectRegistry &registry) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  CompileOptions options;
  // --help lists jikji-compile's options and the MLIR ones that apply to
  // its passes, not every option linked into the binary.
  auto &registered = cl::getRegisteredOptions();
  for (llvm::StringRef name :
       {"mlir-timing", "mlir-timing-display", "mlir-print-ir-after-all",
        "mlir-print-ir-before-all", "mlir-print-ir-after-failure",
        "mlir-pass-statistics", "mlir-disable-threading"}) {
    auto found = registered.find(name);
    if (found != registered.end())
      found->second->addCategory(compileCategory());
  }
  cl::HideUnrelatedOptions(compileCategory());
  cl::ParseCommandLineOptions(argc, argv,
                              "Jikji: compile a DeepSeek checkpoint\n");

  std::string summaryFormat = options.summary;
  bool wantSummary = options.summary.getNumOccurrences() > 0;
  if (wantSummary && !summaryFormat.empty() && summaryFormat != "text" &&
      summaryFormat != "json")
    return fail("--summary takes 'text' or 'json', found '" + summaryFormat +
                "'");

  Result<LoadedInput> input = loadInput(options.input);
  if (!input)
    return fail(input.error());
  if (input->checkpointReport)
    reportUnusedTensors(*input->checkpointReport);

  EmitPhase emit = options.emit.getNumOccurrences()
                       ? options.emit.getValue()
                       : (options.target == Target::None ? EmitPhase::DeepSeek
                                                         : EmitPhase::Artifact);
  bool cuda = options.target == Target::Cuda;
  if (options.gpuArch.getNumOccurrences() && !cuda)
    return fail("--gpu-arch applies to --target=cuda only");
  if (options.gpuTensorCores && !cuda)
    return fail("--gpu-tensor-cores applies to --target=cuda only");
  if (options.gpuTiledProducts.getNumOccurrences() && !options.gpuTensorCores)
    return fail("--gpu-tiled-products applies with --gpu-tensor-cores only");
  bool emulate = options.emulateGpuOnCpu;
  if (emulate && !cuda)
    return fail("--emulate-gpu-on-cpu applies to --target=cuda only");
  if (options.cpuBf16Dot && options.target != Target::Cpu)
    return fail("--cpu-bf16-dot applies to --target=cpu only");
  if (cuda && !isSupportedGpuArch(options.gpuArch))
    return fail("--gpu-arch must be sm_80 or sm_90, found '" +
                options.gpuArch.getValue() + "'");
  bool cudaPhase = emit == EmitPhase::Gpu || emit == EmitPhase::Nvvm ||
                   emit == EmitPhase::Ptx;
  if (cudaPhase && !cuda)
    return fail("--emit=gpu|nvvm|ptx need --target=cuda");
  if (cudaPhase && emulate)
    return fail("--emulate-gpu-on-cpu makes a CPU artifact; it stops at "
                "--emit=linalg|bufferized|llvm, not --emit=gpu|nvvm|ptx");
  if (emit == EmitPhase::LLVM && cuda && !emulate)
    return fail("--emit=llvm is the CPU's last phase; for --target=cuda "
                "use --emit=nvvm");
  bool batchedDecode = options.batchedDecode.getNumOccurrences()
                           ? options.batchedDecode.getValue()
                           : options.target != Target::None;
  if (emit == EmitPhase::Artifact && options.output == "-")
    return fail("an artifact is a shared library: name it with -o FILE");
  // --cpu: checked before the compile rather than after minutes of it.
  if (options.cpu.getNumOccurrences() && options.target == Target::None)
    return fail("--cpu applies to --target=cpu and --target=cuda (the host "
                "code)");
  // What the CPU compiled for offers the kernels (the FP8 table decoding
  // needs AVX-512 VBMI).
  CpuPipelineOptions cpuOptions;
  cpuOptions.bf16Dot = options.cpuBf16Dot;
  if (options.target != Target::None) {
    Result<std::unique_ptr<llvm::TargetMachine>> cpuMachine =
        createCpuTargetMachine(options.cpu);
    if (!cpuMachine)
      return fail(cpuMachine.error());
    // vdpbf16ps must exist on the CPU compiled for (LLVM cannot select it
    // otherwise), which need not be this one.
    runtime::ManifestCpu targetCpu = cpuRequirements(**cpuMachine);
    if (options.cpuBf16Dot &&
        !llvm::is_contained(targetCpu.features, "avx512bf16"))
      return fail("--cpu-bf16-dot needs a CPU with avx512bf16 (vdpbf16ps), "
                  "which --cpu=" +
                  options.cpu.getValue() + " (" + targetCpu.name +
                  ") lacks; name one that has it, e.g. --cpu=znver4 or "
                  "--cpu=sapphirerapids");
    cpuOptions.x86Vbmi = llvm::is_contained(targetCpu.features, "avx512vbmi") &&
                         llvm::is_contained(targetCpu.features, "avx512bw");
  }

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // --mlir-timing reports every pass of every step below in one tree,
  // printed when the driver returns.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();
  // The command line's pass manager options (--mlir-print-ir-after-all,
  // --mlir-timing, ...) for a step's pass manager. Each step times its
  // passes under a scope of its own, which must outlive the run: pass
  // timers are keyed by the pass's address, which a later step's passes
  // may reuse.
  auto configure = [&](PassManager &pm, TimingScope &stepTiming) {
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    pm.enableTiming(stepTiming);
    return success();
  };
  CompileTimer timer;
  hf::ImportOptions importOptions;
  importOptions.batchedDecode = batchedDecode;
  OwningOpRef<ModuleOp> module =
      hf::importModel(context, input->config, importOptions);
  if (failed(verify(*module)))
    return fail("the imported module does not verify (a bug in the importer)");

  FusionOptions fusion;
  fusion.absorbMla = !options.noFusion && !options.noAbsorbMla;
  fusion.fuseMoeRouting = !options.noFusion && !options.noFuseMoeRouting;
  fusion.fuseSwiGlu = !options.noFusion && !options.noFuseSwiGlu;
  if (!options.noFusion) {
    TimingScope stepTiming = rootTiming.nest("graph fusion");
    PassManager pm(&context);
    if (failed(configure(pm, stepTiming)))
      return fail("invalid pass manager options");
    buildFusionPipeline(pm, fusion);
    if (failed(pm.run(*module)))
      return fail("graph fusion failed");
  }

  if (wantSummary || emit == EmitPhase::DeepSeek) {
    std::string errorMessage;
    std::unique_ptr<llvm::ToolOutputFile> output =
        openOutputFile(options.output, &errorMessage);
    if (!output)
      return fail(errorMessage);
    if (!wantSummary) {
      module->print(output->os());
    } else {
      hf::ModelSummary summary = hf::summarizeModel(*module, input->config);
      if (summaryFormat == "json")
        hf::printSummaryJson(summary, output->os());
      else
        hf::printSummaryText(summary, output->os());
    }
    output->keep();
    return 0;
  }

  // The CPU pipeline, in the three steps jikji-opt --jikji-lower-to-cpu
  // runs; the manifest is read between the first and the rest, while the
  // module still has its parameter table and cache arguments.
  auto runPasses = [&](function_ref<void(OpPassManager &)> addPasses,
                       StringRef step) {
    TimingScope stepTiming = rootTiming.nest(step);
    PassManager pm(&context);
    if (failed(configure(pm, stepTiming)))
      return failure();
    addPasses(pm);
    return pm.run(*module);
  };
  auto printModule = [&]() {
    std::string errorMessage;
    std::unique_ptr<llvm::ToolOutputFile> output =
        openOutputFile(options.output, &errorMessage);
    if (!output)
      return fail(errorMessage);
    module->print(output->os());
    output->keep();
    return 0;
  };
  // The CUDA steps after bufferization: kernels, NVVM, PTX, ptxas, the
  // artifact. `manifest` is set before this runs.
  std::optional<runtime::Manifest> cudaManifest;
  auto finishCuda = [&]() {
    CudaOptions cudaOptions;
    cudaOptions.gpuArch = options.gpuArch;
    cudaOptions.tensorCores = options.gpuTensorCores;
    cudaOptions.tiledProducts = options.gpuTiledProducts;
    {
      TimingScope stepTiming = rootTiming.nest("GPU kernels");
      PassManager pm(&context);
      if (failed(configure(pm, stepTiming)))
        return fail("invalid pass manager options");
      addCudaGpuPasses(pm, cudaOptions);
      if (failed(pm.run(*module)))
        return fail("mapping loops to GPU kernels failed");
    }
    int64_t kernels = 0;
    module->walk(
        [&](gpu::GPUFuncOp function) { kernels += function.isKernel(); });
    progress(timer, "outlined " + std::to_string(kernels) + " GPU kernels");
    if (emit == EmitPhase::Gpu)
      return printModule();
    TimingScope stepTiming = rootTiming.nest("NVVM");
    PassManager pm(&context);
    if (failed(configure(pm, stepTiming)))
      return fail("invalid pass manager options");
    addCudaNvvmPasses(pm, cudaOptions);
    if (failed(pm.run(*module)))
      return fail("lowering to NVVM failed");
    progress(timer, "lowered to NVVM");
    if (emit == EmitPhase::Nvvm)
      return printModule();
    if (failed(runPasses(addCudaBinaryPasses, "PTX")))
      return fail("generating PTX failed");
    Result<std::string> ptx = takePtx(*module);
    if (!ptx)
      return fail(ptx.error());
    // Every kernel must reach the PTX, or the runtime would fail to find
    // it only when launching it.
    int64_t entries = 0;
    for (size_t at = ptx->find(".entry "); at != std::string::npos;
         at = ptx->find(".entry ", at + 1))
      ++entries;
    if (entries != kernels)
      return fail("the PTX has " + std::to_string(entries) +
                  " kernel entries for " + std::to_string(kernels) +
                  " kernels");
    progress(timer, "generated PTX (" + std::to_string(entries) + " kernels, " +
                        std::to_string(ptx->size()) + " bytes)");
    if (emit == EmitPhase::Ptx) {
      std::string errorMessage;
      std::unique_ptr<llvm::ToolOutputFile> output =
          openOutputFile(options.output, &errorMessage);
      if (!output)
        return fail(errorMessage);
      output->os() << *ptx;
      output->keep();
      return 0;
    }
    TimingScope ptxasTiming = rootTiming.nest("ptxas");
    Result<std::string> cubin = assembleWithPtxas(*ptx, options.gpuArch);
    ptxasTiming.stop();
    if (!cubin)
      return fail(cubin.error());
    progress(timer, "assembled with ptxas -arch=" + options.gpuArch + " (" +
                        std::to_string(cubin->size()) + " bytes)");
    CudaImage image{options.gpuArch, std::move(*ptx), std::move(*cubin)};
    Result<bool> written = writeCudaArtifact(
        *module, *cudaManifest, image, options.cpu, options.output.getValue());
    if (!written)
      return fail(written.error());
    progress(timer, "wrote " + options.output.getValue());
    return 0;
  };
  progress(timer, "imported");
  auto addLinalgPasses = [&](OpPassManager &pm) {
    if (cuda)
      addCudaLinalgPasses(pm);
    else
      addCpuLinalgPasses(pm, cpuOptions);
  };
  if (failed(runPasses(addLinalgPasses, "linalg")))
    return fail("lowering to linalg failed");
  progress(timer, "lowered to linalg");
  if (emit == EmitPhase::Linalg)
    return printModule();
  Result<runtime::Manifest> manifest =
      buildManifest(*module, input->config,
                    cuda && !emulate ? "cuda" : "cpu");
  if (!manifest)
    return fail(manifest.error());
  cudaManifest = *manifest;
  if (failed(runPasses(addCpuBufferizePasses, "bufferization")))
    return fail("bufferization failed");
  progress(timer, "bufferized");
  if (emit == EmitPhase::Bufferized)
    return printModule();
  if (cuda && !emulate)
    return finishCuda();
  if (emulate) {
    CudaOptions cudaOptions;
    cudaOptions.tensorCores = options.gpuTensorCores;
    cudaOptions.tiledProducts = options.gpuTiledProducts;
    auto addEmulationPasses = [&](OpPassManager &pm) {
      addCudaEmulationPasses(pm, cudaOptions);
    };
    if (failed(runPasses(addEmulationPasses, "GPU kernels on the CPU")))
      return fail("mapping loops to GPU kernels and emulating them failed");
  } else if (failed(runPasses(addCpuLlvmPasses, "LLVM dialect"))) {
    return fail("lowering to the LLVM dialect failed");
  }
  progress(timer, "lowered to the LLVM dialect");
  if (emit == EmitPhase::LLVM)
    return printModule();
  TimingScope artifactTiming = rootTiming.nest("object code and link");
  Result<bool> written = writeCpuArtifact(*module, *manifest, options.cpu,
                                          options.output.getValue());
  artifactTiming.stop();
  if (!written)
    return fail(written.error());
  progress(timer, "wrote " + options.output.getValue());
  return 0;
}
