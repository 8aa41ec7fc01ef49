//===- ManifestTest.cpp - Tests of the artifact manifest ------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/Manifest.h"

#include "frontends/huggingface/Json.h"

#include <gtest/gtest.h>

#include <string>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;

namespace {

/// A valid manifest with plain and stacked parameters, BF16, F32 and FP8
/// (each FP8 weight followed by its scales).
Manifest sampleManifest() {
  Manifest manifest;
  manifest.configDigest = "fnv1a64:0123456789abcdef";
  manifest.modelType = "deepseek_v3";
  manifest.vocabSize = 1024;
  manifest.hiddenSize = 256;
  manifest.numLayers = 4;
  manifest.maxPositionEmbeddings = 512;
  manifest.eosTokenId = 1;
  manifest.parameters = {
      {"model.embed_tokens.weight", DType::BF16, {1024, 256}, 0},
      {"model.layers.1.mlp.experts.*.gate_proj.weight",
       DType::BF16,
       {16, 64, 256},
       16},
      {"model.layers.1.mlp.gate.e_score_correction_bias", DType::F32, {16}, 0},
      {"model.layers.1.self_attn.o_proj.weight",
       DType::F8E4M3,
       {256, 320},
       0,
       {128, 128},
       "model.layers.1.self_attn.o_proj.weight_scale_inv"},
      {"model.layers.1.self_attn.o_proj.weight_scale_inv",
       DType::F32,
       {2, 3},
       0},
      {"model.layers.1.mlp.experts.*.down_proj.weight",
       DType::F8E4M3,
       {16, 256, 64},
       16,
       {128, 128},
       "model.layers.1.mlp.experts.*.down_proj.weight_scale_inv"},
      {"model.layers.1.mlp.experts.*.down_proj.weight_scale_inv",
       DType::F32,
       {16, 2, 1},
       16},
  };
  manifest.kvCache.layers = 4;
  manifest.kvCache.dtype = DType::F32;
  manifest.kvCache.tensors = {{"key", {8, 48}}, {"value", {8, 32}}};
  manifest.kvCache.valuesPerTokenPerLayer = 640;
  manifest.kvCache.bytesPerToken = 10240;
  manifest.cpu = ManifestCpu{"znver4", {"avx2", "avx512bf16", "fma"}};
  return manifest;
}

void expectSame(const Manifest &a, const Manifest &b) {
  EXPECT_EQ(a.formatVersion, b.formatVersion);
  EXPECT_EQ(a.generator, b.generator);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.configDigest, b.configDigest);
  EXPECT_EQ(a.modelType, b.modelType);
  EXPECT_EQ(a.vocabSize, b.vocabSize);
  EXPECT_EQ(a.hiddenSize, b.hiddenSize);
  EXPECT_EQ(a.numLayers, b.numLayers);
  EXPECT_EQ(a.maxPositionEmbeddings, b.maxPositionEmbeddings);
  EXPECT_EQ(a.eosTokenId, b.eosTokenId);
  EXPECT_EQ(a.forwardEntryPoint, b.forwardEntryPoint);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    EXPECT_EQ(a.parameters[i].name, b.parameters[i].name);
    EXPECT_EQ(a.parameters[i].dtype, b.parameters[i].dtype);
    EXPECT_EQ(a.parameters[i].shape, b.parameters[i].shape);
    EXPECT_EQ(a.parameters[i].experts, b.parameters[i].experts);
    EXPECT_EQ(a.parameters[i].blockSize, b.parameters[i].blockSize);
    EXPECT_EQ(a.parameters[i].scale, b.parameters[i].scale);
  }
  EXPECT_EQ(a.kvCache.layers, b.kvCache.layers);
  EXPECT_EQ(a.kvCache.dtype, b.kvCache.dtype);
  ASSERT_EQ(a.kvCache.tensors.size(), b.kvCache.tensors.size());
  for (size_t i = 0; i < a.kvCache.tensors.size(); ++i) {
    EXPECT_EQ(a.kvCache.tensors[i].name, b.kvCache.tensors[i].name);
    EXPECT_EQ(a.kvCache.tensors[i].perTokenShape,
              b.kvCache.tensors[i].perTokenShape);
  }
  EXPECT_EQ(a.kvCache.valuesPerTokenPerLayer, b.kvCache.valuesPerTokenPerLayer);
  EXPECT_EQ(a.kvCache.bytesPerToken, b.kvCache.bytesPerToken);
  ASSERT_EQ(a.cpu.has_value(), b.cpu.has_value());
  if (a.cpu) {
    EXPECT_EQ(a.cpu->name, b.cpu->name);
    EXPECT_EQ(a.cpu->features, b.cpu->features);
  }
}

/// The error parseManifest gives for `json`, or "" when it succeeds.
std::string errorFor(const std::string &json) {
  Result<Manifest> manifest = parseManifest(json, "model.so");
  return manifest.ok() ? std::string() : manifest.error();
}

/// The sample manifest's JSON with the first `from` replaced by `to`.
std::string sampleWith(const std::string &from, const std::string &to) {
  std::string json = writeManifestJson(sampleManifest());
  size_t at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? json : json.replace(at, from.size(), to);
}

} // namespace

// Tests that writing and reading gives back the same manifest, and that the
// writer is a fixed point.
TEST(ManifestTest, RoundTrip) {
  Manifest original = sampleManifest();
  std::string json = writeManifestJson(original);
  Result<Manifest> parsed = parseManifest(json, "model.so");
  ASSERT_TRUE(parsed.ok()) << parsed.error() << "\n" << json;
  expectSame(original, *parsed);
  EXPECT_EQ(writeManifestJson(*parsed), json);
  EXPECT_EQ(parsed->numParameterPointers(), 1 + 16 + 1 + 1 + 1 + 16 + 16);

  original.eosTokenId.reset();
  original.target = "cuda";
  original.parameters.clear();
  original.cpu->features.clear();
  Result<Manifest> bare = parseManifest(writeManifestJson(original), "m");
  ASSERT_TRUE(bare.ok()) << bare.error();
  expectSame(original, *bare);
  ASSERT_TRUE(bare->cpu.has_value());

  // An artifact of a compiler before --cpu states no CPU, and still reads.
  original.cpu.reset();
  std::string older = writeManifestJson(original);
  EXPECT_EQ(older.find("\"cpu\""), std::string::npos);
  Result<Manifest> noCpu = parseManifest(older, "m");
  ASSERT_TRUE(noCpu.ok()) << noCpu.error();
  EXPECT_FALSE(noCpu->cpu.has_value());
}

// Tests the checks of the optional `cpu` object: its name and features are
// LLVM names, each feature once.
TEST(ManifestTest, ChecksCpu) {
  const std::string cpu =
      "\"cpu\": { \"name\": \"znver4\", \"features\": [\"avx2\", "
      "\"avx512bf16\", \"fma\"] }";
  EXPECT_EQ(errorFor(sampleWith(cpu, "\"cpu\": \"znver4\"")),
            "model.so: manifest 'cpu': expected an object, found \"znver4\"");
  EXPECT_EQ(errorFor(sampleWith(cpu, "\"cpu\": { \"features\": [] }")),
            "model.so: manifest: missing field 'cpu.name' (expected a "
            "string)");
  EXPECT_EQ(errorFor(sampleWith(cpu, "\"cpu\": { \"name\": \"znver4\" }")),
            "model.so: manifest: missing field 'cpu.features' (expected an "
            "array)");
  EXPECT_EQ(errorFor(sampleWith("\"znver4\"", "\"Zen 4\"")),
            "model.so: manifest 'cpu.name': expected an LLVM CPU name "
            "(lower-case letters, digits, '-', '.', '_'), found \"Zen 4\"");
  EXPECT_EQ(errorFor(sampleWith("\"avx512bf16\"", "16")),
            "model.so: manifest 'cpu.features[1]': expected an LLVM feature "
            "name (lower-case letters, digits, '-', '.', '_'), found 16");
  EXPECT_EQ(errorFor(sampleWith("\"avx512bf16\"", "\"avx\\u001b\"")),
            "model.so: manifest 'cpu.features[1]': expected an LLVM feature "
            "name (lower-case letters, digits, '-', '.', '_'), found "
            "\"avx\\u001b\"");
  EXPECT_EQ(errorFor(sampleWith("\"fma\"", "\"avx2\"")),
            "model.so: manifest 'cpu.features[2]': expected a feature not "
            "listed before, found \"avx2\"");
}

// Tests that strings with quotes, backslashes and control characters
// survive the writer's escaping.
TEST(ManifestTest, EscapesStrings) {
  Manifest manifest = sampleManifest();
  manifest.generator = "jikji \"compile\"\\\n\t\x01 \xc3\xa9";
  manifest.parameters[0].name = "we\"ird\\name";
  Result<Manifest> parsed =
      parseManifest(writeManifestJson(manifest), "model.so");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->generator, manifest.generator);
  EXPECT_EQ(parsed->parameters[0].name, manifest.parameters[0].name);
}

// Tests that the example in docs/runtime-abi.md is a valid manifest, so the
// document and the reader cannot drift apart.
TEST(ManifestTest, DocumentedExampleParses) {
  std::string docPath = std::string(JIKJI_SOURCE_DIR) + "/docs/runtime-abi.md";
  Result<std::string> doc = readTextFile(docPath);
  ASSERT_TRUE(doc.ok()) << doc.error();
  size_t begin = doc->find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  size_t end = doc->find("```", begin);
  ASSERT_NE(end, std::string::npos);
  Result<Manifest> parsed =
      parseManifest(doc->substr(begin, end - begin), docPath);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->parameters.size(), 4u);
  EXPECT_EQ(parsed->parameters[2].blockSize, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(parsed->parameters[2].scale, parsed->parameters[3].name);
  EXPECT_EQ(parsed->parameters[1].expertName(3),
            "model.layers.1.mlp.experts.3.gate_proj.weight");
  EXPECT_EQ(parsed->parameters[1].expertShape(),
            (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(parsed->kvCache.bytesPerToken, 10240);
  ASSERT_TRUE(parsed->cpu.has_value());
  EXPECT_EQ(parsed->cpu->name, "znver4");
}

// Tests that a manifest from a newer jikji is refused as such, before any
// field it might lack is looked at.
TEST(ManifestTest, RefusesNewerFormat) {
  EXPECT_EQ(
      errorFor(sampleWith("\"format_version\": 1", "\"format_version\": 2")),
      "model.so: built by a newer jikji (format 2); this runtime reads "
      "format 1");
  EXPECT_EQ(errorFor(R"({"format": "jikji-artifact", "format_version": 7})"),
            "model.so: built by a newer jikji (format 7); this runtime reads "
            "format 1");
  EXPECT_EQ(
      errorFor(sampleWith("\"format_version\": 1", "\"format_version\": 0")),
      "model.so: manifest 'format_version': expected an integer in [1, "
      "9223372036854775807], found 0");
  EXPECT_EQ(errorFor(sampleWith("\"jikji-artifact\"", "\"other\"")),
            "model.so: manifest 'format': expected \"jikji-artifact\", found "
            "\"other\"");
}

// Tests that missing fields and wrong types are named.
TEST(ManifestTest, NamesMissingAndMistypedFields) {
  EXPECT_EQ(errorFor(sampleWith("\"vocab_size\"", "\"vocab_sizes\"")),
            "model.so: manifest: missing field 'vocab_size' (expected an "
            "integer)");
  EXPECT_EQ(
      errorFor(sampleWith("\"hidden_size\": 256", "\"hidden_size\": \"256\"")),
      "model.so: manifest 'hidden_size': expected an integer in [1, "
      "2147483648], found \"256\"");
  EXPECT_EQ(errorFor(sampleWith("\"layers\": 4", "\"layerz\": 4")),
            "model.so: manifest: missing field 'kv_cache.layers' (expected an "
            "integer)");
  EXPECT_EQ(errorFor(sampleWith("\"dtype\": \"BF16\"", "\"dtype\": \"BF17\"")),
            "model.so: manifest 'parameters[0].dtype': expected a safetensors "
            "dtype (\"BF16\", \"F32\", ...), found \"BF17\"");
  EXPECT_EQ(errorFor(sampleWith("[1024, 256]", "[1024, 0]")),
            "model.so: manifest 'parameters[0].shape[1]': expected an integer "
            "in [1, 2147483648], found 0");
  EXPECT_EQ(
      errorFor(sampleWith("\"config_digest\": \"fnv1a64:0123456789abcdef\"",
                          "\"config_digest\": \"fnv1a64:12\"")),
      "model.so: manifest 'config_digest': expected \"fnv1a64:\" and 16 "
      "lowercase hex digits, found \"fnv1a64:12\"");
  EXPECT_EQ(errorFor(sampleWith("\"jikji_forward\"", "\"jikji-forward\"")),
            "model.so: manifest 'entry_points.forward': expected a C "
            "identifier, found \"jikji-forward\"");
  EXPECT_EQ(
      errorFor(sampleWith("\"eos_token_id\": 1", "\"eos_token_id\": 1024")),
      "model.so: manifest 'eos_token_id': expected an integer in [0, "
      "1023], found 1024");
  EXPECT_EQ(errorFor("[1]"),
            "model.so: manifest: expected a JSON object, found [1]");
  EXPECT_NE(errorFor("{\"format\": ")
                .find("model.so: manifest is not valid "
                      "JSON"),
            std::string::npos);
}

// Tests the rules for stacked expert parameters.
TEST(ManifestTest, ChecksStackedParameters) {
  EXPECT_EQ(errorFor(sampleWith("[16, 64, 256]", "[8, 64, 256]")),
            "model.so: manifest 'parameters[1].shape': expected [16, ...] "
            "(experts first, then one expert's shape), found [8, 64, 256]");
  EXPECT_EQ(errorFor(sampleWith("experts.*.gate", "experts.e*.gate")),
            "model.so: manifest 'parameters[1].name': expected a name with "
            "exactly one '*' component for a stacked expert parameter, found "
            "\"model.layers.1.mlp.experts.e*.gate_proj.weight\"");
  EXPECT_EQ(errorFor(sampleWith("\"model.embed_tokens.weight\"",
                                "\"model.*.weight\"")),
            "model.so: manifest 'parameters[0].name': expected no '*' in a "
            "parameter without 'experts' (a stacked expert parameter states "
            "its expert count), found \"model.*.weight\"");
  EXPECT_EQ(errorFor(sampleWith("\"experts\": 16", "\"experts\": 0")),
            "model.so: manifest 'parameters[1].experts': expected an integer "
            "in [1, 2147483648], found 0");
  EXPECT_EQ(
      errorFor(sampleWith("model.layers.1.mlp.gate.e_score_correction_bias",
                          "model.embed_tokens.weight")),
      "model.so: manifest 'parameters[2].name': expected a name not "
      "used by an earlier parameter, found \"model.embed_tokens.weight\"");
}

// Tests that the cache totals must agree with the cache tensors.
TEST(ManifestTest, ChecksCacheTotals) {
  EXPECT_EQ(
      errorFor(sampleWith("\"values_per_token_per_layer\": 640",
                          "\"values_per_token_per_layer\": 641")),
      "model.so: manifest 'kv_cache.values_per_token_per_layer': "
      "expected 640 (the sum of the tensors' per-token sizes), found 641");
  EXPECT_EQ(errorFor(sampleWith("\"bytes_per_token\": 10240",
                                "\"bytes_per_token\": 5120")),
            "model.so: manifest 'kv_cache.bytes_per_token': expected 10240 (4 "
            "layers x 640 values x 4 bytes of F32), found 5120");
  EXPECT_EQ(errorFor(sampleWith("\"name\": \"value\"", "\"name\": \"key\"")),
            "model.so: manifest 'kv_cache.tensors[1].name': expected a name "
            "not used by another tensor, found \"key\"");
  EXPECT_EQ(errorFor(sampleWith("[8, 48]", "[]")),
            "model.so: manifest 'kv_cache.tensors[0].per_token_shape': "
            "expected a non-empty array of positive integers, found []");
}

// Tests that an FP8 parameter states its block size and its scales, that
// the scales are a parameter of the shape the block size implies, and that
// no other parameter claims a block size.
TEST(ManifestTest, ChecksBlockScaledParameters) {
  const std::string oProjScale =
      "\"scale\": \"model.layers.1.self_attn.o_proj.weight_scale_inv\"";
  EXPECT_EQ(errorFor(sampleWith(", \"block_size\": [128, 128]", "")),
            "model.so: manifest: missing field 'parameters[3].block_size' "
            "(expected the [rows, columns] of weight that one scale covers, "
            "for an F8_E4M3 parameter)");
  EXPECT_EQ(errorFor(sampleWith(", " + oProjScale, "")),
            "model.so: manifest: missing field 'parameters[3].scale' "
            "(expected the name of the parameter holding the block scales, "
            "for an F8_E4M3 parameter)");
  EXPECT_EQ(errorFor(sampleWith("\"shape\": [1024, 256]",
                                "\"shape\": [1024, 256], \"block_size\": "
                                "[128, 128]")),
            "model.so: manifest 'parameters[0].block_size': expected no "
            "'block_size' on a parameter of dtype BF16 (only F8_E4M3 weights "
            "are block-scaled), found [128, 128]");
  EXPECT_EQ(errorFor(sampleWith("[2, 3] }", "[2, 3], " + oProjScale + " }")),
            "model.so: manifest 'parameters[4].scale': expected no 'scale' on "
            "a parameter of dtype F32 (only F8_E4M3 weights are "
            "block-scaled), found "
            "\"model.layers.1.self_attn.o_proj.weight_scale_inv\"");
  EXPECT_EQ(errorFor(sampleWith("[128, 128]", "[128]")),
            "model.so: manifest 'parameters[3].block_size': expected [rows, "
            "columns], found [128]");
  EXPECT_EQ(errorFor(sampleWith("[128, 128]", "[0, 128]")),
            "model.so: manifest 'parameters[3].block_size[0]': expected an "
            "integer in [1, 2147483648], found 0");
  EXPECT_EQ(errorFor(sampleWith("[256, 320]", "[81920]")),
            "model.so: manifest 'parameters[3].shape': expected [rows, "
            "columns] for an F8_E4M3 parameter, found [81920]");
  EXPECT_EQ(errorFor(sampleWith(oProjScale, "\"scale\": \"scales\"")),
            "model.so: manifest 'parameters[3].scale': expected a parameter "
            "of F32 [2, 3] (one scale per [128, 128] block of [256, 320]), "
            "found \"scales\", not a parameter");
  EXPECT_EQ(errorFor(sampleWith("\"shape\": [2, 3]", "\"shape\": [3, 2]")),
            "model.so: manifest 'parameters[3].scale': expected a parameter "
            "of F32 [2, 3] (one scale per [128, 128] block of [256, 320]), "
            "found \"model.layers.1.self_attn.o_proj.weight_scale_inv\" of "
            "F32 [3, 2]");
  // A smaller block needs more scales: the ragged edge counts as a block.
  EXPECT_EQ(errorFor(sampleWith("[128, 128]", "[64, 64]")),
            "model.so: manifest 'parameters[3].scale': expected a parameter "
            "of F32 [4, 5] (one scale per [64, 64] block of [256, 320]), "
            "found \"model.layers.1.self_attn.o_proj.weight_scale_inv\" of "
            "F32 [2, 3]");
  // A stacked weight's scales are stacked alike.
  EXPECT_EQ(errorFor(sampleWith("[16, 2, 1]", "[16, 1, 2]")),
            "model.so: manifest 'parameters[5].scale': expected a parameter "
            "of F32 [16, 2, 1] (one scale per [128, 128] block of [16, 256, "
            "64]), found "
            "\"model.layers.1.mlp.experts.*.down_proj.weight_scale_inv\" of "
            "F32 [16, 1, 2]");

  Manifest bf16Scales = sampleManifest();
  bf16Scales.parameters[4].dtype = DType::BF16;
  EXPECT_EQ(errorFor(writeManifestJson(bf16Scales)),
            "model.so: manifest 'parameters[3].scale': expected a parameter "
            "of F32 [2, 3] (one scale per [128, 128] block of [256, 320]), "
            "found \"model.layers.1.self_attn.o_proj.weight_scale_inv\" of "
            "BF16 [2, 3]");
}
