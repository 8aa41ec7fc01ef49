//===- json-fuzzer.cpp - Fuzzes the strict JSON reader --------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to jikji::hf::parseJson, the reader under config.json,
// safetensors headers, the shard index and the artifact manifest. Besides
// memory and UB errors it checks what the callers rely on: an accepted text
// is valid UTF-8, the duplicate-key option only ever accepts more, a lower
// depth limit only ever accepts less, describe() stays within its budget and
// valid UTF-8, and every string the reader returns survives the runtime's
// writer (quoteJson) and the reader again unchanged. The input's bytes also
// go through printable(), which quotes file-provided names in messages:
// nothing it returns may move the cursor, end a line or reorder text.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Json.h"
#include "frontends/huggingface/Printable.h"
#include "fuzz/FuzzSupport.h"
#include "runtime/support/JsonWriter.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace jikji;
using namespace jikji::hf;

/// Checks the strings and sizes of every value under `value`.
static void walk(const JsonValue &value, int depth) {
  JIKJI_FUZZ_CHECK(depth <= 64, "a parsed value nests deeper than the limit");
  std::string description = value.describe(40);
  JIKJI_FUZZ_CHECK(description.size() <= 43, "describe() overran its budget");
  // describe() ends up in error messages, which must stay valid UTF-8.
  JIKJI_FUZZ_CHECK(!findInvalidUtf8(description),
                   "describe() cut a character in two");
  switch (value.kind()) {
  case JsonValue::Kind::Null:
  case JsonValue::Kind::Bool:
    return;
  case JsonValue::Kind::Number:
    JIKJI_FUZZ_CHECK(!value.numberText().empty(), "a number with no text");
    if (value.isInteger())
      (void)value.asInt();
    (void)value.asDouble();
    return;
  case JsonValue::Kind::String: {
    const std::string &text = value.asString();
    JIKJI_FUZZ_CHECK(!findInvalidUtf8(text), "a string decoded to bad UTF-8");
    Result<JsonValue> again = parseJson(runtime::quoteJson(text));
    JIKJI_FUZZ_CHECK(again.ok() && again->isString() &&
                         again->asString() == text,
                     "quoteJson and parseJson disagree on a string");
    return;
  }
  case JsonValue::Kind::Array:
    for (const JsonValue &element : value.asArray())
      walk(element, depth + 1);
    return;
  case JsonValue::Kind::Object:
    for (const auto &[key, member] : value.asObject()) {
      JIKJI_FUZZ_CHECK(!findInvalidUtf8(key), "a key decoded to bad UTF-8");
      JIKJI_FUZZ_CHECK(value.find(key) != nullptr, "find() misses a key");
      walk(member, depth + 1);
    }
    return;
  }
}

/// printable() of any bytes is valid UTF-8 holding no C0 control, DEL, C1
/// control, line separator or bidirectional control: nothing that moves the
/// cursor, ends a line or reorders text. And it is the identity on names
/// that need no escape.
static void checkPrintable(std::string_view bytes) {
  std::string shown = hf::printable(bytes);
  JIKJI_FUZZ_CHECK(!findInvalidUtf8(shown), "printable() gave invalid UTF-8");
  for (size_t i = 0; i < shown.size(); ++i) {
    unsigned char byte = static_cast<unsigned char>(shown[i]);
    JIKJI_FUZZ_CHECK(byte >= 0x20 && byte != 0x7F,
                     "printable() let a C0 control or DEL through");
    JIKJI_FUZZ_CHECK(!(byte == 0xC2 && i + 1 < shown.size() &&
                       static_cast<unsigned char>(shown[i + 1]) <= 0x9F),
                     "printable() let a C1 control through");
    bool separatorOrBidi =
        byte == 0xE2 && i + 2 < shown.size() &&
        ((static_cast<unsigned char>(shown[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(shown[i + 2]) == 0x8E ||
           static_cast<unsigned char>(shown[i + 2]) == 0x8F ||
           (static_cast<unsigned char>(shown[i + 2]) >= 0xA8 &&
            static_cast<unsigned char>(shown[i + 2]) <= 0xAE))) ||
         (static_cast<unsigned char>(shown[i + 1]) == 0x81 &&
          static_cast<unsigned char>(shown[i + 2]) >= 0xA6 &&
          static_cast<unsigned char>(shown[i + 2]) <= 0xA9));
    JIKJI_FUZZ_CHECK(!separatorOrBidi,
                     "printable() let a line separator or a bidirectional "
                     "control through");
  }
  bool plain = !findInvalidUtf8(bytes);
  for (unsigned char byte : bytes)
    plain = plain && byte >= 0x20 && byte < 0x7F && byte != '\\';
  JIKJI_FUZZ_CHECK(!plain || shown == bytes,
                   "printable() changed plain ASCII text");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  checkPrintable(text);

  Result<JsonValue> strict = parseJson(text);
  JsonParseOptions lenient;
  lenient.allowDuplicateKeys = true;
  Result<JsonValue> withDuplicates = parseJson(text, lenient);
  JsonParseOptions shallow;
  shallow.maxDepth = 3;
  Result<JsonValue> shallowResult = parseJson(text, shallow);

  if (strict) {
    JIKJI_FUZZ_CHECK(!findInvalidUtf8(text), "accepted invalid UTF-8");
    JIKJI_FUZZ_CHECK(withDuplicates.ok(),
                     "allowing duplicate keys rejected a valid text");
    walk(*strict, 0);
  } else {
    JIKJI_FUZZ_CHECK(strict.error().rfind("invalid JSON at byte ", 0) == 0,
                     "a JSON error that does not name the byte");
  }
  JIKJI_FUZZ_CHECK(!shallowResult.ok() || strict.ok(),
                   "a lower depth limit accepted what the default refused");
  return 0;
}
