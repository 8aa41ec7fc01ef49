//===- ModelConfigTest.cpp - Tests of config.json parsing -----------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/ModelConfig.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

using namespace jikji;
using namespace jikji::hf;
using jikji::test::sharedDir;

namespace {

/// A config.json as (field, JSON text) pairs, so that a test can change or
/// drop one field and keep the rest valid.
class ConfigText {
public:
  /// A small but complete V3-style config with every required field.
  static ConfigText tinyV3() {
    ConfigText config;
    config.fields_ = {
        {"model_type", "\"deepseek_v3\""},
        {"architectures", "[\"DeepseekV3ForCausalLM\"]"},
        {"vocab_size", "1024"},
        {"hidden_size", "256"},
        {"intermediate_size", "512"},
        {"moe_intermediate_size", "64"},
        {"num_hidden_layers", "4"},
        {"num_nextn_predict_layers", "1"},
        {"num_attention_heads", "8"},
        {"n_shared_experts", "1"},
        {"n_routed_experts", "16"},
        {"num_experts_per_tok", "4"},
        {"n_group", "4"},
        {"topk_group", "2"},
        {"topk_method", "\"noaux_tc\""},
        {"scoring_func", "\"sigmoid\""},
        {"first_k_dense_replace", "1"},
        {"q_lora_rank", "96"},
        {"kv_lora_rank", "64"},
        {"qk_nope_head_dim", "32"},
        {"qk_rope_head_dim", "16"},
        {"v_head_dim", "32"},
        {"max_position_embeddings", "512"},
        {"rms_norm_eps", "1e-06"},
        {"rope_scaling",
         R"({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128,
             "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0})"},
    };
    return config;
  }

  ConfigText &set(const std::string &field, const std::string &json) {
    for (auto &entry : fields_)
      if (entry.first == field) {
        entry.second = json;
        return *this;
      }
    fields_.emplace_back(field, json);
    return *this;
  }
  ConfigText &erase(const std::string &field) {
    for (auto it = fields_.begin(); it != fields_.end(); ++it)
      if (it->first == field) {
        fields_.erase(it);
        break;
      }
    return *this;
  }
  std::string text() const {
    std::string text = "{";
    for (const auto &[field, json] : fields_)
      text += (text.size() > 1 ? ",\n\"" : "\n\"") + field + "\": " + json;
    return text + "\n}";
  }
  Result<ModelConfig> parse() const {
    return parseModelConfig(text(), "config.json");
  }

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// The message parsing `config` fails with, or "" when it parses.
std::string errorOf(const ConfigText &config) {
  Result<ModelConfig> result = config.parse();
  return result ? "" : result.error();
}

TEST(ModelConfigTest, ParsesTheTinyConfig) {
  Result<ModelConfig> result = ConfigText::tinyV3().parse();
  ASSERT_TRUE(result.ok()) << result.error();
  const ModelConfig &c = *result;
  EXPECT_EQ(c.modelType, ModelType::DeepSeekV3);
  EXPECT_EQ(c.architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(c.hiddenSize, 256);
  EXPECT_EQ(c.qkHeadDim(), 48);
  EXPECT_EQ(c.qLoraRank, 96);
  ASSERT_TRUE(c.yarn.has_value());
  EXPECT_EQ(c.yarn->originalMaxPositionEmbeddings, 128);
  EXPECT_FALSE(c.fp8.has_value());
  EXPECT_FALSE(c.bosTokenId.has_value());
}

TEST(ModelConfigTest, AppliesHuggingFaceDefaults) {
  ConfigText v3 = ConfigText::tinyV3();
  for (const char *field :
       {"num_nextn_predict_layers", "n_group", "topk_group", "topk_method",
        "scoring_func", "first_k_dense_replace", "q_lora_rank", "rope_scaling",
        "architectures"})
    v3.erase(field);
  v3.set("num_experts_per_tok", "4");
  Result<ModelConfig> result = v3.parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->numNextnPredictLayers, 0);
  EXPECT_EQ(result->nGroup, 1);
  EXPECT_EQ(result->topkGroup, 1);
  EXPECT_EQ(result->firstKDenseReplace, 0);
  EXPECT_EQ(result->moeLayerFreq, 1);
  EXPECT_EQ(result->qLoraRank, 0);
  EXPECT_FALSE(result->normTopkProb);
  EXPECT_EQ(result->routedScalingFactor, 1.0);
  EXPECT_EQ(result->ropeTheta, 10000.0);
  EXPECT_FALSE(result->yarn.has_value());
  EXPECT_EQ(result->scoringFunction, ScoringFunction::Sigmoid);
  EXPECT_EQ(result->topkMethod, TopKMethod::NoAuxTc);
  EXPECT_EQ(result->architecture, "DeepseekV3ForCausalLM");

  ConfigText v2 = ConfigText::tinyV3();
  v2.set("model_type", "\"deepseek_v2\"")
      .erase("architectures")
      .erase("topk_method")
      .erase("scoring_func")
      .erase("n_group")
      .erase("topk_group");
  result = v2.parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->modelType, ModelType::DeepSeekV2);
  EXPECT_EQ(result->architecture, "DeepseekV2ForCausalLM");
  EXPECT_EQ(result->scoringFunction, ScoringFunction::Softmax);
  EXPECT_EQ(result->topkMethod, TopKMethod::Greedy);
}

TEST(ModelConfigTest, NullAndZeroQueryRankMeanNoCompression) {
  Result<ModelConfig> result =
      ConfigText::tinyV3().set("q_lora_rank", "null").parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->qLoraRank, 0);
  result = ConfigText::tinyV3().set("q_lora_rank", "0").parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->qLoraRank, 0);
}

TEST(ModelConfigTest, RejectsWithFieldExpectedAndFound) {
  struct Case {
    const char *field;
    const char *json; // nullptr: delete the field
    const char *message;
  };
  const Case cases[] = {
      {"model_type", "\"llama\"",
       "'model_type': expected \"deepseek_v2\" or \"deepseek_v3\", found "
       "\"llama\""},
      {"hidden_size", nullptr,
       "'hidden_size': expected a positive integer, found nothing"},
      {"hidden_size", "\"256\"",
       "'hidden_size': expected a positive integer, found \"256\""},
      {"hidden_size", "256.0",
       "'hidden_size': expected a positive integer, found 256.0"},
      {"vocab_size", "0", "'vocab_size': expected a positive integer, found 0"},
      {"num_attention_heads", "-8",
       "'num_attention_heads': expected a positive integer, found -8"},
      {"num_hidden_layers", "100000",
       "'num_hidden_layers': expected a positive integer no larger than 1024, "
       "found 100000"},
      {"qk_rope_head_dim", "15",
       "'qk_rope_head_dim': expected an even number (RoPE rotates pairs), "
       "found 15"},
      {"kv_lora_rank", "0",
       "'kv_lora_rank': expected a positive integer, found 0"},
      {"q_lora_rank", "-1",
       "'q_lora_rank': expected null or a non-negative integer, found -1"},
      {"n_group", "3",
       "'n_group': expected a divisor of n_routed_experts (16), found 3"},
      {"topk_group", "5",
       "'topk_group': expected an integer from 1 to n_group (4), found 5"},
      {"topk_group", "0", "'topk_group': expected a positive integer, found 0"},
      {"num_experts_per_tok", "17",
       "'num_experts_per_tok': expected at most n_routed_experts (16), found "
       "17"},
      {"num_experts_per_tok", "9",
       "'num_experts_per_tok': expected at most topk_group * n_routed_experts "
       "/ n_group (2 * 16 / 4 = 8), found 9"},
      {"first_k_dense_replace", "5",
       "'first_k_dense_replace': expected at most num_hidden_layers (4), "
       "found 5"},
      {"scoring_func", "\"relu\"",
       "'scoring_func': expected \"softmax\" or \"sigmoid\", found \"relu\""},
      {"topk_method", "\"top_p\"",
       "'topk_method': expected \"greedy\", \"group_limited_greedy\" or "
       "\"noaux_tc\", found \"top_p\""},
      {"hidden_act", "\"gelu\"",
       "'hidden_act': expected \"silu\", found \"gelu\""},
      {"norm_topk_prob", "1",
       "'norm_topk_prob': expected true or false, found 1"},
      {"rms_norm_eps", "0",
       "'rms_norm_eps': expected a positive number, found 0"},
      {"rms_norm_eps", nullptr,
       "'rms_norm_eps': expected a positive number, found nothing"},
      {"rope_theta", "-1",
       "'rope_theta': expected a positive number, found -1"},
      {"rope_scaling", R"({"type": "yarn", "factor": 0.5,
                           "original_max_position_embeddings": 128})",
       "'rope_scaling.factor': expected a number >= 1 (the context stretch), "
       "found 0.5"},
      {"rope_scaling", R"({"type": "yarn", "factor": 4})",
       "'rope_scaling.original_max_position_embeddings': expected a positive "
       "integer, found nothing"},
      {"rope_scaling", R"({"type": "linear", "factor": 4})",
       "'rope_scaling.type': expected \"yarn\", found \"linear\""},
      {"rope_scaling", R"({"rope_type": "dynamic", "factor": 4})",
       "'rope_scaling.rope_type': expected \"yarn\", found \"dynamic\""},
      {"rope_scaling", "4",
       "'rope_scaling': expected null or an object, found 4"},
      {"quantization_config", R"({"quant_method": "gptq"})",
       "'quantization_config.quant_method': expected \"fp8\", found \"gptq\""},
      {"quantization_config",
       R"({"quant_method": "fp8", "fmt": "e5m2", "weight_block_size": [128, 128]})",
       "'quantization_config.fmt': expected \"e4m3\", found \"e5m2\""},
      {"quantization_config",
       R"({"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [64, 64]})",
       "'quantization_config.weight_block_size': expected [128, 128] (the "
       "only FP8 block size supported; the scales of other block sizes would "
       "be read wrongly), found [64, 64]"},
      {"quantization_config", R"({"quant_method": "fp8", "fmt": "e4m3"})",
       "'quantization_config.weight_block_size': expected [128, 128], found "
       "nothing"},
      {"quantization_config",
       R"({"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128],
           "scale_fmt": "e8m0"})",
       "'quantization_config.scale_fmt': expected \"ue8m0\", found \"e8m0\""},
      {"architectures", "[\"LlamaForCausalLM\"]",
       "'architectures': expected [\"DeepseekV3ForCausalLM\"] for model_type "
       "\"deepseek_v3\", found [\"LlamaForCausalLM\"]"},
      {"attention_bias", "true",
       "'attention_bias': expected false (DeepSeek attention has no biases), "
       "found true"},
  };
  for (const Case &c : cases) {
    ConfigText config = ConfigText::tinyV3();
    if (c.json)
      config.set(c.field, c.json);
    else
      config.erase(c.field);
    EXPECT_EQ(errorOf(config), std::string("config.json: ") + c.message)
        << "setting " << c.field << " to " << (c.json ? c.json : "nothing");
  }
}

TEST(ModelConfigTest, RejectsNoAuxTcWithSingleExpertGroups) {
  ConfigText config = ConfigText::tinyV3();
  config.set("n_group", "16").set("topk_group", "4");
  EXPECT_EQ(errorOf(config),
            "config.json: 'n_group': expected at most n_routed_experts / 2 "
            "(8) with topk_method \"noaux_tc\", which scores each group by "
            "its top 2 experts, found 16");
  // The same groups are fine when a group is scored by its best expert.
  config.set("topk_method", "\"group_limited_greedy\"");
  EXPECT_EQ(errorOf(config), "");
}

// Tests the cap on layers x routed experts: within every single cap, a
// 1.5 KB config.json could otherwise list 25 million parameters.
TEST(ModelConfigTest, CapsLayersTimesExperts) {
  ConfigText config = ConfigText::tinyV3();
  config.set("num_hidden_layers", "1024")
      .set("num_nextn_predict_layers", "1024")
      .set("n_routed_experts", "4096")
      .set("n_group", "1")
      .set("topk_group", "1");
  EXPECT_EQ(errorOf(config),
            "config.json: 'n_routed_experts': expected at most 64 for 2048 "
            "layers ((num_hidden_layers + num_nextn_predict_layers) * "
            "n_routed_experts may be at most 2^17 = 131072, which bounds the "
            "parameter count), found 4096");
  // At the cap exactly it parses, and its parameter list stays small.
  config.set("n_routed_experts", "64");
  EXPECT_EQ(errorOf(config), "");
  // DeepSeek-V3's own size, 62 x 256, is far below it.
  config.set("num_hidden_layers", "61")
      .set("num_nextn_predict_layers", "1")
      .set("n_routed_experts", "256");
  EXPECT_EQ(errorOf(config), "");
}

TEST(ModelConfigTest, RejectsWhatIsNotAnObjectOrNotJson) {
  EXPECT_EQ(parseModelConfig("[1]", "c.json").error(),
            "c.json: expected a JSON object, found [1]");
  EXPECT_EQ(parseModelConfig("{\"a\": 1,}", "c.json").error(),
            "c.json: invalid JSON at byte 8: trailing comma before '}'");
}

TEST(ModelConfigTest, AcceptsTokenIdLists) {
  Result<ModelConfig> result = ConfigText::tinyV3()
                                   .set("bos_token_id", "0")
                                   .set("eos_token_id", "[1, 2]")
                                   .parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->bosTokenId, std::optional<int64_t>(0));
  EXPECT_EQ(result->eosTokenId, std::optional<int64_t>(1));
}

TEST(ModelConfigTest, ComputesLayerKindsAndScales) {
  Result<ModelConfig> result =
      ConfigText::tinyV3().set("moe_layer_freq", "2").parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_FALSE(result->isMoeLayer(0)); // first_k_dense_replace
  EXPECT_FALSE(result->isMoeLayer(1)); // 1 % 2 != 0
  EXPECT_TRUE(result->isMoeLayer(2));
  EXPECT_FALSE(result->isMoeLayer(3));
  EXPECT_TRUE(result->isMoeLayer(4));

  double m = 0.1 * 1.0 * std::log(4.0) + 1.0;
  EXPECT_DOUBLE_EQ(result->softmaxScale(), m * m / std::sqrt(48.0));
  EXPECT_DOUBLE_EQ(result->ropeMagnitudeScale(), 1.0);

  result = ConfigText::tinyV3()
               .set("rope_scaling", R"({"type": "yarn", "factor": 4,
                     "original_max_position_embeddings": 128, "mscale": 1.0})")
               .parse();
  ASSERT_TRUE(result.ok()) << result.error();
  // mscale_all_dim defaults to 0: no score correction, and cos/sin carry
  // mscale'(1) / mscale'(0).
  EXPECT_DOUBLE_EQ(result->softmaxScale(), 1.0 / std::sqrt(48.0));
  EXPECT_DOUBLE_EQ(result->ropeMagnitudeScale(), m);

  result = ConfigText::tinyV3().erase("rope_scaling").parse();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_DOUBLE_EQ(result->softmaxScale(), 1.0 / std::sqrt(48.0));
  EXPECT_DOUBLE_EQ(result->ropeMagnitudeScale(), 1.0);
}

TEST(ModelConfigTest, NamesEnums) {
  EXPECT_STREQ(toString(ModelType::DeepSeekV2), "deepseek_v2");
  EXPECT_STREQ(toString(ScoringFunction::Softmax), "softmax");
  EXPECT_STREQ(toString(TopKMethod::GroupLimitedGreedy),
               "group_limited_greedy");
  EXPECT_STREQ(toString(TopKMethod::NoAuxTc), "noaux_tc");
}

TEST(ModelConfigTest, LoadsTheReleasedConfigs) {
  std::string dir = sharedDir() + "/configs/";
  JIKJI_REQUIRE_SHARED(dir);

  Result<ModelConfig> v3 = loadModelConfig(dir + "deepseek-v3.json");
  ASSERT_TRUE(v3.ok()) << v3.error();
  EXPECT_EQ(v3->modelType, ModelType::DeepSeekV3);
  EXPECT_EQ(v3->hiddenSize, 7168);
  EXPECT_EQ(v3->numHiddenLayers, 61);
  EXPECT_EQ(v3->numNextnPredictLayers, 1);
  EXPECT_EQ(v3->nRoutedExperts, 256);
  EXPECT_EQ(v3->nGroup, 8);
  EXPECT_EQ(v3->topkGroup, 4);
  EXPECT_EQ(v3->qLoraRank, 1536);
  EXPECT_EQ(v3->kvLoraRank + v3->qkRopeHeadDim, 576);
  EXPECT_EQ(v3->scoringFunction, ScoringFunction::Sigmoid);
  EXPECT_EQ(v3->topkMethod, TopKMethod::NoAuxTc);
  EXPECT_TRUE(v3->normTopkProb);
  EXPECT_DOUBLE_EQ(v3->routedScalingFactor, 2.5);
  ASSERT_TRUE(v3->fp8.has_value());
  EXPECT_FALSE(v3->fp8->powerOfTwoScales);
  ASSERT_TRUE(v3->yarn.has_value());
  EXPECT_DOUBLE_EQ(v3->yarn->factor, 40);
  EXPECT_EQ(v3->eosTokenId, std::optional<int64_t>(1));

  Result<ModelConfig> v31 = loadModelConfig(dir + "deepseek-v3.1.json");
  ASSERT_TRUE(v31.ok()) << v31.error();
  ASSERT_TRUE(v31->fp8.has_value());
  EXPECT_TRUE(v31->fp8->powerOfTwoScales);

  Result<ModelConfig> v2 = loadModelConfig(dir + "deepseek-v2.json");
  ASSERT_TRUE(v2.ok()) << v2.error();
  EXPECT_EQ(v2->topkMethod, TopKMethod::GroupLimitedGreedy);
  EXPECT_EQ(v2->scoringFunction, ScoringFunction::Softmax);
  EXPECT_FALSE(v2->fp8.has_value());

  Result<ModelConfig> lite = loadModelConfig(dir + "deepseek-v2-lite.json");
  ASSERT_TRUE(lite.ok()) << lite.error();
  EXPECT_EQ(lite->qLoraRank, 0);
  EXPECT_EQ(lite->topkMethod, TopKMethod::Greedy);
  ASSERT_TRUE(lite->yarn.has_value());
  EXPECT_DOUBLE_EQ(lite->yarn->mscale, 0.707);
  EXPECT_DOUBLE_EQ(lite->ropeMagnitudeScale(), 1.0);

  Result<ModelConfig> v32 = loadModelConfig(dir + "deepseek-v3.2-exp.json");
  ASSERT_FALSE(v32.ok());
  EXPECT_NE(v32.error().find("sparse attention (V3.2) is not supported yet"),
            std::string::npos)
      << v32.error();
  EXPECT_EQ(v32.error().rfind(dir + "deepseek-v3.2-exp.json: 'model_type'", 0),
            0u)
      << v32.error();
}

TEST(ModelConfigTest, LoadsTheReferenceConfigs) {
  std::string dir = sharedDir() + "/reference/";
  JIKJI_REQUIRE_SHARED(dir);
  for (const char *name : {"tiny-v3", "tiny-v2-lite", "tiny-v3-fp8"}) {
    Result<ModelConfig> config = loadModelConfig(dir + name + "/config.json");
    ASSERT_TRUE(config.ok()) << config.error();
    EXPECT_EQ(config->numHiddenLayers, 4) << name;
  }
  Result<ModelConfig> lite = loadModelConfig(dir + "tiny-v2-lite/config.json");
  ASSERT_TRUE(lite.ok());
  EXPECT_EQ(lite->numNextnPredictLayers, 0);
  Result<ModelConfig> fp8 = loadModelConfig(dir + "tiny-v3-fp8/config.json");
  ASSERT_TRUE(fp8.ok());
  EXPECT_TRUE(fp8->fp8.has_value());
  EXPECT_EQ(fp8->hiddenSize, 320);
}

TEST(ModelConfigTest, ReportsUnreadableFiles) {
  Result<ModelConfig> result = loadModelConfig("/nonexistent/config.json");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "/nonexistent/config.json: cannot open: No such file or directory");
}

} // namespace
