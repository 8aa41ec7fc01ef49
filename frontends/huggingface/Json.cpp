//===- Json.cpp - Strict JSON reader --------------------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Json.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <numeric>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::hf;

//===----------------------------------------------------------------------===//
// JsonValue
//===----------------------------------------------------------------------===//

JsonValue JsonValue::makeBool(bool value) {
  JsonValue result;
  result.kind_ = Kind::Bool;
  result.bool_ = value;
  return result;
}

JsonValue JsonValue::makeNumber(std::string text, double value,
                                std::optional<int64_t> integer) {
  JsonValue result;
  result.kind_ = Kind::Number;
  result.string_ = std::move(text);
  result.double_ = value;
  result.isInteger_ = integer.has_value();
  result.int_ = integer.value_or(0);
  return result;
}

JsonValue JsonValue::makeString(std::string value) {
  JsonValue result;
  result.kind_ = Kind::String;
  result.string_ = std::move(value);
  return result;
}

JsonValue JsonValue::makeArray(std::vector<JsonValue> elements) {
  JsonValue result;
  result.kind_ = Kind::Array;
  result.array_ = std::move(elements);
  return result;
}

JsonValue
JsonValue::makeObject(std::vector<std::pair<std::string, JsonValue>> members) {
  JsonValue result;
  result.kind_ = Kind::Object;
  result.object_ = std::move(members);
  return result;
}

bool JsonValue::asBool() const {
  assert(isBool() && "asBool() on a non-boolean");
  return bool_;
}

double JsonValue::asDouble() const {
  assert(isNumber() && "asDouble() on a non-number");
  return double_;
}

int64_t JsonValue::asInt() const {
  assert(isInteger() && "asInt() on a non-integer");
  return int_;
}

const std::string &JsonValue::asString() const {
  assert(isString() && "asString() on a non-string");
  return string_;
}

const std::string &JsonValue::numberText() const {
  assert(isNumber() && "numberText() on a non-number");
  return string_;
}

const std::vector<JsonValue> &JsonValue::asArray() const {
  assert(isArray() && "asArray() on a non-array");
  return array_;
}

const std::vector<std::pair<std::string, JsonValue>> &
JsonValue::asObject() const {
  assert(isObject() && "asObject() on a non-object");
  return object_;
}

const JsonValue *JsonValue::find(std::string_view key) const {
  if (!isObject())
    return nullptr;
  for (const auto &member : object_)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

const char *JsonValue::kindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "a boolean";
  case Kind::Number:
    return "a number";
  case Kind::String:
    return "a string";
  case Kind::Array:
    return "an array";
  case Kind::Object:
    return "an object";
  }
  return "an unknown value";
}

/// Appends `text` as a JSON string literal, escaping what must be escaped.
static void appendQuoted(std::string &out, std::string_view text) {
  out += '"';
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

/// Renders `value` compactly, giving up (and leaving the text longer than
/// `budget`) as soon as the text passes `budget`, so that describing a huge
/// array costs no more than describing a short one.
static void render(const JsonValue &value, std::string &out, size_t budget) {
  if (out.size() > budget)
    return;
  switch (value.kind()) {
  case JsonValue::Kind::Null:
    out += "null";
    return;
  case JsonValue::Kind::Bool:
    out += value.asBool() ? "true" : "false";
    return;
  case JsonValue::Kind::Number:
    out += value.numberText();
    return;
  case JsonValue::Kind::String:
    appendQuoted(out, value.asString().substr(0, budget + 1));
    return;
  case JsonValue::Kind::Array: {
    out += '[';
    bool first = true;
    for (const JsonValue &element : value.asArray()) {
      if (out.size() > budget)
        return;
      if (!first)
        out += ", ";
      first = false;
      render(element, out, budget);
    }
    out += ']';
    return;
  }
  case JsonValue::Kind::Object: {
    out += '{';
    bool first = true;
    for (const auto &member : value.asObject()) {
      if (out.size() > budget)
        return;
      if (!first)
        out += ", ";
      first = false;
      appendQuoted(out, member.first.substr(0, budget + 1));
      out += ": ";
      render(member.second, out, budget);
    }
    out += '}';
    return;
  }
  }
}

std::string JsonValue::describe(size_t maxLength) const {
  std::string out;
  render(*this, out, maxLength);
  if (out.size() > maxLength) {
    // Cut before the character the limit falls in, not inside it: the text
    // ends up in messages, which must stay valid UTF-8.
    size_t cut = maxLength;
    size_t lead = cut;
    while (lead > 0 &&
           (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80)
      --lead;
    if (lead > 0 && static_cast<unsigned char>(out[lead - 1]) >= 0xC0) {
      unsigned char first = static_cast<unsigned char>(out[lead - 1]);
      size_t length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2;
      if (lead - 1 + length > cut)
        cut = lead - 1;
    }
    out.resize(cut);
    out += "...";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

size_t jikji::hf::utf8SequenceLength(const unsigned char *bytes, size_t size) {
  // The ranges of the second byte come from RFC 3629's table; they are what
  // excludes overlong forms (E0, F0), surrogates (ED) and code points above
  // U+10FFFF (F4).
  unsigned char lead = bytes[0];
  size_t length;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0;
    else if (lead == 0xED)
      high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90;
    else if (lead == 0xF4)
      high = 0x8F;
  } else {
    return 0;
  }
  if (size < length || bytes[1] < low || bytes[1] > high)
    return 0;
  for (size_t k = 2; k < length; ++k)
    if ((bytes[k] & 0xC0) != 0x80)
      return 0;
  return length;
}

std::optional<size_t> jikji::hf::findInvalidUtf8(std::string_view text) {
  const auto *bytes = reinterpret_cast<const unsigned char *>(text.data());
  size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    if (bytes[i] < 0x80) {
      ++i;
      continue;
    }
    size_t length = utf8SequenceLength(bytes + i, size - i);
    if (length == 0)
      return i;
    i += length;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {

/// A recursive-descent parser over already UTF-8-validated text. Every
/// failure records the byte offset where it was noticed.
class Parser {
public:
  Parser(std::string_view text, const JsonParseOptions &options)
      : text_(text), options_(options) {}

  /// Parses the whole text; on failure returns std::nullopt and sets
  /// errorMessage().
  std::optional<JsonValue> parseDocument() {
    skipWhitespace();
    std::optional<JsonValue> value = parseValue(0);
    if (!value)
      return std::nullopt;
    skipWhitespace();
    if (pos_ != text_.size())
      return fail("unexpected text after the JSON value");
    return value;
  }

  const std::string &errorMessage() const { return error_; }

  /// Where parsing starts; skips a leading byte order mark.
  void setStart(size_t start) { pos_ = start; }

private:
  std::nullopt_t fail(const std::string &message) {
    return failAt(pos_, message);
  }

  std::nullopt_t failAt(size_t offset, const std::string &message) {
    error_ = "invalid JSON at byte " + std::to_string(offset) + ": " + message;
    return std::nullopt;
  }

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skipWhitespace() {
    while (!atEnd()) {
      char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      ++pos_;
    }
  }

  /// Names the character at the cursor for "found ..." parts of messages.
  std::string describeHere() const {
    if (atEnd())
      return "the end of the text";
    unsigned char c = static_cast<unsigned char>(peek());
    if (c >= 0x20 && c < 0x7F)
      return std::string("'") + static_cast<char>(c) + "'";
    char buffer[16];
    std::snprintf(buffer, sizeof(buffer), "byte 0x%02x", c);
    return buffer;
  }

  std::optional<JsonValue> parseValue(int depth) {
    if (atEnd())
      return fail("expected a value, found the end of the text");
    switch (peek()) {
    case '{':
      return parseObject(depth + 1);
    case '[':
      return parseArray(depth + 1);
    case '"': {
      std::optional<std::string> text = parseString();
      if (!text)
        return std::nullopt;
      return JsonValue::makeString(std::move(*text));
    }
    case 't':
      return parseLiteral("true", JsonValue::makeBool(true));
    case 'f':
      return parseLiteral("false", JsonValue::makeBool(false));
    case 'n':
      return parseLiteral("null", JsonValue());
    case '/':
      return fail("comments are not allowed in JSON");
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
        return parseNumber();
      return fail("expected a value, found " + describeHere());
    }
  }

  std::optional<JsonValue> parseLiteral(std::string_view word,
                                        JsonValue value) {
    if (text_.substr(pos_, word.size()) != word)
      return fail("expected a value, found " + describeHere());
    pos_ += word.size();
    return value;
  }

  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  std::optional<JsonValue> parseNumber() {
    size_t start = pos_;
    if (peek() == '-')
      ++pos_;
    if (atEnd() || !isDigit(peek()))
      return fail("expected a digit after '-'");
    if (peek() == '0') {
      ++pos_;
      if (!atEnd() && isDigit(peek()))
        return fail("numbers may not have leading zeros");
    } else {
      while (!atEnd() && isDigit(peek()))
        ++pos_;
    }
    bool integral = true;
    if (!atEnd() && peek() == '.') {
      integral = false;
      ++pos_;
      if (atEnd() || !isDigit(peek()))
        return fail("expected a digit after '.'");
      while (!atEnd() && isDigit(peek()))
        ++pos_;
    }
    if (!atEnd() && (peek() == 'e' || peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!atEnd() && (peek() == '+' || peek() == '-'))
        ++pos_;
      if (atEnd() || !isDigit(peek()))
        return fail("expected a digit in the exponent");
      while (!atEnd() && isDigit(peek()))
        ++pos_;
    }
    std::string_view text = text_.substr(start, pos_ - start);
    const char *first = text.data();
    const char *last = text.data() + text.size();

    std::optional<int64_t> integer;
    if (integral) {
      int64_t parsed = 0;
      auto [end, ec] = std::from_chars(first, last, parsed);
      if (ec == std::errc() && end == last)
        integer = parsed;
    }
    double value = 0;
    if (integer) {
      value = static_cast<double>(*integer);
    } else {
      // from_chars rather than strtod: it ignores the C locale, which could
      // otherwise make ',' the decimal point.
      auto [end, ec] = std::from_chars(first, last, value);
      if (ec != std::errc() || end != last)
        return failAt(start, "number " + std::string(text) +
                                 " is out of the range of a double");
    }
    return JsonValue::makeNumber(std::string(text), value, integer);
  }

  /// Reads four hex digits of a \u escape.
  std::optional<unsigned> parseHex4() {
    if (text_.size() - pos_ < 4)
      return fail("expected four hex digits after \\u");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_ + i];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= c - '0';
      else if (c >= 'a' && c <= 'f')
        value |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        value |= c - 'A' + 10;
      else
        return failAt(pos_ + i, "expected four hex digits after \\u");
    }
    pos_ += 4;
    return value;
  }

  static void appendUtf8(std::string &out, unsigned codePoint) {
    if (codePoint < 0x80) {
      out += static_cast<char>(codePoint);
    } else if (codePoint < 0x800) {
      out += static_cast<char>(0xC0 | (codePoint >> 6));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else if (codePoint < 0x10000) {
      out += static_cast<char>(0xE0 | (codePoint >> 12));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (codePoint >> 18));
      out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    }
  }

  std::optional<std::string> parseString() {
    assert(peek() == '"');
    size_t start = pos_;
    ++pos_;
    std::string out;
    while (true) {
      if (atEnd())
        return failAt(start, "unterminated string");
      char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string (it must be escaped)");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      size_t escapeStart = pos_;
      ++pos_;
      if (atEnd())
        return failAt(start, "unterminated string");
      char escape = peek();
      ++pos_;
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::optional<unsigned> unit = parseHex4();
        if (!unit)
          return std::nullopt;
        unsigned codePoint = *unit;
        if (codePoint >= 0xDC00 && codePoint <= 0xDFFF)
          return failAt(escapeStart, "unpaired low surrogate in \\u escape");
        if (codePoint >= 0xD800 && codePoint <= 0xDBFF) {
          if (text_.substr(pos_, 2) != "\\u")
            return failAt(escapeStart, "unpaired high surrogate in \\u escape");
          pos_ += 2;
          std::optional<unsigned> low = parseHex4();
          if (!low)
            return std::nullopt;
          if (*low < 0xDC00 || *low > 0xDFFF)
            return failAt(escapeStart, "unpaired high surrogate in \\u escape");
          codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (*low - 0xDC00);
        }
        appendUtf8(out, codePoint);
        break;
      }
      default:
        return failAt(escapeStart, "invalid escape sequence in a string");
      }
    }
  }

  std::optional<JsonValue> parseArray(int depth) {
    if (depth > options_.maxDepth)
      return fail("nesting deeper than " + std::to_string(options_.maxDepth) +
                  " levels");
    ++pos_; // '['
    std::vector<JsonValue> elements;
    skipWhitespace();
    if (!atEnd() && peek() == ']') {
      ++pos_;
      return JsonValue::makeArray(std::move(elements));
    }
    while (true) {
      skipWhitespace();
      if (!atEnd() && peek() == ']')
        return fail("trailing comma before ']'");
      std::optional<JsonValue> element = parseValue(depth);
      if (!element)
        return std::nullopt;
      elements.push_back(std::move(*element));
      skipWhitespace();
      if (atEnd())
        return fail("expected ',' or ']', found the end of the text");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return JsonValue::makeArray(std::move(elements));
      }
      return fail("expected ',' or ']', found " + describeHere());
    }
  }

  std::optional<JsonValue> parseObject(int depth) {
    if (depth > options_.maxDepth)
      return fail("nesting deeper than " + std::to_string(options_.maxDepth) +
                  " levels");
    ++pos_; // '{'
    std::vector<std::pair<std::string, JsonValue>> members;
    std::vector<size_t> keyOffsets;
    skipWhitespace();
    if (!atEnd() && peek() == '}') {
      ++pos_;
      return JsonValue::makeObject(std::move(members));
    }
    while (true) {
      skipWhitespace();
      if (!atEnd() && peek() == '}')
        return fail("trailing comma before '}'");
      if (atEnd() || peek() != '"')
        return fail("expected a string key, found " + describeHere());
      keyOffsets.push_back(pos_);
      std::optional<std::string> key = parseString();
      if (!key)
        return std::nullopt;
      skipWhitespace();
      if (atEnd() || peek() != ':')
        return fail("expected ':', found " + describeHere());
      ++pos_;
      skipWhitespace();
      std::optional<JsonValue> value = parseValue(depth);
      if (!value)
        return std::nullopt;
      members.emplace_back(std::move(*key), std::move(*value));
      skipWhitespace();
      if (atEnd())
        return fail("expected ',' or '}', found the end of the text");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      return fail("expected ',' or '}', found " + describeHere());
    }
    if (!options_.allowDuplicateKeys) {
      // Sorting indices keeps this O(n log n): a V3 shard header has
      // thousands of keys.
      std::vector<size_t> order(members.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return members[a].first < members[b].first;
      });
      std::optional<size_t> duplicate;
      for (size_t i = 1; i < order.size(); ++i) {
        if (members[order[i]].first != members[order[i - 1]].first)
          continue;
        // Report the later of the two, which is where a reader sees the
        // repetition; stable_sort keeps equal keys in text order.
        if (!duplicate || order[i] < *duplicate)
          duplicate = order[i];
      }
      if (duplicate) {
        std::string quoted;
        appendQuoted(quoted, members[*duplicate].first);
        return failAt(keyOffsets[*duplicate], "duplicate key " + quoted);
      }
    }
    return JsonValue::makeObject(std::move(members));
  }

  std::string_view text_;
  const JsonParseOptions &options_;
  size_t pos_ = 0;
  std::string error_;
};

} // namespace

Result<JsonValue> jikji::hf::parseJson(std::string_view text,
                                       const JsonParseOptions &options) {
  if (std::optional<size_t> bad = findInvalidUtf8(text))
    return Error("invalid JSON at byte " + std::to_string(*bad) +
                 ": invalid UTF-8");
  Parser parser(text, options);
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    parser.setStart(3);
  std::optional<JsonValue> value = parser.parseDocument();
  if (!value)
    return Error(parser.errorMessage());
  return std::move(*value);
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

namespace {
/// Closes a file descriptor on every way out of a function.
class ScopedFd {
public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd &) = delete;
  ScopedFd &operator=(const ScopedFd &) = delete;
  ~ScopedFd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};
} // namespace

Result<std::string> jikji::hf::readTextFile(const std::string &path,
                                            uint64_t maxBytes) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return Error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (::fstat(fd.get(), &info) != 0)
    return Error(path + ": cannot read: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return Error(path + ": expected a regular file");
  if (static_cast<uint64_t>(info.st_size) > maxBytes)
    return Error(path + ": file is " + std::to_string(info.st_size) +
                 " bytes, over the " + std::to_string(maxBytes) +
                 "-byte limit for a JSON file");
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t got = ::read(fd.get(), &text[done], text.size() - done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return Error(path + ": cannot read: " + std::strerror(errno));
    if (got == 0)
      break; // The file shrank while we read it; parse what is there.
    done += static_cast<size_t>(got);
  }
  text.resize(done);
  return text;
}
