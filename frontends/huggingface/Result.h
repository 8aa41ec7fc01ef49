//===- Result.h - A value or an error message -------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// The checkpoint reader is built with -fno-exceptions and is shared with the
// runtime, so every failure travels back as a value: a Result holds either
// what was asked for or an Error whose message is meant for the user.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_RESULT_H
#define JIKJI_FRONTENDS_HUGGINGFACE_RESULT_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace jikji {

/// A failure with a message for the user. The message names the file, field
/// or tensor, what was expected and what was found, so that it can be printed
/// as is.
class Error {
public:
  explicit Error(std::string message) : message_(std::move(message)) {}

  const std::string &message() const { return message_; }

private:
  std::string message_;
};

/// Either a value of type T or an Error. Callers must test ok() (or the bool
/// conversion) before touching the value; touching the value of a failed
/// Result, or the error of a successful one, is a programming error.
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : value_(std::move(value)) {}
  Result(Error error) : error_(error.message()) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  /// The error message; only when !ok().
  const std::string &error() const {
    assert(!ok() && "error() on a successful Result");
    return error_;
  }

  T &value() {
    assert(ok() && "value() on a failed Result");
    return *value_;
  }
  const T &value() const {
    assert(ok() && "value() on a failed Result");
    return *value_;
  }
  T &operator*() { return value(); }
  const T &operator*() const { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

private:
  std::optional<T> value_;
  std::string error_;
};

} // namespace jikji

#endif // JIKJI_FRONTENDS_HUGGINGFACE_RESULT_H
