//===- CudaModel.cpp - A CUDA artifact ready to run on a GPU --------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaModel.h"

#include <cstring>
#include <limits>
#include <mutex>

using namespace jikji;
using namespace jikji::runtime;
using namespace jikji::runtime::cuda;

namespace {

/// Each tensor of the uploaded weights starts at a multiple of this, which
/// covers every element size and the GPU's widest vector loads.
constexpr uint64_t kWeightAlignment = 256;

/// Serializes CUDA steps: jikji_cuda_bind stores one table per artifact
/// library, shared by every model loaded from that file, so binding and
/// running must not interleave between models.
std::mutex &stepMutex() {
  static std::mutex mutex;
  return mutex;
}

} // namespace

CudaModel::~CudaModel() = default;

Result<std::unique_ptr<CudaModel>>
CudaModel::create(const Artifact &artifact,
                  const std::vector<const void *> &hostParameters,
                  const std::vector<uint64_t> &parameterBytes) {
  auto bind =
      reinterpret_cast<CudaBindFunction>(artifact.symbol(kCudaBindSymbol));
  if (!bind)
    return Error(artifact.path() + ": a 'cuda' artifact must export " +
                 kCudaBindSymbol + "; the library has no such symbol");
  std::unique_ptr<CudaModel> model(new CudaModel());
  model->bind_ = bind;
  Result<std::shared_ptr<CudaDevice>> device = CudaDevice::open();
  if (!device)
    return Error(device.error());
  model->device_ = std::move(*device);
  Result<std::unique_ptr<CudaModule>> module =
      CudaModule::load(model->device_, artifact);
  if (!module)
    return Error(module.error());
  model->module_ = std::move(*module);
  model->api_ =
      std::make_unique<CudaLaunchApi>(model->device_, *model->module_);

  // One block for every tensor: one allocation instead of thousands, and
  // one free-memory check that covers the whole model.
  std::vector<uint64_t> offsets;
  uint64_t total = 0;
  for (uint64_t bytes : parameterBytes) {
    total =
        (total + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
    offsets.push_back(total);
    if (bytes > std::numeric_limits<uint64_t>::max() - total)
      return Error("the weights need more bytes than 64 bits count");
    total += bytes;
  }
  Result<ManagedBuffer> weights = ManagedBuffer::allocate(
      model->device_, total,
      "the weights (" + std::to_string(parameterBytes.size()) + " tensors)");
  if (!weights)
    return Error(weights.error());
  model->weights_ = std::move(*weights);
  Result<ManagedBuffer> table = ManagedBuffer::allocate(
      model->device_, hostParameters.size() * sizeof(void *),
      "the parameter table");
  if (!table)
    return Error(table.error());
  model->parameterTable_ = std::move(*table);
  // Managed memory is host memory too: a plain copy uploads, and the pages
  // move to the GPU on the kernels' first touch.
  auto *base = static_cast<char *>(model->weights_.data());
  auto *pointers = static_cast<void **>(model->parameterTable_.data());
  for (size_t i = 0; i < hostParameters.size(); ++i) {
    std::memcpy(base + offsets[i], hostParameters[i],
                static_cast<size_t>(parameterBytes[i]));
    pointers[i] = base + offsets[i];
  }
  return model;
}

Result<bool> CudaModel::reserve(ManagedBuffer &buffer, uint64_t bytes,
                                const char *what) {
  if (buffer.data() && buffer.size() >= bytes)
    return true;
  // The old buffer goes first, so that the two never need room together.
  buffer = ManagedBuffer();
  Result<ManagedBuffer> grown = ManagedBuffer::allocate(device_, bytes, what);
  if (!grown)
    return Error(grown.error());
  buffer = std::move(*grown);
  return true;
}

Result<bool> CudaModel::stage(ManagedBuffer &buffer, const int64_t *values,
                              int64_t count, const char *what) {
  uint64_t bytes = static_cast<uint64_t>(count) * sizeof(int64_t);
  Result<bool> ok = reserve(buffer, bytes, what);
  if (!ok)
    return ok;
  // The previous step ended with a synchronization, so no kernel still
  // reads the buffer.
  std::memcpy(buffer.data(), values, static_cast<size_t>(bytes));
  return true;
}

template <typename Call>
Result<int32_t> CudaModel::runStep(const Call &call, float *logits,
                                   uint64_t logitBytes) {
  bind_(api_->table());
  api_->beginStep();
  auto *params = static_cast<const void *const *>(parameterTable_.data());
  int32_t status = call(params, static_cast<float *>(stagedLogits_.data()));
  // endStep waits for the step's kernels (the artifact itself waits only
  // where its host code needs it), so the logits' last writes are visible.
  Result<bool> step = api_->endStep();
  if (!step)
    return Error(step.error());
  std::memcpy(logits, stagedLogits_.data(), static_cast<size_t>(logitBytes));
  return status;
}

Result<int32_t> CudaModel::forward(ForwardFunction forward,
                                   ForwardLastLogitsFunction forwardLast,
                                   const int64_t *tokens, int64_t count,
                                   int64_t start, void *const *caches,
                                   int64_t capacity, float *logits,
                                   int64_t logitRows, int64_t vocab) {
  std::lock_guard<std::mutex> lock(stepMutex());
  Result<bool> ok = device_->makeCurrent();
  if (!ok)
    return Error(ok.error());
  uint64_t logitBytes = static_cast<uint64_t>(logitRows) *
                        static_cast<uint64_t>(vocab) * sizeof(float);
  ok = stage(stagedTokens_, tokens, count, "the tokens of a step");
  if (ok)
    ok = reserve(stagedLogits_, logitBytes, "the logits of a step");
  if (!ok)
    return Error(ok.error());
  auto *stagedTokens = static_cast<const int64_t *>(stagedTokens_.data());
  return runStep(
      [&](const void *const *params, float *stagedLogits) {
        return logitRows == count
                   ? forward(params, stagedTokens, count, start, caches,
                             capacity, stagedLogits)
                   : forwardLast(params, stagedTokens, count, start, caches,
                                 capacity, stagedLogits, logitRows);
      },
      logits, logitBytes);
}

Result<int32_t> CudaModel::forwardBatch(ForwardBatchFunction forwardBatch,
                                        const int64_t *tokens,
                                        const int64_t *positions, int64_t batch,
                                        void *const *caches, int64_t capacity,
                                        float *logits, int64_t vocab) {
  std::lock_guard<std::mutex> lock(stepMutex());
  Result<bool> ok = device_->makeCurrent();
  if (!ok)
    return Error(ok.error());
  uint64_t logitBytes = static_cast<uint64_t>(batch) *
                        static_cast<uint64_t>(vocab) * sizeof(float);
  // The kernels read the tokens (the embedding) and the positions (the
  // rotary embedding, the cache rows), so both live where they can.
  ok = stage(stagedTokens_, tokens, batch, "the tokens of a step");
  if (ok)
    ok = stage(stagedPositions_, positions, batch,
               "the positions of a decode step");
  if (ok)
    ok = reserve(stagedLogits_, logitBytes, "the logits of a step");
  if (!ok)
    return Error(ok.error());
  auto *stagedTokens = static_cast<const int64_t *>(stagedTokens_.data());
  auto *stagedPositions = static_cast<const int64_t *>(stagedPositions_.data());
  return runStep(
      [&](const void *const *params, float *stagedLogits) {
        return forwardBatch(params, stagedTokens, stagedPositions, batch,
                            caches, capacity, stagedLogits);
      },
      logits, logitBytes);
}
