//===- SessionTest.cpp - Tests of artifacts, models and sequences ---------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Session.h"
#include "runtime/artifact/Artifact.h"
#include "runtime/artifact/ElfCheck.h"
#include "runtime/session/Model.h"
#include "runtime/session/Sequence.h"
#include "runtime/support/HostBuffer.h"

#include "test/Runtime/FakeModel.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::FakeModel;
using jikji::test::kFakeEos;
using jikji::test::kFakeMaxPositions;
using jikji::test::kFakeVocab;

namespace {

/// Loads the fake model, failing the test with the message if it does not.
std::optional<Model> loadFake(const FakeModel &fake) {
  Result<Model> model =
      Model::load(jikji::test::fakeArtifactPath(), fake.weightsDir());
  EXPECT_TRUE(model.ok()) << model.error();
  if (!model)
    return std::nullopt;
  return std::move(*model);
}

/// The error of a Result that must have failed.
template <typename T> std::string errorOf(const Result<T> &result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.error();
}

/// The fake's greedy token after a cache holding `tokens`: their sum mod
/// the vocabulary.
int64_t expectedNext(const std::vector<int64_t> &tokens) {
  int64_t sum = 0;
  for (int64_t token : tokens)
    sum += token;
  return sum % kFakeVocab;
}

float firstValue(const void *pointer) {
  float value;
  std::memcpy(&value, pointer, sizeof(value));
  return value;
}

} // namespace

//===----------------------------------------------------------------------===//
// Artifact
//===----------------------------------------------------------------------===//

// Tests that an artifact's manifest is read and its entry point found.
TEST(ArtifactTest, OpensFakeArtifact) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Result<Artifact> artifact = Artifact::open(jikji::test::fakeArtifactPath());
  ASSERT_TRUE(artifact.ok()) << artifact.error();
  EXPECT_EQ(artifact->manifest().vocabSize, kFakeVocab);
  EXPECT_EQ(artifact->manifest().parameters.size(), 3u);
  EXPECT_NE(artifact->forward(), nullptr);
  // Moving keeps the library loaded and the entry point valid.
  Artifact moved = std::move(*artifact);
  EXPECT_NE(moved.forward(), nullptr);
}

// Tests that each way of not being an artifact gets its own message.
TEST(ArtifactTest, RefusesWhatIsNotAnArtifact) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string missing = fake.directory().file("missing.so");
  EXPECT_EQ(errorOf(Artifact::open(missing)),
            missing + ": cannot open the artifact: No such file or directory");

  EXPECT_EQ(errorOf(Artifact::open(fake.weightsDir())),
            fake.weightsDir() +
                ": not a Jikji artifact: expected a shared library file, "
                "found a directory or special file");

  std::string config = fake.directory().file("config.json");
  EXPECT_NE(errorOf(Artifact::open(config))
                .find(config + ": cannot load the artifact: "),
            std::string::npos);

  std::string library = jikji::test::notAnArtifactPath();
  EXPECT_EQ(errorOf(Artifact::open(library)),
            library + ": not a Jikji artifact: no jikji_manifest symbol");
}

// Tests that a library cut short anywhere is refused before dlopen, which
// would raise SIGBUS mapping it, and that its ELF header is checked.
TEST(ArtifactTest, RefusesTruncatedAndForeignLibraries) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string library;
  ASSERT_TRUE(jikji::test::readFile(jikji::test::fakeArtifactPath(), library));
  ASSERT_GT(library.size(), 4096u);
  std::string path = fake.directory().file("cut.so");
  std::string prefix = path + ": cannot load the artifact: ";
  // Every 64th byte count, and the last few: all are refused, each as
  // truncated.
  std::vector<size_t> sizes;
  for (size_t size = 64; size < library.size(); size += 64)
    sizes.push_back(size);
  for (size_t cut = 1; cut <= 8; ++cut)
    sizes.push_back(library.size() - cut);
  for (size_t size : sizes) {
    ASSERT_TRUE(jikji::test::writeFile(path, library.substr(0, size)));
    std::string error = errorOf(Artifact::open(path));
    EXPECT_EQ(error.rfind(prefix + "truncated: ", 0), 0u)
        << size << " bytes: " << error;
  }
  ASSERT_TRUE(jikji::test::writeFile(path, library.substr(0, 40)));
  EXPECT_EQ(errorOf(Artifact::open(path)),
            prefix + "truncated: the file is 40 bytes, shorter than an ELF "
                     "header (64)");

  std::string executable = library;
  executable[16] = 2; // e_type ET_EXEC
  ASSERT_TRUE(jikji::test::writeFile(path, executable));
  EXPECT_EQ(errorOf(Artifact::open(path)),
            prefix + "expected a shared library (ELF type ET_DYN, 3), found "
                     "ELF type 2");
  std::string foreign = library;
  foreign[18] = 40; // e_machine EM_ARM
  foreign[19] = 0;
  ASSERT_TRUE(jikji::test::writeFile(path, foreign));
  EXPECT_EQ(errorOf(Artifact::open(path))
                .rfind(prefix + "built for ELF "
                                "machine 40; ",
                       0),
            0u);
  // The whole copy passes the check (its manifest is empty: the fake's
  // test hooks set only the original's).
  ASSERT_TRUE(jikji::test::writeFile(path, library));
  EXPECT_TRUE(checkSharedLibraryFile(path).ok());
}

// Tests that a bad manifest and a missing entry point are named.
TEST(ArtifactTest, RefusesBadManifestAndMissingEntryPoint) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string path = jikji::test::fakeArtifactPath();
  fake.setManifestText("[1]");
  EXPECT_EQ(errorOf(Artifact::open(path)),
            path + ": manifest: expected a JSON object, found [1]");

  Manifest manifest = fake.manifest();
  manifest.forwardEntryPoint = "jikji_forward_v2";
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(Artifact::open(path)),
            path + ": manifest 'entry_points.forward' names "
                   "'jikji_forward_v2', but the library exports no such "
                   "symbol");
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

// Tests that parameters are bound in place, one pointer per parameter and
// one per expert of a stacked parameter, wherever the experts lie.
TEST(ModelTest, BindsOnePointerPerExpert) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  const void *const *table = model->parameterTable();
  EXPECT_EQ(firstValue(table[0]), 100.0f);

  // `up` and `down`: each expert's own tensor in the mapping, in order.
  const char *names[] = {"experts.0.up.weight", "experts.1.up.weight",
                         "experts.0.down.weight", "experts.1.down.weight"};
  for (int i = 0; i < 4; ++i) {
    Result<TensorView> expert = model->weights().tensor(names[i]);
    ASSERT_TRUE(expert.ok());
    EXPECT_EQ(table[1 + i], expert->data) << names[i];
  }
  EXPECT_EQ(firstValue(table[2]), 300.0f);
  EXPECT_EQ(firstValue(table[4]), 600.0f);

  const WeightStats &stats = model->weightStats();
  EXPECT_EQ(stats.boundInPlaceBytes, (16u + 12u + 12u) * sizeof(float));
  EXPECT_EQ(stats.copiedBytes, 0u);
  EXPECT_EQ(stats.copiedParameters, 0);
  EXPECT_GT(stats.mappedFileBytes, (16u + 12u + 12u + 2u) * sizeof(float));

  // The artifact receives exactly this table.
  Result<Sequence> sequence = Sequence::create(*model, 4);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  int64_t token = 1;
  ASSERT_TRUE(sequence->forward(&token, 1).ok());
  EXPECT_EQ(fake.lastParams(), table);
}

// Tests that weights made for another config are refused with both digests.
TEST(ModelTest, RefusesWeightsOfAnotherConfig) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string otherConfig = jikji::test::fakeConfigText(16);
  ASSERT_TRUE(jikji::test::writeFile(fake.directory().file("config.json"),
                                     otherConfig));
  Result<hf::ModelConfig> config =
      hf::parseModelConfig(otherConfig, "config.json");
  ASSERT_TRUE(config.ok()) << config.error();
  std::string path = jikji::test::fakeArtifactPath();
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            fake.directory().file("config.json") +
                ": weights were made for another config: digest " +
                hf::configDigest(*config) + ", artifact " + path +
                " compiled for " + fake.manifest().configDigest);
}

// Tests that the first parameter the checkpoint cannot supply is named.
TEST(ModelTest, RefusesMismatchedParameters) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  Manifest manifest = fake.manifest();
  manifest.parameters[0].shape = {kFakeVocab, 3};
  fake.setManifest(manifest);
  std::string path = jikji::test::fakeArtifactPath();
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            fake.directory().file("model.safetensors") +
                ": tensor 'embed.weight' (manifest parameter 0): expected F32 "
                "[8, 3], found F32 [8, 2]");

  manifest = fake.manifest();
  manifest.parameters[2].name = "experts.*.gate.weight";
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            fake.weightsDir() +
                ": tensor 'experts.0.gate.weight' (expert 0 of manifest "
                "parameter 2 'experts.*.gate.weight'): not in the "
                "checkpoint");
}

// Tests that artifacts this runtime cannot run are refused, not run: an
// unknown target (by the manifest reader), a CUDA artifact on the CPU device (the CUDA device's
// tests are in CudaDeviceTest.cpp), a cache dtype other than F32.
TEST(ModelTest, RefusesUnsupportedTargetAndCache) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string path = jikji::test::fakeArtifactPath();
  Manifest manifest = fake.manifest();
  manifest.target = "tpu";
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            path + ": manifest 'target': expected \"cpu\" or \"cuda\", "
                   "found \"tpu\"");

  manifest = fake.manifest();
  manifest.target = "cuda";
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            path + ": artifact compiled for target 'cuda' runs on the CUDA "
                   "device, not on 'cpu' (jikji-run --device=cuda; C API: "
                   "device JIKJI_DEVICE_CUDA)");

  manifest = fake.manifest();
  manifest.kvCache.dtype = hf::DType::BF16;
  manifest.kvCache.bytesPerToken = 4;
  fake.setManifest(manifest);
  EXPECT_EQ(errorOf(Model::load(path, fake.weightsDir())),
            path + ": manifest 'kv_cache.dtype': expected \"F32\" (the only "
                   "cache dtype this runtime allocates), found \"BF16\"");
}

// Tests that a missing config.json is named.
TEST(ModelTest, RefusesCheckpointWithoutConfig) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::string configPath = fake.directory().file("config.json");
  ASSERT_EQ(std::remove(configPath.c_str()), 0);
  std::string error =
      errorOf(Model::load(jikji::test::fakeArtifactPath(), fake.weightsDir()));
  EXPECT_EQ(error.rfind(configPath, 0), 0u) << error;
}

//===----------------------------------------------------------------------===//
// Sequence
//===----------------------------------------------------------------------===//

// Tests that capacities outside 1 .. the context limit are refused.
TEST(SequenceTest, ChecksCapacity) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  EXPECT_EQ(errorOf(Sequence::create(*model, 0)),
            "sequence capacity 0: expected 1 to 16 positions (the model's "
            "context limit, max_position_embeddings)");
  EXPECT_FALSE(Sequence::create(*model, kFakeMaxPositions + 1).ok());
  Result<Sequence> full = Sequence::create(*model, kFakeMaxPositions);
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->cacheBytes(), kFakeMaxPositions * 8u);
}

// Tests that steps append to the cache: prefill, then one token at a time,
// each step's logits reading the rows of every earlier one.
TEST(SequenceTest, ForwardKeepsTheCache) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Result<Sequence> sequence = Sequence::create(*model, 8);
  ASSERT_TRUE(sequence.ok()) << sequence.error();

  std::vector<int64_t> prompt = {1, 2, 3};
  Result<std::vector<float>> logits = sequence->forward(prompt.data(), 3);
  ASSERT_TRUE(logits.ok()) << logits.error();
  ASSERT_EQ(logits->size(), 3u * kFakeVocab);
  // Row 1 saw tokens 1 and 2; row 2 saw all three.
  EXPECT_EQ((*logits)[1 * kFakeVocab + 3], 1.0f);
  EXPECT_EQ((*logits)[2 * kFakeVocab + 6], 1.0f);
  EXPECT_EQ(sequence->length(), 3);

  int64_t next = 7;
  logits = sequence->forward(&next, 1);
  ASSERT_TRUE(logits.ok()) << logits.error();
  EXPECT_EQ((*logits)[expectedNext({1, 2, 3, 7})], 1.0f);
  EXPECT_EQ(sequence->length(), 4);

  sequence->reset();
  EXPECT_EQ(sequence->length(), 0);
  logits = sequence->forward(&next, 1);
  ASSERT_TRUE(logits.ok()) << logits.error();
  EXPECT_EQ((*logits)[7], 1.0f);
}

// Tests that a step can ask for the last tokens' logits only: through the
// artifact's jikji_forward_last_logits, or, for an artifact without it (an
// older compiler's), by keeping the last rows of every token's; and that a
// row count out of range is refused before anything runs.
TEST(SequenceTest, ForwardsLastLogitsOnly) {
  for (bool exported : {true, false}) {
    SCOPED_TRACE(exported ? "exported" : "fallback");
    FakeModel fake(exported ? jikji::test::fakeArtifactPath()
                            : jikji::test::fakeArtifactNoThreadsPath());
    ASSERT_TRUE(fake.ready());
    Result<Model> model = Model::load(fake.artifactPath(), fake.weightsDir());
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->artifact().forwardLastLogits() != nullptr, exported);
    Result<Sequence> sequence = Sequence::create(*model, 8);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    int64_t callsBefore = fake.lastLogitsCalls();

    std::vector<int64_t> prompt = {1, 2, 3};
    std::vector<float> logits(2 * kFakeVocab, -1.0f);
    Result<bool> done = sequence->forwardInto(prompt.data(), 3, logits.data(),
                                              /*logitRows=*/2);
    ASSERT_TRUE(done.ok()) << done.error();
    // The rows of tokens 2 and 3: sums 3 and 6.
    EXPECT_EQ(logits[3], 1.0f);
    EXPECT_EQ(logits[kFakeVocab + 6], 1.0f);
    EXPECT_EQ(sequence->length(), 3);
    EXPECT_EQ(fake.lastLogitsCalls(), exported ? callsBefore + 1 : -1);

    int64_t next = 4;
    EXPECT_EQ(errorOf(sequence->forwardInto(&next, 1, logits.data(), 2)),
              "logit rows: expected 1 to 1 (the tokens of the step), found 2");
    EXPECT_EQ(errorOf(sequence->forwardInto(&next, 1, logits.data(), 0)),
              "logit rows: expected 1 to 1 (the tokens of the step), found 0");
    EXPECT_EQ(sequence->length(), 3);
  }
}

// Tests that bad tokens and lengths are refused before the artifact runs,
// and leave the sequence as it was.
TEST(SequenceTest, RefusesBadTokensBeforeRunning) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Result<Sequence> sequence = Sequence::create(*model, 4);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  std::vector<int64_t> tokens = {1, 8, 2};
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 3)),
            "token 1 (position 1) is 8; expected an id in [0, 8)");
  tokens = {1, -1};
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 2)),
            "token 1 (position 1) is -1; expected an id in [0, 8)");
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 0)),
            "expected at least one token, found 0");
  tokens = {1, 1, 1, 1, 1};
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 5)),
            "sequence of capacity 4 holds 0 positions; 5 more tokens would "
            "need 5");
  EXPECT_EQ(sequence->length(), 0);
}

// Tests that a failing artifact and non-finite logits are reported and the
// failed step does not join the sequence.
TEST(SequenceTest, ReportsArtifactFailures) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Result<Sequence> sequence = Sequence::create(*model, 8);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  std::string path = jikji::test::fakeArtifactPath();
  std::vector<int64_t> tokens = {1, 2};

  fake.setFailures(7, -1);
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 2)),
            path + ": jikji_forward returned status 7 for 2 tokens at "
                   "position 0");
  EXPECT_EQ(sequence->length(), 0);

  fake.setFailures(0, 1);
  EXPECT_EQ(errorOf(sequence->forward(tokens.data(), 2)),
            path + ": non-finite logits: logit 0 of token 1 (position 1) is "
                   "NaN; expected finite values");
  EXPECT_EQ(sequence->length(), 0);

  fake.setFailures(0, -1);
  EXPECT_TRUE(sequence->forward(tokens.data(), 2).ok());
  EXPECT_EQ(sequence->length(), 2);
}

// Tests greedy generation: prefill in one step, then one step per token,
// stopping at the end-of-sequence token or the budget.
TEST(SequenceTest, GeneratesGreedily) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  std::vector<int64_t> prompt = {1, 2};

  // 1+2 = 3, 3+3 = 6, 6+6 = 12 -> 4 (the end-of-sequence token).
  Result<Sequence> sequence = Sequence::create(*model, 8);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  Result<Generation> generation =
      sequence->generate(prompt.data(), 2, 6, {}, model->eosTokenId());
  ASSERT_TRUE(generation.ok()) << generation.error();
  EXPECT_EQ(generation->tokens, (std::vector<int64_t>{3, 6, kFakeEos}));
  EXPECT_TRUE(generation->stoppedAtEos);
  EXPECT_EQ(generation->stats.prefillTokens, 2);
  EXPECT_EQ(generation->stats.decodeTokens, 2);
  // The last token is returned, not fed.
  EXPECT_EQ(sequence->length(), 4);

  // Without an end-of-sequence token: 12+4 = 16 -> 0, then 0 again.
  Result<Sequence> longer = Sequence::create(*model, 8);
  ASSERT_TRUE(longer.ok()) << longer.error();
  generation = longer->generate(prompt.data(), 2, 6, {}, std::nullopt);
  ASSERT_TRUE(generation.ok()) << generation.error();
  EXPECT_EQ(generation->tokens, (std::vector<int64_t>{3, 6, 4, 0, 0, 0}));
  EXPECT_FALSE(generation->stoppedAtEos);

  // maxNewTokens 0 prefills only.
  Result<Sequence> prefillOnly = Sequence::create(*model, 2);
  ASSERT_TRUE(prefillOnly.ok()) << prefillOnly.error();
  generation = prefillOnly->generate(prompt.data(), 2, 0, {}, std::nullopt);
  ASSERT_TRUE(generation.ok()) << generation.error();
  EXPECT_TRUE(generation->tokens.empty());
  EXPECT_EQ(prefillOnly->length(), 2);
}

// Tests that sampling with one seed gives one output.
TEST(SequenceTest, SamplesReproducibly) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  std::vector<int64_t> prompt = {1, 2};
  SamplingOptions options;
  options.temperature = 5;
  options.seed = 42;
  std::vector<std::vector<int64_t>> outputs;
  for (int run = 0; run < 2; ++run) {
    Result<Sequence> sequence = Sequence::create(*model, 10);
    ASSERT_TRUE(sequence.ok()) << sequence.error();
    Result<Generation> generation =
        sequence->generate(prompt.data(), 2, 8, options, std::nullopt);
    ASSERT_TRUE(generation.ok()) << generation.error();
    outputs.push_back(generation->tokens);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0].size(), 8u);
}

// Tests that generate() refuses bad arguments before running anything.
TEST(SequenceTest, ChecksGenerateArguments) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Result<Sequence> sequence = Sequence::create(*model, 6);
  ASSERT_TRUE(sequence.ok()) << sequence.error();
  std::vector<int64_t> prompt = {1, 2, 9};
  EXPECT_EQ(errorOf(sequence->generate(prompt.data(), 0, 2, {}, {})),
            "the prompt is empty; expected at least one token");
  EXPECT_EQ(errorOf(sequence->generate(prompt.data(), 3, 2, {}, {})),
            "token 2 (position 2) is 9; expected an id in [0, 8)");
  prompt[2] = 3;
  EXPECT_EQ(errorOf(sequence->generate(prompt.data(), 3, 4, {}, {})),
            "a prompt of 3 tokens and 4 new tokens need 0 + 3 + 4 positions; "
            "the sequence has a capacity of 6");
  EXPECT_EQ(errorOf(sequence->generate(prompt.data(), 3, -1, {}, {})),
            "maximum new tokens: expected a number >= 0, found -1");
  SamplingOptions options;
  options.topP = 0;
  EXPECT_FALSE(sequence->generate(prompt.data(), 3, 2, options, {}).ok());
  EXPECT_EQ(sequence->length(), 0);
}

//===----------------------------------------------------------------------===//
// Session
//===----------------------------------------------------------------------===//

// Tests that a batch runs each prompt on its own slot of one cache, held
// for all prompts at once.
TEST(SessionTest, RunsPromptsIndependently) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Session session(*model);
  std::vector<std::vector<int64_t>> prompts = {{1, 2}, {5}, {1, 2}};
  Result<BatchGeneration> batch =
      session.generateBatch(prompts, 3, {}, std::nullopt);
  ASSERT_TRUE(batch.ok()) << batch.error();
  ASSERT_EQ(batch->sequences.size(), 3u);
  EXPECT_EQ(batch->sequences[0].tokens, (std::vector<int64_t>{3, 6, 4}));
  // 5, 5+5 = 10 -> 2, 10+2 = 12 -> 4.
  EXPECT_EQ(batch->sequences[1].tokens, (std::vector<int64_t>{5, 2, 4}));
  EXPECT_EQ(batch->sequences[2].tokens, batch->sequences[0].tokens);
  // Three slots of the longest prompt + 3 positions, 8 bytes each.
  EXPECT_EQ(batch->slotCapacity, 5);
  EXPECT_EQ(batch->peakCacheBytes, 3u * 5u * 8u);
}

// Tests that every prompt is checked before any runs, naming the bad one.
TEST(SessionTest, ChecksEveryPromptFirst) {
  FakeModel fake;
  ASSERT_TRUE(fake.ready());
  std::optional<Model> model = loadFake(fake);
  ASSERT_TRUE(model);
  Session session(*model);
  EXPECT_EQ(errorOf(session.checkBatch({{1}, {}}, 2, {})),
            "prompt 1: the prompt is empty; expected at least one token");
  EXPECT_EQ(errorOf(session.checkBatch({{1}, {1, 8}}, 2, {})),
            "prompt 1: token 1 (position 1) is 8; expected an id in [0, 8)");
  EXPECT_EQ(errorOf(session.checkBatch({{1, 2, 3}}, 14, {})),
            "prompt 0: 3 prompt tokens + 14 new tokens = 17 positions, "
            "beyond the model's context limit of 16");
  EXPECT_EQ(errorOf(session.checkBatch({}, 2, {})),
            "expected at least one prompt, found none");
  EXPECT_TRUE(session.checkBatch({{1, 2, 3}}, 13, {}).ok());
}

//===----------------------------------------------------------------------===//
// HostBuffer
//===----------------------------------------------------------------------===//

// Tests that buffers are zeroed and that an impossible size is a message,
// not an abort.
TEST(HostBufferTest, AllocatesZeroedOrReports) {
  Result<HostBuffer> buffer = HostBuffer::allocate(64, "a test");
  ASSERT_TRUE(buffer.ok()) << buffer.error();
  const auto *bytes = static_cast<const unsigned char *>(buffer->data());
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(bytes[i], 0);
  HostBuffer moved = std::move(*buffer);
  EXPECT_EQ(moved.size(), 64u);
  EXPECT_EQ(buffer->data(), nullptr);

  EXPECT_EQ(errorOf(HostBuffer::allocate(uint64_t(1) << 62, "a huge cache")),
            "cannot allocate 4611686018427387904 bytes for a huge cache: out "
            "of memory");
}
