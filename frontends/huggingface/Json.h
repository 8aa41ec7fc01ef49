//===- Json.h - Strict JSON reader ------------------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// A small, strict RFC 8259 reader for config.json, safetensors headers and the
// shard index. Strict because these files come from outside: the text must be
// valid UTF-8 (no overlong forms, no surrogates), there are no comments or
// trailing commas, an object may not repeat a key (two readers could
// otherwise disagree on which value counts), and nesting stops at 64 levels so
// that a hostile file cannot exhaust the stack. A leading UTF-8 byte order
// mark is skipped, as RFC 8259 allows.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_JSON_H
#define JIKJI_FRONTENDS_HUGGINGFACE_JSON_H

#include "frontends/huggingface/Result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jikji::hf {

/// One JSON value. Objects keep their members in the order written.
class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  /// A null value.
  JsonValue() = default;
  static JsonValue makeBool(bool value);
  /// A number: `text` is the number as written (kept for messages and to tell
  /// `128` from `128.0`), `value` its nearest double, and `integer` its exact
  /// value when it was written without fraction or exponent and fits int64.
  static JsonValue makeNumber(std::string text, double value,
                              std::optional<int64_t> integer);
  static JsonValue makeString(std::string value);
  static JsonValue makeArray(std::vector<JsonValue> elements);
  static JsonValue
  makeObject(std::vector<std::pair<std::string, JsonValue>> members);

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const;
  double asDouble() const;
  /// True for a number written without fraction or exponent that fits int64.
  bool isInteger() const { return kind_ == Kind::Number && isInteger_; }
  /// The exact value; only when isInteger().
  int64_t asInt() const;
  const std::string &asString() const;
  /// The number exactly as it was written in the text; only for numbers.
  const std::string &numberText() const;
  const std::vector<JsonValue> &asArray() const;
  const std::vector<std::pair<std::string, JsonValue>> &asObject() const;

  /// The member named `key` of an object, or nullptr (also when this is not
  /// an object). With duplicate keys (see JsonParseOptions) the first wins.
  const JsonValue *find(std::string_view key) const;

  /// "null", "a boolean", "a number", "a string", "an array", "an object".
  static const char *kindName(Kind kind);

  /// A short rendering of this value for messages: `"text"` for strings, the
  /// number as written, `true`, `null`, compact arrays and objects, cut with
  /// `...` past `maxLength` characters.
  std::string describe(size_t maxLength = 60) const;

private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool isInteger_ = false;
  double double_ = 0;
  int64_t int_ = 0;
  /// The string, or the number as written.
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

/// Knobs for parseJson. The defaults are the strict reader.
struct JsonParseOptions {
  /// Keep repeated object keys instead of rejecting them, so that a caller can
  /// report them in its own terms (the safetensors reader says "duplicate
  /// tensor name").
  bool allowDuplicateKeys = false;
  /// Objects and arrays nested deeper than this are rejected.
  int maxDepth = 64;
};

/// Parses one JSON text (whitespace around it allowed, nothing else). A
/// failure reads like "invalid JSON at byte 17: expected ':'", the byte
/// offset counted from the start of `text`.
Result<JsonValue> parseJson(std::string_view text,
                            const JsonParseOptions &options = {});

/// The length (2 to 4) of the well-formed multi-byte UTF-8 sequence that
/// starts `bytes` (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF), reading at most `size` bytes; 0 when there is none (an ASCII
/// byte included).
size_t utf8SequenceLength(const unsigned char *bytes, size_t size);

/// The offset of the first byte that is not part of well-formed UTF-8 (RFC
/// 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
/// std::nullopt when all of `text` is valid.
std::optional<size_t> findInvalidUtf8(std::string_view text);

/// Reads a whole small file, such as config.json or the shard index, into
/// memory. Refuses files over `maxBytes` rather than exhausting memory on a
/// file that is not what its name says.
Result<std::string> readTextFile(const std::string &path,
                                 uint64_t maxBytes = 100'000'000);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_JSON_H
