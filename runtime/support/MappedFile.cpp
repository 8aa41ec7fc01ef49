//===- MappedFile.cpp - A read-only memory-mapped file --------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/MappedFile.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::runtime;

namespace {
/// Closes a descriptor unless release()d, so that every early return of
/// MappedFile::open leaks nothing.
class ScopedDescriptor {
public:
  explicit ScopedDescriptor(int descriptor) : descriptor_(descriptor) {}
  ScopedDescriptor(const ScopedDescriptor &) = delete;
  ScopedDescriptor &operator=(const ScopedDescriptor &) = delete;
  ~ScopedDescriptor() {
    if (descriptor_ >= 0)
      ::close(descriptor_);
  }
  int get() const { return descriptor_; }
  int release() { return std::exchange(descriptor_, -1); }

private:
  int descriptor_;
};
} // namespace

Result<MappedFile> MappedFile::open(const std::string &path) {
  ScopedDescriptor descriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (descriptor.get() < 0)
    return Error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (::fstat(descriptor.get(), &info) != 0)
    return Error(path + ": cannot read its size: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return Error(path + ": expected a regular file");
  if (info.st_size <= 0)
    return Error(path + ": file is empty");
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size > static_cast<uint64_t>(SIZE_MAX))
    return Error(path + ": file is " + std::to_string(size) +
                 " bytes, more than this process can map");
  // MAP_PRIVATE with PROT_READ: the file is never written through the
  // mapping, and another process rewriting it in place is caught by
  // checkIntact() for the size (the contents are the user's business).
  void *mapped = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ,
                        MAP_PRIVATE, descriptor.get(), 0);
  if (mapped == MAP_FAILED)
    return Error(path + ": cannot map " + std::to_string(size) +
                 " bytes: " + std::strerror(errno));
  return MappedFile(path, descriptor.release(),
                    static_cast<const uint8_t *>(mapped), size);
}

MappedFile::MappedFile(MappedFile &&other) noexcept
    : path_(std::move(other.path_)),
      descriptor_(std::exchange(other.descriptor_, -1)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile &MappedFile::operator=(MappedFile &&other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    descriptor_ = std::exchange(other.descriptor_, -1);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
  if (data_)
    ::munmap(const_cast<uint8_t *>(data_), static_cast<size_t>(size_));
  if (descriptor_ >= 0)
    ::close(descriptor_);
  data_ = nullptr;
  descriptor_ = -1;
  size_ = 0;
}

bool MappedFile::stillIntact() const { return checkIntact().ok(); }

Result<bool> MappedFile::checkIntact() const {
  if (!data_)
    return Error(path_ + ": not mapped");
  struct stat info;
  if (::fstat(descriptor_, &info) != 0)
    return Error(path_ + ": cannot read its size: " + std::strerror(errno));
  uint64_t now = info.st_size < 0 ? 0 : static_cast<uint64_t>(info.st_size);
  if (now < size_)
    return Error(path_ + ": file shrank while mapped: was " +
                 std::to_string(size_) + " bytes, now " + std::to_string(now));
  return true;
}
