//===- Artifact.h - A compiled model, loaded --------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji-compile writes a model as one shared library exporting
// `jikji_manifest` and a forward entry point (docs/runtime-abi.md). An
// Artifact is that library opened with dlopen, its manifest parsed and its
// entry point looked up; the library stays loaded as long as the Artifact
// lives.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_ARTIFACT_ARTIFACT_H
#define JIKJI_RUNTIME_ARTIFACT_ARTIFACT_H

#include "frontends/huggingface/Result.h"
#include "runtime/artifact/Manifest.h"

#include <cstdint>
#include <string>

namespace jikji::runtime {

/// The exported symbol that returns the manifest's JSON text.
constexpr const char *kManifestSymbol = "jikji_manifest";

/// The optional export that sets how many threads the artifact's code uses
/// (docs/runtime-abi.md); an artifact without it runs on the calling thread.
constexpr const char *kSetNumThreadsSymbol = "jikji_set_num_threads";

/// The signature of jikji_set_num_threads.
using SetNumThreadsFunction = void (*)(int32_t numThreads);

/// The signature of the forward entry point; docs/runtime-abi.md states what
/// each argument holds.
using ForwardFunction = int32_t (*)(const void *const *params,
                                    const int64_t *tokens, int64_t numTokens,
                                    int64_t start, void *const *caches,
                                    int64_t cacheCapacity, float *logits);

/// The optional entry point that writes the logits of the last tokens only
/// (docs/runtime-abi.md); an artifact without it computes every token's.
constexpr const char *kForwardLastLogitsSymbol = "jikji_forward_last_logits";

/// The signature of jikji_forward_last_logits: jikji_forward's, with the
/// logits of the last `numLogits` of the tokens only.
using ForwardLastLogitsFunction = int32_t (*)(const void *const *params,
                                              const int64_t *tokens,
                                              int64_t numTokens, int64_t start,
                                              void *const *caches,
                                              int64_t cacheCapacity,
                                              float *logits, int64_t numLogits);

/// The optional entry point that runs one decode step of several sequences
/// in one call (docs/runtime-abi.md); without it, each sequence runs its own
/// call.
constexpr const char *kForwardBatchSymbol = "jikji_forward_batch";

/// The signature of jikji_forward_batch: one new token for each of `batch`
/// sequences, sequence b's at positions[b] over cache slot b of `caches`
/// (the slots back to back in each tensor), and logits row b.
using ForwardBatchFunction = int32_t (*)(const void *const *params,
                                         const int64_t *tokens,
                                         const int64_t *positions,
                                         int64_t batch, void *const *caches,
                                         int64_t cacheCapacity, float *logits);

/// A loaded artifact. Move-only; the destructor unloads the library, so
/// nothing obtained from it (the entry point) may outlive it.
class Artifact {
public:
  /// Loads the shared library at `path` and reads its manifest. Every
  /// message starts with `path`: a missing file, a library dlopen refuses
  /// (with dlerror's reason), "not a Jikji artifact: no jikji_manifest", a
  /// manifest parseManifest refuses, or an entry point the manifest names
  /// that the library does not export.
  static Result<Artifact> open(const std::string &path);

  Artifact(Artifact &&other) noexcept;
  Artifact &operator=(Artifact &&other) noexcept;
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  ~Artifact();

  const std::string &path() const { return path_; }
  const Manifest &manifest() const { return manifest_; }
  /// The entry point named by the manifest's `entry_points.forward`.
  ForwardFunction forward() const { return forward_; }
  /// The artifact's jikji_set_num_threads, or null when it exports none
  /// (it then runs on one thread).
  SetNumThreadsFunction setNumThreads() const { return setNumThreads_; }
  /// The artifact's jikji_forward_last_logits, or null when it exports none
  /// (artifacts of older compilers).
  ForwardLastLogitsFunction forwardLastLogits() const {
    return forwardLastLogits_;
  }
  /// The artifact's jikji_forward_batch, or null when it exports none
  /// (artifacts of older compilers, and CUDA artifacts).
  ForwardBatchFunction forwardBatch() const { return forwardBatch_; }
  /// The address of the library's export `name`, or null when it has none
  /// (a CUDA artifact's image and jikji_cuda_bind are found so).
  void *symbol(const char *name) const;

private:
  Artifact(std::string path, void *handle, Manifest manifest,
           ForwardFunction forwardFunction,
           SetNumThreadsFunction setNumThreadsFunction,
           ForwardLastLogitsFunction forwardLastLogitsFunction,
           ForwardBatchFunction forwardBatchFunction)
      : path_(std::move(path)), handle_(handle), manifest_(std::move(manifest)),
        forward_(forwardFunction), setNumThreads_(setNumThreadsFunction),
        forwardLastLogits_(forwardLastLogitsFunction),
        forwardBatch_(forwardBatchFunction) {}
  void release();

  std::string path_;
  /// The dlopen handle; null once moved from.
  void *handle_ = nullptr;
  Manifest manifest_;
  ForwardFunction forward_ = nullptr;
  SetNumThreadsFunction setNumThreads_ = nullptr;
  ForwardLastLogitsFunction forwardLastLogits_ = nullptr;
  ForwardBatchFunction forwardBatch_ = nullptr;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_ARTIFACT_ARTIFACT_H
