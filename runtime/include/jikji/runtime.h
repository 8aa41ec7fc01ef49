/*===- jikji/runtime.h - The Jikji runtime's C API ----------------*- C -*-===*\
|*                                                                            *|
|* Part of Jikji, a compiler for DeepSeek models.                             *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Runs a model compiled by jikji-compile from a C or C++ program: load the   *|
|* artifact with its weights, create sequences, run forward steps or          *|
|* generate tokens. docs/runtime-c-api.md has a complete example.             *|
|*                                                                            *|
|* Every function that can fail returns a jikji_status; on failure,           *|
|* jikji_last_error() gives a message naming what was wrong, what was         *|
|* expected and what was found. Nothing aborts and nothing is thrown.         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef JIKJI_RUNTIME_H
#define JIKJI_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled model bound to its weights; immutable once loaded, so that
 *  sequences on several threads may share it. */
typedef struct jikji_model jikji_model;

/** One sequence of tokens with its own KV cache. Not for use by two threads
 *  at once; different sequences may run on different threads. */
typedef struct jikji_sequence jikji_sequence;

/** Several sequences ("slots") whose KV caches share one allocation, so
 *  that one decode step feeds them all in one call to the compiled code
 *  (when the artifact exports jikji_forward_batch). Not for use by two
 *  threads at once. */
typedef struct jikji_batch jikji_batch;

/** What a call did. Codes are stable; new ones may be added. */
typedef enum jikji_status {
  /** Success. */
  JIKJI_OK = 0,
  /** The caller's arguments: a null pointer, an empty prompt, a token id
   *  outside [0, vocab), more positions than the sequence's capacity or the
   *  model's context limit, bad sampling options. Nothing was run and the
   *  sequence is unchanged. */
  JIKJI_INVALID_ARGUMENT = 1,
  /** The artifact or the checkpoint could not be opened or read: a missing
   *  file, a library that is not a Jikji artifact, a corrupt safetensors
   *  file, NaN or infinite weights (jikji_model_check_weights). */
  JIKJI_LOAD_FAILED = 2,
  /** The weights do not fit the artifact: made for another config.json, or a
   *  tensor missing or of another dtype or shape. */
  JIKJI_WEIGHTS_MISMATCH = 3,
  /** Running failed: the compiled code returned an error, produced NaN or
   *  infinite logits, or memory ran out. The failed step is not part of the
   *  sequence (its length is as before that step), but the steps of a
   *  generate call before it are. */
  JIKJI_EXECUTION_FAILED = 4
} jikji_status;

/** The message of the most recent failed call on the calling thread, or ""
 *  when none has failed. Valid until the next failing call on this thread. */
const char *jikji_last_error(void);

/** A constant name for `status`: "JIKJI_OK", "JIKJI_INVALID_ARGUMENT", ... */
const char *jikji_status_name(jikji_status status);

/** Loads the artifact at `artifact_path` (a shared library written by
 *  jikji-compile) and binds the checkpoint in `weights_dir` (config.json and
 *  *.safetensors) to it. On success stores the model in `*out_model`. */
jikji_status jikji_model_load(const char *artifact_path,
                              const char *weights_dir, jikji_model **out_model);

/** Where a model runs. An artifact runs on the device of its target:
 *  `jikji-compile --target=cpu` on JIKJI_DEVICE_CPU, `--target=cuda` on
 *  JIKJI_DEVICE_CUDA. */
typedef enum jikji_device {
  /** The calling thread (and the artifact's threads). The default. */
  JIKJI_DEVICE_CPU = 0,
  /** The first CUDA GPU, through the CUDA driver (libcuda.so.1, or the
   *  library the JIKJI_CUDA_DRIVER environment variable names), loaded at
   *  run time: without it, loading fails with "no CUDA driver found". */
  JIKJI_DEVICE_CUDA = 1
} jikji_device;

/** How a model runs; fill with jikji_model_options_init, then change
 *  fields. */
typedef struct jikji_model_options {
  /** The threads the compiled code may use, 1 to 1024 (default 1). Only an
   *  artifact that exports jikji_set_num_threads uses more than one;
   *  jikji_model_num_threads tells the count in effect. The count belongs
   *  to the loaded artifact library, so models loaded from the same file
   *  share the latest one. */
  int32_t num_threads;
  /** The device, a jikji_device (default JIKJI_DEVICE_CPU). An int32_t so
   *  that the struct's layout does not depend on the enum's size, and an
   *  out-of-range value is an error, not undefined behaviour in C++. */
  int32_t device;
} jikji_model_options;

/** Sets every field of `options` to its default (null is ignored). */
void jikji_model_options_init(jikji_model_options *options);

/** As jikji_model_load, with `options` (null: the defaults). A field out of
 *  range is JIKJI_INVALID_ARGUMENT; an artifact for another device's target,
 *  a missing CUDA driver or GPU, or a failing driver call while loading is
 *  JIKJI_LOAD_FAILED. */
jikji_status jikji_model_load_with_options(const char *artifact_path,
                                           const char *weights_dir,
                                           const jikji_model_options *options,
                                           jikji_model **out_model);

/** Releases the caller's reference to `model` (null is ignored). Sequences
 *  created from it keep it alive until they are freed too. */
void jikji_model_free(jikji_model *model);

/** Checks every floating-point weight of the checkpoint for NaN and
 *  infinity and names the first bad element (JIKJI_LOAD_FAILED). It reads
 *  every byte of the weights, so it is opt-in: call it once after
 *  jikji_model_load when the checkpoint is not trusted to be finite. */
jikji_status jikji_model_check_weights(const jikji_model *model);

/** The vocabulary size: token ids are in [0, vocab) and each position's
 *  logits are vocab floats. */
int64_t jikji_model_vocab_size(const jikji_model *model);
/** The context limit: the most positions one sequence may hold. */
int64_t jikji_model_max_positions(const jikji_model *model);
/** The end-of-sequence token that stops generation, or -1 when the model
 *  has none. */
int64_t jikji_model_eos_token_id(const jikji_model *model);
/** The threads the model's code runs on: the options' num_threads when the
 *  artifact can use threads, otherwise 1 (0 for a null model). */
int32_t jikji_model_num_threads(const jikji_model *model);

/** Creates an empty sequence whose cache holds `capacity` positions, 1 to
 *  jikji_model_max_positions(model). */
jikji_status jikji_sequence_create(jikji_model *model, int64_t capacity,
                                   jikji_sequence **out_sequence);

/** Frees `sequence` and its cache (null is ignored). */
void jikji_sequence_free(jikji_sequence *sequence);

/** The positions filled so far. */
int64_t jikji_sequence_length(const jikji_sequence *sequence);
/** The positions the sequence may hold. */
int64_t jikji_sequence_capacity(const jikji_sequence *sequence);
/** Empties the sequence, keeping its cache for reuse. */
void jikji_sequence_reset(jikji_sequence *sequence);

/** Appends `num_tokens` tokens (at least 1) to the sequence in one step and
 *  writes their logits, num_tokens x vocab floats row-major, to `logits`. */
jikji_status jikji_sequence_forward(jikji_sequence *sequence,
                                    const int64_t *tokens, int64_t num_tokens,
                                    float *logits);

/** Appends the prompt (at least 1 token) in one step, then generates up to
 *  `max_new_tokens` tokens into `out_tokens` (room for max_new_tokens) and
 *  their number into `*out_count`. Stops after the model's end-of-sequence
 *  token, which is stored. The sequence must have room for its length +
 *  prompt_length + max_new_tokens positions. The last token generated is
 *  not fed back: to continue the sequence, start the next call's tokens
 *  with it.
 *
 *  temperature 0 picks greedily (top_k, top_p and seed must still be valid
 *  but do not matter); above 0, sampling keeps the `top_k` most likely
 *  tokens (0: all) and the smallest set whose probability reaches `top_p`
 *  (in (0, 1]; 1: all), drawing from a generator seeded with `seed`: one
 *  seed, one output. */
jikji_status jikji_sequence_generate(jikji_sequence *sequence,
                                     const int64_t *prompt,
                                     int64_t prompt_length,
                                     int64_t max_new_tokens, double temperature,
                                     int64_t top_k, double top_p, uint64_t seed,
                                     int64_t *out_tokens, int64_t *out_count);

/** Creates `num_slots` (at least 1) empty sequences of `capacity`
 *  positions each (1 to jikji_model_max_positions(model)), with one cache
 *  of num_slots x capacity positions. */
jikji_status jikji_batch_create(jikji_model *model, int64_t num_slots,
                                int64_t capacity, jikji_batch **out_batch);

/** Frees `batch` and its cache (null is ignored). */
void jikji_batch_free(jikji_batch *batch);

/** The batch's slots and the positions each may hold (0 for null). */
int64_t jikji_batch_num_slots(const jikji_batch *batch);
int64_t jikji_batch_capacity(const jikji_batch *batch);
/** The positions slot `slot` holds (0 for null or a slot out of range). */
int64_t jikji_batch_length(const jikji_batch *batch, int64_t slot);
/** Empties slot `slot`, keeping its cache for reuse. */
jikji_status jikji_batch_reset(jikji_batch *batch, int64_t slot);

/** Appends `num_tokens` tokens (at least 1) to slot `slot` in one step, as
 *  jikji_sequence_forward does for a sequence (a prompt's prefill), and
 *  writes the logits of the last of them, vocab floats, to `logits`. */
jikji_status jikji_batch_prefill(jikji_batch *batch, int64_t slot,
                                 const int64_t *tokens, int64_t num_tokens,
                                 float *logits);

/** One decode step: every slot b with feeds[b] nonzero (feeds null: every
 *  slot) appends tokens[b] and gets its logits in row b of `logits`,
 *  num_slots x vocab floats row-major; the other slots keep their length,
 *  their tokens[b] is not read and their rows hold nothing of use. When two
 *  or more slots feed and the artifact exports jikji_forward_batch, the
 *  step is one call to the compiled code; otherwise one call per feeding
 *  slot, with the same results. On failure no slot changes. */
jikji_status jikji_batch_decode(jikji_batch *batch, const int64_t *tokens,
                                const uint8_t *feeds, float *logits);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* JIKJI_RUNTIME_H */
