//===- TestUtil.h - Helpers for the checkpoint reader's tests ---*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Temporary folders, files, and safetensors files built in memory, so that
// each test states the one thing it breaks.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_TEST_UNIT_TESTUTIL_H
#define JIKJI_TEST_UNIT_TESTUTIL_H

#include "frontends/huggingface/SafeTensors.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

namespace jikji::test {

/// The shared folder (configs/, reference/), from the build.
inline std::string sharedDir() { return JIKJI_SHARED_DIR; }

inline bool pathExists(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

/// Skips the current test when ../shared is not there: the project must build
/// and test without it.
#define JIKJI_REQUIRE_SHARED(path)                                             \
  do {                                                                         \
    if (!::jikji::test::pathExists(path))                                      \
      GTEST_SKIP() << "not found: " << (path);                                 \
  } while (false)

/// A fresh folder under $TMPDIR, removed with its contents at the end of the
/// test.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/jikji-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()))
      path_ = buffer.data();
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    if (!path_.empty())
      ::nftw(
          path_.c_str(),
          [](const char *path, const struct stat *, int, struct FTW *) {
            return ::remove(path);
          },
          16, FTW_DEPTH | FTW_PHYS);
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

inline bool writeFile(const std::string &path, const std::string &bytes) {
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && ok;
}

/// Reads the whole file at `path` into `bytes`.
inline bool readFile(const std::string &path, std::string &bytes) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return false;
  bytes.clear();
  char buffer[4096];
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    bytes.append(buffer, count);
  bool ok = !std::ferror(file);
  return std::fclose(file) == 0 && ok;
}

/// A tensor for makeSafeTensors: name, dtype spelling, shape.
struct FakeTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};

/// The 8-byte little-endian length followed by `header`.
inline std::string withLength(const std::string &header, uint64_t length) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  return bytes + header;
}

/// A valid safetensors file holding `tensors` (zeros), laid out in order.
inline std::string makeSafeTensors(const std::vector<FakeTensor> &tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t offset = 0;
  for (const FakeTensor &tensor : tensors) {
    uint64_t size = hf::dtypeSize(*hf::parseDType(tensor.dtype));
    std::string shape;
    for (int64_t dim : tensor.shape) {
      size *= static_cast<uint64_t>(dim);
      shape += (shape.empty() ? "" : ",") + std::to_string(dim);
    }
    header += ",\"" + tensor.name + "\":{\"dtype\":\"" + tensor.dtype +
              "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(offset + size) +
              "]}";
    offset += size;
  }
  header += "}";
  return withLength(header, header.size()) +
         std::string(static_cast<size_t>(offset), '\0');
}

} // namespace jikji::test

#endif // JIKJI_TEST_UNIT_TESTUTIL_H
