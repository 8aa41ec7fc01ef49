//===- ModelSummary.cpp - What an imported model costs --------------------===//
//
// Part of Jikji. Reads the counts off the module rather than the config, so
// that the summary follows the graph through fusion passes.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelSummary.h"

#include "frontends/huggingface/ModelParameters.h"

#include "dialects/DeepSeek/IR/DeepSeekOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace jikji;
using namespace jikji::hf;
namespace ds = jikji::deepseek;

namespace {
std::string typeName(Type type) {
  std::string name;
  llvm::raw_string_ostream os(name);
  type.print(os);
  return name;
}

int64_t bytesPerElement(Type type) {
  return llvm::divideCeil(type.getIntOrFloatBitWidth(), 8);
}

/// FP8 block scales are bookkeeping for the weights they scale, not
/// parameters of the model: count their bytes, not their entries.
bool isBlockScale(StringRef name) { return name.ends_with("_scale_inv"); }

/// The number of experts a token is sent to, read off the `moe_experts` op
/// that consumes the stacked expert weight `value` passed to `call`.
std::optional<int64_t> expertsPerToken(func::CallOp call, Value value,
                                       ModuleOp module) {
  auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
  if (!callee)
    return std::nullopt;
  for (OpOperand &operand : call->getOpOperands()) {
    if (operand.get() != value)
      continue;
    BlockArgument argument = callee.getArgument(operand.getOperandNumber());
    for (Operation *user : argument.getUsers())
      if (auto experts = dyn_cast<ds::MoeExpertsOp>(user))
        return experts.getIndices().getType().getDimSize(1);
      else if (auto grouped = dyn_cast<ds::GroupedExpertsOp>(user))
        return grouped.getIndices().getType().getDimSize(1);
  }
  return std::nullopt;
}

/// A parameter count the way model cards write it: 671.0B, 2.45B, 7.5M.
std::string billions(double count, int decimals = 1) {
  const char *format = decimals == 1 ? "{0:F1}{1}" : "{0:F2}{1}";
  if (count >= 1e9)
    return llvm::formatv(format, count / 1e9, "B").str();
  if (count >= 1e6)
    return llvm::formatv(format, count / 1e6, "M").str();
  return llvm::formatv(format, count / 1e3, "K").str();
}

std::string gibibytes(int64_t bytes) {
  return llvm::formatv("{0:F2} GiB", bytes / double(1ull << 30)).str();
}
} // namespace

ModelSummary jikji::hf::summarizeModel(ModuleOp module,
                                       const ModelConfig &config) {
  ModelSummary summary;
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return summary;

  forward.walk([&](func::CallOp call) {
    ++summary.layersByKind[call.getCallee().str()];
    ++summary.layers;
  });

  auto account = [&](StringRef name, RankedTensorType type,
                     double activatedFraction) {
    int64_t count = type.getNumElements();
    int64_t bytes = count * bytesPerElement(type.getElementType());
    if (isBlockScale(name)) {
      summary.blockScaleValues += count;
      summary.blockScaleBytes += bytes;
      return;
    }
    auto &[parameters, totalBytes] =
        summary.byElementType[typeName(type.getElementType())];
    totalBytes += bytes;
    parameters += count;
    summary.parameters += count;
    summary.activatedParameters += count * activatedFraction;
  };
  forward.walk([&](ds::ParamOp param) {
    // A token reads one row of an embedding table.
    RankedTensorType type = param.getResult().getType();
    bool isEmbedding = llvm::any_of(param->getUsers(), [&](Operation *user) {
      auto embedding = dyn_cast<ds::EmbeddingOp>(user);
      return embedding && embedding.getTable() == param.getResult();
    });
    account(param.getName(), type,
            isEmbedding ? 1.0 / type.getDimSize(0) : 1.0);
  });
  forward.walk([&](ds::ExpertParamOp param) {
    // A token runs k of the E experts whose weights this op stacks.
    double fraction = 1.0;
    for (Operation *user : param->getUsers())
      if (auto call = dyn_cast<func::CallOp>(user))
        if (std::optional<int64_t> k = expertsPerToken(call, param, module))
          fraction = double(*k) / param.getNumExperts();
    account(param.getName(), param.getResult().getType(), fraction);
  });

  // The caches are @forward's arguments marked deepseek.kv_cache, stacked
  // [layers, capacity, ...]: what follows the capacity is one token's entry.
  for (BlockArgument argument : forward.getArguments()) {
    if (!forward.getArgAttr(argument.getArgNumber(), "deepseek.kv_cache"))
      continue;
    auto type = cast<RankedTensorType>(argument.getType());
    int64_t values = 1;
    for (int64_t dim : type.getShape().drop_front(2))
      values *= dim;
    summary.cacheValuesPerTokenPerLayer += values;
    summary.cacheBytesPerTokenPerLayer +=
        values * bytesPerElement(type.getElementType());
  }

  // The MTP module is in the checkpoint but not in the graph: count it from
  // the parameter list the checkpoint is checked against.
  auto total = [](const std::vector<ParameterSpec> &specs) {
    int64_t count = 0;
    for (const ParameterSpec &spec : specs) {
      int64_t elements = 1;
      for (int64_t dim : spec.shape)
        elements *= dim;
      count += elements;
    }
    return count;
  };
  summary.multiTokenPredictionParameters =
      total(listModelParameters(config, /*includeMultiTokenPrediction=*/true)) -
      total(listModelParameters(config, /*includeMultiTokenPrediction=*/false));
  return summary;
}

void jikji::hf::printSummaryText(const ModelSummary &summary,
                                 llvm::raw_ostream &os) {
  os << "layers: " << summary.layers;
  for (auto &[kind, count] : summary.layersByKind)
    os << ", " << count << " " << kind;
  os << "\n";
  os << "parameters: " << billions(summary.parameters) << " ("
     << summary.parameters << ")";
  if (summary.multiTokenPredictionParameters > 0)
    os << "; "
       << billions(summary.parameters + summary.multiTokenPredictionParameters)
       << " with the multi-token-prediction module (not compiled)";
  os << "\n";
  os << "activated per token: " << billions(summary.activatedParameters, 2)
     << " (" << int64_t(summary.activatedParameters) << ")\n";
  int64_t totalBytes = summary.blockScaleBytes;
  for (auto &[type, counts] : summary.byElementType)
    totalBytes += counts.second;
  os << "weights: " << totalBytes << " bytes (" << gibibytes(totalBytes)
     << ")\n";
  for (auto &[type, counts] : summary.byElementType)
    os << "  " << type << ": " << counts.first << " parameters, "
       << counts.second << " bytes (" << gibibytes(counts.second) << ")\n";
  if (summary.blockScaleValues > 0)
    os << "  fp8 block scales: " << summary.blockScaleValues << " f32, "
       << summary.blockScaleBytes << " bytes ("
       << gibibytes(summary.blockScaleBytes) << ")\n";
  os << "kv cache per token per layer: " << summary.cacheValuesPerTokenPerLayer
     << " values, " << summary.cacheBytesPerTokenPerLayer << " bytes\n";
}

void jikji::hf::printSummaryJson(const ModelSummary &summary,
                                 llvm::raw_ostream &os) {
  llvm::json::Object layers;
  for (auto &[kind, count] : summary.layersByKind)
    layers[kind] = count;
  llvm::json::Object storage;
  for (auto &[type, counts] : summary.byElementType)
    storage[type] = llvm::json::Object{{"parameters", counts.first},
                                       {"bytes", counts.second}};
  llvm::json::Object root{
      {"layers", summary.layers},
      {"layers_by_kind", std::move(layers)},
      {"parameters", summary.parameters},
      {"parameters_with_mtp",
       summary.parameters + summary.multiTokenPredictionParameters},
      {"activated_parameters_per_token", int64_t(summary.activatedParameters)},
      {"storage", std::move(storage)},
      {"block_scales", llvm::json::Object{{"values", summary.blockScaleValues},
                                          {"bytes", summary.blockScaleBytes}}},
      {"kv_cache_values_per_token_per_layer",
       summary.cacheValuesPerTokenPerLayer},
      {"kv_cache_bytes_per_token_per_layer",
       summary.cacheBytesPerTokenPerLayer},
  };
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}
