//===- OpenBlasSgemm.cpp - The machine's matrix-product rate --------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/OpenBlasSgemm.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <dlfcn.h>

using namespace jikji;
using namespace jikji::bench;

namespace {
// CBLAS's enumerators (cblas.h): row-major, no transposition.
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
} // namespace

Result<OpenBlas> OpenBlas::load() {
  OpenBlas blas;
  std::string tried;
  for (const char *name : kLibraryNames) {
    blas.handle_ = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (blas.handle_)
      break;
    tried += std::string(tried.empty() ? "" : ", ") + name;
  }
  if (!blas.handle_)
    return Error("OpenBLAS not found (tried " + tried +
                 "); install Debian's libopenblas0-pthread (utils/setup.sh "
                 "does) to measure the sgemm rate");
  blas.sgemm_ =
      reinterpret_cast<SgemmFunction>(::dlsym(blas.handle_, "cblas_sgemm"));
  blas.setNumThreads_ = reinterpret_cast<void (*)(int)>(
      ::dlsym(blas.handle_, "openblas_set_num_threads"));
  blas.getConfig_ = reinterpret_cast<const char *(*)()>(
      ::dlsym(blas.handle_, "openblas_get_config"));
  blas.getCoreName_ = reinterpret_cast<const char *(*)()>(
      ::dlsym(blas.handle_, "openblas_get_corename"));
  if (!blas.sgemm_ || !blas.setNumThreads_ || !blas.getConfig_ ||
      !blas.getCoreName_)
    return Error("the OpenBLAS library found lacks cblas_sgemm, "
                 "openblas_set_num_threads, openblas_get_config or "
                 "openblas_get_corename");
  return Result<OpenBlas>(std::move(blas));
}

OpenBlas::OpenBlas(OpenBlas &&other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), sgemm_(other.sgemm_),
      setNumThreads_(other.setNumThreads_), getConfig_(other.getConfig_),
      getCoreName_(other.getCoreName_) {}

OpenBlas::~OpenBlas() {
  if (handle_)
    ::dlclose(handle_);
}

std::string OpenBlas::config() const {
  const char *text = getConfig_();
  return text ? text : "";
}

std::string OpenBlas::coreName() const {
  const char *text = getCoreName_();
  return text ? text : "";
}

double OpenBlas::measureSgemm(int n, int threads, int runs) const {
  size_t count = static_cast<size_t>(n) * static_cast<size_t>(n);
  std::vector<float> a(count), b(count), c(count, 0.0f);
  // Values of either sign in [-1, 1), so that nothing overflows or goes
  // denormal.
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 8388608.0f - 1.0f;
  };
  for (size_t i = 0; i < count; ++i) {
    a[i] = next();
    b[i] = next();
  }
  setNumThreads_(std::max(threads, 1));
  auto product = [&] {
    auto start = std::chrono::steady_clock::now();
    sgemm_(kCblasRowMajor, kCblasNoTrans, kCblasNoTrans, n, n, n, 1.0f,
           a.data(), n, b.data(), n, 0.0f, c.data(), n);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  product();
  double best = 0;
  for (int i = 0; i < std::max(runs, 1); ++i)
    best = std::max(best, 2.0 * n * static_cast<double>(n) * n / product());
  return best;
}
