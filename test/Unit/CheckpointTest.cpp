//===- CheckpointTest.cpp - Tests of checkpoint folders -------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Checkpoint.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::test;

namespace {

std::string referenceDir(const char *name) {
  return sharedDir() + "/reference/" + name;
}

TEST(CheckpointTest, ChecksTheReferenceCheckpoints) {
  JIKJI_REQUIRE_SHARED(referenceDir("tiny-v3"));
  struct Case {
    const char *name;
    size_t tensors;
    size_t unused;
  };
  for (const Case &c : {Case{"tiny-v3", 269, 68}, Case{"tiny-v2-lite", 190, 0},
                        Case{"tiny-v3-fp8", 502, 125}}) {
    SCOPED_TRACE(c.name);
    Result<ModelConfig> config =
        loadModelConfig(referenceDir(c.name) + "/config.json");
    ASSERT_TRUE(config.ok()) << config.error();
    Result<Checkpoint> checkpoint = openCheckpoint(referenceDir(c.name));
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
    // reference.safetensors sits beside model.safetensors and is not a
    // weight file.
    ASSERT_EQ(checkpoint->files.size(), 1u);
    EXPECT_EQ(checkpoint->tensorNames().size(), c.tensors);
    EXPECT_EQ(checkpoint->find("tokens"), nullptr);
    const TensorInfo *norm = checkpoint->find("model.norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->file, referenceDir(c.name) + "/model.safetensors");

    Result<CheckpointReport> report = checkCheckpoint(*config, *checkpoint);
    ASSERT_TRUE(report.ok()) << report.error();
    // Exactly the MTP module (layer 4) is unused.
    EXPECT_EQ(report->unusedTensors.size(), c.unused);
    for (const std::string &name : report->unusedTensors)
      EXPECT_EQ(name.rfind("model.layers.4.", 0), 0u) << name;
    if (c.unused) {
      ASSERT_EQ(report->notes.size(), 1u);
      EXPECT_EQ(report->notes[0],
                std::to_string(c.unused) +
                    " tensors of the multi-token-prediction module "
                    "(model.layers.4.*) are not used by the compiled model");
    } else {
      EXPECT_TRUE(report->notes.empty());
    }
  }
}

TEST(CheckpointTest, RejectsACheckpointThatDoesNotFitTheConfig) {
  JIKJI_REQUIRE_SHARED(referenceDir("tiny-v3"));
  Result<ModelConfig> config =
      loadModelConfig(referenceDir("tiny-v3") + "/config.json");
  ASSERT_TRUE(config.ok()) << config.error();
  Result<Checkpoint> checkpoint = openCheckpoint(referenceDir("tiny-v3"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  std::string file = referenceDir("tiny-v3") + "/model.safetensors";

  ModelConfig noQueryLora = *config;
  noQueryLora.qLoraRank = 0;
  Result<CheckpointReport> report = checkCheckpoint(noQueryLora, *checkpoint);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error(),
            referenceDir("tiny-v3") +
                ": tensor 'model.layers.0.self_attn.q_proj.weight': expected "
                "BF16, F16 or F32 of shape [384, 256], found no such tensor");

  ModelConfig wider = *config;
  wider.intermediateSize = 640;
  report = checkCheckpoint(wider, *checkpoint);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error(),
            file + ": tensor 'model.layers.0.mlp.gate_proj.weight'"
                   ": expected shape [640, 256], found [512, 256]");

  ModelConfig quantized = *config;
  quantized.fp8 = Fp8Quantization();
  report = checkCheckpoint(quantized, *checkpoint);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error(),
            file + ": tensor 'model.layers.0.self_attn.q_a_proj.weight': "
                   "expected F8_E4M3 (config.json declares FP8 quantization), "
                   "found BF16");
}

TEST(CheckpointTest, RejectsFp8WithoutQuantizationConfig) {
  JIKJI_REQUIRE_SHARED(referenceDir("tiny-v3-fp8"));
  Result<ModelConfig> config =
      loadModelConfig(referenceDir("tiny-v3-fp8") + "/config.json");
  ASSERT_TRUE(config.ok()) << config.error();
  Result<Checkpoint> checkpoint = openCheckpoint(referenceDir("tiny-v3-fp8"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  ModelConfig plain = *config;
  plain.fp8.reset();
  Result<CheckpointReport> report = checkCheckpoint(plain, *checkpoint);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error(),
            referenceDir("tiny-v3-fp8") +
                "/model.safetensors: tensor "
                "'model.layers.0.self_attn.q_a_proj.weight' is F8_E4M3 but "
                "config.json has no quantization_config");
}

/// Writes `body` as the index of `dir`.
void writeIndex(const TempDir &dir, const std::string &weightMap) {
  ASSERT_TRUE(writeFile(dir.file("model.safetensors.index.json"),
                        "{\"metadata\": {\"total_size\": 12}, "
                        "\"weight_map\": " +
                            weightMap + "}"));
}

class ShardedCheckpointTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(writeFile(dir.file("model-00001-of-00002.safetensors"),
                          makeSafeTensors({{"a", "F32", {1}}})));
    ASSERT_TRUE(writeFile(dir.file("model-00002-of-00002.safetensors"),
                          makeSafeTensors({{"b", "F32", {2}}})));
  }
  std::string openError() {
    Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
    return checkpoint ? "" : checkpoint.error();
  }
  TempDir dir;
  std::string index() { return dir.file("model.safetensors.index.json"); }
};

TEST_F(ShardedCheckpointTest, OpensTheShardsTheIndexNames) {
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "b": "model-00002-of-00002.safetensors"})");
  Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  EXPECT_EQ(checkpoint->files.size(), 2u);
  EXPECT_EQ(checkpoint->tensorNames(), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(checkpoint->find("b"), nullptr);
  EXPECT_EQ(checkpoint->find("b")->file,
            dir.file("model-00002-of-00002.safetensors"));
  // Copies stay valid: the index holds positions, not pointers.
  Checkpoint copy = *checkpoint;
  EXPECT_EQ(copy.find("a")->file, dir.file("model-00001-of-00002.safetensors"));
}

TEST_F(ShardedCheckpointTest, RejectsAMissingShard) {
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "b": "model-00002-of-00002.safetensors",
                      "c": "model-00003-of-00003.safetensors"})");
  EXPECT_EQ(openError(),
            index() +
                ": shard 'model-00003-of-00003.safetensors' (for tensor "
                "'c') does not exist: no file " +
                dir.file("model-00003-of-00003.safetensors"));
}

TEST_F(ShardedCheckpointTest, RejectsATensorNotInItsShard) {
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "b": "model-00002-of-00002.safetensors",
                      "c": "model-00002-of-00002.safetensors"})");
  EXPECT_EQ(openError(), index() + ": tensor 'c' is mapped to "
                                   "'model-00002-of-00002.safetensors', which "
                                   "has no such tensor");
}

TEST_F(ShardedCheckpointTest, RejectsTensorsTheIndexDoesNotList) {
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors"})");
  EXPECT_EQ(openError(), "");
  ASSERT_TRUE(
      writeFile(dir.file("model-00002-of-00002.safetensors"),
                makeSafeTensors({{"b", "F32", {2}}, {"c", "F32", {1}}})));
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "c": "model-00002-of-00002.safetensors"})");
  EXPECT_EQ(openError(), dir.file("model-00002-of-00002.safetensors") +
                             ": tensor 'b' is not in the weight_map of " +
                             index());
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "b": "model-00001-of-00002.safetensors",
                      "c": "model-00002-of-00002.safetensors"})");
  EXPECT_EQ(openError(), index() + ": tensor 'b' is mapped to "
                                   "'model-00001-of-00002.safetensors', which "
                                   "has no such tensor");
  ASSERT_TRUE(
      writeFile(dir.file("model-00001-of-00002.safetensors"),
                makeSafeTensors({{"a", "F32", {1}}, {"d", "F32", {1}}})));
  writeIndex(dir, R"({"a": "model-00001-of-00002.safetensors",
                      "b": "model-00002-of-00002.safetensors",
                      "c": "model-00002-of-00002.safetensors",
                      "d": "model-00002-of-00002.safetensors"})");
  EXPECT_EQ(openError(), dir.file("model-00001-of-00002.safetensors") +
                             ": tensor 'd' is in this shard, but " + index() +
                             " maps it to 'model-00002-of-00002.safetensors'");
}

TEST_F(ShardedCheckpointTest, RejectsShardNamesOutsideTheFolder) {
  for (const char *shard : {"../model-00001-of-00002.safetensors",
                            "/etc/passwd", "sub/x.safetensors", "..", ""}) {
    writeIndex(dir, std::string("{\"a\": \"") + shard + "\"}");
    EXPECT_EQ(openError(), index() +
                               ": 'weight_map.a': expected the name of a file "
                               "inside the checkpoint folder, found \"" +
                               shard + "\"");
  }
}

TEST_F(ShardedCheckpointTest, RejectsMalformedIndexes) {
  writeIndex(dir, "[]");
  EXPECT_EQ(openError(), index() + ": 'weight_map': expected an object "
                                   "mapping tensor names to shard files, "
                                   "found []");
  writeIndex(dir, R"({"a": 1})");
  EXPECT_EQ(openError(),
            index() + ": 'weight_map.a': expected a shard file name, found 1");
  writeIndex(dir, "{}");
  EXPECT_EQ(openError(),
            index() + ": 'weight_map': expected at least one tensor, found {}");
  writeIndex(dir, R"({"a": "x", "a": "x"})");
  EXPECT_NE(openError().find("duplicate key \"a\""), std::string::npos);
}

TEST(CheckpointTest, OpensEverySafetensorsFileWithoutAnIndex) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("one.safetensors"),
                        makeSafeTensors({{"a", "F32", {1}}})));
  ASSERT_TRUE(writeFile(dir.file("two.safetensors"),
                        makeSafeTensors({{"b", "F32", {1}}})));
  Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  EXPECT_EQ(checkpoint->tensorNames(), (std::vector<std::string>{"a", "b"}));

  ASSERT_TRUE(writeFile(dir.file("three.safetensors"),
                        makeSafeTensors({{"a", "F32", {1}}})));
  checkpoint = openCheckpoint(dir.path());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error(), dir.path() + ": tensor 'a' is in both " +
                                    dir.file("one.safetensors") + " and " +
                                    dir.file("three.safetensors"));
}

TEST(CheckpointTest, RefusesPickleCheckpoints) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("config.json"), "{}"));
  ASSERT_TRUE(writeFile(dir.file("pytorch_model.bin"), "\x80\x02}q\x00."));
  Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error(),
            dir.path() + ": found pytorch_model.bin but no *.safetensors: "
                         "pickle checkpoints can execute code when loaded; "
                         "convert to safetensors");
}

TEST(CheckpointTest, RejectsFoldersWithoutWeights) {
  TempDir dir;
  Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error(), dir.path() +
                                    ": expected model.safetensors, "
                                    "model.safetensors.index.json or other "
                                    "*.safetensors files, found none");

  ASSERT_TRUE(writeFile(dir.file("config.json"), "{}"));
  checkpoint = openCheckpoint(dir.file("config.json"));
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error(), dir.file("config.json") +
                                    ": expected a checkpoint folder "
                                    "(config.json and *.safetensors), found a "
                                    "file");
  checkpoint = openCheckpoint(dir.file("absent"));
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error(),
            dir.file("absent") +
                ": cannot open the checkpoint folder: No such file or "
                "directory");
}

} // namespace
