//===- JsonTest.cpp - Tests of the strict JSON reader ---------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

using namespace jikji;
using namespace jikji::hf;

namespace {

/// The error message of parsing `text`, or "" when it parses.
std::string parseError(std::string_view text) {
  Result<JsonValue> result = parseJson(text);
  return result ? "" : result.error();
}

TEST(JsonTest, ParsesEveryKind) {
  Result<JsonValue> result = parseJson(
      R"( {"n": null, "t": true, "f": false, "i": -12, "d": 2.5,
           "s": "x\"y", "a": [1, [2]], "o": {"k": "v"}} )");
  ASSERT_TRUE(result.ok()) << result.error();
  const JsonValue &root = *result;
  ASSERT_TRUE(root.isObject());
  EXPECT_EQ(root.asObject().size(), 8u);
  EXPECT_TRUE(root.find("n")->isNull());
  EXPECT_TRUE(root.find("t")->asBool());
  EXPECT_FALSE(root.find("f")->asBool());
  EXPECT_EQ(root.find("i")->asInt(), -12);
  EXPECT_DOUBLE_EQ(root.find("d")->asDouble(), 2.5);
  EXPECT_EQ(root.find("s")->asString(), "x\"y");
  EXPECT_EQ(root.find("a")->asArray()[1].asArray()[0].asInt(), 2);
  EXPECT_EQ(root.find("o")->find("k")->asString(), "v");
  EXPECT_EQ(root.find("missing"), nullptr);
  EXPECT_EQ(root.find("i")->find("x"), nullptr);
  // Members keep their written order.
  EXPECT_EQ(root.asObject().front().first, "n");
  EXPECT_EQ(root.asObject().back().first, "o");
}

TEST(JsonTest, TellsIntegersFromOtherNumbers) {
  Result<JsonValue> result =
      parseJson(R"([128, 128.0, 1e2, -0, 9223372036854775807,
                    -9223372036854775808, 9223372036854775808])");
  ASSERT_TRUE(result.ok()) << result.error();
  const auto &values = result->asArray();
  EXPECT_TRUE(values[0].isInteger());
  EXPECT_EQ(values[0].asInt(), 128);
  EXPECT_FALSE(values[1].isInteger());
  EXPECT_EQ(values[1].numberText(), "128.0");
  EXPECT_DOUBLE_EQ(values[1].asDouble(), 128.0);
  EXPECT_FALSE(values[2].isInteger());
  EXPECT_DOUBLE_EQ(values[2].asDouble(), 100.0);
  EXPECT_TRUE(values[3].isInteger());
  EXPECT_EQ(values[3].asInt(), 0);
  EXPECT_EQ(values[4].asInt(), INT64_MAX);
  EXPECT_EQ(values[5].asInt(), INT64_MIN);
  // One past int64: still a number, no longer an exact integer.
  EXPECT_TRUE(values[6].isNumber());
  EXPECT_FALSE(values[6].isInteger());
  EXPECT_DOUBLE_EQ(values[6].asDouble(), 9223372036854775808.0);
}

TEST(JsonTest, DecodesEscapes) {
  Result<JsonValue> result =
      parseJson(R"(["\u00e9\n\t\/\\", "\ud83d\ude00", "caf\u00C9"])");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->asArray()[0].asString(), "\xC3\xA9\n\t/\\");
  EXPECT_EQ(result->asArray()[1].asString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(result->asArray()[2].asString(), "caf\xC3\x89");
}

TEST(JsonTest, AcceptsRawUtf8AndSkipsByteOrderMark) {
  Result<JsonValue> result = parseJson("\xEF\xBB\xBF{\"k\": \"\xE2\x82\xAC\"}");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->find("k")->asString(), "\xE2\x82\xAC");
}

TEST(JsonTest, ReportsTheByteOffset) {
  EXPECT_EQ(parseError(R"({"a" 1})"),
            "invalid JSON at byte 5: expected ':', found '1'");
  EXPECT_EQ(parseError("[1, 2"),
            "invalid JSON at byte 5: expected ',' or ']', found the end of "
            "the text");
}

TEST(JsonTest, RejectsWhatRfc8259Forbids) {
  EXPECT_NE(parseError("[1, 2,]").find("trailing comma"), std::string::npos);
  EXPECT_NE(parseError(R"({"a": 1,})").find("trailing comma"),
            std::string::npos);
  EXPECT_NE(parseError("[1] // note").find("unexpected text"),
            std::string::npos);
  EXPECT_NE(parseError("/* c */ 1").find("comments"), std::string::npos);
  EXPECT_NE(parseError("01").find("leading zeros"), std::string::npos);
  for (const char *bad :
       {"",          " ",         "-",           "1.",   ".5",
        "+1",        "1e",        "1e+",         "NaN",  "Infinity",
        "-Infinity", "'a'",       "tru",         "nul",  "[1 2]",
        "{1: 2}",    "{\"a\"}",   "[",           "{",    "\"abc",
        "\"a\\x\"",  "\"\\u12\"", "\"\\uZZZZ\"", "[,1]", "{\"a\":1 \"b\":2}",
        "1 2"})
    EXPECT_NE(parseError(bad), "") << "accepted: " << bad;
}

TEST(JsonTest, RejectsControlCharactersInStrings) {
  EXPECT_NE(parseError("\"a\nb\"").find("control character"),
            std::string::npos);
  EXPECT_NE(parseError(std::string("\"a\0b\"", 5)).find("control character"),
            std::string::npos);
}

TEST(JsonTest, RejectsLoneSurrogates) {
  EXPECT_NE(parseError(R"("\ud83d")").find("unpaired high surrogate"),
            std::string::npos);
  EXPECT_NE(parseError(R"("\ud83dx")").find("unpaired high surrogate"),
            std::string::npos);
  EXPECT_NE(parseError(R"("\ud83d\u0041")").find("unpaired high surrogate"),
            std::string::npos);
  EXPECT_NE(parseError(R"("\ude00")").find("unpaired low surrogate"),
            std::string::npos);
}

TEST(JsonTest, RejectsInvalidUtf8) {
  // Overlong '/', an encoded surrogate, a stray continuation byte, a byte
  // that never occurs, a truncated sequence, and a code point past U+10FFFF.
  for (const char *bad :
       {"\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\x80\"", "\"\xFF\"",
        "\"\xE2\x82\"", "\"\xF4\x90\x80\x80\"", "\"\xE0\x80\x80\""}) {
    std::string error = parseError(bad);
    EXPECT_NE(error.find("invalid UTF-8"), std::string::npos)
        << "for " << bad << ": " << error;
  }
  EXPECT_EQ(findInvalidUtf8("ab\xC3\xA9"
                            "c\xFF"),
            std::optional<size_t>(5));
  EXPECT_EQ(findInvalidUtf8("\xF0\x9F\x98\x80"), std::nullopt);
}

TEST(JsonTest, RejectsDuplicateKeysUnlessAsked) {
  EXPECT_EQ(parseError(R"({"a": 1, "b": 2, "a": 3})"),
            "invalid JSON at byte 17: duplicate key \"a\"");
  EXPECT_NE(parseError(R"({"x": {"k": 1, "k": 1}})").find("duplicate key"),
            std::string::npos);
  JsonParseOptions options;
  options.allowDuplicateKeys = true;
  Result<JsonValue> result = parseJson(R"({"a": 1, "a": 2})", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->asObject().size(), 2u);
  EXPECT_EQ(result->find("a")->asInt(), 1);
}

TEST(JsonTest, LimitsNesting) {
  std::string deep64 = std::string(64, '[') + std::string(64, ']');
  std::string deep65 = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(parseError(deep64), "");
  EXPECT_NE(parseError(deep65).find("nesting deeper than 64 levels"),
            std::string::npos);
  std::string objects;
  for (int i = 0; i < 65; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(65, '}');
  EXPECT_NE(parseError(objects).find("nesting deeper"), std::string::npos);
  // A hostile depth fails cleanly rather than exhausting the stack.
  EXPECT_NE(parseError(std::string(1000000, '[')), "");
}

TEST(JsonTest, RejectsNumbersOutOfRange) {
  EXPECT_NE(parseError("1e400").find("out of the range"), std::string::npos);
  EXPECT_NE(parseError("-1e400").find("out of the range"), std::string::npos);
}

TEST(JsonTest, DescribesValuesShortly) {
  Result<JsonValue> result =
      parseJson(R"([null, true, 1.50, "a\"b", [1, 2], {"k": [3]}])");
  ASSERT_TRUE(result.ok());
  const auto &values = result->asArray();
  EXPECT_EQ(values[0].describe(), "null");
  EXPECT_EQ(values[1].describe(), "true");
  EXPECT_EQ(values[2].describe(), "1.50");
  EXPECT_EQ(values[3].describe(), "\"a\\\"b\"");
  EXPECT_EQ(values[4].describe(), "[1, 2]");
  EXPECT_EQ(values[5].describe(), "{\"k\": [3]}");
  EXPECT_EQ(result->describe(10), "[null, tru...");
  EXPECT_STREQ(JsonValue::kindName(JsonValue::Kind::Object), "an object");
}

} // namespace
