//===- ReferenceFileTest.cpp - Tests of reference and logits files --------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/ReferenceFile.h"

#include "test/Unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;
using jikji::test::sharedDir;
using jikji::test::TempDir;

// Tests reading the three reference files: shapes consistent with their
// metadata, token ids in range, and greedy tokens that are the argmax of the
// prefill logits at the last prompt position (a property of the reference,
// not of this reader's own output).
TEST(ReferenceFileTest, ReadsSharedReferences) {
  for (const char *name : {"tiny-v3", "tiny-v2-lite", "tiny-v3-fp8"}) {
    std::string path =
        sharedDir() + "/reference/" + name + "/reference.safetensors";
    JIKJI_REQUIRE_SHARED(path);
    Result<ReferenceOutputs> outputs = readReferenceFile(path);
    ASSERT_TRUE(outputs.ok()) << outputs.error();
    EXPECT_GE(outputs->batch, 1) << name;
    EXPECT_GE(outputs->promptLen, 1) << name;
    EXPECT_GE(outputs->decodeSteps, 1) << name;
    EXPECT_EQ(outputs->vocabSize, 1024) << name;
    for (int64_t b = 0; b < outputs->batch; ++b) {
      const float *last = outputs->prefillRow(b, outputs->promptLen - 1);
      int64_t best = 0;
      for (int64_t v = 1; v < outputs->vocabSize; ++v)
        if (last[v] > last[best])
          best = v;
      EXPECT_EQ(outputs->greedyTokens[b * outputs->decodeSteps], best)
          << name << " sequence " << b;
    }
  }
}

// Tests that a written file reads back bit for bit, with its metadata.
TEST(ReferenceFileTest, WritesAndReadsBack) {
  TempDir dir;
  std::string path = dir.file("logits.safetensors");
  const int64_t batch = 2, prompt = 3, steps = 2, vocab = 5;
  std::vector<int64_t> tokens(batch * (prompt + steps));
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int64_t>(i % vocab);
  std::vector<float> prefill(batch * prompt * vocab),
      decode(batch * steps * vocab);
  for (size_t i = 0; i < prefill.size(); ++i)
    prefill[i] = std::sin(static_cast<float>(i)) * 3;
  for (size_t i = 0; i < decode.size(); ++i)
    decode[i] = std::cos(static_cast<float>(i)) / 7;
  // Greedy tokens: the argmax of the last prompt position, then anything.
  std::vector<int64_t> greedy = {0, 1, 0, 2};
  for (int64_t b = 0; b < batch; ++b) {
    const float *last = prefill.data() + (b * prompt + prompt - 1) * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (last[v] > last[best])
        best = v;
    greedy[b * steps] = best;
  }
  std::vector<float> margins = {0.5f, 1e-3f, -0.0f,
                                std::numeric_limits<float>::denorm_min()};

  TensorFileWriter writer;
  writer.addInt64s("tokens", {batch, prompt + steps}, tokens.data());
  writer.addFloats("prefill_logits", {batch, prompt, vocab}, prefill.data());
  writer.addFloats("decode_logits", {batch, steps, vocab}, decode.data());
  writer.addInt64s("greedy_tokens", {batch, steps}, greedy.data());
  writer.addFloats("greedy_margins", {batch, steps}, margins.data());
  writer.setMetadata("prompt_len", "3");
  writer.setMetadata("note", "quote \" and \\ and\nnewline");
  writer.setMetadata("batch", "2");
  Result<bool> written = writer.write(path);
  ASSERT_TRUE(written.ok()) << written.error();
  EXPECT_FALSE(jikji::test::pathExists(path + ".tmp"));

  // The header is padded so that the data starts 8-byte aligned.
  Result<SafeTensorsFile> header = readSafeTensorsFile(path);
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_EQ(header->dataOffset % 8, 0u);

  Result<ReferenceOutputs> outputs = readReferenceFile(path);
  ASSERT_TRUE(outputs.ok()) << outputs.error();
  EXPECT_EQ(outputs->batch, batch);
  EXPECT_EQ(outputs->promptLen, prompt);
  EXPECT_EQ(outputs->decodeSteps, steps);
  EXPECT_EQ(outputs->vocabSize, vocab);
  EXPECT_EQ(outputs->tokens, tokens);
  EXPECT_EQ(outputs->greedyTokens, greedy);
  ASSERT_EQ(outputs->prefillLogits.size(), prefill.size());
  EXPECT_EQ(std::memcmp(outputs->prefillLogits.data(), prefill.data(),
                        prefill.size() * sizeof(float)),
            0);
  EXPECT_EQ(std::memcmp(outputs->decodeLogits.data(), decode.data(),
                        decode.size() * sizeof(float)),
            0);
  EXPECT_EQ(std::memcmp(outputs->greedyMargins.data(), margins.data(),
                        margins.size() * sizeof(float)),
            0);
  EXPECT_EQ(outputs->decodeRow(1, 1)[4], decode[(1 * steps + 1) * vocab + 4]);

  Result<TensorFile> file = TensorFile::read(path);
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_NE(file->metadata("note"), nullptr);
  EXPECT_EQ(*file->metadata("note"), "quote \" and \\ and\nnewline");
  EXPECT_EQ(file->metadata("missing"), nullptr);
}

// Tests the reader's refusals, each naming the file and tensor.
TEST(ReferenceFileTest, RefusesInconsistentFiles) {
  TempDir dir;
  std::vector<float> zeros(64);
  std::vector<int64_t> ids(16);
  auto base = [&]() {
    TensorFileWriter writer;
    writer.addInt64s("tokens", {1, 3}, ids.data());
    writer.addFloats("prefill_logits", {1, 2, 4}, zeros.data());
    writer.addFloats("decode_logits", {1, 1, 4}, zeros.data());
    writer.addInt64s("greedy_tokens", {1, 1}, ids.data());
    writer.addFloats("greedy_margins", {1, 1}, zeros.data());
    writer.setMetadata("prompt_len", "2");
    return writer;
  };
  std::string path = dir.file("r.safetensors");
  ASSERT_TRUE(base().write(path).ok());
  ASSERT_TRUE(readReferenceFile(path).ok());

  TensorFileWriter wrongPrompt = base();
  wrongPrompt.setMetadata("prompt_len", "1");
  ASSERT_TRUE(wrongPrompt.write(path).ok());
  Result<ReferenceOutputs> read = readReferenceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error(), path + ": tensor 'tokens': expected shape [1, 2] "
                                 "(batch 1, prompt_len 1, decode steps 1, "
                                 "vocabulary 4), found [1, 3]");

  TensorFileWriter badNumber = base();
  badNumber.setMetadata("prompt_len", "2x");
  ASSERT_TRUE(badNumber.write(path).ok());
  read = readReferenceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error(), path + ": '__metadata__.prompt_len': expected a "
                                 "non-negative integer, found \"2x\"");

  TensorFileWriter wrongBatch = base();
  wrongBatch.setMetadata("batch", "2");
  ASSERT_TRUE(wrongBatch.write(path).ok());
  read = readReferenceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error(), path + ": '__metadata__.batch': expected 1 (from "
                                 "the tensors' shapes), found 2");

  TensorFileWriter wrongDType;
  wrongDType.addFloats("tokens", {1, 3}, zeros.data());
  ASSERT_TRUE(wrongDType.write(path).ok());
  read = readReferenceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error(), path + ": tensor 'tokens': expected I64, found F32");

  ids[1] = 4;
  ASSERT_TRUE(base().write(path).ok());
  read = readReferenceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error(), path + ": tensor 'tokens': element 1 is 4, expected "
                                 "a token id in [0, 4)");
}

// Tests the writer's refusals.
TEST(ReferenceFileTest, WriterRefusesBadNames) {
  TempDir dir;
  float value = 1;
  TensorFileWriter twice;
  twice.addFloats("x", {1}, &value);
  twice.addFloats("x", {1}, &value);
  Result<bool> written = twice.write(dir.file("a.safetensors"));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(),
            dir.file("a.safetensors") + ": tensor 'x' is added twice");
  TensorFileWriter reserved;
  reserved.addFloats("__metadata__", {1}, &value);
  written = reserved.write(dir.file("a.safetensors"));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().find("not starting with \"__\""),
            std::string::npos);
  TensorFileWriter noFolder;
  written = noFolder.write(dir.file("missing/a.safetensors"));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error(), dir.file("missing/a.safetensors.tmp") +
                                 ": cannot create: No such file or directory");
}

// Tests the relative error measure.
TEST(ReferenceFileTest, RelativeError) {
  std::vector<float> reference = {3, 4};
  std::vector<float> same = {3, 4};
  std::vector<float> off = {3, 4.5f};
  EXPECT_EQ(relativeError(same.data(), reference.data(), 2), 0.0);
  EXPECT_DOUBLE_EQ(relativeError(off.data(), reference.data(), 2), 0.1);
  std::vector<float> zeros = {0, 0};
  EXPECT_EQ(relativeError(zeros.data(), zeros.data(), 2), 0.0);
  EXPECT_TRUE(std::isinf(relativeError(off.data(), zeros.data(), 2)));
  std::vector<float> nan = {3, std::nanf("")};
  double error = relativeError(nan.data(), reference.data(), 2);
  EXPECT_TRUE(std::isnan(error));
  EXPECT_FALSE(error < 1e-3);
}

// Tests relativeError at the scale of real logits: a copy gives 0, and a
// uniform relative perturbation of 1e-6 gives about 1e-6.
TEST(ReferenceFileTest, RelativeErrorOnReferenceLogits) {
  std::string path = sharedDir() + "/reference/tiny-v3/reference.safetensors";
  JIKJI_REQUIRE_SHARED(path);
  Result<ReferenceOutputs> outputs = readReferenceFile(path);
  ASSERT_TRUE(outputs.ok()) << outputs.error();
  std::vector<float> copy = outputs->decodeLogits;
  size_t n = copy.size();
  EXPECT_EQ(relativeError(copy.data(), outputs->decodeLogits.data(), n), 0.0);
  for (float &value : copy)
    value *= 1 + 1e-6f;
  double error = relativeError(copy.data(), outputs->decodeLogits.data(), n);
  EXPECT_GT(error, 1e-7);
  EXPECT_LT(error, 1e-5);
}
