//===- SafeTensorsTest.cpp - Tests of safetensors header parsing ----------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/SafeTensors.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

#include <string>

using namespace jikji;
using namespace jikji::hf;
using namespace jikji::test;

namespace {

/// A file made of the length of `header`, `header`, and `dataBytes` zeros.
std::string fileWith(const std::string &header, size_t dataBytes) {
  return withLength(header, header.size()) + std::string(dataBytes, '\0');
}

/// The message parsing `bytes` as "t.safetensors" fails with, or "".
std::string errorOf(const std::string &bytes) {
  Result<SafeTensorsFile> result =
      parseSafeTensorsHeader(bytes, bytes.size(), "t.safetensors");
  return result ? "" : result.error();
}

TEST(SafeTensorsTest, NamesDTypes) {
  for (DType dtype :
       {DType::Bool, DType::U8, DType::I8, DType::U16, DType::I16, DType::U32,
        DType::I32, DType::U64, DType::I64, DType::F16, DType::BF16, DType::F32,
        DType::F64, DType::F8E4M3, DType::F8E5M2})
    EXPECT_EQ(parseDType(dtypeName(dtype)), dtype) << dtypeName(dtype);
  EXPECT_STREQ(dtypeName(DType::F8E4M3), "F8_E4M3");
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::F8E4M3), 1u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_EQ(parseDType("bf16"), std::nullopt);
  EXPECT_EQ(parseDType("F4"), std::nullopt);
}

TEST(SafeTensorsTest, ParsesAValidHeader) {
  std::string bytes = makeSafeTensors({{"b", "BF16", {2, 3}},
                                       {"a", "F32", {4}},
                                       {"scalar", "I64", {}},
                                       {"empty", "F16", {0, 5}}});
  Result<SafeTensorsFile> result =
      parseSafeTensorsHeader(bytes, bytes.size(), "t.safetensors");
  ASSERT_TRUE(result.ok()) << result.error();
  const SafeTensorsFile &file = *result;
  ASSERT_EQ(file.tensors.size(), 4u);
  // Sorted by name.
  EXPECT_EQ(file.tensors[0].name, "a");
  EXPECT_EQ(file.tensors[3].name, "scalar");
  const TensorInfo *b = file.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::BF16);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b->begin, 0u);
  EXPECT_EQ(b->end, 12u);
  EXPECT_EQ(b->numElements(), 6);
  EXPECT_EQ(b->file, "t.safetensors");
  EXPECT_EQ(b->fileOffset, file.dataOffset);
  EXPECT_EQ(file.find("a")->fileOffset, file.dataOffset + 12);
  EXPECT_EQ(file.find("scalar")->numElements(), 1);
  EXPECT_EQ(file.find("empty")->numBytes(), 0u);
  EXPECT_EQ(file.find("c"), nullptr);
  ASSERT_EQ(file.metadata.size(), 1u);
  EXPECT_EQ(file.metadata[0].first, "format");
  EXPECT_EQ(file.metadata[0].second, "pt");
  EXPECT_EQ(file.fileSize, bytes.size());
}

TEST(SafeTensorsTest, AcceptsAnEmptyFileAndPadding) {
  EXPECT_EQ(errorOf(withLength("{}", 2)), "");
  EXPECT_EQ(errorOf(withLength("{}      ", 8)), "");
}

TEST(SafeTensorsTest, RejectsBadLengths) {
  EXPECT_EQ(errorOf("abc"),
            "t.safetensors: file is 3 bytes, too short for a safetensors file "
            "(it starts with an 8-byte header length)");
  EXPECT_EQ(errorOf(withLength("{}", 3)),
            "t.safetensors: header length 3 runs past the end of the file "
            "(8 + 3 bytes needed, the file is 10)");
  EXPECT_EQ(errorOf(withLength("{}", 200000000)),
            "t.safetensors: header length 200000000 is over the limit of "
            "100000000 bytes");
  EXPECT_EQ(errorOf(withLength("{}", UINT64_MAX)),
            "t.safetensors: header length 18446744073709551615 is over the "
            "limit of 100000000 bytes");
}

TEST(SafeTensorsTest, RejectsHeadersThatAreNotJsonObjects) {
  EXPECT_EQ(errorOf(fileWith("{\"\xFF\": 1}", 0)),
            "t.safetensors: header is not valid UTF-8 (byte 2 of the header)");
  EXPECT_EQ(errorOf(fileWith("{'a': 1}", 0)),
            "t.safetensors: header is not valid JSON: invalid JSON at byte 1: "
            "expected a string key, found '''");
  EXPECT_EQ(errorOf(fileWith("[]", 0)),
            "t.safetensors: header: expected a JSON object, found []");
}

TEST(SafeTensorsTest, RejectsBadEntries) {
  struct Case {
    const char *header;
    size_t dataBytes;
    const char *message;
  };
  const Case cases[] = {
      {R"({"w": 3})", 0,
       "tensor 'w': expected an object with dtype, shape and data_offsets, "
       "found 3"},
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': 'dtype': expected a string, found nothing"},
      {R"({"w": {"dtype": "F4", "shape": [1], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': 'dtype': expected a known dtype (BOOL, U8, I8, U16, I16, "
       "U32, I32, U64, I64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2), found "
       "\"F4\""},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4,
       "tensor 'w': 'shape': expected an array of non-negative integers, "
       "found nothing"},
      {R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': 'shape': expected an array of non-negative integers, "
       "found [-1]"},
      {R"({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': 'shape': expected an array of non-negative integers, "
       "found [1.0]"},
      {R"({"w": {"dtype": "F32", "shape": [1]}})", 4,
       "tensor 'w': 'data_offsets': expected [begin, end] with two "
       "non-negative integers, found nothing"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4,
       "tensor 'w': 'data_offsets': expected [begin, end] with two "
       "non-negative integers, found [0]"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 4,
       "tensor 'w': data_offsets [4, 0] run backwards (begin > end)"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}})", 4,
       "tensor 'w': data_offsets [0, 8] run past the end of the data section "
       "(4 bytes)"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8"},
      {R"({"w": {"dtype": "BF16", "shape": [4294967296, 4294967296],
                 "data_offsets": [0, 4]}})",
       4,
       "tensor 'w': shape [4294967296, 4294967296] has too many elements: its "
       "byte size overflows 64 bits"},
      // 2^62 elements of 2 bytes: the element count fits, the bytes do not
      // fit int64.
      {R"({"w": {"dtype": "BF16", "shape": [4611686018427387904],
                 "data_offsets": [0, 4]}})",
       4,
       "tensor 'w': shape [4611686018427387904] has too many elements: its "
       "byte size overflows 64 bits"},
      {R"({"w": {"dtype": "F32", "dtype": "F32", "shape": [1],
                 "data_offsets": [0, 4]}})",
       4, "tensor 'w': duplicate key 'dtype'"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(errorOf(fileWith(c.header, c.dataBytes)),
              std::string("t.safetensors: ") + c.message)
        << c.header;
}

TEST(SafeTensorsTest, RejectsDuplicateNames) {
  EXPECT_EQ(errorOf(fileWith(
                R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                8)),
            "t.safetensors: duplicate tensor name 'w'");
}

// Tests that a name from the file cannot forge a line of output: control
// characters in it reach the message escaped.
TEST(SafeTensorsTest, EscapesNamesInMessages) {
  EXPECT_EQ(
      errorOf(fileWith(
          R"({"w\u001b[2K\rjikji-compile: wrote model.so\n": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
              "w\u001b[2K\rjikji-compile: wrote model.so\n": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
          8)),
      "t.safetensors: duplicate tensor name 'w\\x1b[2K\\rjikji-compile: "
      "wrote model.so\\n'");
  EXPECT_EQ(errorOf(fileWith(R"({"\u202eevil": {"dtype": "Q4", "shape": [1],
                                                  "data_offsets": [0, 4]}})",
                             4))
                .rfind("t.safetensors: tensor '\\u{202e}evil': 'dtype'", 0),
            0u);
}

TEST(SafeTensorsTest, RejectsBadMetadata) {
  EXPECT_EQ(errorOf(fileWith(R"({"__metadata__": {"format": 1}})", 0)),
            "t.safetensors: '__metadata__': expected an object of strings, "
            "found {\"format\": 1}");
  EXPECT_EQ(errorOf(fileWith(R"({"__metadata__": {"a": "x", "a": "y"}})", 0)),
            "t.safetensors: '__metadata__': duplicate key 'a'");
}

TEST(SafeTensorsTest, RequiresTensorsToTileTheData) {
  auto twoTensors = [](int aBegin, int aEnd, int bBegin, int bEnd) {
    return "{\"a\": {\"dtype\": \"U8\", \"shape\": [" +
           std::to_string(aEnd - aBegin) + "], \"data_offsets\": [" +
           std::to_string(aBegin) + ", " + std::to_string(aEnd) +
           "]}, \"b\": {\"dtype\": \"U8\", \"shape\": [" +
           std::to_string(bEnd - bBegin) + "], \"data_offsets\": [" +
           std::to_string(bBegin) + ", " + std::to_string(bEnd) + "]}}";
  };
  EXPECT_EQ(errorOf(fileWith(twoTensors(0, 4, 4, 8), 8)), "");
  EXPECT_EQ(errorOf(fileWith(twoTensors(4, 8, 0, 4), 8)), "");
  EXPECT_EQ(errorOf(fileWith(twoTensors(0, 4, 2, 6), 6)),
            "t.safetensors: tensors 'a' [0, 4] and 'b' [2, 6] overlap");
  EXPECT_EQ(errorOf(fileWith(twoTensors(0, 4, 6, 8), 8)),
            "t.safetensors: bytes [4, 6) of the data section belong to no "
            "tensor (a hole between 'a' [0, 4] and 'b' [6, 8])");
  EXPECT_EQ(errorOf(fileWith(twoTensors(2, 4, 4, 8), 8)),
            "t.safetensors: bytes [0, 2) of the data section belong to no "
            "tensor (the first tensor, 'a', begins at 2)");
  EXPECT_EQ(errorOf(fileWith(twoTensors(0, 4, 4, 8), 10)),
            "t.safetensors: 2 bytes after the last tensor ('b' ends at 8 and "
            "the data section is 10 bytes)");
  EXPECT_EQ(errorOf(fileWith("{}", 3)),
            "t.safetensors: 3 bytes after the last tensor (the header names "
            "no tensors)");
  // Two empty tensors may share an offset; they alias nothing.
  EXPECT_EQ(errorOf(fileWith(twoTensors(0, 0, 0, 0), 0)), "");
}

TEST(SafeTensorsTest, ReadsOnlyTheHeaderOfFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("w.safetensors");
  ASSERT_TRUE(writeFile(path, makeSafeTensors({{"w", "BF16", {1000, 1000}}})));
  Result<SafeTensorsFile> file = readSafeTensorsFile(path);
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(file->path, path);
  EXPECT_EQ(file->find("w")->file, path);
  EXPECT_EQ(file->fileSize, file->dataOffset + 2000000);

  Result<SafeTensorsFile> missing = readSafeTensorsFile(dir.file("none"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(),
            dir.file("none") + ": cannot open: No such file or directory");
  Result<SafeTensorsFile> folder = readSafeTensorsFile(dir.path());
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error(), dir.path() + ": expected a regular file");

  ASSERT_TRUE(writeFile(dir.file("short"), "ab"));
  Result<SafeTensorsFile> tooShort = readSafeTensorsFile(dir.file("short"));
  ASSERT_FALSE(tooShort.ok());
  EXPECT_NE(tooShort.error().find("file is 2 bytes, too short"),
            std::string::npos);

  ASSERT_TRUE(writeFile(dir.file("huge"), withLength("{}", 1ull << 40)));
  Result<SafeTensorsFile> huge = readSafeTensorsFile(dir.file("huge"));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().find("over the limit"), std::string::npos);
}

TEST(SafeTensorsTest, ReadsTheReferenceFiles) {
  std::string dir = sharedDir() + "/reference/";
  JIKJI_REQUIRE_SHARED(dir);
  Result<SafeTensorsFile> v3 =
      readSafeTensorsFile(dir + "tiny-v3/model.safetensors");
  ASSERT_TRUE(v3.ok()) << v3.error();
  EXPECT_EQ(v3->tensors.size(), 269u);
  const TensorInfo *bias =
      v3->find("model.layers.1.mlp.gate.e_score_correction_bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->dtype, DType::F32);
  EXPECT_EQ(bias->shape, (std::vector<int64_t>{16}));

  Result<SafeTensorsFile> fp8 =
      readSafeTensorsFile(dir + "tiny-v3-fp8/model.safetensors");
  ASSERT_TRUE(fp8.ok()) << fp8.error();
  const TensorInfo *down = fp8->find("model.layers.0.mlp.down_proj.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->dtype, DType::F8E4M3);
  EXPECT_EQ(down->numBytes(), 320u * 704u);
  EXPECT_EQ(fp8->find("model.layers.0.mlp.down_proj.weight_scale_inv")->shape,
            (std::vector<int64_t>{3, 6}));

  Result<SafeTensorsFile> reference =
      readSafeTensorsFile(dir + "tiny-v3/reference.safetensors");
  ASSERT_TRUE(reference.ok()) << reference.error();
  const TensorInfo *tokens = reference->find("tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->dtype, DType::I64);
  EXPECT_EQ(reference->find("prefill_logits")->dtype, DType::F32);
  bool hasPromptLength = false;
  for (const auto &[key, value] : reference->metadata)
    hasPromptLength |= key == "prompt_len";
  EXPECT_TRUE(hasPromptLength);
}

} // namespace
