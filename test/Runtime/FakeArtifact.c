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
|* Its "model": the KV cache has one layer and two tensors of one float per   *|
|* position; a step writes each token id into tensor 0 and its position       *|
|* into tensor 1, and the logits of a token are one-hot at (the sum of        *|
|* every token id in the cache so far) mod vocab. So the greedy output        *|
|* proves that earlier steps' cache rows were kept and read.                  *|
|*                                                                            *|
|* Built with JIKJI_FAKE_NO_MANIFEST it exports no jikji_manifest: a shared   *|
|* library that is not an artifact. Built with JIKJI_FAKE_NO_THREADS it       *|
|* exports neither jikji_set_num_threads nor jikji_forward_last_logits: an    *|
|* artifact of an older compiler, which runs on one thread.                   *|
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

/* The count of the last jikji_set_num_threads call (0: never called). */
int32_t jikji_test_num_threads(void) { return numThreads; }

#ifndef JIKJI_FAKE_NO_THREADS
void jikji_set_num_threads(int32_t num_threads) { numThreads = num_threads; }
#endif

#ifndef JIKJI_FAKE_NO_MANIFEST
const char *jikji_manifest(void) { return manifestText; }
#endif

int32_t jikji_forward(const void *const *params, const int64_t *tokens,
                      int64_t num_tokens, int64_t start, void *const *caches,
                      int64_t cache_capacity, float *logits) {
  float *tokenCache = (float *)caches[0];
  float *positionCache = (float *)caches[1];
  int64_t i, row, v;
  ++calls;
  lastParams = params;
  if (forcedStatus != 0)
    return forcedStatus;
  if (start < 0 || num_tokens < 1 || start + num_tokens > cache_capacity)
    return 99;
  for (i = 0; i < num_tokens; ++i) {
    tokenCache[start + i] = (float)tokens[i];
    positionCache[start + i] = (float)(start + i);
  }
  for (i = 0; i < num_tokens; ++i) {
    int64_t sum = 0;
    for (row = 0; row <= start + i; ++row) {
      /* A row whose position is wrong was not written by this sequence. */
      if (positionCache[row] != (float)row)
        return 98;
      sum += (int64_t)tokenCache[row];
    }
    for (v = 0; v < vocabSize; ++v)
      logits[i * vocabSize + v] = v == sum % vocabSize ? 1.0f : 0.0f;
    if (start + i == nanAtPosition)
      logits[i * vocabSize] = NAN;
  }
  return 0;
}

#ifndef JIKJI_FAKE_NO_THREADS
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
  every = (float *)malloc((size_t)(num_tokens * vocabSize) * sizeof(float));
  if (!every)
    return 96;
  status = jikji_forward(params, tokens, num_tokens, start, caches,
                         cache_capacity, every);
  if (status == 0)
    memcpy(logits, every + (num_tokens - num_logits) * vocabSize,
           (size_t)(num_logits * vocabSize) * sizeof(float));
  free(every);
  return status;
}
#endif
