//===- Model.cpp - An artifact bound to its weights -----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Model.h"

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Printable.h"

#include <cstring>
#include <utility>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;

Result<Model> Model::load(const std::string &artifactPath,
                          const std::string &weightsDir,
                          const ModelOptions &options) {
  Result<bool> valid = checkOptions(options);
  if (!valid)
    return Error(valid.error());
  Result<Artifact> artifact = Artifact::open(artifactPath);
  if (!artifact)
    return Error(artifact.error());
  Result<WeightStore> weights = WeightStore::open(weightsDir);
  if (!weights)
    return Error(weights.error());
  return create(std::move(*artifact), std::move(*weights), options);
}

Result<bool> Model::checkOptions(const ModelOptions &options) {
  if (options.threads < 1 || options.threads > kMaxThreads)
    return Error("threads: expected a count from 1 to " +
                 std::to_string(kMaxThreads) + ", found " +
                 std::to_string(options.threads));
  return true;
}

Result<bool> Model::checkSupported(const Manifest &manifest,
                                   const std::string &path) {
  if (manifest.target != "cpu")
    return Error(path + ": artifact compiled for target '" + manifest.target +
                 "'; this runtime runs only 'cpu' artifacts so far");
  if (manifest.kvCache.dtype != DType::F32)
    return Error(path +
                 ": manifest 'kv_cache.dtype': expected \"F32\" (the "
                 "only cache dtype this runtime allocates), found \"" +
                 dtypeName(manifest.kvCache.dtype) + "\"");
  return true;
}

/// True when `pointer` is aligned to `alignment` bytes.
static bool isAligned(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

Result<Model> Model::create(Artifact artifact, WeightStore weights,
                            const ModelOptions &options) {
  Result<bool> valid = checkOptions(options);
  if (!valid)
    return Error(valid.error());
  const Manifest &manifest = artifact.manifest();
  const std::string &artifactPath = artifact.path();
  Result<bool> supported = checkSupported(manifest, artifactPath);
  if (!supported)
    return Error(supported.error());

  // The artifact was compiled from config.json alone (DESIGN.md, decision
  // 2); the checkpoint's config must be the same one, or the weights would
  // be read with the wrong sizes and routing.
  std::string configPath = weights.checkpoint().directory + "/config.json";
  Result<ModelConfig> config = loadModelConfig(configPath);
  if (!config)
    return Error(config.error());
  std::string digest = configDigest(*config);
  if (digest != manifest.configDigest)
    return Error(configPath +
                 ": weights were made for another config: digest " + digest +
                 ", artifact " + artifactPath + " compiled for " +
                 manifest.configDigest);

  Result<std::vector<const void *>> bound = weights.bindParameters(manifest);
  if (!bound)
    return Error(bound.error());

  Model model(std::move(artifact), std::move(weights));
  WeightStats &stats = model.weightStats_;
  for (const SafeTensorsFile &file : model.weights_.checkpoint().files)
    stats.mappedFileBytes += file.fileSize;

  // The entry point takes the pointers as bindParameters gives them: one
  // per parameter, one per expert of a stacked parameter, all read in place
  // from the mapped files. Only a tensor that is not aligned to its element
  // size (compiled code assumes it is) gets an aligned copy.
  size_t next = 0;
  for (const ManifestParameter &parameter : model.manifest().parameters) {
    size_t elementSize = dtypeSize(parameter.dtype);
    uint64_t tensorBytes = elementSize;
    for (int64_t dim :
         parameter.isStacked() ? parameter.expertShape() : parameter.shape)
      tensorBytes *= static_cast<uint64_t>(dim);
    size_t count = static_cast<size_t>(parameter.numPointers());
    bool copied = false;
    for (size_t i = 0; i < count; ++i) {
      const void *pointer = (*bound)[next++];
      if (isAligned(pointer, elementSize)) {
        model.parameterTable_.push_back(pointer);
        stats.boundInPlaceBytes += tensorBytes;
        continue;
      }
      Result<HostBuffer> copy = HostBuffer::allocate(
          tensorBytes,
          "an aligned copy of parameter '" + printable(parameter.name) + "'");
      if (!copy)
        return Error(copy.error());
      std::memcpy(copy->data(), pointer, tensorBytes);
      model.parameterTable_.push_back(copy->data());
      model.copies_.push_back(std::move(*copy));
      stats.copiedBytes += tensorBytes;
      copied = true;
    }
    stats.copiedParameters += copied ? 1 : 0;
  }

  // Only the artifact knows how to use threads; without the export its
  // code runs on the caller's thread alone.
  model.requestedThreads_ = options.threads;
  if (SetNumThreadsFunction setNumThreads = model.artifact_.setNumThreads()) {
    setNumThreads(options.threads);
    model.threads_ = options.threads;
  }
  // Result's constructor takes its value by value, which C++17 does not
  // move into implicitly.
  return Result<Model>(std::move(model));
}

Result<bool> Model::checkCapacity(int64_t capacity) const {
  if (capacity < 1 || capacity > maxPositions())
    return Error("sequence capacity " + std::to_string(capacity) +
                 ": expected 1 to " + std::to_string(maxPositions()) +
                 " positions (the model's context limit, "
                 "max_position_embeddings)");
  return true;
}
