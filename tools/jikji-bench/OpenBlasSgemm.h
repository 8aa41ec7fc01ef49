//===- OpenBlasSgemm.h - The machine's matrix-product rate ------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Prefill is bound by arithmetic; its yardstick is OpenBLAS's sgemm on the
// same machine in the same run. OpenBLAS is loaded with dlopen, so that
// jikji-bench builds without it and says what is missing when it is not
// installed. It is a measuring stick only: generated code never calls it.
//
// Debian's OpenBLAS picks its kernels for the CPU at load time (a
// DYNAMIC_ARCH build; OPENBLAS_CORETYPE overrides the choice), so the
// report names the configuration it ran.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_OPENBLASSGEMM_H
#define JIKJI_TOOLS_JIKJI_BENCH_OPENBLASSGEMM_H

#include "frontends/huggingface/Result.h"

#include <string>

namespace jikji::bench {

/// libopenblas, loaded. Move-only; unloads in the destructor.
class OpenBlas {
public:
  /// The library names tried in turn (Debian's libopenblas0 package
  /// provides the first).
  static constexpr const char *kLibraryNames[] = {"libopenblas.so.0",
                                                  "libopenblas.so"};

  /// Loads OpenBLAS, or says which names were tried and how to install it.
  static Result<OpenBlas> load();

  OpenBlas(OpenBlas &&other) noexcept;
  OpenBlas &operator=(OpenBlas &&) = delete;
  OpenBlas(const OpenBlas &) = delete;
  ~OpenBlas();

  /// openblas_get_config(): version, build options and the kernels in use.
  std::string config() const;
  /// openblas_get_corename(): the kernels in use, e.g. "Cooperlake".
  std::string coreName() const;

  /// The best FLOP/s (2 n^3 per product) of `runs` products of two n x n
  /// float32 matrices on `threads` threads, after one untimed product (the
  /// limit is the machine's best, as for the bandwidth).
  double measureSgemm(int n, int threads, int runs) const;

private:
  using SgemmFunction = void (*)(int order, int transA, int transB, int m,
                                 int n, int k, float alpha, const float *a,
                                 int lda, const float *b, int ldb, float beta,
                                 float *c, int ldc);
  OpenBlas() = default;

  void *handle_ = nullptr;
  SgemmFunction sgemm_ = nullptr;
  void (*setNumThreads_)(int) = nullptr;
  const char *(*getConfig_)() = nullptr;
  const char *(*getCoreName_)() = nullptr;
};

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_OPENBLASSGEMM_H
