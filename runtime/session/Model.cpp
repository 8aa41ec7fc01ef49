//===- Model.cpp - An artifact bound to its weights -----------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Model.h"

#include "frontends/huggingface/ModelConfig.h"
#include "frontends/huggingface/Printable.h"
#include "runtime/artifact/CpuRequirements.h"
#include "runtime/support/CpuFeatures.h"
#include "runtime/support/StepMemory.h"

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

const char *jikji::runtime::deviceName(Device device) {
  return device == Device::Cuda ? "cuda" : "cpu";
}

Result<bool> Model::checkSupported(const Manifest &manifest,
                                   const std::string &path, Device device) {
  if (manifest.target != "cpu" && manifest.target != "cuda")
    return Error(path + ": artifact compiled for target '" +
                 printable(manifest.target) +
                 "'; this runtime runs 'cpu' and 'cuda' artifacts");
  if (manifest.target == "cuda" && device != Device::Cuda)
    return Error(path +
                 ": artifact compiled for target 'cuda' runs on the CUDA "
                 "device, not on '" +
                 deviceName(device) +
                 "' (jikji-run --device=cuda; C API: device "
                 "JIKJI_DEVICE_CUDA)");
  if (manifest.target == "cpu" && device != Device::Cpu)
    return Error(path +
                 ": artifact compiled for target 'cpu' runs on the "
                 "CPU, not on '" +
                 deviceName(device) +
                 "'; compile for the GPU with jikji-compile --target=cuda, "
                 "or run with --device=cpu");
  if (manifest.kvCache.dtype != DType::F32)
    return Error(path +
                 ": manifest 'kv_cache.dtype': expected \"F32\" (the "
                 "only cache dtype this runtime allocates), found \"" +
                 dtypeName(manifest.kvCache.dtype) + "\"");
  // The code of either target runs on this CPU (a CUDA artifact's host code
  // too); refused here, it cannot die of SIGILL in the middle of a step.
  return checkCpuRequirements(manifest, path, runningCpuFeatures());
}

Result<bool> Model::checkWeights(const Manifest &manifest,
                                 const std::string &path,
                                 const WeightStore &weights) {
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
                 ", artifact " + path + " compiled for " +
                 manifest.configDigest);
  Result<std::vector<const void *>> bound = weights.bindParameters(manifest);
  if (!bound)
    return Error(bound.error());
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
  Result<bool> supported =
      checkSupported(manifest, artifactPath, options.device);
  if (!supported)
    return Error(supported.error());

  Result<bool> fits = checkWeights(manifest, artifactPath, weights);
  if (!fits)
    return Error(fits.error());
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
  std::vector<uint64_t> pointerBytes;
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
      pointerBytes.push_back(tensorBytes);
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

  // On the GPU the artifact reads its own copies, in managed memory; the
  // host table above is what they are copied from.
  model.device_ = options.device;
  if (options.device == Device::Cuda) {
    Result<std::unique_ptr<cuda::CudaModel>> gpu = cuda::CudaModel::create(
        model.artifact_, model.parameterTable_, pointerBytes);
    if (!gpu)
      return Error(gpu.error());
    model.cuda_ = std::move(*gpu);
    model.cuda_->captureGraphs(options.cudaGraphs);
  }

  // The steps' temporaries are reused from step to step, not faulted in
  // again (runtime/support/StepMemory.h).
  keepFreedMemoryForNextStep();

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

Result<int32_t> Model::runForward(const int64_t *tokens, int64_t count,
                                  int64_t start, void *const *caches,
                                  int64_t capacity, float *logits,
                                  int64_t logitRows) const {
  ForwardLastLogitsFunction forwardLast = artifact_.forwardLastLogits();
  if (logitRows < count && !forwardLast) {
    const uint64_t rowFloats = static_cast<uint64_t>(vocabSize());
    Result<HostBuffer> every = HostBuffer::allocate(
        static_cast<uint64_t>(count) * rowFloats * sizeof(float),
        "the logits of " + std::to_string(count) + " tokens");
    if (!every)
      return Error(every.error());
    auto *everyLogits = static_cast<float *>(every->data());
    Result<int32_t> ran =
        runForward(tokens, count, start, caches, capacity, everyLogits, count);
    if (ran && *ran == 0)
      std::memcpy(logits,
                  everyLogits +
                      static_cast<uint64_t>(count - logitRows) * rowFloats,
                  static_cast<size_t>(static_cast<uint64_t>(logitRows) *
                                      rowFloats * sizeof(float)));
    return ran;
  }
  if (cuda_)
    return cuda_->forward(artifact_.forward(), forwardLast, tokens, count,
                          start, caches, capacity, logits, logitRows,
                          vocabSize());
  if (logitRows == count)
    return artifact_.forward()(parameterTable(), tokens, count, start, caches,
                               capacity, logits);
  return forwardLast(parameterTable(), tokens, count, start, caches, capacity,
                     logits, logitRows);
}

Result<int32_t> Model::runForwardBatch(const int64_t *tokens,
                                       const int64_t *positions, int64_t batch,
                                       void *const *caches, int64_t capacity,
                                       float *logits) const {
  if (cuda_)
    return cuda_->forwardBatch(artifact_.forwardBatch(), tokens, positions,
                               batch, caches, capacity, logits, vocabSize());
  return artifact_.forwardBatch()(parameterTable(), tokens, positions, batch,
                                  caches, capacity, logits);
}

Result<bool> Model::checkCapacity(int64_t capacity) const {
  if (capacity < 1 || capacity > maxPositions())
    return Error("sequence capacity " + std::to_string(capacity) +
                 ": expected 1 to " + std::to_string(maxPositions()) +
                 " positions (the model's context limit, "
                 "max_position_embeddings)");
  return true;
}
