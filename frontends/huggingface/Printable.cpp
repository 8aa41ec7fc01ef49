//===- Printable.cpp - File-provided text, safe to print ------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/Printable.h"

#include "frontends/huggingface/Json.h"

#include <cstdint>
#include <cstdio>

namespace {

/// The code point of a valid sequence of `length` bytes.
uint32_t decode(const unsigned char *bytes, size_t length) {
  if (length == 2)
    return (uint32_t(bytes[0] & 0x1F) << 6) | (bytes[1] & 0x3F);
  if (length == 3)
    return (uint32_t(bytes[0] & 0x0F) << 12) |
           (uint32_t(bytes[1] & 0x3F) << 6) | (bytes[2] & 0x3F);
  return (uint32_t(bytes[0] & 0x07) << 18) | (uint32_t(bytes[1] & 0x3F) << 12) |
         (uint32_t(bytes[2] & 0x3F) << 6) | (bytes[3] & 0x3F);
}

/// Code points that move the cursor, end a line or reorder text.
bool isInvisibleControl(uint32_t code) {
  return (code >= 0x80 && code <= 0x9F) || code == 0x200E || code == 0x200F ||
         code == 0x2028 || code == 0x2029 ||
         (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

} // namespace

std::string jikji::hf::printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto *bytes = reinterpret_cast<const unsigned char *>(text.data());
  size_t size = text.size();
  char buffer[16];
  for (size_t i = 0; i < size;) {
    unsigned char byte = bytes[i];
    if (byte >= 0x20 && byte < 0x7F && byte != '\\') {
      out += static_cast<char>(byte);
      ++i;
      continue;
    }
    if (byte < 0x80) {
      switch (byte) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        std::snprintf(buffer, sizeof(buffer), "\\x%02x", byte);
        out += buffer;
      }
      ++i;
      continue;
    }
    size_t length = jikji::hf::utf8SequenceLength(bytes + i, size - i);
    if (length == 0) {
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", byte);
      out += buffer;
      ++i;
      continue;
    }
    uint32_t code = decode(bytes + i, length);
    if (isInvisibleControl(code)) {
      std::snprintf(buffer, sizeof(buffer), "\\u{%04x}",
                    static_cast<unsigned>(code));
      out += buffer;
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}
