//===- KernelNames.cpp - Kernels named after the op they compute ----------===//
//
// Part of Jikji. Outlining names a kernel after the function it came from
// (`moe_layer_kernel_93`), which tells a profile or `jikji-run
// --kernel-times` nothing about what the kernel computes. Two passes carry
// the DeepSeek op through the lowering instead:
//
// - `jikji-mark-op-locations`, before the DeepSeek ops become linalg, wraps
//   each one's location in a NameLoc of its op name. The lowering builds
//   every op from the DeepSeek op's location, and later steps keep it, so
//   the loop nests and then the launches made from an op still carry it.
// - `jikji-name-kernels`, before outlining, gives each launch that carries
//   one the kernel name `<function>_<op>` (`moe_layer_latent_attention`,
//   then `_1`, `_2` ...), which outlining takes for the kernel.
//
//===----------------------------------------------------------------------===//

#include "codegen/cuda/Passes.h"

#include "dialects/DeepSeek/IR/DeepSeekDialect.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>

namespace jikji {
#define GEN_PASS_DEF_MARKOPLOCATIONSPASS
#define GEN_PASS_DEF_NAMEKERNELSPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace jikji

using namespace mlir;

namespace {

/// The prefix of the NameLocs the marking adds: the op's own name.
constexpr StringLiteral kOpPrefix = "deepseek.";

/// The DeepSeek op `loc` was marked with ("latent_attention"), or "".
StringRef markedOp(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    StringRef text = name.getName().getValue();
    if (text.starts_with(kOpPrefix))
      return text.drop_front(kOpPrefix.size());
    return markedOp(name.getChildLoc());
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location part : fused.getLocations())
      if (StringRef op = markedOp(part); !op.empty())
        return op;
    return "";
  }
  if (auto site = dyn_cast<CallSiteLoc>(loc))
    return markedOp(site.getCallee());
  return "";
}

struct MarkOpLocationsPass
    : jikji::impl::MarkOpLocationsPassBase<MarkOpLocationsPass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      if (!isa<jikji::deepseek::DeepSeekDialect>(op->getDialect()) ||
          !markedOp(op->getLoc()).empty())
        return;
      op->setLoc(NameLoc::get(
          StringAttr::get(op->getContext(), op->getName().getStringRef()),
          op->getLoc()));
    });
  }
};

struct NameKernelsPass : jikji::impl::NameKernelsPassBase<NameKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Names already taken: every symbol, every name a launch carries
    // already, and the names given so far.
    llvm::StringSet<> taken;
    module.walk([&](SymbolOpInterface symbol) {
      taken.insert(symbol.getName());
    });
    module.walk([&](gpu::LaunchOp launch) {
      if (std::optional<StringRef> given = launch.getFunction())
        taken.insert(*given);
    });
    module.walk([&](gpu::LaunchOp launch) {
      StringRef op = markedOp(launch.getLoc());
      auto function = launch->getParentOfType<FunctionOpInterface>();
      if (op.empty() || !function || launch.getFunction())
        return;
      // A step of an op ("latent_attention.scores") joins with '_': PTX
      // names take letters, digits and '_' (and '$', '%').
      std::string base = (function.getName() + "_" + op).str();
      std::replace_if(
          base.begin(), base.end(),
          [](char c) { return !llvm::isAlnum(c) && c != '_'; }, '_');
      std::string name = base;
      for (int suffix = 1; taken.contains(name); ++suffix)
        name = base + "_" + std::to_string(suffix);
      taken.insert(name);
      launch.setFunctionAttr(
          FlatSymbolRefAttr::get(launch.getContext(), name));
    });
  }
};

} // namespace
