//===- JsonWriter.h - Writing JSON strings ----------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The runtime writes two kinds of JSON (the artifact manifest and safetensors
// headers), both flat enough that string quoting is the only part worth
// sharing; the reader is frontends/huggingface/Json.h.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_JSONWRITER_H
#define JIKJI_RUNTIME_SUPPORT_JSONWRITER_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jikji::runtime {

/// `text` as a JSON string literal, quotes included. `"` and `\` are
/// escaped, control characters become \n, \t, ... or \u00XX; other bytes,
/// UTF-8 included, are copied (the strict reader checks UTF-8 on the way
/// back in).
std::string quoteJson(std::string_view text);

/// `[1024, 256]`: a shape as a JSON array of integers.
std::string formatJsonIntegers(const std::vector<int64_t> &values);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_JSONWRITER_H
