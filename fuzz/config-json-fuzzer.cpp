//===- config-json-fuzzer.cpp - Fuzzes config.json validation -------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes jikji::hf::parseModelConfig. An accepted config then goes through
// what the compiler and the runtime compute from it first: the derived
// scales, the config digest, which layers have experts, and (for configs
// small enough to list quickly) every parameter's name, shape and element
// count. The parser caps sizes so that none of this can overflow; UBSan
// reports it if some product still does.
//
// What the compiler accepts the runtime must load: every parameter must fit
// the artifact manifest's limits (runtime/artifact/Manifest.cpp: at most 2^31
// per dimension and 2^56 elements, a layer's routed experts stacked into one
// [experts, out, in] parameter), or jikji-compile writes an artifact that
// every runtime refuses.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/ModelParameters.h"
#include "fuzz/FuzzSupport.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

using namespace jikji;
using namespace jikji::hf;

/// Listing a config's parameters costs one string per expert weight; the
/// parser allows 2048 layers (with the MTP ones) of 4096 experts (25 million
/// names, 4.7 GB), too slow to do on every fuzz input. The bound still lets
/// one layer have the most experts there can be.
constexpr int64_t kMaxListedExpertLayers = 8192;

/// The manifest's limits, restated from runtime/artifact/Manifest.cpp.
constexpr uint64_t kManifestMaxDimension = uint64_t(1) << 31;
constexpr uint64_t kManifestMaxElements = uint64_t(1) << 56;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  Result<ModelConfig> config = parseModelConfig(text, "config.json");
  if (!config) {
    JIKJI_FUZZ_CHECK(config.error().rfind("config.json: ", 0) == 0,
                     "an error that does not start with the source name");
    return 0;
  }
  const ModelConfig &c = *config;
  JIKJI_FUZZ_CHECK(std::isfinite(c.softmaxScale()) && c.softmaxScale() > 0,
                   "a softmax scale that is not a positive finite number");
  JIKJI_FUZZ_CHECK(std::isfinite(c.ropeMagnitudeScale()),
                   "a RoPE magnitude scale that is not finite");
  JIKJI_FUZZ_CHECK(configDigest(c).size() == 24, "a malformed digest");

  int64_t layers = c.numHiddenLayers + c.numNextnPredictLayers;
  for (int64_t layer = 0; layer < layers; ++layer)
    (void)c.isMoeLayer(layer);
  if (layers * (c.nRoutedExperts + 1) > kMaxListedExpertLayers)
    return 0;
  for (bool withMtp : {false, true})
    for (const ParameterSpec &spec : listModelParameters(c, withMtp)) {
      JIKJI_FUZZ_CHECK(!spec.name.empty() && !spec.shape.empty(),
                       "a parameter without a name or shape");
      // The element count as the manifest sees it, computed without
      // wrapping before numElements() is trusted with it.
      uint64_t elements = spec.routedExpert ? c.nRoutedExperts : 1;
      bool fits = true;
      for (int64_t dim : spec.shape) {
        JIKJI_FUZZ_CHECK(dim > 0, "a parameter with a non-positive dimension");
        fits = fits && static_cast<uint64_t>(dim) <= kManifestMaxDimension &&
               !__builtin_mul_overflow(elements, static_cast<uint64_t>(dim),
                                       &elements) &&
               elements <= kManifestMaxElements;
      }
      if (!fits)
        std::fprintf(stderr, "parameter %s is too large for the manifest\n",
                     spec.name.c_str());
      JIKJI_FUZZ_CHECK(fits, "an accepted config needs a parameter that the "
                             "artifact manifest cannot describe");
      (void)spec.numElements();
    }
  return 0;
}
