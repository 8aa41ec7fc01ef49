/*===- FakeArtifact.c - A stand-in for a compiled model -----------*- C -*-===*\
|*                                                                            *|
|* Part of Jikji, a compiler for DeepSeek models.                             *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The runtime's unit tests load this library instead of a model compiled     *|
|* by jikji-compile, so that they run without the compiler and can make the   *|
|* artifact misbehave on purpose. It exports the artifact ABI of              *|
|* docs/runtime-abi.md plus jikji_test_* hooks the tests call through their   *|
|* own dlopen of the same file (which shares this library's state).           *|
|*                                                                            *|
|* Its "model": the KV cache has two tensors, of `layers` layers (1 unless    *|
|* a test sets the cache shape) and `values` floats per position (1 unless    *|
|* set); a step writes each token id into every value of its row in tensor    *|
|* 0 and its position into tensor 1, in every layer, and the logits of a      *|
|* token are one-hot at (the sum of every token id in the cache so far) mod   *|
|* vocab. A step checks every value of every row it reads, so the greedy      *|
|* output proves that earlier steps' cache rows were kept and read, and that  *|
|* no other sequence's step wrote over them.                                  *|
|*                                                                            *|
|* jikji_forward_batch runs the same model for a batch of sequences, one      *|
|* token each, over cache slots laid out as docs/runtime-abi.md states.       *|
|*                                                                            *|
|* Built with JIKJI_FAKE_CUDA it is a CUDA artifact as well (a test sets the  *|
|* manifest's target to "cuda"): it exports a tiny image (PTX, and a cubin    *|
|* that is an ELF header followed by the kernel names) and jikji_cuda_bind,   *|
|* and each step allocates a buffer through the bound functions, launches     *|
|* fake_check_managed_6 on every pointer it was given (the fake driver,       *|
|* FakeCudaDriver.c, refuses any that is not managed memory) and an empty     *|
|* kernel (grid 0, which the runtime must skip), writes the buffer from the   *|
|* host and frees it. Its jikji_forward_batch does the same with              *|
|* fake_check_managed_9, given the last element of every array the batch      *|
|* spans (the tokens, the positions, each cache's last slot, the logits'      *|
|* last row), so that a batch's buffers must be managed memory end to end.    *|
|*                                                                            *|
|* Built with JIKJI_FAKE_NO_MANIFEST it exports no jikji_manifest: a shared   *|
|* library that is not an artifact. Built with JIKJI_FAKE_NO_THREADS it       *|
|* exports none of jikji_set_num_threads, jikji_forward_last_logits and       *|
|* jikji_forward_batch: an artifact of an older compiler, which runs on one   *|
|* thread. Built with JIKJI_FAKE_NO_BATCH (also together with                 *|
|* JIKJI_FAKE_CUDA: a CUDA artifact of a compiler that did not export it) it  *|
|* exports all but jikji_forward_batch.                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *manifestText = "";
static int64_t vocabSize = 1;
static int32_t forcedStatus = 0;
static int64_t nanAtPosition = -1;
static const void *const *lastParams = 0;
static int64_t calls = 0;
static int32_t numThreads = 0;
static int64_t lastLogitsCalls = 0;
static int64_t batchCalls = 0;
static int64_t cacheLayers = 1;
static int64_t cacheValues = 1;

/* Sets what jikji_manifest returns (the caller keeps `text` alive) and the
 * vocabulary the logits have. */
void jikji_test_set_manifest(const char *text, int64_t vocab) {
  manifestText = text;
  vocabSize = vocab;
}

/* Makes jikji_forward return `status` (0: normal), and write a NaN logit for
 * the token at `nan_position` (-1: never). */
void jikji_test_set_failures(int32_t status, int64_t nan_position) {
  forcedStatus = status;
  nanAtPosition = nan_position;
}

/* The params table of the last jikji_forward call. */
const void *const *jikji_test_last_params(void) { return lastParams; }

/* How many times jikji_forward has been called. */
int64_t jikji_test_calls(void) { return calls; }

/* How many times jikji_forward_last_logits has been called. */
int64_t jikji_test_last_logits_calls(void) { return lastLogitsCalls; }

/* How many times jikji_forward_batch has been called. */
int64_t jikji_test_batch_calls(void) { return batchCalls; }

/* Sets the cache's layers and floats per position of each tensor (the
 * manifest the test sets must say the same). */
void jikji_test_set_cache_shape(int64_t layers, int64_t values) {
  cacheLayers = layers;
  cacheValues = values;
}

/* The count of the last jikji_set_num_threads call (0: never called). */
int32_t jikji_test_num_threads(void) { return numThreads; }

#ifndef JIKJI_FAKE_NO_THREADS
void jikji_set_num_threads(int32_t num_threads) { numThreads = num_threads; }
#endif

#ifndef JIKJI_FAKE_NO_MANIFEST
const char *jikji_manifest(void) { return manifestText; }
#endif

#ifdef JIKJI_FAKE_CUDA
/* docs/runtime-abi.md's table. */
typedef struct JikjiCudaApi {
  void *context;
  void *(*alloc)(void *context, int64_t bytes);
  void (*free)(void *context, void *pointer);
  void (*launch)(void *context, const char *name, int64_t grid_x,
                 int64_t grid_y, int64_t grid_z, int64_t block_x,
                 int64_t block_y, int64_t block_z, int32_t shared_bytes,
                 void **params, int64_t num_params);
  void (*synchronize)(void *context);
} JikjiCudaApi;

static const JikjiCudaApi *cudaApi = 0;

void jikji_cuda_bind(const JikjiCudaApi *api) { cudaApi = api; }

static const char cudaArch[] = "sm_90";
static const char cudaPtx[] =
    "//\n.version 8.0\n.target sm_90\n.address_size 64\n"
    ".visible .entry fake_check_managed_6(\n.param .u64 a\n)\n{\nret;\n}\n"
    ".visible .entry fake_check_managed_9(\n.param .u64 a\n)\n{\nret;\n}\n"
    ".visible .entry fake_empty(\n)\n{\nret;\n}\n";
/* An ELF header whose section header table (none) starts at byte 128, so
 * the image is 128 bytes: the header, then the kernel names. */
/* clang-format off */
static const unsigned char cudaCubin[128] = {
    0x7f, 'E', 'L', 'F', 2, 1, 1, 0, [0x28] = 128, [0x3A] = 64,
    [64] = 'f', 'a', 'k', 'e', '_', 'c', 'h', 'e', 'c', 'k', '_', 'm', 'a',
    'n', 'a', 'g', 'e', 'd', '_', '6', 0, 'f', 'a', 'k', 'e', '_', 'e', 'm',
    'p', 't', 'y', 0, 'f', 'a', 'k', 'e', '_', 'c', 'h', 'e', 'c', 'k', '_',
    'm', 'a', 'n', 'a', 'g', 'e', 'd', '_', '9', 0};
/* clang-format on */

/* What jikji_cuda_arch returns; a test may replace it (testArch). */
static const char *testArch = 0;
/* How the next steps misuse the runtime's functions (0: they do not). */
static int32_t cudaMisuse = 0;
/* Whether a step synchronizes within (1) or not (0). */
static int32_t cudaWaits = 1;

/* Makes jikji_cuda_arch return `arch` (null: "sm_90"). */
void jikji_test_set_cuda_arch(const char *arch) { testArch = arch; }

/* 1: launch with a block of -1 threads; 2: allocate 0 bytes; 3: free the
 * buffer twice; 0: none of these. */
void jikji_test_set_cuda_misuse(int32_t misuse) { cudaMisuse = misuse; }

/* 1 (the default): a step synchronizes after each launch and then reads and
 * writes its scratch buffer from the host; 0: it does neither, one stream
 * of work from allocation to free, as compiled artifacts' steps are. */
void jikji_test_set_cuda_waits(int32_t waits) { cudaWaits = waits; }

const void *jikji_cuda_arch(uint64_t *size) {
  const char *arch = testArch ? testArch : cudaArch;
  if (size)
    *size = strlen(arch);
  return arch;
}
const void *jikji_cuda_ptx(uint64_t *size) {
  if (size)
    *size = sizeof(cudaPtx) - 1;
  return cudaPtx;
}
const void *jikji_cuda_cubin(uint64_t *size) {
  if (size)
    *size = sizeof(cudaCubin);
  return cudaCubin;
}

/* What a compiled step does through the runtime's functions: allocates a
 * scratch buffer of `work` x 8 bytes, launches `kernel`
 * (fake_check_managed_N) on grid `work` with the N - 1 `pointers` and the
 * scratch as its arguments, then an empty kernel, and writes the scratch
 * from the host. */
static int32_t runFakeKernels(const char *kernel, const void *const *pointers,
                              int count, int64_t work) {
  void *context, *scratch, *arguments[9];
  const void *values[9];
  int i;
  if (!cudaApi)
    return 97;
  if (count > 8)
    return 94;
  context = cudaApi->context;
  scratch = cudaApi->alloc(context, cudaMisuse == 2 ? 0 : work * 8);
  if (!scratch)
    return 96;
  for (i = 0; i < count; ++i)
    values[i] = pointers[i];
  values[count] = scratch;
  for (i = 0; i <= count; ++i)
    arguments[i] = (void *)&values[i];
  cudaApi->launch(context, kernel, work, 1, 1, cudaMisuse == 1 ? -1 : 32, 1, 1,
                  0, arguments, count + 1);
  if (cudaWaits)
    cudaApi->synchronize(context);
  cudaApi->launch(context, "fake_empty", 0, 1, 1, 32, 1, 1, 0, 0, 0);
  if (cudaWaits)
    cudaApi->synchronize(context);
  /* Host code between kernels reads and writes the buffers it allocated:
   * they come zeroed, also when the runtime reuses one an earlier step
   * left dirty. */
  if (cudaWaits && cudaMisuse != 2) {
    size_t j;
    for (j = 0; j < (size_t)work * 8; ++j)
      if (((const unsigned char *)scratch)[j] != 0)
        return 95;
    memset(scratch, 0x5A, (size_t)work * 8);
  }
  cudaApi->free(context, scratch);
  if (cudaMisuse == 3)
    cudaApi->free(context, scratch);
  return 0;
}
#endif

/* The element of value `value` of position `position` in layer `layer` of
 * a cache tensor of `capacity` positions. */
static int64_t cacheIndex(int64_t layer, int64_t position, int64_t capacity,
                          int64_t value) {
  return (layer * capacity + position) * cacheValues + value;
}

/* Writes `token` at `position` in every layer of one sequence's caches. */
static void writeRow(float *tokenCache, float *positionCache, int64_t token,
                     int64_t position, int64_t capacity) {
  int64_t layer, value;
  for (layer = 0; layer < cacheLayers; ++layer)
    for (value = 0; value < cacheValues; ++value) {
      int64_t at = cacheIndex(layer, position, capacity, value);
      tokenCache[at] = (float)token;
      positionCache[at] = (float)position;
    }
}

/* Writes the logits row of the token at `position` of one sequence, after
 * its row was written; 98 when a row it reads was not written by this
 * sequence's steps. */
static int32_t writeLogits(const float *tokenCache, const float *positionCache,
                           int64_t position, int64_t capacity, float *logits) {
  int64_t sum = 0, row, layer, value, v;
  for (row = 0; row <= position; ++row) {
    float token = tokenCache[cacheIndex(0, row, capacity, 0)];
    for (layer = 0; layer < cacheLayers; ++layer)
      for (value = 0; value < cacheValues; ++value) {
        int64_t at = cacheIndex(layer, row, capacity, value);
        /* A row whose position is wrong was not written by this sequence. */
        if (positionCache[at] != (float)row || tokenCache[at] != token)
          return 98;
      }
    sum += (int64_t)token;
  }
  for (v = 0; v < vocabSize; ++v)
    logits[v] = v == sum % vocabSize ? 1.0f : 0.0f;
  if (position == nanAtPosition)
    logits[0] = NAN;
  return 0;
}

int32_t jikji_forward(const void *const *params, const int64_t *tokens,
                      int64_t num_tokens, int64_t start, void *const *caches,
                      int64_t cache_capacity, float *logits) {
  float *tokenCache = (float *)caches[0];
  float *positionCache = (float *)caches[1];
  int64_t i;
  ++calls;
  lastParams = params;
  if (forcedStatus != 0)
    return forcedStatus;
  if (start < 0 || num_tokens < 1 || start + num_tokens > cache_capacity)
    return 99;
#ifdef JIKJI_FAKE_CUDA
  {
    const void *pointers[5];
    int32_t status;
    pointers[0] = params;
    pointers[1] = tokens;
    pointers[2] = caches[0];
    pointers[3] = caches[1];
    pointers[4] = logits;
    status = runFakeKernels("fake_check_managed_6", pointers, 5, num_tokens);
    if (status)
      return status;
  }
#endif
  for (i = 0; i < num_tokens; ++i)
    writeRow(tokenCache, positionCache, tokens[i], start + i, cache_capacity);
  for (i = 0; i < num_tokens; ++i) {
    int32_t status = writeLogits(tokenCache, positionCache, start + i,
                                 cache_capacity, logits + i * vocabSize);
    if (status)
      return status;
  }
  return 0;
}

#if !defined(JIKJI_FAKE_NO_THREADS) && !defined(JIKJI_FAKE_NO_BATCH)
/* One decode step of `batch` sequences: sequence b's caches are slot b of
 * each tensor, layers x capacity x values floats after slot b - 1's. */
int32_t jikji_forward_batch(const void *const *params, const int64_t *tokens,
                            const int64_t *positions, int64_t batch,
                            void *const *caches, int64_t cache_capacity,
                            float *logits) {
  int64_t slotFloats = cacheLayers * cache_capacity * cacheValues, b;
  ++batchCalls;
  lastParams = params;
  if (forcedStatus != 0)
    return forcedStatus;
  if (batch < 1)
    return 99;
  for (b = 0; b < batch; ++b)
    if (positions[b] < 0 || positions[b] >= cache_capacity)
      return 99;
#ifdef JIKJI_FAKE_CUDA
  {
    /* The first and last element of each array, so that every slot of the
     * caches and every row of the logits is managed memory. */
    const void *pointers[8];
    int32_t status;
    pointers[0] = params;
    pointers[1] = tokens + batch - 1;
    pointers[2] = positions + batch - 1;
    pointers[3] = caches[0];
    pointers[4] = (float *)caches[0] + batch * slotFloats - 1;
    pointers[5] = caches[1];
    pointers[6] = (float *)caches[1] + batch * slotFloats - 1;
    pointers[7] = logits + batch * vocabSize - 1;
    status = runFakeKernels("fake_check_managed_9", pointers, 8, batch);
    if (status)
      return status;
  }
#endif
  /* Every row first, then every read, as one step of a compiled batch. */
  for (b = 0; b < batch; ++b)
    writeRow((float *)caches[0] + b * slotFloats,
             (float *)caches[1] + b * slotFloats, tokens[b], positions[b],
             cache_capacity);
  for (b = 0; b < batch; ++b) {
    int32_t status =
        writeLogits((const float *)caches[0] + b * slotFloats,
                    (const float *)caches[1] + b * slotFloats, positions[b],
                    cache_capacity, logits + b * vocabSize);
    if (status)
      return status;
  }
  return 0;
}
#endif

#ifndef JIKJI_FAKE_NO_THREADS
/* Scratch memory of a step: from the runtime on the GPU, where kernels may
 * read it, else from malloc. */
static float *allocateScratch(size_t bytes) {
#ifdef JIKJI_FAKE_CUDA
  return cudaApi ? (float *)cudaApi->alloc(cudaApi->context, (int64_t)bytes)
                 : 0;
#else
  return (float *)malloc(bytes);
#endif
}
static void freeScratch(float *scratch) {
#ifdef JIKJI_FAKE_CUDA
  cudaApi->free(cudaApi->context, scratch);
#else
  free(scratch);
#endif
}

/* jikji_forward, keeping the last `num_logits` rows of logits only. */
int32_t jikji_forward_last_logits(const void *const *params,
                                  const int64_t *tokens, int64_t num_tokens,
                                  int64_t start, void *const *caches,
                                  int64_t cache_capacity, float *logits,
                                  int64_t num_logits) {
  float *every;
  int32_t status;
  ++lastLogitsCalls;
  if (num_logits < 1 || num_logits > num_tokens)
    return 97;
  every = allocateScratch((size_t)(num_tokens * vocabSize) * sizeof(float));
  if (!every)
    return 96;
  status = jikji_forward(params, tokens, num_tokens, start, caches,
                         cache_capacity, every);
  if (status == 0)
    memcpy(logits, every + (num_tokens - num_logits) * vocabSize,
           (size_t)(num_logits * vocabSize) * sizeof(float));
  freeScratch(every);
  return status;
}
#endif
