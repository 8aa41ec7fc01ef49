//===- manifest-fuzzer.cpp - Fuzzes the artifact manifest reader ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes jikji::runtime::parseManifest, which reads the JSON an artifact
// carries. An accepted manifest must survive writeManifestJson and
// parseManifest again unchanged (Manifest.h promises it), and the numbers the
// runtime sizes buffers from must agree with each other.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzSupport.h"
#include "runtime/artifact/Manifest.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace jikji;
using namespace jikji::runtime;

static bool sameParameters(const Manifest &a, const Manifest &b) {
  if (a.parameters.size() != b.parameters.size())
    return false;
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    const ManifestParameter &x = a.parameters[i], &y = b.parameters[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape ||
        x.experts != y.experts || x.blockSize != y.blockSize ||
        x.scale != y.scale)
      return false;
  }
  return true;
}

static bool sameCache(const KvCacheLayout &a, const KvCacheLayout &b) {
  if (a.layers != b.layers || a.dtype != b.dtype ||
      a.valuesPerTokenPerLayer != b.valuesPerTokenPerLayer ||
      a.bytesPerToken != b.bytesPerToken ||
      a.tensors.size() != b.tensors.size())
    return false;
  for (size_t i = 0; i < a.tensors.size(); ++i)
    if (a.tensors[i].name != b.tensors[i].name ||
        a.tensors[i].perTokenShape != b.tensors[i].perTokenShape)
      return false;
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  Result<Manifest> manifest = parseManifest(text, "fuzz.so");
  if (!manifest) {
    JIKJI_FUZZ_CHECK(manifest.error().rfind("fuzz.so: ", 0) == 0,
                     "an error that does not start with the source name");
    return 0;
  }
  const Manifest &m = *manifest;
  JIKJI_FUZZ_CHECK(m.formatVersion >= 1 &&
                       m.formatVersion <= kManifestFormatVersion,
                   "a format version this runtime does not read");
  JIKJI_FUZZ_CHECK(!m.kvCache.tensors.empty(), "a cache with no tensors");
  JIKJI_FUZZ_CHECK(m.kvCache.bytesPerToken > 0, "an empty cache token");
  int64_t pointers = m.numParameterPointers();
  JIKJI_FUZZ_CHECK(pointers >= static_cast<int64_t>(m.parameters.size()),
                   "fewer parameter pointers than parameters");
  for (const ManifestParameter &parameter : m.parameters) {
    JIKJI_FUZZ_CHECK((parameter.dtype == hf::DType::F8E4M3) ==
                         parameter.isBlockScaled(),
                     "an FP8 parameter without a block size, or another "
                     "with one");
    JIKJI_FUZZ_CHECK(
        !parameter.isBlockScaled() ||
            (parameter.blockSize.size() == 2 && !parameter.scale.empty()),
        "a block size that is not [rows, columns], or no scale");
    if (!parameter.isStacked())
      continue;
    JIKJI_FUZZ_CHECK(parameter.expertShape().size() + 1 ==
                         parameter.shape.size(),
                     "an expert shape that is not shape[1:]");
    JIKJI_FUZZ_CHECK(parameter.expertName(0) != parameter.name,
                     "an expert name without the '*' replaced");
  }

  Result<Manifest> again = parseManifest(writeManifestJson(m), "fuzz.so");
  JIKJI_FUZZ_CHECK(again.ok(), "a written manifest is refused when read back");
  const Manifest &n = *again;
  JIKJI_FUZZ_CHECK(
      n.formatVersion == m.formatVersion && n.generator == m.generator &&
          n.target == m.target && n.configDigest == m.configDigest &&
          n.modelType == m.modelType && n.vocabSize == m.vocabSize &&
          n.hiddenSize == m.hiddenSize && n.numLayers == m.numLayers &&
          n.maxPositionEmbeddings == m.maxPositionEmbeddings &&
          n.eosTokenId == m.eosTokenId &&
          n.forwardEntryPoint == m.forwardEntryPoint,
      "a scalar field changed through writeManifestJson");
  JIKJI_FUZZ_CHECK(sameParameters(m, n),
                   "parameters changed through writeManifestJson");
  JIKJI_FUZZ_CHECK(sameCache(m.kvCache, n.kvCache),
                   "the cache changed through writeManifestJson");
  JIKJI_FUZZ_CHECK(m.cpu.has_value() == n.cpu.has_value() &&
                       (!m.cpu || (m.cpu->name == n.cpu->name &&
                                   m.cpu->features == n.cpu->features)),
                   "the cpu changed through writeManifestJson");
  return 0;
}
