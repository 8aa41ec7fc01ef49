//===- PrintableTest.cpp - Tests of printable() ---------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Printable.h"

#include <gtest/gtest.h>

#include <string>

using jikji::hf::printable;

// Tests that ordinary names, non-ASCII letters included, pass unchanged.
TEST(PrintableTest, KeepsOrdinaryText) {
  EXPECT_EQ(printable("model.layers.0.mlp.experts.7.up_proj.weight"),
            "model.layers.0.mlp.experts.7.up_proj.weight");
  EXPECT_EQ(printable("poids.\xc3\xa9t\xc3\xa9.\xe6\x9d\x83\xe9\x87\x8d"),
            "poids.\xc3\xa9t\xc3\xa9.\xe6\x9d\x83\xe9\x87\x8d");
  EXPECT_EQ(printable("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(printable(""), "");
}

// Tests the escapes of C0 controls, DEL and backslash.
TEST(PrintableTest, EscapesAsciiControls) {
  EXPECT_EQ(printable("a\x1b[2K\rforged\n"), "a\\x1b[2K\\rforged\\n");
  EXPECT_EQ(printable(std::string("\0\t\x7f\\", 4)), "\\x00\\t\\x7f\\\\");
}

// Tests that bytes that are not UTF-8 are escaped one by one, and the C1
// controls, line separators and bidirectional controls by code point.
TEST(PrintableTest, EscapesInvalidUtf8AndInvisibleControls) {
  EXPECT_EQ(printable("a\xff\xc3"), "a\\xff\\xc3");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a surrogate
  EXPECT_EQ(printable("\xc2\x9b"
                      "2K"),
            "\\u{009b}2K"); // C1 CSI
  EXPECT_EQ(printable("\xe2\x80\xae"
                      "cba"),
            "\\u{202e}cba");                         // RTL override
  EXPECT_EQ(printable("\xe2\x80\xa8"), "\\u{2028}"); // line separator
  EXPECT_EQ(printable("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u{2066}x\\u{2069}");
}
