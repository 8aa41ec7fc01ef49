//===- CudaModel.h - A CUDA artifact ready to run on a GPU ------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The GPU half of a Model whose artifact targets "cuda": the device, the
// artifact's kernels loaded on it, the weights uploaded once into managed
// memory (the artifact's host code and kernels both read them; a mapped
// safetensors file is not readable by the GPU), the parameter table in
// managed memory too, and the functions the artifact calls. A forward step
// stages the tokens (and a batched decode step the positions) into managed
// memory, binds this model's functions, runs the artifact's jikji_forward
// or jikji_forward_batch and copies the logits back. The staging buffers
// are kept from step to step and grow only when a step needs more.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_CUDA_CUDAMODEL_H
#define JIKJI_RUNTIME_CUDA_CUDAMODEL_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Artifact.h"
#include "runtime/cuda/CudaDevice.h"
#include "runtime/cuda/CudaLaunchApi.h"
#include "runtime/cuda/CudaModule.h"
#include "runtime/cuda/ManagedBuffer.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace jikji::runtime::cuda {

/// A CUDA artifact bound to a GPU. Not copyable; members are destroyed in
/// reverse order, so buffers and the module go before the device.
class CudaModel {
public:
  /// Opens the GPU (CudaDevice::open), loads `artifact`'s kernels
  /// (CudaModule::load) and uploads the weights: `hostParameters[i]` holds
  /// `parameterBytes[i]` bytes, and the uploaded table keeps that order.
  /// Each failure names its step and call.
  static Result<std::unique_ptr<CudaModel>>
  create(const Artifact &artifact,
         const std::vector<const void *> &hostParameters,
         const std::vector<uint64_t> &parameterBytes);

  CudaModel(const CudaModel &) = delete;
  CudaModel &operator=(const CudaModel &) = delete;
  ~CudaModel();

  const std::shared_ptr<CudaDevice> &device() const { return device_; }
  const CudaModule &module() const { return *module_; }
  const LaunchCounts &launchCounts() const { return api_->counts(); }
  /// Times every kernel launch from now on (CudaLaunchApi::timeKernels).
  void timeKernels(bool enabled) { api_->timeKernels(enabled); }
  /// Captures each step as a CUDA graph, or not (CudaLaunchApi::
  /// captureGraphs); on unless ModelOptions::cudaGraphs turned it off.
  void captureGraphs(bool enabled) { api_->captureGraphs(enabled); }
  /// Whether the next step is captured (graphs on, kernels untimed).
  bool capturesGraphs() const { return api_->capturesGraphs(); }
  /// The most bytes of freed buffers kept (CudaLaunchApi::limitPool).
  void limitPool(uint64_t bytes) { api_->limitPool(bytes); }
  /// The kernels timed so far, the longest first.
  std::vector<KernelTime> kernelTimes() const { return api_->kernelTimes(); }
  /// The bytes of weights uploaded into managed memory.
  uint64_t uploadedBytes() const { return weights_.size(); }

  /// Runs the artifact's entry point on `count` tokens at positions
  /// start.. with `caches` (managed memory, from this device) of `capacity`
  /// positions, and copies the last `logitRows` tokens' logits, logitRows x
  /// vocab, to `logits` (host memory): `forward` when every row is wanted,
  /// else `forwardLast` (which must then be non-null). Returns the entry
  /// point's status, or the step's first failing driver call. Steps of
  /// every CUDA model in the process run one at a time: an artifact's bound
  /// table is global to its library.
  Result<int32_t> forward(ForwardFunction forward,
                          ForwardLastLogitsFunction forwardLast,
                          const int64_t *tokens, int64_t count, int64_t start,
                          void *const *caches, int64_t capacity, float *logits,
                          int64_t logitRows, int64_t vocab);

  /// Runs the artifact's jikji_forward_batch, `forwardBatch`: sequence b
  /// of `batch` feeds tokens[b] at positions[b] over slot b of `caches`
  /// (managed memory, from this device: `batch` slots of `capacity`
  /// positions back to back, docs/runtime-abi.md) and gets row b of the
  /// logits, batch x vocab, copied to `logits` (host memory) once the step
  /// has synchronized. Returns the entry point's status, or the step's first
  /// failing driver call; runs one at a time with forward().
  Result<int32_t> forwardBatch(ForwardBatchFunction forwardBatch,
                               const int64_t *tokens, const int64_t *positions,
                               int64_t batch, void *const *caches,
                               int64_t capacity, float *logits, int64_t vocab);

private:
  CudaModel() = default;
  /// Makes `buffer` hold at least `bytes`, reallocating when it is smaller.
  Result<bool> reserve(ManagedBuffer &buffer, uint64_t bytes, const char *what);
  /// Copies `count` values to `buffer` (managed memory), reserving it
  /// first.
  Result<bool> stage(ManagedBuffer &buffer, const int64_t *values,
                     int64_t count, const char *what);
  /// One step: binds this model's functions, runs `call` (which gets the
  /// uploaded parameter table and the staged logits) between the launch
  /// table's beginStep and endStep, synchronizes and copies `logitBytes`
  /// of staged logits to `logits`. The step mutex must be held, the
  /// device current and stagedLogits_ reserved.
  template <typename Call>
  Result<int32_t> runStep(const Call &call, float *logits, uint64_t logitBytes);

  std::shared_ptr<CudaDevice> device_;
  std::unique_ptr<CudaModule> module_;
  std::unique_ptr<CudaLaunchApi> api_;
  CudaBindFunction bind_ = nullptr;
  /// Every parameter tensor, each at a 256-byte aligned offset.
  ManagedBuffer weights_;
  /// The entry point's `params`: addresses into weights_.
  ManagedBuffer parameterTable_;
  /// Each step's tokens, positions (batched steps) and logits, grown as
  /// needed and kept.
  ManagedBuffer stagedTokens_;
  ManagedBuffer stagedPositions_;
  ManagedBuffer stagedLogits_;
};

} // namespace jikji::runtime::cuda

#endif // JIKJI_RUNTIME_CUDA_CUDAMODEL_H
