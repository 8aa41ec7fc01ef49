//===- Manifest.h - The artifact's self-description -------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The manifest that a compiled artifact carries (docs/runtime-abi.md): which
// configuration it was built for, which parameters its entry point takes in
// which order, and the KV-cache layout the runtime must allocate. The
// compiler writes it with writeManifestJson and the runtime reads it with
// parseManifest, so both sides share one struct and one spelling.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_ARTIFACT_MANIFEST_H
#define JIKJI_RUNTIME_ARTIFACT_MANIFEST_H

#include "frontends/huggingface/Result.h"
#include "frontends/huggingface/SafeTensors.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jikji::runtime {

/// The `format` string every manifest starts with.
constexpr const char *kManifestFormat = "jikji-artifact";
/// The newest `format_version` this runtime reads (and the one it writes).
constexpr int64_t kManifestFormatVersion = 1;

/// One parameter of the entry point.
struct ManifestParameter {
  /// The checkpoint tensor name; for a stacked expert parameter one
  /// dot-separated component is `*`.
  std::string name;
  hf::DType dtype = hf::DType::BF16;
  /// The shape; for a stacked expert parameter [experts, per-expert...].
  std::vector<int64_t> shape;
  /// 0 for a plain parameter; otherwise the number of experts, each bound
  /// to its own checkpoint tensor (`*` replaced by 0 .. experts-1).
  int64_t experts = 0;
  /// For an F8_E4M3 weight (MODEL.md, "FP8 checkpoints"): the [rows,
  /// columns] of weight that one scale covers, and the name of the float32
  /// parameter holding the scales, of shape [ceil(rows / blockSize[0]),
  /// ceil(columns / blockSize[1])] (behind the expert count when stacked).
  /// Both empty for every other parameter.
  std::vector<int64_t> blockSize;
  std::string scale;

  bool isStacked() const { return experts > 0; }
  bool isBlockScaled() const { return !blockSize.empty(); }
  /// The checkpoint name of expert `expert` (the `*` component replaced).
  std::string expertName(int64_t expert) const;
  /// The shape of one expert's tensor: shape[1:].
  std::vector<int64_t> expertShape() const;
  /// How many entries of the entry point's `params` array this takes.
  int64_t numPointers() const { return isStacked() ? experts : 1; }
};

/// One tensor of the KV cache; the runtime allocates it as
/// [layers, capacity, perTokenShape...].
struct KvCacheTensor {
  std::string name;
  std::vector<int64_t> perTokenShape;
};

/// The KV cache the compiled model asks for.
struct KvCacheLayout {
  int64_t layers = 0;
  hf::DType dtype = hf::DType::F32;
  std::vector<KvCacheTensor> tensors;
  /// The sum over `tensors` of the product of perTokenShape.
  int64_t valuesPerTokenPerLayer = 0;
  /// layers * valuesPerTokenPerLayer * dtype size.
  int64_t bytesPerToken = 0;
};

/// The CPU the artifact's code was compiled for (`jikji-compile --cpu`) and
/// what the code needs of the CPU that runs it (docs/runtime-abi.md, "The
/// CPU").
struct ManifestCpu {
  /// The LLVM CPU name, e.g. "znver4" or "x86-64-v3"; for `--cpu=host`, the
  /// name LLVM gave the compiling machine's CPU.
  std::string name;
  /// The features of runtime/support/CpuFeatures.h the code may use, by
  /// LLVM's names, sorted, each once.
  std::vector<std::string> features;
};

/// A parsed (or to-be-written) manifest.
struct Manifest {
  int64_t formatVersion = kManifestFormatVersion;
  std::string generator = "jikji-compile";
  /// "cpu" or "cuda".
  std::string target = "cpu";
  /// jikji::hf::configDigest of the config the artifact was compiled from.
  std::string configDigest;
  std::string modelType;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t maxPositionEmbeddings = 0;
  std::optional<int64_t> eosTokenId;
  /// The exported symbol of the forward step (`entry_points.forward`).
  std::string forwardEntryPoint = "jikji_forward";
  std::vector<ManifestParameter> parameters;
  KvCacheLayout kvCache;
  /// Absent in artifacts of compilers before `--cpu` (format 1 allows it to
  /// be missing), which the runtime loads without a CPU check.
  std::optional<ManifestCpu> cpu;

  /// The length of the `params` array the entry point expects.
  int64_t numParameterPointers() const;
};

/// Parses and validates a manifest. Every message starts with `sourceName`
/// (the artifact's path) and names the field: `<source>: manifest
/// 'parameters[2].shape': expected ..., found ...`. A format_version newer
/// than kManifestFormatVersion is refused as built by a newer jikji; fields
/// this version does not know are ignored.
Result<Manifest> parseManifest(std::string_view jsonText,
                               const std::string &sourceName);

/// The manifest as JSON, in the layout of docs/runtime-abi.md: one parameter
/// per line, so that a diff of two artifacts' manifests reads well. It does
/// not validate; parseManifest(writeManifestJson(m)) returns m when m is
/// valid.
std::string writeManifestJson(const Manifest &manifest);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_ARTIFACT_MANIFEST_H
