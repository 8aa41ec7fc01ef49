//===- CApi.cpp - The runtime's C API -------------------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// jikji/runtime.h over Model, Sequence, SequenceBatch and the Sampler. Each
// entry point checks its arguments before anything runs
// (JIKJI_INVALID_ARGUMENT) and turns every Result's message into the thread's
// last error.
//
//===----------------------------------------------------------------------===//

#include "jikji/runtime.h"

#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/session/SequenceBatch.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;

/// The model, shared with the sequences made from it so that freeing the
/// model first does not leave them dangling.
struct jikji_model {
  std::shared_ptr<const Model> model;
};

struct jikji_sequence {
  std::shared_ptr<const Model> model;
  Sequence sequence;
};

struct jikji_batch {
  std::shared_ptr<const Model> model;
  SequenceBatch batch;
  /// jikji_batch_decode's feed flags, kept so that a step does not
  /// allocate.
  std::vector<bool> feeds;
};

namespace {

/// Per thread, so that two threads' failures do not overwrite each other's
/// message (as errno).
thread_local std::string lastError;

jikji_status fail(jikji_status status, const std::string &message) {
  lastError = message;
  return status;
}

} // namespace

extern "C" {

const char *jikji_last_error(void) { return lastError.c_str(); }

const char *jikji_status_name(jikji_status status) {
  switch (status) {
  case JIKJI_OK:
    return "JIKJI_OK";
  case JIKJI_INVALID_ARGUMENT:
    return "JIKJI_INVALID_ARGUMENT";
  case JIKJI_LOAD_FAILED:
    return "JIKJI_LOAD_FAILED";
  case JIKJI_WEIGHTS_MISMATCH:
    return "JIKJI_WEIGHTS_MISMATCH";
  case JIKJI_EXECUTION_FAILED:
    return "JIKJI_EXECUTION_FAILED";
  }
  return "unknown jikji_status";
}

jikji_status jikji_model_load(const char *artifact_path,
                              const char *weights_dir,
                              jikji_model **out_model) {
  return jikji_model_load_with_options(artifact_path, weights_dir, nullptr,
                                       out_model);
}

void jikji_model_options_init(jikji_model_options *options) {
  if (!options)
    return;
  ModelOptions defaults;
  options->num_threads = defaults.threads;
  options->device = JIKJI_DEVICE_CPU;
}

jikji_status jikji_model_load_with_options(const char *artifact_path,
                                           const char *weights_dir,
                                           const jikji_model_options *options,
                                           jikji_model **out_model) {
  if (!artifact_path || !weights_dir || !out_model)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_model_load: expected an artifact path, a weights "
                "folder and a place for the model, found a null pointer");
  *out_model = nullptr;
  ModelOptions modelOptions;
  if (options) {
    modelOptions.threads = options->num_threads;
    if (options->device != JIKJI_DEVICE_CPU &&
        options->device != JIKJI_DEVICE_CUDA)
      return fail(JIKJI_INVALID_ARGUMENT,
                  "jikji_model_load: options: device: expected "
                  "JIKJI_DEVICE_CPU (0) or JIKJI_DEVICE_CUDA (1), found " +
                      std::to_string(options->device));
    modelOptions.device =
        options->device == JIKJI_DEVICE_CUDA ? Device::Cuda : Device::Cpu;
  }
  Result<bool> validOptions = Model::checkOptions(modelOptions);
  if (!validOptions)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_model_load: options: " + validOptions.error());
  Result<Artifact> artifact = Artifact::open(artifact_path);
  if (!artifact)
    return fail(JIKJI_LOAD_FAILED, artifact.error());
  Result<bool> supported = Model::checkSupported(
      artifact->manifest(), artifact->path(), modelOptions.device);
  if (!supported)
    return fail(JIKJI_LOAD_FAILED, supported.error());
  Result<WeightStore> weights = WeightStore::open(weights_dir);
  if (!weights)
    return fail(JIKJI_LOAD_FAILED, weights.error());
  // The weights are checked against the artifact before the GPU is
  // touched, so a mismatch is reported as one; what fails after that
  // (the driver, the GPU, its memory) is a load failure.
  Result<bool> fits = Model::checkWeights(artifact->manifest(),
                                          artifact->path(), *weights);
  if (!fits)
    return fail(JIKJI_WEIGHTS_MISMATCH, fits.error());
  Result<Model> model =
      Model::create(std::move(*artifact), std::move(*weights), modelOptions);
  if (!model)
    return fail(JIKJI_LOAD_FAILED, model.error());
  *out_model = new jikji_model{std::make_shared<Model>(std::move(*model))};
  return JIKJI_OK;
}

void jikji_model_free(jikji_model *model) { delete model; }

jikji_status jikji_model_check_weights(const jikji_model *model) {
  if (!model)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_model_check_weights: expected a model, found a null "
                "pointer");
  Result<bool> finite = model->model->weights().checkFinite();
  if (!finite)
    return fail(JIKJI_LOAD_FAILED, finite.error());
  return JIKJI_OK;
}

int64_t jikji_model_vocab_size(const jikji_model *model) {
  return model ? model->model->vocabSize() : 0;
}

int64_t jikji_model_max_positions(const jikji_model *model) {
  return model ? model->model->maxPositions() : 0;
}

int32_t jikji_model_num_threads(const jikji_model *model) {
  return model ? model->model->threads() : 0;
}

int64_t jikji_model_eos_token_id(const jikji_model *model) {
  if (!model || !model->model->eosTokenId())
    return -1;
  return *model->model->eosTokenId();
}

jikji_status jikji_sequence_create(jikji_model *model, int64_t capacity,
                                   jikji_sequence **out_sequence) {
  if (!model || !out_sequence)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_sequence_create: expected a model and a place for the "
                "sequence, found a null pointer");
  *out_sequence = nullptr;
  Result<bool> fits = model->model->checkCapacity(capacity);
  if (!fits)
    return fail(JIKJI_INVALID_ARGUMENT, fits.error());
  Result<Sequence> sequence = Sequence::create(*model->model, capacity);
  if (!sequence)
    return fail(JIKJI_EXECUTION_FAILED, sequence.error());
  *out_sequence = new jikji_sequence{model->model, std::move(*sequence)};
  return JIKJI_OK;
}

void jikji_sequence_free(jikji_sequence *sequence) { delete sequence; }

int64_t jikji_sequence_length(const jikji_sequence *sequence) {
  return sequence ? sequence->sequence.length() : 0;
}

int64_t jikji_sequence_capacity(const jikji_sequence *sequence) {
  return sequence ? sequence->sequence.capacity() : 0;
}

void jikji_sequence_reset(jikji_sequence *sequence) {
  if (sequence)
    sequence->sequence.reset();
}

jikji_status jikji_sequence_forward(jikji_sequence *sequence,
                                    const int64_t *tokens, int64_t num_tokens,
                                    float *logits) {
  if (!sequence || !logits)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_sequence_forward: expected a sequence and a logits "
                "buffer, found a null pointer");
  Result<bool> valid = sequence->sequence.checkTokens(tokens, num_tokens);
  if (!valid)
    return fail(JIKJI_INVALID_ARGUMENT, valid.error());
  Result<bool> done =
      sequence->sequence.forwardInto(tokens, num_tokens, logits);
  if (!done)
    return fail(JIKJI_EXECUTION_FAILED, done.error());
  return JIKJI_OK;
}

jikji_status jikji_sequence_generate(jikji_sequence *sequence,
                                     const int64_t *prompt,
                                     int64_t prompt_length,
                                     int64_t max_new_tokens, double temperature,
                                     int64_t top_k, double top_p, uint64_t seed,
                                     int64_t *out_tokens, int64_t *out_count) {
  if (!sequence || !out_count || (max_new_tokens > 0 && !out_tokens))
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_sequence_generate: expected a sequence, room for the "
                "tokens and for their count, found a null pointer");
  *out_count = 0;
  SamplingOptions options;
  options.temperature = temperature;
  options.topK = top_k;
  options.topP = top_p;
  options.seed = seed;
  Sequence &target = sequence->sequence;
  Result<bool> valid =
      target.checkGenerate(prompt, prompt_length, max_new_tokens, options);
  if (!valid)
    return fail(JIKJI_INVALID_ARGUMENT, valid.error());
  Result<Generation> generation =
      target.generate(prompt, prompt_length, max_new_tokens, options,
                      target.model().eosTokenId());
  if (!generation)
    return fail(JIKJI_EXECUTION_FAILED, generation.error());
  for (size_t i = 0; i < generation->tokens.size(); ++i)
    out_tokens[i] = generation->tokens[i];
  *out_count = static_cast<int64_t>(generation->tokens.size());
  return JIKJI_OK;
}

jikji_status jikji_batch_create(jikji_model *model, int64_t num_slots,
                                int64_t capacity, jikji_batch **out_batch) {
  if (!model || !out_batch)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_batch_create: expected a model and a place for the "
                "batch, found a null pointer");
  *out_batch = nullptr;
  if (num_slots < 1)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_batch_create: expected at least 1 slot, found " +
                    std::to_string(num_slots));
  Result<bool> fits = model->model->checkCapacity(capacity);
  if (!fits)
    return fail(JIKJI_INVALID_ARGUMENT, fits.error());
  Result<SequenceBatch> batch =
      SequenceBatch::create(*model->model, num_slots, capacity);
  if (!batch)
    return fail(JIKJI_EXECUTION_FAILED, batch.error());
  *out_batch =
      new jikji_batch{model->model, std::move(*batch),
                      std::vector<bool>(static_cast<size_t>(num_slots))};
  return JIKJI_OK;
}

void jikji_batch_free(jikji_batch *batch) { delete batch; }

int64_t jikji_batch_num_slots(const jikji_batch *batch) {
  return batch ? batch->batch.slots() : 0;
}

int64_t jikji_batch_capacity(const jikji_batch *batch) {
  return batch ? batch->batch.capacity() : 0;
}

int64_t jikji_batch_length(const jikji_batch *batch, int64_t slot) {
  if (!batch || slot < 0 || slot >= batch->batch.slots())
    return 0;
  return batch->batch.length(slot);
}

jikji_status jikji_batch_reset(jikji_batch *batch, int64_t slot) {
  if (!batch)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_batch_reset: expected a batch, found a null pointer");
  Result<bool> done = batch->batch.reset(slot);
  if (!done)
    return fail(JIKJI_INVALID_ARGUMENT, done.error());
  return JIKJI_OK;
}

jikji_status jikji_batch_prefill(jikji_batch *batch, int64_t slot,
                                 const int64_t *tokens, int64_t num_tokens,
                                 float *logits) {
  if (!batch || !logits)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_batch_prefill: expected a batch and a logits buffer, "
                "found a null pointer");
  Result<bool> valid = batch->batch.checkTokens(slot, tokens, num_tokens);
  if (!valid)
    return fail(JIKJI_INVALID_ARGUMENT, valid.error());
  Result<bool> done = batch->batch.forwardInto(slot, tokens, num_tokens, logits,
                                               /*logitRows=*/1);
  if (!done)
    return fail(JIKJI_EXECUTION_FAILED, done.error());
  return JIKJI_OK;
}

jikji_status jikji_batch_decode(jikji_batch *batch, const int64_t *tokens,
                                const uint8_t *feeds, float *logits) {
  if (!batch || !logits)
    return fail(JIKJI_INVALID_ARGUMENT,
                "jikji_batch_decode: expected a batch and a logits buffer, "
                "found a null pointer");
  for (size_t slot = 0; slot < batch->feeds.size(); ++slot)
    batch->feeds[slot] = !feeds || feeds[slot] != 0;
  Result<bool> valid = batch->batch.checkDecode(tokens, batch->feeds);
  if (!valid)
    return fail(JIKJI_INVALID_ARGUMENT, valid.error());
  Result<bool> done = batch->batch.decodeInto(tokens, logits, batch->feeds);
  if (!done)
    return fail(JIKJI_EXECUTION_FAILED, done.error());
  return JIKJI_OK;
}

} // extern "C"
