//===- gpu-bench.cu - The GPU's own yardsticks for utils/gpu-check.sh -----===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Measures, as references for Jikji's kernels (issue #7's targets are
// fractions of these), on GPU 0:
//   - device copy bandwidth: cuMemcpyDtoD of 1 GiB (far beyond the L2),
//     counting the bytes read and written;
//   - the library peak of a BF16 matrix product, 4096^3 with float32
//     accumulation, through cuBLAS (cublasGemmEx), as a measurement only.
// cuBLAS is loaded with dlopen (JIKJI_CUBLAS, then libcublas.so.13 on the
// library path, then /usr/local/cuda), so that a machine without it still
// gets the bandwidth; the line then says why there is no product figure.
//
// Built by `utils/gpu-check.sh pack` with nvcc; prints "key: value" lines
// the script reads.
//
//===----------------------------------------------------------------------===//

#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#define CHECK_RUNTIME(call)                                                    \
  do {                                                                         \
    cudaError_t status = (call);                                               \
    if (status != cudaSuccess) {                                               \
      std::printf("error: %s failed: %s\n", #call, cudaGetErrorName(status));  \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

#define CHECK_DRIVER(call)                                                     \
  do {                                                                         \
    CUresult status = (call);                                                  \
    if (status != CUDA_SUCCESS) {                                              \
      const char *name = "unknown";                                            \
      cuGetErrorName(status, &name);                                           \
      std::printf("error: %s failed: %s\n", #call, name);                      \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

/// Fills `count` values with small pseudo-random numbers: a product of
/// zeros runs faster than one of real data (fewer bit flips).
__global__ void fillBf16(__nv_bfloat16 *values, size_t count, unsigned seed) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= count)
    return;
  unsigned state = static_cast<unsigned>(i) * 2654435761u + seed;
  state ^= state >> 13;
  state *= 0x5bd1e995u;
  state ^= state >> 15;
  values[i] = __float2bfloat16((state & 0xffff) / 65536.0f - 0.5f);
}

/// Milliseconds between two events recorded around `body`.
template <typename Body> float timed(Body body) {
  cudaEvent_t start, stop;
  CHECK_RUNTIME(cudaEventCreate(&start));
  CHECK_RUNTIME(cudaEventCreate(&stop));
  CHECK_RUNTIME(cudaEventRecord(start));
  body();
  CHECK_RUNTIME(cudaEventRecord(stop));
  CHECK_RUNTIME(cudaEventSynchronize(stop));
  float milliseconds = 0;
  CHECK_RUNTIME(cudaEventElapsedTime(&milliseconds, start, stop));
  CHECK_RUNTIME(cudaEventDestroy(start));
  CHECK_RUNTIME(cudaEventDestroy(stop));
  return milliseconds;
}

void measureCopy() {
  const size_t bytes = size_t(1) << 30;
  const int repeats = 10;
  CUdeviceptr source = 0, destination = 0;
  CHECK_DRIVER(cuMemAlloc(&source, bytes));
  CHECK_DRIVER(cuMemAlloc(&destination, bytes));
  CHECK_DRIVER(cuMemsetD8(source, 1, bytes));
  for (int i = 0; i < 3; ++i)
    CHECK_DRIVER(cuMemcpyDtoD(destination, source, bytes));
  float milliseconds = timed([&] {
    for (int i = 0; i < repeats; ++i)
      CHECK_DRIVER(cuMemcpyDtoD(destination, source, bytes));
  });
  double gigabytes = 2.0 * bytes * repeats / 1e9;
  std::printf("copy_bytes: %zu\n", bytes);
  std::printf("copy_gbps: %.1f\n", gigabytes / (milliseconds / 1e3));
  CHECK_DRIVER(cuMemFree(source));
  CHECK_DRIVER(cuMemFree(destination));
}

/// cuBLAS's entry points, as cublas_v2.h declares them.
struct Cublas {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  // cublasGemmEx is overloaded in C++; the exported one takes a
  // cublasComputeType_t.
  cublasStatus_t (*gemmEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                           int, int, int, const void *, const void *,
                           cudaDataType, int, const void *, cudaDataType, int,
                           const void *, void *, cudaDataType, int,
                           cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
};

/// Opens cuBLAS; on failure returns false with the reason in `why`.
bool openCublas(Cublas &cublas, std::string &why) {
  const char *configured = std::getenv("JIKJI_CUBLAS");
  const char *candidates[] = {configured, "libcublas.so.13",
                              "/usr/local/cuda/lib64/libcublas.so.13"};
  void *handle = nullptr;
  for (const char *candidate : candidates) {
    if (!candidate || !*candidate)
      continue;
    handle = dlopen(candidate, RTLD_NOW | RTLD_LOCAL);
    if (handle)
      break;
    why += std::string(why.empty() ? "" : "; ") + dlerror();
  }
  if (!handle)
    return false;
  cublas.create = reinterpret_cast<decltype(cublas.create)>(
      dlsym(handle, "cublasCreate_v2"));
  cublas.destroy = reinterpret_cast<decltype(cublas.destroy)>(
      dlsym(handle, "cublasDestroy_v2"));
  cublas.gemmEx =
      reinterpret_cast<decltype(cublas.gemmEx)>(dlsym(handle, "cublasGemmEx"));
  if (!cublas.create || !cublas.destroy || !cublas.gemmEx) {
    why = "libcublas lacks cublasCreate_v2, cublasDestroy_v2 or cublasGemmEx";
    return false;
  }
  return true;
}

void measureGemm() {
  Cublas cublas;
  std::string why;
  if (!openCublas(cublas, why)) {
    std::printf("cublas_unavailable: %s\n", why.c_str());
    return;
  }
  const int n = 4096;
  const int repeats = 20;
  const size_t count = size_t(n) * n;
  __nv_bfloat16 *a, *b, *c;
  CHECK_RUNTIME(cudaMalloc(&a, count * sizeof(__nv_bfloat16)));
  CHECK_RUNTIME(cudaMalloc(&b, count * sizeof(__nv_bfloat16)));
  CHECK_RUNTIME(cudaMalloc(&c, count * sizeof(__nv_bfloat16)));
  unsigned blocks = static_cast<unsigned>((count + 255) / 256);
  fillBf16<<<blocks, 256>>>(a, count, 1);
  fillBf16<<<blocks, 256>>>(b, count, 2);
  CHECK_RUNTIME(cudaGetLastError());
  cublasHandle_t handle;
  if (cublas.create(&handle) != CUBLAS_STATUS_SUCCESS) {
    std::printf("cublas_unavailable: cublasCreate failed\n");
    return;
  }
  float alpha = 1.0f, beta = 0.0f;
  cublasStatus_t status = CUBLAS_STATUS_SUCCESS;
  auto product = [&] {
    cublasStatus_t s =
        cublas.gemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a,
                      CUDA_R_16BF, n, b, CUDA_R_16BF, n, &beta, c, CUDA_R_16BF,
                      n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS)
      status = s;
  };
  for (int i = 0; i < 3; ++i)
    product();
  float milliseconds = timed([&] {
    for (int i = 0; i < repeats; ++i)
      product();
  });
  if (status != CUBLAS_STATUS_SUCCESS) {
    std::printf("cublas_unavailable: cublasGemmEx failed with status %d\n",
                static_cast<int>(status));
  } else {
    double flops = 2.0 * n * n * static_cast<double>(n) * repeats;
    std::printf("gemm_shape: %dx%dx%d bf16, f32 accumulation\n", n, n, n);
    std::printf("gemm_tflops: %.1f\n", flops / (milliseconds / 1e3) / 1e12);
  }
  cublas.destroy(handle);
  CHECK_RUNTIME(cudaFree(a));
  CHECK_RUNTIME(cudaFree(b));
  CHECK_RUNTIME(cudaFree(c));
}

int main() {
  CHECK_RUNTIME(cudaSetDevice(0));
  CHECK_RUNTIME(cudaFree(nullptr)); // Creates the primary context.
  cudaDeviceProp properties;
  CHECK_RUNTIME(cudaGetDeviceProperties(&properties, 0));
  std::printf("gpu: %s (sm_%d%d, %d SMs)\n", properties.name, properties.major,
              properties.minor, properties.multiProcessorCount);
  measureCopy();
  measureGemm();
  return 0;
}
