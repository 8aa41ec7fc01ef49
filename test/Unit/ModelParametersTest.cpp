//===- ModelParametersTest.cpp - Tests of the parameter list --------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelParameters.h"

#include "frontends/huggingface/SafeTensors.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace jikji;
using namespace jikji::hf;
using jikji::test::sharedDir;

namespace {

double totalElements(const std::vector<ParameterSpec> &specs) {
  double total = 0;
  for (const ParameterSpec &spec : specs)
    total += static_cast<double>(spec.numElements());
  return total;
}

const ParameterSpec *findSpec(const std::vector<ParameterSpec> &specs,
                              const std::string &name) {
  for (const ParameterSpec &spec : specs)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

ModelConfig loadOrDie(const std::string &path) {
  Result<ModelConfig> config = loadModelConfig(path);
  EXPECT_TRUE(config.ok()) << config.error();
  return config ? *config : ModelConfig();
}

// The sizes DeepSeek publishes: 671B parameters for V3 (684.5B with the MTP
// module, 685B as the model card rounds it), 15.7B for V2-Lite, 236B for V2.
TEST(ModelParametersTest, CountsTheReleasedModels) {
  std::string dir = sharedDir() + "/configs/";
  JIKJI_REQUIRE_SHARED(dir);

  ModelConfig v3 = loadOrDie(dir + "deepseek-v3.json");
  EXPECT_NEAR(totalElements(listModelParameters(v3, false)), 671.0e9, 0.5e9);
  EXPECT_NEAR(totalElements(listModelParameters(v3, true)), 684.5e9, 0.5e9);

  ModelConfig lite = loadOrDie(dir + "deepseek-v2-lite.json");
  EXPECT_NEAR(totalElements(listModelParameters(lite, false)), 15.7e9, 0.1e9);
  EXPECT_EQ(totalElements(listModelParameters(lite, true)),
            totalElements(listModelParameters(lite, false)));

  ModelConfig v2 = loadOrDie(dir + "deepseek-v2.json");
  EXPECT_NEAR(totalElements(listModelParameters(v2, false)), 236e9, 1e9);
}

TEST(ModelParametersTest, NamesAndFlagsV3) {
  std::string path = sharedDir() + "/configs/deepseek-v3.json";
  JIKJI_REQUIRE_SHARED(path);
  ModelConfig v3 = loadOrDie(path);
  std::vector<ParameterSpec> specs = listModelParameters(v3, true);

  const ParameterSpec *embed = findSpec(specs, "model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{129280, 7168}));
  EXPECT_FALSE(embed->quantized);
  EXPECT_EQ(embed->layer, -1);

  const ParameterSpec *qa =
      findSpec(specs, "model.layers.0.self_attn.q_a_proj.weight");
  ASSERT_NE(qa, nullptr);
  EXPECT_EQ(qa->shape, (std::vector<int64_t>{1536, 7168}));
  EXPECT_TRUE(qa->quantized);
  EXPECT_EQ(qa->layer, 0);
  EXPECT_EQ(findSpec(specs, "model.layers.0.self_attn.q_proj.weight"), nullptr);

  const ParameterSpec *kvA =
      findSpec(specs, "model.layers.5.self_attn.kv_a_proj_with_mqa.weight");
  ASSERT_NE(kvA, nullptr);
  EXPECT_EQ(kvA->shape, (std::vector<int64_t>{576, 7168}));
  const ParameterSpec *kvB =
      findSpec(specs, "model.layers.5.self_attn.kv_b_proj.weight");
  ASSERT_NE(kvB, nullptr);
  EXPECT_EQ(kvB->shape, (std::vector<int64_t>{128 * 256, 512}));

  // Layers 0-2 are dense, 3 on are MoE.
  EXPECT_NE(findSpec(specs, "model.layers.2.mlp.gate_proj.weight"), nullptr);
  EXPECT_EQ(findSpec(specs, "model.layers.2.mlp.gate.weight"), nullptr);
  const ParameterSpec *router =
      findSpec(specs, "model.layers.3.mlp.gate.weight");
  ASSERT_NE(router, nullptr);
  EXPECT_FALSE(router->quantized);
  const ParameterSpec *bias =
      findSpec(specs, "model.layers.3.mlp.gate.e_score_correction_bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->shape, (std::vector<int64_t>{256}));
  const ParameterSpec *expert =
      findSpec(specs, "model.layers.60.mlp.experts.255.down_proj.weight");
  ASSERT_NE(expert, nullptr);
  EXPECT_EQ(expert->shape, (std::vector<int64_t>{7168, 2048}));
  EXPECT_TRUE(expert->quantized);
  EXPECT_TRUE(expert->routedExpert);
  const ParameterSpec *shared =
      findSpec(specs, "model.layers.3.mlp.shared_experts.up_proj.weight");
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->shape, (std::vector<int64_t>{2048, 7168}));
  EXPECT_FALSE(shared->routedExpert);

  // The MTP module is layer 61.
  const ParameterSpec *ehProj =
      findSpec(specs, "model.layers.61.eh_proj.weight");
  ASSERT_NE(ehProj, nullptr);
  EXPECT_EQ(ehProj->shape, (std::vector<int64_t>{7168, 14336}));
  EXPECT_TRUE(ehProj->quantized);
  EXPECT_TRUE(ehProj->multiTokenPrediction);
  const ParameterSpec *head =
      findSpec(specs, "model.layers.61.shared_head.head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_FALSE(head->quantized);
  EXPECT_NE(findSpec(specs, "model.layers.61.mlp.experts.0.gate_proj.weight"),
            nullptr);
  EXPECT_EQ(findSpec(listModelParameters(v3, false),
                     "model.layers.61.eh_proj.weight"),
            nullptr);
  EXPECT_FALSE(findSpec(specs, "lm_head.weight")->quantized);
}

TEST(ModelParametersTest, FollowsTheConfigsChoices) {
  std::string path = sharedDir() + "/configs/deepseek-v2-lite.json";
  JIKJI_REQUIRE_SHARED(path);
  ModelConfig lite = loadOrDie(path);
  std::vector<ParameterSpec> specs = listModelParameters(lite, true);
  const ParameterSpec *q =
      findSpec(specs, "model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{16 * 192, 2048}));
  EXPECT_FALSE(q->quantized); // No quantization_config.
  EXPECT_EQ(findSpec(specs, "model.layers.1.mlp.gate.e_score_correction_bias"),
            nullptr);

  lite.nSharedExperts = 0;
  lite.tieWordEmbeddings = true;
  specs = listModelParameters(lite, true);
  EXPECT_EQ(findSpec(specs, "model.layers.1.mlp.shared_experts.up_proj.weight"),
            nullptr);
  EXPECT_EQ(findSpec(specs, "lm_head.weight"), nullptr);
}

/// The list, plus the FP8 scales, must name exactly the tensors of the
/// reference checkpoints, with their shapes.
TEST(ModelParametersTest, MatchesTheReferenceCheckpoints) {
  std::string dir = sharedDir() + "/reference/";
  JIKJI_REQUIRE_SHARED(dir);
  for (const char *name : {"tiny-v3", "tiny-v2-lite", "tiny-v3-fp8"}) {
    SCOPED_TRACE(name);
    ModelConfig config = loadOrDie(dir + name + "/config.json");
    Result<SafeTensorsFile> file =
        readSafeTensorsFile(dir + name + "/model.safetensors");
    ASSERT_TRUE(file.ok()) << file.error();

    std::map<std::string, std::vector<int64_t>> expected;
    for (const ParameterSpec &spec : listModelParameters(config, true)) {
      expected[spec.name] = spec.shape;
      if (spec.quantized)
        expected[spec.name + "_scale_inv"] = {(spec.shape[0] + 127) / 128,
                                              (spec.shape[1] + 127) / 128};
    }
    std::map<std::string, std::vector<int64_t>> actual;
    for (const TensorInfo &tensor : file->tensors)
      actual[tensor.name] = tensor.shape;
    EXPECT_EQ(expected, actual);
  }
}

} // namespace
