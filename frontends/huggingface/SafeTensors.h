//===- SafeTensors.h - safetensors headers ----------------------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Reads the header of a .safetensors file: an 8-byte little-endian length N,
// N bytes of JSON mapping each tensor name to {dtype, shape, data_offsets}
// (plus an optional "__metadata__" object of strings), then the data. Only the
// header is read, never the data: the runtime maps the data itself.
//
// The header is checked as strictly as the format allows, because the runtime
// trusts the offsets it yields: every tensor's byte size must equal its
// element count times its dtype size, and the tensors, sorted by offset, must
// tile the data section exactly, with no overlap, gap or trailing bytes.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_SAFETENSORS_H
#define JIKJI_FRONTENDS_HUGGINGFACE_SAFETENSORS_H

#include "frontends/huggingface/Result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jikji::hf {

/// The element types of the safetensors format that DeepSeek checkpoints and
/// reference files use.
enum class DType {
  Bool,
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  U64,
  I64,
  F16,
  BF16,
  F32,
  F64,
  F8E4M3,
  F8E5M2
};

/// The dtype spelled as in safetensors ("BF16", "F8_E4M3"), or std::nullopt.
std::optional<DType> parseDType(std::string_view name);
/// The safetensors spelling of `dtype`.
const char *dtypeName(DType dtype);
/// Bytes per element.
size_t dtypeSize(DType dtype);

/// One tensor of a safetensors file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Byte offsets in the data section, [begin, end).
  uint64_t begin = 0, end = 0;
  /// The safetensors file that holds it.
  std::string file;
  /// The absolute offset of `begin` in `file`.
  uint64_t fileOffset = 0;

  /// The product of the shape (1 for a scalar).
  int64_t numElements() const;
  /// end - begin.
  uint64_t numBytes() const { return end - begin; }
};

/// The validated header of one safetensors file.
struct SafeTensorsFile {
  std::string path;
  uint64_t fileSize = 0;
  /// Where the data section starts: 8 + the header length.
  uint64_t dataOffset = 0;
  /// Sorted by name.
  std::vector<TensorInfo> tensors;
  /// `__metadata__`, in the order written.
  std::vector<std::pair<std::string, std::string>> metadata;

  /// The tensor named `name`, or nullptr.
  const TensorInfo *find(std::string_view name) const;
};

/// The largest header accepted, as in the reference implementation: a real
/// header is kilobytes, so a larger one is a corrupt or hostile file.
constexpr uint64_t kMaxSafeTensorsHeaderBytes = 100'000'000;

/// Validates a header. `prefix` holds at least the first 8 + N bytes of the
/// file (more is ignored), `fileSize` is the size of the whole file and
/// `path` starts every message.
Result<SafeTensorsFile> parseSafeTensorsHeader(std::string_view prefix,
                                               uint64_t fileSize,
                                               const std::string &path);

/// Reads the length and the header of the file at `path`, never the data,
/// and validates them with parseSafeTensorsHeader.
Result<SafeTensorsFile> readSafeTensorsFile(const std::string &path);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_SAFETENSORS_H
