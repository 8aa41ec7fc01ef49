//===- Model.h - An artifact bound to its weights ---------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A Model is what every sequence runs on: the loaded artifact, the
// memory-mapped checkpoint, and the parameter table the entry point reads,
// checked once at load so that a forward step never meets a missing or
// mis-shaped weight. It is immutable after loading, so sequences on several
// threads may share one.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SESSION_MODEL_H
#define JIKJI_RUNTIME_SESSION_MODEL_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Artifact.h"
#include "runtime/artifact/Manifest.h"
#include "runtime/cuda/CudaModel.h"
#include "runtime/support/HostBuffer.h"
#include "runtime/weights/WeightStore.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jikji::runtime {

/// Where the weights the artifact reads live.
struct WeightStats {
  /// The size of every safetensors file mapped (address space, not memory:
  /// pages are read on first touch).
  uint64_t mappedFileBytes = 0;
  /// The bytes of the parameters the artifact reads straight from the
  /// mappings.
  uint64_t boundInPlaceBytes = 0;
  /// The bytes the runtime copied into buffers of its own (see
  /// Model::create), in addition to the mappings.
  uint64_t copiedBytes = 0;
  /// How many parameters were copied.
  int64_t copiedParameters = 0;
};

/// Where a model runs. An artifact runs on the device of its manifest's
/// target: "cpu" on Device::Cpu, "cuda" on Device::Cuda.
enum class Device { Cpu, Cuda };

/// "cpu" or "cuda", as jikji-run's --device spells it.
const char *deviceName(Device device);

/// How a model runs.
struct ModelOptions {
  /// The threads the compiled code may use, 1 to kMaxThreads. Only an
  /// artifact exporting jikji_set_num_threads uses more than one; see
  /// Model::threads().
  int32_t threads = 1;
  /// The device; Device::Cuda opens the first GPU through the CUDA driver,
  /// loaded at run time (runtime/cuda/CudaDriver.h).
  Device device = Device::Cpu;
  /// On Device::Cuda, whether each step is captured and launched as a CUDA
  /// graph (runtime/cuda/CudaLaunchApi.h); timing kernels turns it off.
  bool cudaGraphs = true;
};

/// A compiled model bound to a checkpoint. Move-only.
class Model {
public:
  /// The most threads ModelOptions::threads may ask for.
  static constexpr int32_t kMaxThreads = 1024;

  /// Loads the artifact at `artifactPath` and the checkpoint in
  /// `weightsDir`, then binds them with create().
  static Result<Model> load(const std::string &artifactPath,
                            const std::string &weightsDir,
                            const ModelOptions &options = {});

  /// Binds `weights` to `artifact`. Refuses, naming the first problem:
  /// a checkpoint without a valid config.json; a config whose digest
  /// differs from the one the artifact was compiled for ("weights were made
  /// for another config"); a parameter whose tensor is missing or has
  /// another dtype or shape; an artifact for a target or cache dtype this
  /// runtime cannot run.
  ///
  /// The entry point takes one pointer per manifest parameter; a stacked
  /// expert parameter's pointer must address all experts' tensors back to
  /// back. Where the checkpoint stores them so (the usual case), the pointer
  /// goes into the mapping; otherwise, and for a tensor not aligned to its
  /// element size, the runtime copies it into a buffer of its own, which
  /// costs memory (reported in weightStats()). Removing that copy needs an
  /// entry point that takes one pointer per expert.
  ///
  /// On Device::Cuda, create() then opens the GPU, loads the artifact's
  /// kernels and uploads every parameter into managed memory
  /// (cuda::CudaModel); a failing driver call is the message ("no CUDA
  /// driver found: ...", "cuMemAllocManaged failed: ...").
  ///
  /// When the artifact exports jikji_set_num_threads, create() calls it with
  /// options.threads. The count belongs to the loaded library, so every
  /// Model of the same artifact file runs with the count of the latest one
  /// created.
  static Result<Model> create(Artifact artifact, WeightStore weights,
                              const ModelOptions &options = {});

  /// Checks what create() checks of `weights` against the artifact's
  /// `manifest` (at `path`): the config digest and every parameter's
  /// tensor. A caller that tells weights that do not fit from other
  /// failures (the C API, jikji-run) calls it first.
  static Result<bool> checkWeights(const Manifest &manifest,
                                   const std::string &path,
                                   const WeightStore &weights);

  /// Checks options.threads: 1 to kMaxThreads.
  static Result<bool> checkOptions(const ModelOptions &options);

  const Artifact &artifact() const { return artifact_; }
  const Manifest &manifest() const { return artifact_.manifest(); }
  const WeightStore &weights() const { return weights_; }
  const WeightStats &weightStats() const { return weightStats_; }
  Device device() const { return device_; }
  /// The GPU half of a model on Device::Cuda; null on Device::Cpu.
  cuda::CudaModel *cudaModel() const { return cuda_.get(); }

  /// The threads the compiled code runs on: ModelOptions::threads when the
  /// artifact exports jikji_set_num_threads, otherwise 1.
  int32_t threads() const { return threads_; }
  /// ModelOptions::threads as asked; more than threads() when the artifact
  /// cannot use them (a caller may warn).
  int32_t requestedThreads() const { return requestedThreads_; }

  int64_t vocabSize() const { return manifest().vocabSize; }
  /// The context limit: the most positions one sequence may hold.
  int64_t maxPositions() const { return manifest().maxPositionEmbeddings; }
  /// The manifest's end-of-sequence token, if it has one.
  std::optional<int64_t> eosTokenId() const { return manifest().eosTokenId; }
  /// The bytes of KV cache one position of one sequence takes.
  uint64_t cacheBytesPerToken() const {
    return static_cast<uint64_t>(manifest().kvCache.bytesPerToken);
  }

  /// The entry point's `params` on the CPU: one pointer per manifest
  /// parameter, in manifest order. (On the GPU the artifact gets the
  /// uploaded copies instead.)
  const void *const *parameterTable() const { return parameterTable_.data(); }

  /// Runs the artifact's entry point on the model's device: `count` tokens
  /// at positions start.. of a sequence whose caches (allocated for this
  /// model's device) hold `capacity` positions; writes the logits of the
  /// last `logitRows` tokens (1 <= logitRows <= count), logitRows x vocab,
  /// to host memory: through jikji_forward_last_logits when fewer than
  /// every row is wanted, or, for an artifact without it (an older
  /// compiler's), every row into a temporary buffer of which the last are
  /// kept. Returns the entry point's status, or on the GPU the step's first
  /// failing driver call.
  Result<int32_t> runForward(const int64_t *tokens, int64_t count,
                             int64_t start, void *const *caches,
                             int64_t capacity, float *logits,
                             int64_t logitRows) const;

  /// True when a decode step of several sequences runs in one call: the
  /// artifact exports jikji_forward_batch. On the CPU the call gets the
  /// caller's buffers; on the GPU runForwardBatch stages them as
  /// runForward does.
  bool hasBatchedDecode() const { return artifact_.forwardBatch() != nullptr; }

  /// Runs jikji_forward_batch (hasBatchedDecode() must hold) on the model's
  /// device: sequence b of `batch` feeds tokens[b] at positions[b] over
  /// cache slot b of `caches` (allocated for this model's device, each slot
  /// `capacity` positions, the slots back to back) and gets row b of
  /// `logits` (host memory), batch x vocab. The caller has checked every
  /// token and position (0 <= positions[b] < capacity). Returns the entry
  /// point's status, or on the GPU the step's first failing driver call.
  Result<int32_t> runForwardBatch(const int64_t *tokens,
                                  const int64_t *positions, int64_t batch,
                                  void *const *caches, int64_t capacity,
                                  float *logits) const;

  /// Checks that this runtime can run `manifest`'s artifact (at `path`, for
  /// the message) on `device`: target "cpu" on Device::Cpu, "cuda" on
  /// Device::Cuda, an F32 KV cache, and a CPU with every feature the
  /// manifest's `cpu` lists (checkCpuRequirements).
  static Result<bool> checkSupported(const Manifest &manifest,
                                     const std::string &path,
                                     Device device = Device::Cpu);

  /// Checks that a sequence may hold `capacity` positions: at least 1 and at
  /// most maxPositions().
  Result<bool> checkCapacity(int64_t capacity) const;

private:
  Model(Artifact artifact, WeightStore weights)
      : artifact_(std::move(artifact)), weights_(std::move(weights)) {}

  Artifact artifact_;
  WeightStore weights_;
  std::vector<const void *> parameterTable_;
  /// The runtime's own copies of parameters parameterTable_ points into.
  std::vector<HostBuffer> copies_;
  WeightStats weightStats_;
  int32_t threads_ = 1;
  int32_t requestedThreads_ = 1;
  Device device_ = Device::Cpu;
  /// Declared last so that it goes first: its kernels and buffers before
  /// the artifact library.
  std::unique_ptr<cuda::CudaModel> cuda_;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SESSION_MODEL_H
