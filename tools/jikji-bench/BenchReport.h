//===- BenchReport.h - jikji-bench's table and JSON lines -------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Every result is recorded twice, as a JSON object and as a table line, so
// that `--json` and the table always hold the same facts; notes (what the
// numbers count, what was skipped) follow the table.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TOOLS_JIKJI_BENCH_BENCHREPORT_H
#define JIKJI_TOOLS_JIKJI_BENCH_BENCHREPORT_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace jikji::bench {

/// Bytes in a MiB, for the memory and compile lines.
constexpr double kMiB = 1024.0 * 1024.0;

/// One JSON object under construction, fields in insertion order.
class JsonLine {
public:
  JsonLine &add(const char *key, const std::string &value);
  JsonLine &add(const char *key, const char *value);
  JsonLine &add(const char *key, int64_t value);
  JsonLine &add(const char *key, int value);
  JsonLine &add(const char *key, bool value);
  /// A number, or null when it is not finite (JSON has no NaN).
  JsonLine &add(const char *key, double value);
  std::string text() const { return "{" + body_ + "}"; }

private:
  JsonLine &raw(const char *key, const std::string &value);
  std::string body_;
};

/// What a run produced: JSON lines and table lines in the same order, and
/// notes.
struct Report {
  std::vector<std::string> json;
  std::vector<std::string> table;
  std::vector<std::string> notes;
  /// When set, each JSON line is also written and flushed here as it is
  /// recorded, so that a long run stopped midway keeps what it measured.
  std::FILE *stream = nullptr;

  /// Records one result both ways.
  void line(const JsonLine &object, std::string text);
  /// Appends `other`'s lines and notes.
  void append(const Report &other);
  /// Prints the JSON lines, or the table and its notes, to stdout.
  void print(bool asJson) const;
};

/// printf into a std::string (up to 1023 characters).
std::string format(const char *pattern, ...)
    __attribute__((format(printf, 1, 2)));

} // namespace jikji::bench

#endif // JIKJI_TOOLS_JIKJI_BENCH_BENCHREPORT_H
