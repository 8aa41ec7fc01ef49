//===- ConfigDigestTest.cpp - Tests of the config fingerprint -------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Json.h"
#include "frontends/huggingface/ModelConfig.h"
#include "runtime/support/JsonWriter.h"

#include "test/Unit/TestUtil.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace jikji;
using namespace jikji::hf;
using jikji::runtime::quoteJson;
using jikji::test::sharedDir;

namespace {

std::string tinyV3ConfigPath() {
  return sharedDir() + "/reference/tiny-v3/config.json";
}

/// Writes `value` back as JSON with object keys in reverse order and a
/// different layout, numbers exactly as they were written.
std::string rewrite(const JsonValue &value) {
  switch (value.kind()) {
  case JsonValue::Kind::Null:
    return "null";
  case JsonValue::Kind::Bool:
    return value.asBool() ? "true" : "false";
  case JsonValue::Kind::Number:
    return value.numberText();
  case JsonValue::Kind::String:
    return quoteJson(value.asString());
  case JsonValue::Kind::Array: {
    std::string text = "[ ";
    for (size_t i = 0; i < value.asArray().size(); ++i)
      text += (i ? " ,\t" : "") + rewrite(value.asArray()[i]);
    return text + " ]";
  }
  case JsonValue::Kind::Object: {
    std::string text = "{\n";
    const auto &members = value.asObject();
    for (size_t i = members.size(); i-- > 0;)
      text += "\t\t" + quoteJson(members[i].first) + " :\n " +
              rewrite(members[i].second) + (i ? ",\n" : "\n");
    return text + "}";
  }
  }
  return "";
}

/// `root` with the top-level (or rope_scaling) member `key` replaced by
/// `replacement` JSON text.
std::string withField(const JsonValue &root, const std::string &key,
                      const std::string &replacement) {
  std::string text = "{";
  bool first = true;
  for (const auto &[name, value] : root.asObject()) {
    text += (first ? "" : ",") + quoteJson(name) + ":";
    first = false;
    if (name == key)
      text += replacement;
    else if (name == "rope_scaling" && key.rfind("rope_scaling.", 0) == 0)
      text += withField(value, key.substr(13), replacement);
    else
      text += rewrite(value);
  }
  return text + "}";
}

} // namespace

// Tests that the digest has the documented form and is stable for one
// config.
TEST(ConfigDigestTest, FormAndStability) {
  JIKJI_REQUIRE_SHARED(tinyV3ConfigPath());
  Result<ModelConfig> config = loadModelConfig(tinyV3ConfigPath());
  ASSERT_TRUE(config.ok()) << config.error();
  std::string digest = configDigest(*config);
  ASSERT_EQ(digest.size(), 8u + 16u) << digest;
  EXPECT_EQ(digest.substr(0, 8), "fnv1a64:");
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef", 8), std::string::npos)
      << digest;
  Result<ModelConfig> again = loadModelConfig(tinyV3ConfigPath());
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(configDigest(*again), digest);
}

// Tests that reordering keys and changing whitespace does not change the
// digest, for every shared config.
TEST(ConfigDigestTest, IgnoresLayoutAndKeyOrder) {
  std::vector<std::string> paths = {tinyV3ConfigPath()};
  for (const char *name :
       {"deepseek-v2-lite", "deepseek-v2", "deepseek-v3", "deepseek-v3.1"})
    paths.push_back(sharedDir() + "/configs/" + name + ".json");
  paths.push_back(sharedDir() + "/reference/tiny-v2-lite/config.json");
  paths.push_back(sharedDir() + "/reference/tiny-v3-fp8/config.json");
  for (const std::string &path : paths) {
    JIKJI_REQUIRE_SHARED(path);
    Result<std::string> text = readTextFile(path);
    ASSERT_TRUE(text.ok()) << text.error();
    Result<JsonValue> json = parseJson(*text);
    ASSERT_TRUE(json.ok()) << json.error();
    std::string reordered = rewrite(*json);
    ASSERT_NE(reordered, *text);
    Result<ModelConfig> original = parseModelConfig(*text, path);
    Result<ModelConfig> rewritten = parseModelConfig(reordered, path);
    ASSERT_TRUE(original.ok()) << original.error();
    ASSERT_TRUE(rewritten.ok()) << rewritten.error();
    EXPECT_EQ(configDigest(*original), configDigest(*rewritten)) << path;
  }
}

// Tests that changing any field the graph depends on changes the digest,
// and that fields it does not depend on leave it alone.
TEST(ConfigDigestTest, FollowsGraphFields) {
  JIKJI_REQUIRE_SHARED(tinyV3ConfigPath());
  Result<std::string> text = readTextFile(tinyV3ConfigPath());
  ASSERT_TRUE(text.ok()) << text.error();
  Result<JsonValue> json = parseJson(*text);
  ASSERT_TRUE(json.ok()) << json.error();
  Result<ModelConfig> base = parseModelConfig(*text, "base");
  ASSERT_TRUE(base.ok()) << base.error();
  const std::string baseDigest = configDigest(*base);

  // Each change keeps the config valid; each must give a new digest, and no
  // two changes may collide.
  std::pair<const char *, const char *> changes[] = {
      {"vocab_size", "1025"},
      {"hidden_size", "512"},
      {"intermediate_size", "513"},
      {"moe_intermediate_size", "65"},
      {"num_hidden_layers", "5"},
      {"num_nextn_predict_layers", "0"},
      {"num_attention_heads", "16"},
      {"n_shared_experts", "2"},
      {"n_routed_experts", "32"},
      {"num_experts_per_tok", "3"},
      {"n_group", "2"},
      {"topk_group", "1"},
      {"first_k_dense_replace", "2"},
      {"moe_layer_freq", "2"},
      {"q_lora_rank", "null"},
      {"kv_lora_rank", "32"},
      {"qk_nope_head_dim", "64"},
      {"qk_rope_head_dim", "32"},
      {"v_head_dim", "64"},
      {"max_position_embeddings", "1024"},
      {"scoring_func", "\"softmax\""},
      {"norm_topk_prob", "false"},
      {"routed_scaling_factor", "2.0"},
      {"rms_norm_eps", "1e-05"},
      {"rope_theta", "50000.0"},
      {"tie_word_embeddings", "true"},
      {"rope_scaling", "null"},
      {"rope_scaling.factor", "8.0"},
      {"rope_scaling.original_max_position_embeddings", "64"},
      {"rope_scaling.beta_fast", "16"},
      {"rope_scaling.mscale_all_dim", "0.707"},
  };
  std::set<std::string> seen = {baseDigest};
  for (const auto &[field, value] : changes) {
    Result<ModelConfig> changed =
        parseModelConfig(withField(*json, field, value), field);
    ASSERT_TRUE(changed.ok()) << changed.error();
    std::string digest = configDigest(*changed);
    EXPECT_TRUE(seen.insert(digest).second)
        << field << " = " << value << " gave a digest seen before: " << digest;
  }

  for (const auto &[field, value] :
       {std::make_pair("eos_token_id", "7"), std::make_pair("ep_size", "8"),
        std::make_pair("torch_dtype", "\"float32\""),
        std::make_pair("rms_norm_eps", "0.000001")}) {
    Result<ModelConfig> same =
        parseModelConfig(withField(*json, field, value), field);
    ASSERT_TRUE(same.ok()) << same.error();
    EXPECT_EQ(configDigest(*same), baseDigest) << field << " = " << value;
  }
}

// Tests that the FP8 quantization settings are part of the digest.
TEST(ConfigDigestTest, FollowsQuantization) {
  std::string path = sharedDir() + "/reference/tiny-v3-fp8/config.json";
  JIKJI_REQUIRE_SHARED(path);
  Result<std::string> text = readTextFile(path);
  ASSERT_TRUE(text.ok()) << text.error();
  Result<JsonValue> json = parseJson(*text);
  ASSERT_TRUE(json.ok()) << json.error();
  Result<ModelConfig> quantized = parseModelConfig(*text, path);
  Result<ModelConfig> plain =
      parseModelConfig(withField(*json, "quantization_config", "null"), path);
  ASSERT_TRUE(quantized.ok()) << quantized.error();
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_NE(configDigest(*quantized), configDigest(*plain));
}
