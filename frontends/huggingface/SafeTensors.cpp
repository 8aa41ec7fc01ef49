//===- SafeTensors.cpp - safetensors headers ------------------------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "frontends/huggingface/SafeTensors.h"

#include "frontends/huggingface/Json.h"
#include "frontends/huggingface/Printable.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::hf;

namespace {
struct DTypeEntry {
  DType dtype;
  const char *name;
  size_t size;
};
} // namespace

static const DTypeEntry kDTypes[] = {
    {DType::Bool, "BOOL", 1},      {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},          {DType::U16, "U16", 2},
    {DType::I16, "I16", 2},        {DType::U32, "U32", 4},
    {DType::I32, "I32", 4},        {DType::U64, "U64", 8},
    {DType::I64, "I64", 8},        {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},      {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},        {DType::F8E4M3, "F8_E4M3", 1},
    {DType::F8E5M2, "F8_E5M2", 1},
};

std::optional<DType> jikji::hf::parseDType(std::string_view name) {
  for (const DTypeEntry &entry : kDTypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

const char *jikji::hf::dtypeName(DType dtype) {
  for (const DTypeEntry &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry.name;
  return "unknown";
}

size_t jikji::hf::dtypeSize(DType dtype) {
  for (const DTypeEntry &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry.size;
  return 0;
}

int64_t TensorInfo::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

const TensorInfo *SafeTensorsFile::find(std::string_view name) const {
  auto it =
      std::lower_bound(tensors.begin(), tensors.end(), name,
                       [](const TensorInfo &tensor, std::string_view key) {
                         return std::string_view(tensor.name) < key;
                       });
  if (it == tensors.end() || it->name != name)
    return nullptr;
  return &*it;
}

/// "[3, 4]".
static std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

static std::string formatRange(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

/// The first repeated key of `object`, if any, found by sorting so that a
/// header with thousands of tensors costs O(n log n).
static std::optional<std::string> findDuplicateKey(const JsonValue &object) {
  std::vector<std::string_view> keys;
  keys.reserve(object.asObject().size());
  for (const auto &member : object.asObject())
    keys.push_back(member.first);
  std::sort(keys.begin(), keys.end());
  auto it = std::adjacent_find(keys.begin(), keys.end());
  if (it == keys.end())
    return std::nullopt;
  return std::string(*it);
}

/// Validates one tensor entry of the header (everything but its place among
/// the others).
static Result<TensorInfo> parseTensorEntry(const std::string &name,
                                           const JsonValue &entry,
                                           uint64_t dataSize,
                                           const std::string &path) {
  std::string where = path + ": tensor '" + printable(name) + "'";
  auto fieldError = [&](const char *field, const std::string &expected,
                        const JsonValue *found) {
    return Error(where + ": '" + field + "': expected " + expected +
                 ", found " + (found ? found->describe() : "nothing"));
  };
  if (!entry.isObject())
    return Error(where + ": expected an object with dtype, shape and " +
                 "data_offsets, found " + entry.describe());
  if (std::optional<std::string> key = findDuplicateKey(entry))
    return Error(where + ": duplicate key '" + printable(*key) + "'");

  TensorInfo tensor;
  tensor.name = name;
  tensor.file = path;

  const JsonValue *dtype = entry.find("dtype");
  if (!dtype || !dtype->isString())
    return fieldError("dtype", "a string", dtype);
  std::optional<DType> parsedDType = parseDType(dtype->asString());
  if (!parsedDType) {
    std::string names;
    for (const DTypeEntry &known : kDTypes)
      names += std::string(names.empty() ? "" : ", ") + known.name;
    return fieldError("dtype", "a known dtype (" + names + ")", dtype);
  }
  tensor.dtype = *parsedDType;

  const JsonValue *shape = entry.find("shape");
  if (!shape || !shape->isArray())
    return fieldError("shape", "an array of non-negative integers", shape);
  for (const JsonValue &dim : shape->asArray()) {
    if (!dim.isInteger() || dim.asInt() < 0)
      return fieldError("shape", "an array of non-negative integers", shape);
    tensor.shape.push_back(dim.asInt());
  }
  // The byte size must be computed without wrapping, or a hostile shape could
  // pass the size check below with a tiny data range.
  uint64_t bytes = dtypeSize(tensor.dtype);
  for (int64_t dim : tensor.shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes) ||
        bytes > static_cast<uint64_t>(INT64_MAX))
      return Error(where + ": shape " + formatShape(tensor.shape) +
                   " has too many elements: its byte size overflows 64 bits");

  const JsonValue *offsets = entry.find("data_offsets");
  bool isPair =
      offsets && offsets->isArray() && offsets->asArray().size() == 2 &&
      offsets->asArray()[0].isInteger() && offsets->asArray()[0].asInt() >= 0 &&
      offsets->asArray()[1].isInteger() && offsets->asArray()[1].asInt() >= 0;
  if (!isPair)
    return fieldError("data_offsets",
                      "[begin, end] with two non-negative integers", offsets);
  tensor.begin = static_cast<uint64_t>(offsets->asArray()[0].asInt());
  tensor.end = static_cast<uint64_t>(offsets->asArray()[1].asInt());
  std::string range = formatRange(tensor.begin, tensor.end);
  if (tensor.begin > tensor.end)
    return Error(where + ": data_offsets " + range +
                 " run backwards (begin > end)");
  if (tensor.end > dataSize)
    return Error(where + ": data_offsets " + range +
                 " run past the end of the data section (" +
                 std::to_string(dataSize) + " bytes)");
  if (tensor.end - tensor.begin != bytes)
    return Error(where + ": data_offsets " + range + " hold " +
                 std::to_string(tensor.end - tensor.begin) + " bytes, but " +
                 dtypeName(tensor.dtype) + " " + formatShape(tensor.shape) +
                 " needs " + std::to_string(bytes));
  return tensor;
}

Result<SafeTensorsFile>
jikji::hf::parseSafeTensorsHeader(std::string_view prefix, uint64_t fileSize,
                                  const std::string &path) {
  if (fileSize < 8 || prefix.size() < 8)
    return Error(path + ": file is " + std::to_string(fileSize) +
                 " bytes, too short for a safetensors file (it starts with an "
                 "8-byte header length)");
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | static_cast<unsigned char>(prefix[i]);
  if (headerSize > kMaxSafeTensorsHeaderBytes)
    return Error(path + ": header length " + std::to_string(headerSize) +
                 " is over the limit of " +
                 std::to_string(kMaxSafeTensorsHeaderBytes) + " bytes");
  if (headerSize > fileSize - 8)
    return Error(path + ": header length " + std::to_string(headerSize) +
                 " runs past the end of the file (8 + " +
                 std::to_string(headerSize) + " bytes needed, the file is " +
                 std::to_string(fileSize) + ")");
  if (prefix.size() - 8 < headerSize)
    return Error(path + ": only " + std::to_string(prefix.size() - 8) +
                 " bytes of the " + std::to_string(headerSize) +
                 "-byte header could be read");

  std::string_view header = prefix.substr(8, headerSize);
  if (std::optional<size_t> bad = findInvalidUtf8(header))
    return Error(path + ": header is not valid UTF-8 (byte " +
                 std::to_string(*bad) + " of the header)");
  // Duplicate keys are kept so that they can be reported as duplicate tensor
  // names rather than as a JSON error.
  JsonParseOptions options;
  options.allowDuplicateKeys = true;
  Result<JsonValue> parsed = parseJson(header, options);
  if (!parsed)
    return Error(path + ": header is not valid JSON: " + parsed.error());
  const JsonValue &root = *parsed;
  if (!root.isObject())
    return Error(path + ": header: expected a JSON object, found " +
                 root.describe());
  if (std::optional<std::string> name = findDuplicateKey(root))
    return Error(path + ": duplicate tensor name '" + printable(*name) + "'");

  SafeTensorsFile file;
  file.path = path;
  file.fileSize = fileSize;
  file.dataOffset = 8 + headerSize;
  uint64_t dataSize = fileSize - file.dataOffset;

  for (const auto &[name, entry] : root.asObject()) {
    if (name == "__metadata__") {
      bool valid = entry.isObject();
      if (valid)
        for (const auto &member : entry.asObject())
          valid = valid && member.second.isString();
      if (!valid)
        return Error(path + ": '__metadata__': expected an object of " +
                     "strings, found " + entry.describe());
      if (std::optional<std::string> key = findDuplicateKey(entry))
        return Error(path + ": '__metadata__': duplicate key '" +
                     printable(*key) + "'");
      for (const auto &member : entry.asObject())
        file.metadata.emplace_back(member.first, member.second.asString());
      continue;
    }
    Result<TensorInfo> tensor = parseTensorEntry(name, entry, dataSize, path);
    if (!tensor)
      return Error(tensor.error());
    tensor->fileOffset = file.dataOffset + tensor->begin;
    file.tensors.push_back(std::move(*tensor));
  }

  // Sorted by offset, the tensors must tile [0, dataSize) exactly: an overlap
  // would let two tensors alias, a hole or trailing bytes hide data no one
  // checks.
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &tensor : file.tensors)
    byOffset.push_back(&tensor);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              if (a->begin != b->begin)
                return a->begin < b->begin;
              return a->end < b->end;
            });
  uint64_t cursor = 0;
  const TensorInfo *previous = nullptr;
  for (const TensorInfo *tensor : byOffset) {
    std::string range = formatRange(tensor->begin, tensor->end);
    if (tensor->begin < cursor)
      return Error(path + ": tensors '" + printable(previous->name) + "' " +
                   formatRange(previous->begin, previous->end) + " and '" +
                   printable(tensor->name) + "' " + range + " overlap");
    if (tensor->begin > cursor) {
      std::string gap = "bytes [" + std::to_string(cursor) + ", " +
                        std::to_string(tensor->begin) +
                        ") of the data section belong to no tensor";
      if (!previous)
        return Error(path + ": " + gap + " (the first tensor, '" +
                     printable(tensor->name) + "', begins at " +
                     std::to_string(tensor->begin) + ")");
      return Error(path + ": " + gap + " (a hole between '" +
                   printable(previous->name) + "' " +
                   formatRange(previous->begin, previous->end) + " and '" +
                   printable(tensor->name) + "' " + range + ")");
    }
    cursor = tensor->end;
    previous = tensor;
  }
  if (cursor != dataSize) {
    std::string trailing =
        std::to_string(dataSize - cursor) + " bytes after the last tensor";
    if (!previous)
      return Error(path + ": " + trailing + " (the header names no tensors)");
    return Error(path + ": " + trailing + " ('" + printable(previous->name) +
                 "' ends at " + std::to_string(cursor) +
                 " and the data section is " + std::to_string(dataSize) +
                 " bytes)");
  }

  std::sort(
      file.tensors.begin(), file.tensors.end(),
      [](const TensorInfo &a, const TensorInfo &b) { return a.name < b.name; });
  return file;
}

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

/// Reads up to `size` bytes at `offset`; returns how many were read, or -1.
static int64_t readAt(int fd, char *buffer, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::pread(fd, buffer + done, size - done,
                          static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    done += static_cast<size_t>(got);
  }
  return static_cast<int64_t>(done);
}

Result<SafeTensorsFile>
jikji::hf::readSafeTensorsFile(const std::string &path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return Error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (::fstat(fd.get(), &info) != 0)
    return Error(path + ": cannot read: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return Error(path + ": expected a regular file");
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);

  std::string prefix(fileSize < 8 ? static_cast<size_t>(fileSize) : 8, '\0');
  if (readAt(fd.get(), prefix.data(), prefix.size(), 0) !=
      static_cast<int64_t>(prefix.size()))
    return Error(path + ": cannot read the header length");
  if (prefix.size() == 8) {
    uint64_t headerSize = 0;
    for (int i = 7; i >= 0; --i)
      headerSize = (headerSize << 8) | static_cast<unsigned char>(prefix[i]);
    // Only a length that the parser will accept is worth reading; it rejects
    // the others from the first 8 bytes alone.
    if (headerSize <= kMaxSafeTensorsHeaderBytes &&
        headerSize <= fileSize - 8) {
      prefix.resize(8 + static_cast<size_t>(headerSize));
      if (readAt(fd.get(), prefix.data() + 8, headerSize, 8) !=
          static_cast<int64_t>(headerSize))
        return Error(path + ": cannot read the " + std::to_string(headerSize) +
                     "-byte header");
    }
  }
  return parseSafeTensorsHeader(prefix, fileSize, path);
}
