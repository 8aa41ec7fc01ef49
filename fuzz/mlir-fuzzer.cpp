//===- mlir-fuzzer.cpp - Fuzzes MLIR text with the deepseek dialect -------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes what jikji-opt does with its input: parse MLIR text with the
// `deepseek` dialect (and func and tensor, which its tests use) registered,
// and verify it. The dialect's custom parsers, printers, attribute parsers
// and verifiers are the code under test; MLIR's own parser is linked from
// Debian's uninstrumented libMLIR.so, so a fault in it shows up only when it
// corrupts what our instrumented code touches.
//
// An accepted module must print and parse back to the same text, in the
// custom and in the generic form: a printer that writes what its parser
// refuses would break every pass pipeline that goes through text
// (jikji-opt | jikji-opt).
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzSupport.h"

#include "dialects/DeepSeek/IR/DeepSeekDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

using namespace mlir;

namespace {

/// A context holds every attribute, type and name it has seen forever; a
/// fresh one every this many inputs keeps the fuzzer's memory bounded.
constexpr int kInputsPerContext = 2000;

std::unique_ptr<MLIRContext> makeContext() {
  DialectRegistry registry;
  registry.insert<jikji::deepseek::DeepSeekDialect, func::FuncDialect,
                  tensor::TensorDialect>();
  auto context = std::make_unique<MLIRContext>(
      registry, MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  return context;
}

/// `module` printed, in the generic form when `generic`.
std::string print(ModuleOp module, bool generic) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  module->print(stream, flags);
  return text;
}

/// Parses `text` (with its terminating NUL, which MLIR's lexer reads) and
/// verifies it.
OwningOpRef<ModuleOp> parse(const std::string &text, MLIRContext &context) {
  ParserConfig config(&context, /*verifyAfterParse=*/true);
  return parseSourceString<ModuleOp>(text, config);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::unique_ptr<MLIRContext> context;
  static int inputs = 0;
  if (!context || ++inputs % kInputsPerContext == 0)
    context = makeContext();
  // Errors are the expected outcome for most inputs; they are not printed.
  ScopedDiagnosticHandler quiet(context.get(),
                                [](Diagnostic &) { return success(); });

  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parse(text, *context);
  if (!module)
    return 0;

  for (bool generic : {false, true}) {
    std::string printed = print(*module, generic);
    OwningOpRef<ModuleOp> again = parse(printed, *context);
    if (!again) {
      std::fprintf(stderr, "printed (%s form):\n%s\n",
                   generic ? "generic" : "custom", printed.c_str());
      JIKJI_FUZZ_CHECK(false, "a verified module prints as text that does not "
                              "parse and verify");
    }
    std::string reprinted = print(*again, generic);
    if (reprinted != printed) {
      std::fprintf(stderr, "printed:\n%s\nprinted again:\n%s\n",
                   printed.c_str(), reprinted.c_str());
      JIKJI_FUZZ_CHECK(false, "printing a module parsed from its own text "
                              "changes the text");
    }
  }
  return 0;
}
