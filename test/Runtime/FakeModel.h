//===- FakeModel.h - A fake artifact with a matching checkpoint -*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The session and C API tests run on FakeArtifact.c (a library with the
// artifact ABI and a trivial model) and a small checkpoint written for it,
// so that they need neither the compiler nor ../shared. FakeModel sets the
// fake's manifest through its test hooks and writes the checkpoint; each
// test then breaks one thing.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TEST_RUNTIME_FAKEMODEL_H
#define JIKJI_TEST_RUNTIME_FAKEMODEL_H

#include "frontends/huggingface/ModelConfig.h"
#include "runtime/artifact/Manifest.h"
#include "runtime/support/ReferenceFile.h"

#include "test/Unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <dlfcn.h>

namespace jikji::test {

/// The fake artifact library and its twin without jikji_manifest, from the
/// build.
inline std::string fakeArtifactPath() { return JIKJI_FAKE_ARTIFACT; }
inline std::string notAnArtifactPath() { return JIKJI_NOT_AN_ARTIFACT; }
/// The fake without jikji_set_num_threads.
inline std::string fakeArtifactNoThreadsPath() {
  return JIKJI_FAKE_ARTIFACT_NO_THREADS;
}
/// The fake without jikji_forward_batch.
inline std::string fakeArtifactNoBatchPath() {
  return JIKJI_FAKE_ARTIFACT_NO_BATCH;
}

/// The fake's vocabulary, context limit and end-of-sequence token.
constexpr int64_t kFakeVocab = 8;
constexpr int64_t kFakeMaxPositions = 16;
constexpr int64_t kFakeEos = 4;

/// A valid config.json for the fake: a tiny V3 with the sizes above.
inline std::string fakeConfigText(int64_t vocab = kFakeVocab) {
  return R"({
  "architectures": ["DeepseekV3ForCausalLM"],
  "model_type": "deepseek_v3",
  "vocab_size": )" +
         std::to_string(vocab) + R"(,
  "hidden_size": 8,
  "intermediate_size": 16,
  "moe_intermediate_size": 4,
  "num_hidden_layers": 1,
  "num_attention_heads": 2,
  "n_shared_experts": 1,
  "n_routed_experts": 2,
  "num_experts_per_tok": 1,
  "n_group": 1,
  "topk_group": 1,
  "q_lora_rank": null,
  "kv_lora_rank": 4,
  "qk_nope_head_dim": 2,
  "qk_rope_head_dim": 2,
  "v_head_dim": 2,
  "max_position_embeddings": )" +
         std::to_string(kFakeMaxPositions) + R"(,
  "rms_norm_eps": 1e-06,
  "eos_token_id": 4
})";
}

/// The fake's manifest: a plain parameter, a stacked one whose experts the
/// checkpoint stores back to back, and a stacked one whose experts it does
/// not.
inline runtime::Manifest fakeManifest(const std::string &configDigest) {
  runtime::Manifest manifest;
  manifest.configDigest = configDigest;
  manifest.modelType = "deepseek_v3";
  manifest.vocabSize = kFakeVocab;
  manifest.hiddenSize = 8;
  manifest.numLayers = 1;
  manifest.maxPositionEmbeddings = kFakeMaxPositions;
  manifest.eosTokenId = kFakeEos;
  manifest.parameters = {
      {"embed.weight", hf::DType::F32, {kFakeVocab, 2}, 0},
      {"experts.*.up.weight", hf::DType::F32, {2, 2, 3}, 2},
      {"experts.*.down.weight", hf::DType::F32, {2, 3, 2}, 2},
  };
  manifest.kvCache.layers = 1;
  manifest.kvCache.dtype = hf::DType::F32;
  manifest.kvCache.tensors = {{"tokens", {1}}, {"positions", {1}}};
  manifest.kvCache.valuesPerTokenPerLayer = 2;
  manifest.kvCache.bytesPerToken = 8;
  return manifest;
}

/// The value of element `index` of checkpoint tensor `base`: base + index,
/// so that a test can tell which tensor a pointer reads.
inline std::vector<float> countingValues(float base, size_t count) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i)
    values[i] = base + static_cast<float>(i);
  return values;
}

/// The fake artifact with its manifest set, and a checkpoint folder for it.
/// The test's own dlopen of the fake shares the library (and its state)
/// with the runtime's.
class FakeModel {
public:
  /// The fake at `artifactPath`: fakeArtifactPath() or
  /// fakeArtifactNoThreadsPath().
  explicit FakeModel(std::string artifactPath = fakeArtifactPath())
      : artifactPath_(std::move(artifactPath)) {
    handle_ = ::dlopen(artifactPath_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      return;
    setManifest_ = reinterpret_cast<void (*)(const char *, int64_t)>(
        ::dlsym(handle_, "jikji_test_set_manifest"));
    setFailures_ = reinterpret_cast<void (*)(int32_t, int64_t)>(
        ::dlsym(handle_, "jikji_test_set_failures"));
    lastParams_ = reinterpret_cast<const void *const *(*)()>(
        ::dlsym(handle_, "jikji_test_last_params"));
    Result<hf::ModelConfig> config =
        hf::parseModelConfig(fakeConfigText(), "config.json");
    if (config)
      manifest_ = fakeManifest(hf::configDigest(*config));
    filesWritten_ =
        writeFile(directory_.file("config.json"), fakeConfigText()) &&
        writeCheckpoint();
    setCacheShape_ = reinterpret_cast<void (*)(int64_t, int64_t)>(
        ::dlsym(handle_, "jikji_test_set_cache_shape"));
    // The library's state outlives a test: each starts from the defaults.
    if (setCacheShape_)
      setCacheShape_(1, 1);
    setManifest(manifest_);
    setFailures(0, -1);
  }
  FakeModel(const FakeModel &) = delete;
  FakeModel &operator=(const FakeModel &) = delete;
  ~FakeModel() {
    if (handle_) {
      setFailures(0, -1);
      if (setCacheShape_)
        setCacheShape_(1, 1);
      ::dlclose(handle_);
    }
  }

  /// True when the fake loaded and the fixture is complete.
  bool ready() const {
    return handle_ && setManifest_ && setFailures_ && lastParams_ &&
           setCacheShape_ && !manifest_.configDigest.empty() && filesWritten_;
  }

  const std::string &artifactPath() const { return artifactPath_; }
  const std::string &weightsDir() const { return directory_.path(); }
  const TempDir &directory() const { return directory_; }
  const runtime::Manifest &manifest() const { return manifest_; }

  /// Makes the fake report `manifest` from now on.
  void setManifest(const runtime::Manifest &manifest) {
    setManifestText(runtime::writeManifestJson(manifest));
  }
  /// Makes the fake report `text` as its manifest.
  void setManifestText(std::string text) {
    manifestText_ = std::move(text);
    setManifest_(manifestText_.c_str(), kFakeVocab);
  }
  /// Gives the fake's cache `layers` layers and `values` floats per
  /// position in each of its two tensors, in the manifest and in the fake.
  void setCacheShape(int64_t layers, int64_t values) {
    manifest_.kvCache.layers = layers;
    manifest_.kvCache.tensors = {{"tokens", {values}}, {"positions", {values}}};
    manifest_.kvCache.valuesPerTokenPerLayer = 2 * values;
    manifest_.kvCache.bytesPerToken = layers * 2 * values * 4;
    setCacheShape_(layers, values);
    setManifest(manifest_);
  }
  /// See jikji_test_set_failures in FakeArtifact.c.
  void setFailures(int32_t status, int64_t nanPosition) {
    setFailures_(status, nanPosition);
  }
  /// The params table the fake last received.
  const void *const *lastParams() const { return lastParams_(); }
  /// The count of the fake's last jikji_set_num_threads call (0: none).
  int32_t numThreadsSet() const {
    auto numThreads = reinterpret_cast<int32_t (*)()>(
        ::dlsym(handle_, "jikji_test_num_threads"));
    return numThreads ? numThreads() : -1;
  }

  /// How many times the fake's jikji_forward_last_logits ran (-1: the fake
  /// has none).
  int64_t lastLogitsCalls() const {
    auto calls = reinterpret_cast<int64_t (*)()>(
        ::dlsym(handle_, "jikji_forward_last_logits")
            ? ::dlsym(handle_, "jikji_test_last_logits_calls")
            : nullptr);
    return calls ? calls() : -1;
  }

  /// How many times the fake's jikji_forward_batch ran (-1: the fake has
  /// none).
  int64_t batchCalls() const {
    auto calls = reinterpret_cast<int64_t (*)()>(
        ::dlsym(handle_, "jikji_forward_batch")
            ? ::dlsym(handle_, "jikji_test_batch_calls")
            : nullptr);
    return calls ? calls() : -1;
  }
  /// How many times the fake's jikji_forward ran.
  int64_t forwardCalls() const {
    auto calls =
        reinterpret_cast<int64_t (*)()>(::dlsym(handle_, "jikji_test_calls"));
    return calls ? calls() : -1;
  }

private:
  /// embed.weight, the `up` experts back to back, and the `down` experts
  /// with embed.weight's twin between them.
  bool writeCheckpoint() {
    runtime::TensorFileWriter writer;
    auto add = [&](const std::string &name, std::vector<int64_t> shape,
                   float base) {
      size_t count = 1;
      for (int64_t dim : shape)
        count *= static_cast<size_t>(dim);
      std::vector<float> values = countingValues(base, count);
      writer.addFloats(name, std::move(shape), values.data());
    };
    add("embed.weight", {kFakeVocab, 2}, 100);
    add("experts.0.up.weight", {2, 3}, 200);
    add("experts.1.up.weight", {2, 3}, 300);
    add("experts.0.down.weight", {3, 2}, 400);
    add("unused.weight", {2}, 500);
    add("experts.1.down.weight", {3, 2}, 600);
    return writer.write(directory_.file("model.safetensors")).ok();
  }

  std::string artifactPath_;
  TempDir directory_;
  void *handle_ = nullptr;
  void (*setManifest_)(const char *, int64_t) = nullptr;
  void (*setFailures_)(int32_t, int64_t) = nullptr;
  const void *const *(*lastParams_)() = nullptr;
  void (*setCacheShape_)(int64_t, int64_t) = nullptr;
  runtime::Manifest manifest_;
  std::string manifestText_;
  bool filesWritten_ = false;
};

} // namespace jikji::test

#endif // JIKJI_TEST_RUNTIME_FAKEMODEL_H
