//===- WeightStoreTest.cpp - Tests of weight mapping and binding ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/weights/WeightStore.h"

#include "frontends/huggingface/ModelParameters.h"
#include "runtime/support/ReferenceFile.h"

#include "test/Unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::runtime;
using jikji::test::FakeTensor;
using jikji::test::makeSafeTensors;
using jikji::test::sharedDir;
using jikji::test::TempDir;
using jikji::test::writeFile;

namespace {

/// A checkpoint of F32 tensors whose values are their flat index plus a
/// per-tensor offset, so that a test can tell which tensor a pointer is in.
/// Two experts of a stacked weight, a plain weight and a bias.
void writeSmallCheckpoint(const TempDir &dir) {
  TensorFileWriter writer;
  auto add = [&](const std::string &name, std::vector<int64_t> shape,
                 float base) {
    size_t count = 1;
    for (int64_t dim : shape)
      count *= static_cast<size_t>(dim);
    std::vector<float> values(count);
    for (size_t i = 0; i < count; ++i)
      values[i] = base + static_cast<float>(i);
    writer.addFloats(name, std::move(shape), values.data());
  };
  add("embed.weight", {4, 3}, 100);
  add("experts.0.up.weight", {2, 3}, 200);
  add("experts.1.up.weight", {2, 3}, 300);
  add("norm.weight", {3}, 400);
  Result<bool> written = writer.write(dir.file("model.safetensors"));
  ASSERT_TRUE(written.ok()) << written.error();
}

Manifest smallManifest() {
  Manifest manifest;
  manifest.parameters = {
      {"embed.weight", DType::F32, {4, 3}, 0},
      {"experts.*.up.weight", DType::F32, {2, 2, 3}, 2},
      {"norm.weight", DType::F32, {3}, 0},
  };
  return manifest;
}

float firstValue(const void *pointer) {
  float value;
  std::memcpy(&value, pointer, sizeof(value));
  return value;
}

} // namespace

// Tests that tensors are found with their dtype, shape and data.
TEST(WeightStoreTest, ViewsTensors) {
  TempDir dir;
  writeSmallCheckpoint(dir);
  Result<WeightStore> store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error();
  Result<TensorView> view = store->tensor("experts.1.up.weight");
  ASSERT_TRUE(view.ok()) << view.error();
  EXPECT_EQ(view->dtype, DType::F32);
  EXPECT_EQ(view->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(view->numElements(), 6);
  EXPECT_EQ(view->numBytes, 24u);
  EXPECT_EQ(view->file, dir.file("model.safetensors"));
  EXPECT_EQ(firstValue(view->data), 300.0f);
  EXPECT_EQ(firstValue(static_cast<const float *>(view->data) + 5), 305.0f);

  Result<TensorView> missing = store->tensor("lm_head.weight");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(),
            dir.path() + ": no tensor 'lm_head.weight' in the checkpoint");
  EXPECT_TRUE(store->checkIntact().ok());
  EXPECT_TRUE(store->checkFinite().ok());
}

// Tests that binding gives one pointer per parameter, experts expanded in
// order.
TEST(WeightStoreTest, BindsParametersInManifestOrder) {
  TempDir dir;
  writeSmallCheckpoint(dir);
  Result<WeightStore> store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error();
  Result<std::vector<const void *>> pointers =
      store->bindParameters(smallManifest());
  ASSERT_TRUE(pointers.ok()) << pointers.error();
  ASSERT_EQ(pointers->size(), 4u);
  EXPECT_EQ(firstValue((*pointers)[0]), 100.0f);
  EXPECT_EQ(firstValue((*pointers)[1]), 200.0f);
  EXPECT_EQ(firstValue((*pointers)[2]), 300.0f);
  EXPECT_EQ(firstValue((*pointers)[3]), 400.0f);
  EXPECT_EQ((*pointers)[2], store->tensor("experts.1.up.weight")->data);
}

// Tests that the first mismatch is refused, naming the tensor, what the
// manifest expects and what the checkpoint has.
TEST(WeightStoreTest, RefusesMismatches) {
  TempDir dir;
  writeSmallCheckpoint(dir);
  Result<WeightStore> store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error();
  std::string file = dir.file("model.safetensors");

  Manifest wrongShape = smallManifest();
  wrongShape.parameters[0].shape = {3, 4};
  Result<std::vector<const void *>> bound = store->bindParameters(wrongShape);
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error(), file + ": tensor 'embed.weight' (manifest parameter "
                                  "0): expected F32 [3, 4], found F32 [4, 3]");

  Manifest wrongDType = smallManifest();
  wrongDType.parameters[2].dtype = DType::BF16;
  bound = store->bindParameters(wrongDType);
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error(), file + ": tensor 'norm.weight' (manifest parameter "
                                  "2): expected BF16 [3], found F32 [3]");

  Manifest tooManyExperts = smallManifest();
  tooManyExperts.parameters[1].experts = 3;
  tooManyExperts.parameters[1].shape = {3, 2, 3};
  bound = store->bindParameters(tooManyExperts);
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error(),
            dir.path() + ": tensor 'experts.2.up.weight' (expert 2 of manifest "
                         "parameter 1 'experts.*.up.weight'): not in the "
                         "checkpoint");

  Manifest wrongExpertShape = smallManifest();
  wrongExpertShape.parameters[1].shape = {2, 3, 2};
  bound = store->bindParameters(wrongExpertShape);
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error(),
            file + ": tensor 'experts.0.up.weight' (expert 0 of manifest "
                   "parameter 1 'experts.*.up.weight'): expected F32 [3, 2], "
                   "found F32 [2, 3]");
}

// Tests that a file cut short after its header was read is refused when it
// is mapped, and that a file already short is refused by the reader.
TEST(WeightStoreTest, RefusesTruncatedFiles) {
  TempDir dir;
  writeSmallCheckpoint(dir);
  std::string file = dir.file("model.safetensors");
  Result<Checkpoint> checkpoint = openCheckpoint(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  uint64_t dataBytes =
      checkpoint->files[0].fileSize - checkpoint->files[0].dataOffset;
  ASSERT_EQ(dataBytes, (12u + 6u + 6u + 3u) * 4u);
  ASSERT_EQ(::truncate(file.c_str(), checkpoint->files[0].fileSize - 10), 0);

  Result<WeightStore> store = WeightStore::fromCheckpoint(*checkpoint);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error(), file + ": truncated: header declares 108 bytes of "
                                  "tensor data, file has 98");

  Result<WeightStore> reopened = WeightStore::open(dir.path());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().rfind(file + ": ", 0), 0u) << reopened.error();
  EXPECT_NE(reopened.error().find("past the end"), std::string::npos)
      << reopened.error();
}

// Tests that NaN and infinity are found and named in each float format.
TEST(WeightStoreTest, FindsNonFiniteWeights) {
  {
    TempDir dir;
    TensorFileWriter writer;
    float values[4] = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
    writer.addFloats("a.weight", {2, 2}, values);
    ASSERT_TRUE(writer.write(dir.file("model.safetensors")).ok());
    Result<WeightStore> store = WeightStore::open(dir.path());
    ASSERT_TRUE(store.ok()) << store.error();
    Result<bool> finite = store->checkFinite();
    ASSERT_FALSE(finite.ok());
    EXPECT_EQ(finite.error(), dir.file("model.safetensors") +
                                  ": tensor 'a.weight' (F32 [2, 2]): element 2 "
                                  "is NaN; expected finite weights");
  }
  // The last element of the last tensor, patched in place.
  struct Case {
    const char *dtype;
    std::string lastBytes;
    const char *what;
  } cases[] = {
      {"BF16", std::string("\x80\x7f", 2), "infinite"},
      {"BF16", std::string("\xc1\xff", 2), "NaN"},
      {"F16", std::string("\x00\xfc", 2), "infinite"},
      {"F8_E4M3", std::string("\x7f", 1), "NaN"},
      {"F8_E5M2", std::string("\x7c", 1), "infinite"},
  };
  for (const Case &test : cases) {
    TempDir dir;
    std::string bytes = makeSafeTensors(
        {{"a.weight", test.dtype, {3, 4}}, {"b.weight", test.dtype, {2, 2}}});
    bytes.replace(bytes.size() - test.lastBytes.size(), test.lastBytes.size(),
                  test.lastBytes);
    ASSERT_TRUE(writeFile(dir.file("model.safetensors"), bytes));
    Result<WeightStore> store = WeightStore::open(dir.path());
    ASSERT_TRUE(store.ok()) << store.error();
    Result<bool> finite = store->checkFinite();
    ASSERT_FALSE(finite.ok()) << test.dtype;
    EXPECT_EQ(finite.error(), dir.file("model.safetensors") +
                                  ": tensor 'b.weight' (" + test.dtype +
                                  " [2, 2]): element 3 is " + test.what +
                                  "; expected finite weights");
  }
  // F8_E4M3 has no infinity: 0x7E (448) and 0xFE (-448) are finite.
  TempDir dir;
  std::string bytes = makeSafeTensors({{"a.weight", "F8_E4M3", {2}}});
  bytes.replace(bytes.size() - 2, 2, "\x7e\xfe");
  ASSERT_TRUE(writeFile(dir.file("model.safetensors"), bytes));
  Result<WeightStore> store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_TRUE(store->checkFinite().ok());
}

/// The manifest parameters the compiler would list for `config`: the
/// checkpoint's dtypes, routed experts stacked under a `*` component.
static Manifest manifestFor(const ModelConfig &config,
                            const WeightStore &store) {
  Manifest manifest;
  std::map<std::string, size_t> stacked;
  for (const ParameterSpec &spec : listModelParameters(config, false)) {
    DType dtype = store.tensor(spec.name)->dtype;
    if (!spec.routedExpert) {
      manifest.parameters.push_back({spec.name, dtype, spec.shape, 0});
      continue;
    }
    std::string name = spec.name;
    size_t at = name.find(".experts.") + 9;
    name.replace(at, name.find('.', at) - at, "*");
    auto [it, inserted] = stacked.emplace(name, manifest.parameters.size());
    if (inserted) {
      std::vector<int64_t> shape = {0};
      shape.insert(shape.end(), spec.shape.begin(), spec.shape.end());
      manifest.parameters.push_back({name, dtype, shape, 0});
    }
    ManifestParameter &parameter = manifest.parameters[it->second];
    parameter.shape[0] = ++parameter.experts;
  }
  return manifest;
}

// Tests binding every parameter of the reference checkpoints, and that their
// weights are finite.
TEST(WeightStoreTest, BindsReferenceCheckpoints) {
  for (const char *name : {"tiny-v3", "tiny-v2-lite", "tiny-v3-fp8"}) {
    std::string directory = sharedDir() + "/reference/" + name;
    JIKJI_REQUIRE_SHARED(directory);
    Result<ModelConfig> config = loadModelConfig(directory + "/config.json");
    ASSERT_TRUE(config.ok()) << config.error();
    Result<WeightStore> store = WeightStore::open(directory);
    ASSERT_TRUE(store.ok()) << store.error();
    Manifest manifest = manifestFor(*config, *store);
    Result<std::vector<const void *>> pointers =
        store->bindParameters(manifest);
    ASSERT_TRUE(pointers.ok()) << pointers.error();
    EXPECT_EQ(static_cast<int64_t>(pointers->size()),
              manifest.numParameterPointers());
    EXPECT_EQ(pointers->size(), listModelParameters(*config, false).size());
    Result<bool> finite = store->checkFinite();
    EXPECT_TRUE(finite.ok()) << finite.error();
  }
}
