//===- FakeCuda.h - The CUDA device's tests on a fake driver ----*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// What the CUDA device's tests share: FakeDriver points the runtime at
// FakeCudaDriver.c and reads its counters, FakeCudaModel is FakeArtifact.c
// built as a CUDA artifact with its test hooks, OnFakeDriver a fixture of
// both.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TEST_RUNTIME_FAKECUDA_H
#define JIKJI_TEST_RUNTIME_FAKECUDA_H

#include "runtime/session/Model.h"

#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <dlfcn.h>

namespace jikji::test {

inline const char *const kFakeVariables[] = {
    "JIKJI_CUDA_DRIVER",          "JIKJI_FAKE_CUDA_FAIL",
    "JIKJI_FAKE_CUDA_DEVICES",    "JIKJI_FAKE_CUDA_CC",
    "JIKJI_FAKE_CUDA_FREE_BYTES", "JIKJI_FAKE_CUDA_COUNT_LIVE"};

/// Points the runtime at the fake driver for the test's life, holds the
/// fake loaded (so its counters outlive the runtime's handle) and clears
/// every variable afterwards.
class FakeDriver {
public:
  FakeDriver() {
    ::setenv("JIKJI_CUDA_DRIVER", JIKJI_FAKE_CUDA_DRIVER, 1);
    handle_ = ::dlopen(JIKJI_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_LOCAL);
    if (handle_)
      state_ = reinterpret_cast<int64_t (*)(const char *)>(
          ::dlsym(handle_, "jikji_fake_cuda_state"));
  }
  FakeDriver(const FakeDriver &) = delete;
  FakeDriver &operator=(const FakeDriver &) = delete;
  ~FakeDriver() {
    for (const char *name : kFakeVariables)
      ::unsetenv(name);
    if (handle_)
      ::dlclose(handle_);
  }

  bool ready() const { return state_ != nullptr; }
  int64_t state(const char *name) const { return state_(name); }
  /// Makes the `nth` next call of `call` fail with `code`.
  void failCall(const std::string &call, int nth, int code) {
    ::setenv(
        "JIKJI_FAKE_CUDA_FAIL",
        (call + ":" + std::to_string(nth) + ":" + std::to_string(code)).c_str(),
        1);
  }
  void clearFailure() { ::unsetenv("JIKJI_FAKE_CUDA_FAIL"); }

  /// Expects nothing live in the driver and no bad free.
  void expectNothingLive() const {
    EXPECT_EQ(state("allocations"), 0);
    EXPECT_EQ(state("contexts"), 0);
    EXPECT_EQ(state("streams"), 0);
    EXPECT_EQ(state("modules"), 0);
    EXPECT_EQ(state("events"), 0);
    EXPECT_EQ(state("bad_frees"), 0);
    EXPECT_EQ(state("capturing"), 0);
    EXPECT_EQ(state("graphs"), 0);
    EXPECT_EQ(state("graph_execs"), 0);
  }

private:
  void *handle_ = nullptr;
  int64_t (*state_)(const char *) = nullptr;
};

/// The fake artifact built as a CUDA artifact, with target "cuda": by
/// default the build with jikji_forward_batch, or the one at
/// `artifactPath`.
class FakeCudaModel : public FakeModel {
public:
  explicit FakeCudaModel(const char *artifactPath = JIKJI_FAKE_CUDA_ARTIFACT)
      : FakeModel(artifactPath) {
    setCudaTarget();
    handle_ = ::dlopen(artifactPath, RTLD_NOW | RTLD_LOCAL);
    setArch(nullptr);
    setMisuse(0);
  }
  ~FakeCudaModel() {
    if (!handle_)
      return;
    setArch(nullptr);
    setMisuse(0);
    setWaits(true);
    ::dlclose(handle_);
  }

  /// FakeModel::setCacheShape, keeping the target "cuda".
  void setCacheShape(int64_t layers, int64_t values) {
    FakeModel::setCacheShape(layers, values);
    setCudaTarget();
  }

  /// See jikji_test_set_cuda_arch and jikji_test_set_cuda_misuse in
  /// FakeArtifact.c.
  void setArch(const char *arch) {
    if (auto set = reinterpret_cast<void (*)(const char *)>(
            ::dlsym(handle_, "jikji_test_set_cuda_arch")))
      set(arch);
  }
  void setMisuse(int32_t misuse) {
    if (auto set = reinterpret_cast<void (*)(int32_t)>(
            ::dlsym(handle_, "jikji_test_set_cuda_misuse")))
      set(misuse);
  }
  /// See jikji_test_set_cuda_waits: whether a step synchronizes within
  /// (the default) or is one stream of work, as compiled artifacts' steps.
  void setWaits(bool waits) {
    if (auto set = reinterpret_cast<void (*)(int32_t)>(
            ::dlsym(handle_, "jikji_test_set_cuda_waits")))
      set(waits ? 1 : 0);
  }

private:
  void setCudaTarget() {
    runtime::Manifest cuda = manifest();
    cuda.target = "cuda";
    setManifest(cuda);
  }

  void *handle_ = nullptr;
};

inline runtime::ModelOptions onCuda() {
  runtime::ModelOptions options;
  options.device = runtime::Device::Cuda;
  return options;
}

inline Result<runtime::Model>
loadOnCuda(const FakeModel &fake,
           const runtime::ModelOptions &options = onCuda()) {
  return runtime::Model::load(fake.artifactPath(), fake.weightsDir(), options);
}

template <typename T> inline std::string errorOf(const Result<T> &result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.error();
}

/// A test on the fake driver with the fake model: both ready before the
/// test, and nothing of the driver's left live after it (the test's models
/// and sequences are gone by then).
class OnFakeDriver : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(driver.ready());
    ASSERT_TRUE(fake.ready());
  }
  void TearDown() override { driver.expectNothingLive(); }

  FakeDriver driver;
  FakeCudaModel fake;
};

} // namespace jikji::test

#endif // JIKJI_TEST_RUNTIME_FAKECUDA_H
