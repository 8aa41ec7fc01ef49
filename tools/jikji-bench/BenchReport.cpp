//===- BenchReport.cpp - jikji-bench's table and JSON lines ---------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "tools/jikji-bench/BenchReport.h"

#include "runtime/support/JsonWriter.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <utility>

using namespace jikji;
using namespace jikji::bench;
using jikji::runtime::quoteJson;

JsonLine &JsonLine::add(const char *key, const std::string &value) {
  return raw(key, quoteJson(value));
}
JsonLine &JsonLine::add(const char *key, const char *value) {
  return raw(key, quoteJson(value));
}
JsonLine &JsonLine::add(const char *key, int64_t value) {
  return raw(key, std::to_string(value));
}
JsonLine &JsonLine::add(const char *key, int value) {
  return raw(key, std::to_string(value));
}
JsonLine &JsonLine::add(const char *key, bool value) {
  return raw(key, value ? "true" : "false");
}
JsonLine &JsonLine::add(const char *key, double value) {
  if (!std::isfinite(value))
    return raw(key, "null");
  char text[64];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return raw(key, text);
}

JsonLine &JsonLine::raw(const char *key, const std::string &value) {
  if (!body_.empty())
    body_ += ", ";
  body_ += quoteJson(key) + ": " + value;
  return *this;
}

void Report::line(const JsonLine &object, std::string text) {
  json.push_back(object.text());
  table.push_back(std::move(text));
  if (stream) {
    std::fprintf(stream, "%s\n", json.back().c_str());
    std::fflush(stream);
  }
}

void Report::append(const Report &other) {
  json.insert(json.end(), other.json.begin(), other.json.end());
  table.insert(table.end(), other.table.begin(), other.table.end());
  notes.insert(notes.end(), other.notes.begin(), other.notes.end());
}

void Report::print(bool asJson) const {
  for (const std::string &line : asJson ? json : table)
    std::printf("%s\n", line.c_str());
  if (!asJson)
    for (const std::string &note : notes)
      std::printf("note: %s\n", note.c_str());
  std::fflush(stdout);
}

std::string jikji::bench::format(const char *pattern, ...) {
  char text[1024];
  va_list arguments;
  va_start(arguments, pattern);
  std::vsnprintf(text, sizeof(text), pattern, arguments);
  va_end(arguments);
  return text;
}
