//===- MappedFile.h - A read-only memory-mapped file ------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Weights are read straight from the page cache: the runtime maps each
// safetensors file once and hands out pointers into the mapping. A mapped file
// that shrinks underneath us turns the next read past its new end into
// SIGBUS, so the file descriptor stays open and stillIntact() can re-check the
// size before a caller trusts the mapping again.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_SUPPORT_MAPPEDFILE_H
#define JIKJI_RUNTIME_SUPPORT_MAPPEDFILE_H

#include "frontends/huggingface/Result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace jikji::runtime {

/// A whole file mapped read-only. Move-only; the mapping and the descriptor
/// are released by the destructor.
class MappedFile {
public:
  /// Maps the regular file at `path`. Refuses a missing, unreadable, empty or
  /// non-regular file with a message that starts with `path`.
  static Result<MappedFile> open(const std::string &path);

  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  const std::string &path() const { return path_; }
  const uint8_t *data() const { return data_; }
  /// The size of the file when it was mapped.
  uint64_t size() const { return size_; }

  /// True when the file is still at least as long as when it was mapped, so
  /// that every mapped byte can be read without SIGBUS.
  bool stillIntact() const;
  /// As stillIntact(), with a message on failure: "<path>: file shrank while
  /// mapped: was N bytes, now M".
  Result<bool> checkIntact() const;

private:
  MappedFile(std::string path, int descriptor, const uint8_t *data,
             uint64_t size)
      : path_(std::move(path)), descriptor_(descriptor), data_(data),
        size_(size) {}
  void release();

  std::string path_;
  int descriptor_ = -1;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
};

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_SUPPORT_MAPPEDFILE_H
