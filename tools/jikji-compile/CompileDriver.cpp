//===- CompileDriver.cpp - jikji-compile's phases -------------------------===//
//
// Part of Jikji. Reads a checkpoint folder or a config.json, imports the
// as-written graph and stops at the phase the user asks for.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-compile/CompileDriver.h"

#include "frontends/huggingface/Checkpoint.h"
#include "frontends/huggingface/Importer.h"
#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/ModelSummary.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

using namespace mlir;
namespace cl = llvm::cl;

namespace {
/// The phase at which jikji-compile stops and prints the module.
enum class EmitPhase { DeepSeek };

struct CompileOptions {
  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<checkpoint folder or config.json>"),
                             cl::Required};
  cl::opt<std::string> output{"o", cl::desc("Output file ('-' for stdout)"),
                              cl::value_desc("file"), cl::init("-")};
  cl::opt<EmitPhase> emit{
      "emit", cl::desc("The phase to stop at and print"),
      cl::values(clEnumValN(EmitPhase::DeepSeek, "deepseek",
                            "the imported deepseek graph, as written")),
      cl::init(EmitPhase::DeepSeek)};
  cl::opt<std::string> summary{
      "summary", cl::ValueOptional, cl::value_desc("text|json"),
      cl::desc("Print what the compiled graph holds: layers by kind, "
               "parameters, bytes, activated parameters per token, KV cache "
               "per token")};
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

void reportUnusedTensors(const jikji::hf::CheckpointReport &report) {
  if (report.unusedTensors.empty())
    return;
  llvm::errs() << "jikji-compile: note: " << report.unusedTensors.size()
               << " checkpoint tensors are not used by the compiled model "
                  "(first: "
               << report.unusedTensors.front() << ")\n";
}
} // namespace

int jikji::runCompileDriver(int argc, char **argv, DialectRegistry &registry) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  CompileOptions options;
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

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = hf::importModel(context, input->config);
  if (failed(verify(*module)))
    return fail("the imported module does not verify (a bug in the importer)");

  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(options.output, &errorMessage);
  if (!output)
    return fail(errorMessage);

  if (wantSummary) {
    hf::ModelSummary summary = hf::summarizeModel(*module, input->config);
    if (summaryFormat == "json")
      hf::printSummaryJson(summary, output->os());
    else
      hf::printSummaryText(summary, output->os());
  } else {
    module->print(output->os());
  }
  output->keep();
  return 0;
}
